// The key-value store's state machine: what every replica applies, in the total order.
//
// Commands and results are JSON objects (one per message), so a user can read them in
// `bcastctl sub kv --json`:
//   {"op":"put","key":K,"value":V}                     -> {"ok":true}
//   {"op":"delete","key":K}                            -> {"ok":true,"existed":B}
//   {"op":"cas","key":K,"expected":V|null,"value":V}   -> {"ok":true,"swapped":B,"value":OLD|null}
//        (expected null: swap only if K is absent)
//   {"op":"incr","key":K,"by":N}                       -> {"ok":true,"value":"NEW"}
//        (an absent key counts as 0; a value that is not a decimal integer: {"ok":false,...})
//   {"op":"get","key":K}                               -> {"ok":true,"value":V|null}
//        (a strong read: ordered like a write, changes nothing)
// A command that is not one of these gives {"ok":false,"error":...} on every replica alike.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "bcast/rsm_core.hpp"

namespace bcast::kv {

class KvMachine : public StateMachine {
 public:
  std::string apply(std::string_view command) override;
  std::string snapshot() override;  // {"K":"V",...}
  void restore(std::string_view state) override;

  std::optional<std::string> get(const std::string& key) const;
  const std::map<std::string, std::string>& entries() const { return entries_; }

 private:
  std::map<std::string, std::string> entries_;
};

}  // namespace bcast::kv
