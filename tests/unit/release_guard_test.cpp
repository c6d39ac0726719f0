// The guards that protect committed entries hold in Release builds too: this test and the log
// code under it are compiled with NDEBUG (tests/unit/CMakeLists.txt), where assert() is gone.
// On 83aa5b9 the guard was an assert: a Release daemon truncated a committed entry silently.
#include <gtest/gtest.h>

#include <vector>

#include "core/raft/raft_log.hpp"

#ifndef NDEBUG
#error "this test must be compiled as a Release build (NDEBUG)"
#endif

namespace bcast::raft {
namespace {

std::vector<Entry> entries(LogIndex first, LogIndex last, Term term) {
  std::vector<Entry> out;
  for (LogIndex i = first; i <= last; ++i) out.push_back(Entry{term, i, EntryType::kNormal, "x"});
  return out;
}

TEST(ReleaseGuardDeathTest, TruncatingACommittedEntryStopsTheNode) {
  RaftLog log(SnapshotMeta{}, entries(1, 3, 1));
  log.commit_to(3);
  // A "leader" of term 2 claims entry 2 differs: only a damaged log or a false member says so.
  const std::vector<Entry> conflicting = entries(2, 2, 2);
  EXPECT_DEATH(log.append_after(1, conflicting), "refusing to truncate committed entries");
}

TEST(ReleaseGuardDeathTest, CommittingBeyondTheLogStopsTheNode) {
  RaftLog log(SnapshotMeta{}, entries(1, 2, 1));
  EXPECT_DEATH(log.commit_to(5), "commit beyond the end of the log");
}

TEST(ReleaseGuard, AnUncommittedConflictingSuffixIsStillReplaced) {
  RaftLog log(SnapshotMeta{}, entries(1, 3, 1));
  log.commit_to(1);
  const std::vector<Entry> newer = entries(2, 2, 2);
  EXPECT_EQ(log.append_after(1, newer), LogIndex{2});
  EXPECT_EQ(log.last_index(), 2u);
  EXPECT_EQ(log.last_term(), 2u);
}

}  // namespace
}  // namespace bcast::raft
