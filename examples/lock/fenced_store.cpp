#include "fenced_store.hpp"

namespace bcast::lock {

Result<void> FencedStore::write(std::uint64_t token, const std::string& key,
                                const std::string& value) {
  if (token < highest_token_) {
    return make_error(ErrorCode::kPermissionDenied,
                      "stale fencing token " + std::to_string(token) + ": a holder with token " +
                          std::to_string(highest_token_) + " has written since");
  }
  highest_token_ = token;
  data_[key] = value;
  return {};
}

}  // namespace bcast::lock
