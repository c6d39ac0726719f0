// The in-memory Raft log: the latest snapshot point, and the entries retained around it.
//
// The core keeps every entry since the last snapshot in memory; storage only ever receives
// writes (PersistRequest) and is read once, at startup. That keeps the core free of I/O and
// makes the simulator's disks simple. Memory stays bounded because the node compacts the log
// into a snapshot every `snapshot_interval_entries` applied entries.
//
// A compaction may retain some entries at or below the snapshot index, so that a follower a
// little behind is sent entries rather than the whole snapshot. Indices: first_index() is the
// oldest retained entry (at most snapshot index + 1), last_index() the newest (or the snapshot
// index when none follows it). The log also tracks three positions: committed (known replicated
// on a quorum), applied (handed to the state machine) and persisted (reported durable by
// storage), with snapshot index <= applied <= committed <= last_index and
// persisted <= last_index.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "core/raft/types.hpp"

namespace bcast::raft {

class RaftLog {
 public:
  // A log that starts after `snapshot_meta` (index 0 for an empty log) and holds `entries`,
  // which must be contiguous from snapshot_meta.index + 1. Everything given is taken as persisted.
  RaftLog(SnapshotMeta snapshot_meta, std::vector<Entry> entries);

  LogIndex first_index() const { return base_index_ + 1; }
  LogIndex last_index() const { return base_index_ + entries_.size(); }
  Term last_term() const;
  const SnapshotMeta& snapshot_meta() const { return snapshot_; }

  // The term of the entry at `index`: known for the entry just before first_index() and every
  // retained entry; nullopt for compacted or absent indices.
  std::optional<Term> term_at(LogIndex index) const;
  bool matches(LogIndex index, Term term) const;
  const Entry& at(LogIndex index) const;  // requires first_index() <= index <= last_index()

  // Raft's election restriction (§5.4.1): a candidate's log is at least as up to date as ours.
  bool is_up_to_date(LogIndex candidate_last_index, Term candidate_last_term) const;

  // Appends a leader's entries that follow (prev_index, prev_term), truncating the first
  // conflicting suffix. Returns the index of the first entry written (entries already present
  // are skipped), or nullopt if nothing new was written. Requires matches(prev_index, prev_term).
  std::optional<LogIndex> append_after(LogIndex prev_index, std::span<const Entry> entries);

  // Appends one entry at last_index() + 1 (a leader's own proposal).
  void append(Entry entry);

  // For fast backtracking: the largest index <= `index` whose term is <= `term`. Used both by a
  // follower rejecting an Append and by the leader choosing where to probe next.
  LogIndex find_conflict_by_term(LogIndex index, Term term) const;

  // Entries in [low, high], at most `max_bytes` of data (but always at least one entry).
  std::vector<Entry> slice(LogIndex low, LogIndex high, std::uint64_t max_bytes) const;

  // Moves the snapshot point to `meta` (a retained entry at or below the applied index) and
  // drops the entries before `retain_from` (which is at most meta.index + 1).
  void compact(const SnapshotMeta& meta, LogIndex retain_from);
  // Replaces the whole log by a snapshot that the log does not contain (InstallSnapshot).
  void reset_to(const SnapshotMeta& meta);

  LogIndex committed() const { return committed_; }
  LogIndex applied() const { return applied_; }
  LogIndex persisted() const { return persisted_; }
  void commit_to(LogIndex index);
  void applied_to(LogIndex index);
  // Storage reports entries up to (index, term) durable. Ignored if that entry has since been
  // replaced (the report is for an older write).
  void persisted_to(LogIndex index, Term term);

  // The configuration in force after the last entry: the snapshot's configuration with every
  // ConfChange entry in the log applied. Raft uses a configuration as soon as it is in the log
  // (thesis §4.1), not when it commits, so truncating the log can revert it.
  const ConfState& conf() const { return conf_; }
  // The configuration as of `index` (snapshot index <= index <= last_index()).
  ConfState conf_at(LogIndex index) const;
  // The index of the last ConfChange entry in the log, or 0 if the configuration comes from
  // the snapshot.
  LogIndex last_conf_index() const { return last_conf_index_; }

  // Approximate bytes of entry data held, to bound memory.
  std::uint64_t data_bytes() const { return data_bytes_; }

  // Empty string if every internal rule holds, else a description of the first broken one.
  std::string check_invariants() const;

 private:
  void truncate_after(LogIndex index);
  void recompute_conf();
  void note_appended(const Entry& entry);  // accounting for a newly appended entry
  void apply_conf_entry(const Entry& entry);
  static void apply_conf_entry_to(ConfState& conf, const Entry& entry);

  SnapshotMeta snapshot_;
  LogIndex base_index_ = 0;  // the position just before entries_.front()
  Term base_term_ = 0;
  std::deque<Entry> entries_;
  LogIndex committed_ = 0;
  LogIndex applied_ = 0;
  LogIndex persisted_ = 0;
  ConfState conf_;
  LogIndex last_conf_index_ = 0;
  std::uint64_t data_bytes_ = 0;
};

}  // namespace bcast::raft
