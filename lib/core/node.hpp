// The one object the daemon and the simulator drive: a Raft node and the state machine it
// replicates, with the policy that ties them together (apply in order, snapshot periodically).
//
// Every input appends effects to an Outbox that the caller hands to apply_outbox
// (core/driver.hpp). Call flush() after a batch of inputs: proposals wait for it so that the
// proposals of one batch travel in one Append.
#pragma once

#include <cstdint>
#include <string>

#include "bcast/result.hpp"
#include "core/outbox.hpp"
#include "core/raft/raft.hpp"
#include "core/rng.hpp"
#include "core/state_machine.hpp"

namespace bcast {

struct NodeOptions {
  raft::RaftOptions raft;
  // The state machine is captured and the log compacted after this many applied entries (some
  // entries stay behind the snapshot: RaftOptions::retained_entries_behind_snapshot).
  std::uint64_t snapshot_interval_entries = 10000;
};

class Node {
 public:
  // Restores `state_machine` from the recovered snapshot (if any) before anything else.
  Node(const NodeOptions& options, Rng rng, const raft::ConfState& initial_conf,
       raft::RaftState recovered, StateMachine& state_machine);

  void tick(Outbox& out);
  void step(const Envelope& envelope, Outbox& out);
  Result<LogIndex> propose(std::string data, Outbox& out);
  Result<LogIndex> propose_conf_change(const raft::ConfChange& change, Outbox& out);
  Result<void> transfer_leadership(NodeId target, Outbox& out);
  void on_persisted(LogIndex index, Term term, Outbox& out);
  void flush(Outbox& out);

  const raft::Raft& raft() const { return raft_; }
  NodeId id() const { return raft_.id(); }
  std::string check_invariants() const { return raft_.check_invariants(); }

 private:
  // Hands newly committed entries to the state machine and compacts when due.
  void apply_committed(Outbox& out);

  NodeOptions options_;
  StateMachine& state_machine_;
  raft::Raft raft_;
  std::uint64_t applied_since_snapshot_ = 0;
};

}  // namespace bcast
