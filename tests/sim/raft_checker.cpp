#include "raft_checker.hpp"

#include <algorithm>

namespace bcast::sim {
namespace {

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h *= 0xff51afd7ed558ccdULL;
  return h ^ (h >> 33);
}

std::string at(NodeId id, LogIndex index) {
  return "node " + std::to_string(id) + " index " + std::to_string(index);
}

}  // namespace

std::uint64_t chain_hash(std::uint64_t previous, const raft::Entry& entry) {
  std::uint64_t h = mix(previous, entry.term);
  h = mix(h, static_cast<std::uint64_t>(entry.type));
  std::uint64_t data = 0xcbf29ce484222325ULL;  // FNV-1a over the payload
  for (unsigned char c : entry.data.view()) data = (data ^ c) * 0x100000001b3ULL;
  return mix(h, data);
}

void RaftChecker::fail(std::string what) {
  if (!violation_) violation_ = std::move(what);
}

std::uint64_t RaftChecker::committed_chain(LogIndex index) const {
  return index < committed_chain_.size() ? committed_chain_[index] : 0;
}

void RaftChecker::observe(NodeId id, const raft::Raft& raft, std::uint64_t now_us,
                          bool lease_counts) {
  (void)now_us;
  Shadow& shadow = shadows_[id];
  // Election safety first: with rounds batched, a second leader of a term may both win and
  // append within one observed step, and the root cause should be the violation reported.
  check_election_safety(id, raft);
  update_shadow(id, shadow, raft.log());
  check_leader(id, shadow, raft);
  check_committed(id, shadow, raft);
  check_leases(id, raft, lease_counts);
}

void RaftChecker::check_leases(NodeId id, const raft::Raft& raft, bool lease_counts) {
  const bool leads = raft.role() == raft::Role::kLeader;
  const std::uint64_t remaining = leads && lease_counts ? raft.lease_remaining_ticks() : 0;
  if (remaining > 0) {
    leases_[id] = Lease{raft.term(), remaining};
  } else {
    leases_.erase(id);
  }
  if (leads) highest_leader_term_ = std::max(highest_leader_term_, raft.term());
  // A lease is observed when its holder acts; between its ticks it may be up to a tick stale,
  // which the lease's drift margin absorbs.
  for (const auto& [holder, lease] : leases_) {
    if (lease.term < highest_leader_term_) {
      fail("lease safety violated: node " + std::to_string(holder) + " holds a lease of " +
           std::to_string(lease.remaining_ticks) + " ticks in term " + std::to_string(lease.term) +
           " while term " + std::to_string(highest_leader_term_) + " has a leader");
    }
  }
}

void RaftChecker::update_shadow(NodeId id, Shadow& shadow, const raft::RaftLog& log) {
  auto& chain = shadow.chain;
  const raft::SnapshotMeta& snap = log.snapshot_meta();
  // A snapshot covering entries the shadow never saw: installed from the leader, or taken by
  // the node itself of entries appended, committed and applied within one step. Either way the
  // prefix was committed and applied somewhere, so its chain is known from those records.
  const bool snapshot_known = snap.index < chain.size() && chain[snap.index].first == snap.term;
  if (!snapshot_known) {
    chain.resize(snap.index + 1);
    for (LogIndex i = 0; i <= snap.index; ++i) {
      if (i < committed_chain_.size()) {
        chain[i] = {0, committed_chain_[i]};
      } else if (auto it = applied_chain_.find(i); it != applied_chain_.end()) {
        chain[i] = {0, it->second};
      } else {
        fail(at(id, snap.index) + ": holds a snapshot of entries never committed or applied");
        return;
      }
    }
    chain[snap.index].first = snap.term;
  }
  // Find the last index where the shadow still agrees with the log, then re-chain after it.
  LogIndex keep = std::min<LogIndex>(chain.size() - 1, log.last_index());
  while (keep > snap.index && chain[keep].first != *log.term_at(keep)) --keep;
  chain.resize(keep + 1);
  for (LogIndex i = keep + 1; i <= log.last_index(); ++i) {
    const raft::Entry& entry = log.at(i);
    const std::uint64_t h = chain_hash(chain.back().second, entry);
    chain.emplace_back(entry.term, h);
    auto [it, inserted] = chain_of_entry_.emplace(std::make_pair(i, entry.term), h);
    if (!inserted && it->second != h) {
      fail("log matching violated: " + at(id, i) + " term " + std::to_string(entry.term) +
           " has a different history than another node's entry with the same index and term");
    }
  }
}

