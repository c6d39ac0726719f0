// The resource a lock guards, as its side of fencing: it remembers the highest fencing token
// it has seen and refuses any write with a lower one. A holder whose lease ended (it was
// paused, or cut off) still believes it holds the lock; its next write carries its old token,
// which is lower than the new holder's, and is refused. I/O free: a real resource (a database,
// a file server) keeps the highest token beside its data and checks it the same way.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "bcast/result.hpp"

namespace bcast::lock {

class FencedStore {
 public:
  // Stores key=value if `token` >= every token seen; kPermissionDenied (naming both tokens)
  // otherwise, and the store is unchanged.
  Result<void> write(std::uint64_t token, const std::string& key, const std::string& value);
  const std::map<std::string, std::string>& data() const { return data_; }
  std::uint64_t highest_token() const { return highest_token_; }

 private:
  std::map<std::string, std::string> data_;
  std::uint64_t highest_token_ = 0;
};

}  // namespace bcast::lock
