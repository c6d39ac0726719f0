// PersistRequest merges the effects of several core calls into one storage write. Merging must
// leave storage exactly where applying the calls' requests one by one would.
#include <gtest/gtest.h>

#include "core/outbox.hpp"
#include "core/raft/memory_storage.hpp"

namespace bcast {
namespace {

raft::Entry entry(LogIndex index, Term term) { return raft::Entry{term, index, {}, "d"}; }

std::vector<raft::Entry> entries(LogIndex first, LogIndex last, Term term) {
  std::vector<raft::Entry> out;
  for (LogIndex i = first; i <= last; ++i) out.push_back(entry(i, term));
  return out;
}

raft::Snapshot snapshot_at(LogIndex index, Term term) {
  raft::Snapshot s;
  s.meta.index = index;
  s.meta.term = term;
  s.data = std::make_shared<const std::string>("image");
  return s;
}

std::vector<std::pair<LogIndex, Term>> positions(const raft::MemoryStorage& storage) {
  std::vector<std::pair<LogIndex, Term>> out;
  for (const auto& e : storage.state().entries) out.emplace_back(e.index, e.term);
  return out;
}

TEST(PersistRequest, ALaterBatchReplacesThePendingTail) {
  PersistRequest r;
  r.append_entries(entries(1, 5, 1));
  r.append_entries(entries(4, 6, 2));
  ASSERT_EQ(r.entries.size(), 6u);
  EXPECT_EQ(r.entries[2].term, 1u);
  EXPECT_EQ(r.entries[3].term, 2u);
  EXPECT_EQ(r.entries.back().index, 6u);
}

TEST(PersistRequest, CompactionOverPendingReplacementsStillDropsTheOldSuffix) {
  // Stored: 1..10 in term 1. Then, in one outbox: entries 4..12 of term 2 replace 4..10, and
  // the node compacts at 8. Storage must end with snapshot 8 and entries 9..12 of term 2.
  raft::MemoryStorage merged;
  raft::MemoryStorage sequential;
  PersistRequest initial;
  initial.append_entries(entries(1, 10, 1));
  merged.persist(initial);
  sequential.persist(initial);

  PersistRequest replace;
  replace.append_entries(entries(4, 12, 2));
  PersistRequest compact;
  compact.set_snapshot(snapshot_at(8, 2), /*resets_log=*/false);
  sequential.persist(replace);
  sequential.persist(compact);

  PersistRequest both;
  both.append_entries(entries(4, 12, 2));
  both.set_snapshot(snapshot_at(8, 2), /*resets_log=*/false);
  EXPECT_TRUE(both.snapshot_resets_log);  // the stored 9..10 of term 1 must go
  merged.persist(both);
  EXPECT_EQ(positions(merged), positions(sequential));
  EXPECT_EQ(positions(merged).front(), (std::pair<LogIndex, Term>{9, 2}));
}

TEST(PersistRequest, CompactionOfStoredEntriesKeepsTheRest) {
  PersistRequest r;
  r.append_entries(entries(11, 12, 1));
  r.set_snapshot(snapshot_at(8, 1), /*resets_log=*/false);
  EXPECT_FALSE(r.snapshot_resets_log);
  EXPECT_EQ(r.entries.size(), 2u);
}

TEST(PersistRequest, AnInstalledSnapshotDropsEveryPendingEntry) {
  PersistRequest r;
  r.append_entries(entries(5, 7, 1));
  r.set_snapshot(snapshot_at(20, 3), /*resets_log=*/true);
  EXPECT_TRUE(r.snapshot_resets_log);
  EXPECT_TRUE(r.entries.empty());
  r.append_entries(entries(21, 22, 3));
  EXPECT_EQ(r.entries.size(), 2u);
}

}  // namespace
}  // namespace bcast