void RaftChecker::check_election_safety(NodeId id, const raft::Raft& raft) {
  if (raft.role() != raft::Role::kLeader) return;
  auto [it, inserted] = leader_of_term_.emplace(raft.term(), id);
  if (!inserted && it->second != id) {
    fail("election safety violated: nodes " + std::to_string(it->second) + " and " +
         std::to_string(id) + " both lead term " + std::to_string(raft.term()));
  }
}

void RaftChecker::check_leader(NodeId id, Shadow& shadow, const raft::Raft& raft) {
  const bool is_leader = raft.role() == raft::Role::kLeader;
  const raft::RaftLog& log = raft.log();
  if (is_leader) {
    if (shadow.was_leader && shadow.leader_term == raft.term()) {
      // Append-only: the last entry seen earlier in this term is still there, unchanged.
      const bool still_there = shadow.leader_last_index < log.snapshot_meta().index ||
                               log.matches(shadow.leader_last_index, shadow.leader_last_term);
      if (!still_there || log.last_index() < shadow.leader_last_index) {
        fail("leader append-only violated: " + at(id, shadow.leader_last_index) +
             " was removed or overwritten while leading term " + std::to_string(raft.term()));
      }
    }
    // Completeness: every entry committed in this term or earlier is in the leader's log.
    LogIndex committed = max_committed();
    while (committed > 0 && committed_term_[committed] > raft.term()) --committed;
    if (committed > 0) {
      if (log.last_index() < committed ||
          shadow.chain[committed].second != committed_chain_[committed]) {
        fail("leader completeness violated: leader " + std::to_string(id) + " of term " +
             std::to_string(raft.term()) + " lacks committed " + at(id, committed));
      }
    }
    shadow.leader_last_index = log.last_index();
    shadow.leader_last_term = log.last_term();
    shadow.leader_term = raft.term();
  }
  shadow.was_leader = is_leader;
}

void RaftChecker::check_committed(NodeId id, const Shadow& shadow, const raft::Raft& raft) {
  const LogIndex committed = raft.log().committed();
  if (committed == 0 || committed >= shadow.chain.size()) return;
  const std::uint64_t chain = shadow.chain[committed].second;
  if (committed < committed_chain_.size()) {
    if (committed_chain_[committed] != chain) {
      fail("state machine safety violated: " + at(id, committed) +
           " committed a different entry (or history) than another node");
    }
    return;
  }
  // A new high-water mark: record the committed prefix from this node's log.
  for (LogIndex i = committed_chain_.size(); i <= committed; ++i) {
    committed_chain_.push_back(shadow.chain[i].second);
    committed_term_.push_back(std::max(committed_term_.back(), raft.term()));
  }
}

void RaftChecker::observe_apply(NodeId id, LogIndex index, std::uint64_t chain) {
  auto [it, inserted] = applied_chain_.emplace(index, chain);
  if (!inserted && it->second != chain) {
    fail("state machine safety violated: " + at(id, index) +
         " applied a different entry (or history) than another node");
  }
}

std::uint64_t RaftChecker::observe_restore(NodeId id, LogIndex index) {
  if (index < committed_chain_.size()) return committed_chain_[index];
  if (auto it = applied_chain_.find(index); it != applied_chain_.end()) return it->second;
  fail("node " + std::to_string(id) + " restored a snapshot at index " + std::to_string(index) +
       " that no node ever committed or applied");
  return 0;
}

}  // namespace bcast::sim
