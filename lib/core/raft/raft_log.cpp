#include "core/raft/raft_log.hpp"

#include <algorithm>
#include <string>

#include "core/invariant.hpp"

namespace bcast::raft {

RaftLog::RaftLog(SnapshotMeta snapshot_meta, std::vector<Entry> entries)
    : snapshot_(std::move(snapshot_meta)),
      base_index_(snapshot_.index),
      base_term_(snapshot_.term) {
  for (auto& entry : entries) {
    BCAST_INVARIANT(entry.index == last_index() + 1, "recovered log entries are not contiguous");
    data_bytes_ += entry.data.size();
    entries_.push_back(std::move(entry));
  }
  // recompute_conf() below applies the ConfChange entries.
  committed_ = snapshot_.index;
  applied_ = snapshot_.index;
  persisted_ = last_index();
  recompute_conf();
}

Term RaftLog::last_term() const { return entries_.empty() ? base_term_ : entries_.back().term; }

std::optional<Term> RaftLog::term_at(LogIndex index) const {
  if (index == base_index_) return base_term_;
  if (index < base_index_ || index > last_index()) return std::nullopt;
  return entries_[index - first_index()].term;
}

bool RaftLog::matches(LogIndex index, Term term) const {
  const auto t = term_at(index);
  return t && *t == term;
}

const Entry& RaftLog::at(LogIndex index) const {
  BCAST_INVARIANT(index >= first_index() && index <= last_index(),
                  "read of a log entry that is not held");
  return entries_[index - first_index()];
}

bool RaftLog::is_up_to_date(LogIndex candidate_last_index, Term candidate_last_term) const {
  const Term our_term = last_term();
  return candidate_last_term > our_term ||
         (candidate_last_term == our_term && candidate_last_index >= last_index());
}

std::optional<LogIndex> RaftLog::append_after([[maybe_unused]] LogIndex prev_index,
                                              std::span<const Entry> entries) {
  std::optional<LogIndex> first_written;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& entry = entries[i];
    BCAST_INVARIANT(entry.index == prev_index + 1 + i, "an Append's entries are not contiguous");
    if (entry.index <= snapshot_.index) continue;  // already inside our snapshot
    if (entry.index <= last_index()) {
      if (at(entry.index).term == entry.term) continue;  // already have it
      // A conflicting entry: it and everything after it can never commit (the leader's log
      // wins), so drop the suffix. Committed entries never conflict (log matching).
      BCAST_INVARIANT(entry.index > committed_,
                      "a leader's entry conflicts with a committed one: refusing to truncate "
                      "committed entries (the log is damaged or a peer is not a true member)");
      truncate_after(entry.index - 1);
    }
    if (!first_written) first_written = entry.index;
    note_appended(entry);
    entries_.push_back(entry);
  }
  return first_written;
}

void RaftLog::append(Entry entry) {
  BCAST_INVARIANT(entry.index == last_index() + 1, "a leader's entry does not follow its log");
  note_appended(entry);
  entries_.push_back(std::move(entry));
}

LogIndex RaftLog::find_conflict_by_term(LogIndex index, Term term) const {
  index = std::min(index, last_index());
  if (index <= base_index_) return index;  // terms before the retained entries are unknown
  while (index > base_index_) {
    if (at(index).term <= term) return index;
    --index;
  }
  return base_index_;
}

std::vector<Entry> RaftLog::slice(LogIndex low, LogIndex high, std::uint64_t max_bytes) const {
  std::vector<Entry> out;
  if (low < first_index() || low > high) return out;
  high = std::min(high, last_index());
  std::uint64_t bytes = 0;
  for (LogIndex i = low; i <= high; ++i) {
    const Entry& entry = at(i);
    bytes += entry.data.size();
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(entry);
  }
  return out;
}

void RaftLog::compact(const SnapshotMeta& meta, LogIndex retain_from) {
  BCAST_INVARIANT(meta.index > snapshot_.index && meta.index <= applied_,
                  "compaction outside the applied, not yet compacted entries");
  BCAST_INVARIANT(matches(meta.index, meta.term), "compaction at an entry the log does not hold");
  retain_from = std::min(retain_from, meta.index + 1);
  while (!entries_.empty() && entries_.front().index < retain_from) {
    base_index_ = entries_.front().index;
    base_term_ = entries_.front().term;
    data_bytes_ -= entries_.front().data.size();
    entries_.pop_front();
  }
  snapshot_ = meta;
  recompute_conf();
}

void RaftLog::reset_to(const SnapshotMeta& meta) {
  entries_.clear();
  data_bytes_ = 0;
  snapshot_ = meta;
  base_index_ = meta.index;
  base_term_ = meta.term;
  committed_ = meta.index;
  applied_ = meta.index;
  persisted_ = meta.index;
  recompute_conf();
}

ConfState RaftLog::conf_at(LogIndex index) const {
  ConfState conf = snapshot_.conf;
  for (const Entry& entry : entries_) {
    if (entry.index > index) break;
    if (entry.index > snapshot_.index && entry.type == EntryType::kConfChange) {
      apply_conf_entry_to(conf, entry);
    }
  }
  return conf;
}

void RaftLog::commit_to(LogIndex index) {
  BCAST_INVARIANT(index <= last_index(), "commit beyond the end of the log");
  committed_ = std::max(committed_, index);
}

void RaftLog::applied_to(LogIndex index) {
  BCAST_INVARIANT(index <= committed_ && index >= applied_,
                  "applied index beyond commit, or going backwards");
  applied_ = index;
}

void RaftLog::persisted_to(LogIndex index, Term term) {
  if (index > persisted_ && matches(index, term)) persisted_ = index;
}

void RaftLog::truncate_after(LogIndex index) {
  while (last_index() > index) {
    data_bytes_ -= entries_.back().data.size();
    entries_.pop_back();
  }
  persisted_ = std::min(persisted_, index);
  if (last_conf_index_ > index) recompute_conf();
}

void RaftLog::recompute_conf() {
  conf_ = snapshot_.conf;
  last_conf_index_ = 0;
  for (const Entry& entry : entries_) {
    if (entry.index > snapshot_.index) apply_conf_entry(entry);
  }
}

void RaftLog::note_appended(const Entry& entry) {
  data_bytes_ += entry.data.size();
  apply_conf_entry(entry);
}

void RaftLog::apply_conf_entry(const Entry& entry) {
  if (entry.type != EntryType::kConfChange) return;
  apply_conf_entry_to(conf_, entry);
  last_conf_index_ = entry.index;
}

void RaftLog::apply_conf_entry_to(ConfState& conf, const Entry& entry) {
  const auto change = decode_conf_change(entry.data);
  if (!change) return;  // the leader validated it; a malformed one is skipped everywhere alike
  if (auto next = apply_conf_change(conf, *change)) conf = std::move(*next);
}

std::string RaftLog::check_invariants() const {
  if (applied_ > committed_) return "applied beyond committed";
  if (committed_ > last_index()) return "committed beyond last index";
  if (persisted_ > last_index()) return "persisted beyond last index";
  if (applied_ < snapshot_.index) return "applied behind the snapshot";
  if (base_index_ > snapshot_.index) return "entries after the snapshot point are missing";
  if (!matches(snapshot_.index, snapshot_.term)) return "the snapshot point is not in the log";
  LogIndex expected = first_index();
  Term previous_term = base_term_;
  for (const Entry& entry : entries_) {
    if (entry.index != expected++) return "log indices are not contiguous";
    if (entry.term < previous_term) return "log terms decrease";
    previous_term = entry.term;
  }
  return {};
}

}  // namespace bcast::raft
