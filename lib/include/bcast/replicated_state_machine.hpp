// A replicated state machine over one bcastd group: the application supplies a deterministic
// StateMachine (apply, snapshot, restore; rsm_core.hpp); every replica applies the same commands
// in the same global order (Mode reliable, Order total), so every replica holds the same state.
//
//   KvMachine machine;
//   auto replica = bcast::ReplicatedStateMachine::open(
//       {.client = {.socket_path = "/run/bcastd.sock"}, .group = "kv",
//        .snapshot_path = "/var/lib/kv/snapshot"}, machine);
//   auto done = replica.value()->submit("put x 1");   // done.value().result: apply()'s result
//
// Catching up, once, inside open():
//  * with a snapshot file (snapshot_path exists): restore it, then replay the group's total order
//    from the snapshot's gseq + 1 out of the daemon's history (Client::join(group, from_gseq));
//  * a new replica (no snapshot file), NewReplica::kStateTransfer (the default): join live, ask
//    through the total order for a state; any live replica answers with its state as of exactly
//    the request's gseq; restore it and apply what followed. If the group's agreed view
//    names no other member, or no replica answers within state_transfer_timeout (the first
//    replica of the group), replay the history from its start instead, which is the whole state
//    while the daemon's history still holds gseq 1 onward (ClientOptions::group_views is turned
//    on for this);
//  * NewReplica::kReplayHistory: replay the history from its start; a state transfer only where
//    it has been trimmed.
// Gaps: a total-order gap (docs/guarantees.md, "Gaps") past the applied position means commands
// this replica will never see. It stops applying and asks for a state transfer on its own (again
// every state_transfer_timeout while none arrives); meanwhile submit() and sync() wait, and at
// their timeout fail with kUnavailable (wait_applied(): kTimeout); the replica stays usable and
// the next call waits again. If no live replica is left to answer (every one hit the gap), it
// never recovers: open a replica from a snapshot the history still covers.
//
// Results: submit() returns the result apply() gave for this replica's own command (matched by
// a random replica token and a command id carried in the message, not by the sender id, which a
// resumed connection changes). A command this replica's state transfer covered (it was applied
// by the replica that sent the state) has no result here: its submit() fails with kUnavailable
// saying so, and its effect is in the state (a sync() so covered simply returns). A failed publish
// (kUnavailable after a lost connection, kBusy) may still have been ordered: its outcome is
// unknown, as with any RPC.
//
// Liveness: a replica answers state requests and applies commands only while its owner calls
// submit(), poll() or wait_applied(); a server keeps calling poll().
//
// Threading: like Client, one thread at a time. apply()/snapshot()/restore() run on that thread
// inside these calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bcast/client.hpp"
#include "bcast/result.hpp"
#include "bcast/rsm_core.hpp"

namespace bcast {

struct ReplicaOptions {
  ClientOptions client;
  std::string group;  // every replica of one state machine uses the same group, and only it
  // Where save_snapshot() writes (atomically: a temporary file, fsync, rename) and open() looks.
  // Empty: no snapshots; a restarted replica catches up like a new one.
  std::string snapshot_path;
  // Save a snapshot after this many applied commands (0: only when save_snapshot() is called).
  std::uint64_t snapshot_every = 0;
  enum class NewReplica : std::uint8_t { kStateTransfer, kReplayHistory };
  NewReplica new_replica = NewReplica::kStateTransfer;
  std::chrono::milliseconds state_transfer_timeout{2000};
  // Commands kept while awaiting a state; beyond it the replica fails (open it again).
  std::size_t max_buffered_bytes = 64 << 20;
};

struct CommandResult {
  std::uint64_t gseq = 0;  // the command's position in the total order
  std::string result;      // what apply() returned for it
};

class ReplicatedStateMachine {
 public:
  // Connects, catches up (see above; waits for that) and returns a live replica. Errors:
  // those of Client::connect and join; kCorrupt for an unreadable snapshot file; kUnavailable if
  // no state could be obtained.
  static Result<std::unique_ptr<ReplicatedStateMachine>> open(ReplicaOptions options,
                                                              StateMachine& machine);
  ~ReplicatedStateMachine();
  ReplicatedStateMachine(const ReplicatedStateMachine&) = delete;
  ReplicatedStateMachine& operator=(const ReplicatedStateMachine&) = delete;

  // Publishes `command` with total order and waits (up to `timeout`, default the client's
  // request_timeout) until this replica applied it; returns its gseq and result.
  Result<CommandResult> submit(std::string_view command,
                               std::optional<std::chrono::milliseconds> timeout = {});
  // A barrier through the total order: returns once this replica applied everything ordered
  // before the call (an empty command, which apply() never sees). open() ends with one.
  Result<std::uint64_t> sync(std::optional<std::chrono::milliseconds> timeout = {});
  // Handles what arrives for up to `timeout` (at least one wait; 0: only what is there).
  Result<void> poll(std::chrono::milliseconds timeout);
  // Handles arrivals until applied_gseq() >= gseq (kTimeout after `timeout`).
  Result<void> wait_applied(std::uint64_t gseq, std::chrono::milliseconds timeout);

  // The state as of applied_gseq(), written to snapshot_path atomically.
  Result<void> save_snapshot();

  std::uint64_t applied_gseq() const;
  bool live() const;  // holds a valid state (not awaiting a state transfer)
  std::uint64_t state_transfers() const;
  std::uint64_t replica_token() const;
  Client& client();

 private:
  struct Impl;
  explicit ReplicatedStateMachine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The snapshot file format (exposed for tests and tools): "bcast-rsm-snapshot 1\n", the gseq as
// 8 little-endian bytes, the state's length as 8 little-endian bytes, the state.
Result<void> write_snapshot_file(const std::string& path, std::uint64_t gseq,
                                 std::string_view state);
struct SnapshotFile {
  std::uint64_t gseq = 0;
  std::string state;
};
// kNotFound if there is no such file; kCorrupt if it is not a whole snapshot.
Result<SnapshotFile> read_snapshot_file(const std::string& path);

}  // namespace bcast
