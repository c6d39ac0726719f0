// Raft's safety properties (paper Figure 3), checked after every simulated step by an observer
// that shares no code with the implementation beyond reading its public state:
//
//  * election safety: at most one leader per term;
//  * leader append-only: a leader never overwrites or deletes entries of its own log;
//  * log matching: two logs with an entry of the same index and term agree on every entry up to
//    it (checked with a hash chain over (term, type, data));
//  * leader completeness: a leader's log holds every committed entry;
//  * state machine safety: no two nodes apply different entries at one index (checked both on
//    commit indices and on what the state machines actually applied);
//  * lease safety: while a leader believes it holds a lease, no node leads a later term.
//
// The first violation is kept with a description; the simulator stops there.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/raft/raft.hpp"

namespace bcast::sim {

// The chain hash of a log prefix: chain(i) = mix(chain(i-1), entry i). chain(0) = 0.
std::uint64_t chain_hash(std::uint64_t previous, const raft::Entry& entry);

class RaftChecker {
 public:
  // After node `id` processed an input. `lease_counts` is false while the node is catching up
  // on ticks it missed during a pause: it acts on its lease only once its clock is current.
  void observe(NodeId id, const raft::Raft& raft, std::uint64_t now_us, bool lease_counts = true);
  // The node stopped (crash or pause): whatever lease it believed in is not acted upon.
  void forget_lease(NodeId id) { leases_.erase(id); }
  // A node's state machine applied an entry, with its chain hash after doing so.
  void observe_apply(NodeId id, LogIndex index, std::uint64_t chain);
  // A node's state machine was restored from a snapshot covering up to `index`: returns the chain
  // of the prefix it covers (known from whoever applied or committed it), or fails.
  std::uint64_t observe_restore(NodeId id, LogIndex index);

  bool failed() const { return violation_.has_value(); }
  const std::string& violation() const { return *violation_; }

  // The chain hash of the committed prefix ending at `index` (0 if unknown).
  std::uint64_t committed_chain(LogIndex index) const;
  LogIndex max_committed() const { return committed_chain_.size() - 1; }

 private:
  struct Shadow {
    std::vector<std::pair<Term, std::uint64_t>> chain{{0, 0}};  // by index: (term, chain)
    bool was_leader = false;
    Term leader_term = 0;
    LogIndex leader_last_index = 0;
    Term leader_last_term = 0;
  };

  void fail(std::string what);
  void update_shadow(NodeId id, Shadow& shadow, const raft::RaftLog& log);
  void check_election_safety(NodeId id, const raft::Raft& raft);
  void check_leader(NodeId id, Shadow& shadow, const raft::Raft& raft);
  void check_committed(NodeId id, const Shadow& shadow, const raft::Raft& raft);
  void check_leases(NodeId id, const raft::Raft& raft, bool lease_counts);

  struct Lease {
    Term term;
    std::uint64_t remaining_ticks;
  };

  std::map<NodeId, Shadow> shadows_;
  std::map<Term, NodeId> leader_of_term_;
  std::map<std::pair<LogIndex, Term>, std::uint64_t> chain_of_entry_;
  std::vector<std::uint64_t> committed_chain_{0};  // index -> chain of the committed prefix
  // index -> the term in which the checker first saw it committed (non-decreasing): leader
  // completeness binds leaders of that term and later ones, not stale leaders of earlier terms.
  std::vector<Term> committed_term_{0};
  std::map<LogIndex, std::uint64_t> applied_chain_;
  std::map<NodeId, Lease> leases_;  // leaders' leases as last observed
  Term highest_leader_term_ = 0;
  std::optional<std::string> violation_;
};

}  // namespace bcast::sim
