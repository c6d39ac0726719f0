// A replicated key-value store: KvMachine on a ReplicatedStateMachine, with a consistency level
// per read (docs/consistency.md):
//  * kStrong: linearizable. The read is a command through the total order, so it sees every
//    write acknowledged before it started, at the cost of one ordering round trip.
//  * kSequential: the local replica, after waiting until it has applied at least every position
//    this session already saw (its writes and reads). A prefix of the one global order that never
//    goes backwards for the session, even across a replica restart from an older snapshot; it
//    may miss recent writes of others. No round trip.
//  * kEventual: the local replica as it is, without waiting for anything: possibly older than
//    what this session saw before. (The CRDT store in examples/crdt is the write-anywhere kind.)
// Writes (put, delete, cas, incr) always go through the total order.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "bcast/replicated_state_machine.hpp"
#include "kv_machine.hpp"

namespace bcast::kv {

enum class Consistency : std::uint8_t { kStrong, kSequential, kEventual };
std::optional<Consistency> parse_consistency(std::string_view name);
const char* consistency_name(Consistency level);

// One client's view: the highest position it has seen (its floor for sequential reads).
struct Session {
  std::uint64_t seen_gseq = 0;
};

struct ReadResult {
  std::optional<std::string> value;
  std::uint64_t gseq = 0;  // the position the read reflects
};

class KvStore {
 public:
  static Result<std::unique_ptr<KvStore>> open(ReplicaOptions options);

  // A command of kv_machine.hpp through the total order; returns its parsed result.
  Result<nlohmann::json> execute(const nlohmann::json& command, Session& session,
                                 std::optional<std::chrono::milliseconds> timeout = {});
  Result<nlohmann::json> put(const std::string& key, const std::string& value, Session& session);
  Result<nlohmann::json> remove(const std::string& key, Session& session);
  Result<nlohmann::json> compare_and_set(const std::string& key,
                                         const std::optional<std::string>& expected,
                                         const std::string& value, Session& session);
  Result<nlohmann::json> increment(const std::string& key, long long by, Session& session);
  Result<ReadResult> get(const std::string& key, Consistency level, Session& session,
                         std::optional<std::chrono::milliseconds> timeout = {});

  ReplicatedStateMachine& replica() { return *replica_; }
  const KvMachine& machine() const { return *machine_; }

 private:
  KvStore(std::unique_ptr<KvMachine> machine, std::unique_ptr<ReplicatedStateMachine> replica)
      : machine_(std::move(machine)), replica_(std::move(replica)) {}
  std::unique_ptr<KvMachine> machine_;
  std::unique_ptr<ReplicatedStateMachine> replica_;
};

}  // namespace bcast::kv
