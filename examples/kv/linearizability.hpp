// A linearizability checker for histories of the key-value store (Wing & Gong's search with
// Lowe's memoization, as in Porcupine): is there a total order of the operations, consistent
// with real time (an operation that returned before another was invoked comes first), in which
// every operation's output is what a single register per key would have returned?
//
// Linearizability is local (Herlihy & Wing), so each key's operations are checked alone.
// An operation whose outcome is unknown (its client timed out or lost its connection) may take
// effect at any time after its invocation, or never: it is given an infinite return time and
// any output is accepted for it. Reads with unknown outcomes should simply be left out.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace bcast::kv {

struct Operation {
  enum class Kind : std::uint8_t { kPut, kDelete, kCas, kIncr, kGet };
  Kind kind = Kind::kGet;
  int client = 0;
  std::string key;
  std::optional<std::string> value;     // put/cas: the new value; incr: the amount (decimal)
  std::optional<std::string> expected;  // cas: the expected value (nullopt: absent)
  // Outputs: get: the value read; cas: the value before, and `flag` = swapped; delete: `flag` =
  // existed; incr: the new value in `output`.
  std::optional<std::string> output;
  bool flag = false;
  bool known = true;  // false: outcome unknown (return at infinity, any output)
  std::int64_t call_ns = 0;
  std::int64_t return_ns = std::numeric_limits<std::int64_t>::max();
};

struct CheckResult {
  bool linearizable = true;
  std::string key;          // the first key whose history is not linearizable
  std::string explanation;  // its operations, for the failure message
};

CheckResult check_linearizable(const std::vector<Operation>& history);
std::string describe(const Operation& operation);

}  // namespace bcast::kv
