// [robustness] item 4, in storage: a full disk is not damage. A write refused for lack of space
// is undone, storage and the files agree on a prefix of the request, and resume() finishes the
// request once there is room; nothing stored before is lost, even across a crash meanwhile.
// Any other failure (an I/O error, a failed fsync) still stops the storage for good.
//
// Before the fix, the first ENOSPC stopped the storage (and the daemon exited with 70).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/rng.hpp"
#include "io/raft_storage.hpp"
#include "io/record.hpp"
#include "io/storage_records.hpp"
#include "storage_test_util.hpp"
#include "support/faulty_file_system.hpp"

namespace bcast::test {
namespace {

const std::string kDir = "/data";

class DiskFullTest : public ::testing::Test {
 protected:
  std::unique_ptr<io::RaftStorage> open() {
    auto storage = io::RaftStorage::open(fs_, kDir, options_);
    EXPECT_TRUE(storage.ok()) << storage.error().message;
    return storage.ok() ? std::move(storage.value()) : nullptr;
  }

  raft::RaftState reopen_after_power_loss(std::unique_ptr<io::RaftStorage>& storage,
                                          std::uint64_t seed) {
    storage.reset();
    Rng rng(seed);
    fs_.crash(rng);
    auto reopened = open();
    return reopened ? reopened->take_recovered() : raft::RaftState{};
  }

  void persist(io::RaftStorage& storage, const PersistRequest& request) {
    auto result = storage.persist(request);
    ASSERT_TRUE(result.ok()) << result.error().message;
  }

  // Leaves `room_bytes` free on the disk.
  void fill_disk(std::uint64_t room_bytes) {
    fs_.set_capacity_bytes(fs_.used_bytes() + room_bytes);
  }

  FaultyFileSystem fs_;
  io::StorageOptions options_;
};

void expect_disk_full(const Result<void>& result) {
  ASSERT_FALSE(result.ok()) << "the write was expected to find the disk full";
  EXPECT_TRUE(io::is_disk_full(result.error())) << result.error().message;
  EXPECT_EQ(result.error().code, ErrorCode::kIo);
  EXPECT_NE(result.error().message.find("disk full"), std::string::npos) << result.error().message;
}

std::vector<raft::Entry> joined(std::vector<raft::Entry> a, const std::vector<raft::Entry>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST_F(DiskFullTest, AppendWaitsForRoomAndLosesNothing) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 5, 1)));
  fill_disk(100);  // less than the next batch needs
  expect_disk_full(storage->persist(append_request(make_entries(6, 10, 1, 200))));
  EXPECT_TRUE(storage->interrupted());
  // Nothing else may be persisted before the interrupted request is finished.
  EXPECT_EQ(storage->persist(append_request(make_entries(11, 11, 1))).error().code,
            ErrorCode::kInvalidArgument);
  expect_disk_full(storage->resume());  // still full

  fs_.set_capacity_bytes(std::nullopt);  // space returns
  ASSERT_TRUE(storage->resume().ok());
  EXPECT_FALSE(storage->interrupted());
  persist(*storage, append_request(make_entries(11, 11, 1)));
  const raft::RaftState state = reopen_after_power_loss(storage, 1);
  EXPECT_EQ(state.entries, joined(joined(make_entries(1, 5, 1), make_entries(6, 10, 1, 200)),
                                  make_entries(11, 11, 1)));
}

TEST_F(DiskFullTest, CrashWhileFullKeepsEverythingSynced) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 5, 1)));
  fill_disk(150);  // part of the batch fits, then the disk is full
  expect_disk_full(storage->persist(append_request(make_entries(6, 10, 1, 200))));
  // Entries of the refused batch may come back (a crash may keep part of the write and lose
  // its undoing): they were never reported stored, so that is harmless. Nothing before them
  // may be missing.
  const std::vector<raft::Entry> batch = make_entries(6, 10, 1, 200);
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const raft::RaftState state = reopen_after_power_loss(storage, seed);
    ASSERT_GE(state.entries.size(), 5u) << "seed " << seed;
    EXPECT_EQ(std::vector<raft::Entry>(state.entries.begin(), state.entries.begin() + 5),
              make_entries(1, 5, 1))
        << "seed " << seed;
    for (std::size_t i = 5; i < state.entries.size(); ++i) {
      EXPECT_EQ(state.entries[i], batch[i - 5]) << "seed " << seed;
    }
  }
}

TEST_F(DiskFullTest, FullDiskWhileStartingASegmentLeavesNoEmptySegment) {
  options_.segment_bytes = 300;
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 3, 1, 100)));
  const std::vector<LogIndex> before = segment_indices(fs_, kDir);
  fill_disk(40);  // the next segment's file can be created, its first write cannot complete
  expect_disk_full(storage->persist(append_request(make_entries(4, 6, 1, 100))));
  EXPECT_EQ(segment_indices(fs_, kDir), before) << "the segment begun for the batch is removed";
  fs_.set_capacity_bytes(std::nullopt);
  ASSERT_TRUE(storage->resume().ok());
  persist(*storage, append_request(make_entries(7, 7, 1)));
  const raft::RaftState state = reopen_after_power_loss(storage, 7);
  EXPECT_EQ(state.entries, joined(joined(make_entries(1, 3, 1, 100), make_entries(4, 6, 1, 100)),
                                  make_entries(7, 7, 1)));
}

TEST_F(DiskFullTest, FullDiskWhileReplacingASuffixResumesTheReplacement) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 8, 1)));
  fill_disk(0);
  // A new leader's entries replace 5..8: the cut frees space, the longer entries need more.
  expect_disk_full(storage->persist(append_request(make_entries(5, 9, 2, 300))));
  fs_.set_capacity_bytes(std::nullopt);
  ASSERT_TRUE(storage->resume().ok());
  const raft::RaftState state = reopen_after_power_loss(storage, 3);
  EXPECT_EQ(state.entries, joined(make_entries(1, 4, 1), make_entries(5, 9, 2, 300)));
}

TEST_F(DiskFullTest, FullDiskWritingTheHardStateResumes) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 2, 1)));
  PersistRequest request = append_request(make_entries(3, 3, 1));
  request.hard_state = raft::HardState{2, 3, 2};
  // Room for entry 3's record (the mark is rewritten in place), not for the hard state's
  // temporary file after it.
  const std::uint64_t entry_record_bytes =
      io::kRecordHeaderBytes + io::kEntryFixedPayloadBytes + request.entries[0].data.size();
  fill_disk(entry_record_bytes + 10);
  expect_disk_full(storage->persist(request));
  EXPECT_TRUE(storage->interrupted());
  fs_.set_capacity_bytes(std::nullopt);
  ASSERT_TRUE(storage->resume().ok());
  const raft::RaftState state = reopen_after_power_loss(storage, 5);
  EXPECT_EQ(state.entries, make_entries(1, 3, 1));
  EXPECT_EQ(state.hard_state.term, 2u);
  EXPECT_EQ(state.hard_state.vote, 3u);
}

TEST_F(DiskFullTest, OtherFailuresStillStopTheStorage) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 2, 1)));
  fs_.fail_next_syncs(1);
  auto failed = storage->persist(append_request(make_entries(3, 4, 1)));
  ASSERT_FALSE(failed.ok());
  EXPECT_FALSE(io::is_disk_full(failed.error())) << failed.error().message;
  EXPECT_FALSE(storage->interrupted());
  // A failed fsync is never retried: the kernel may have dropped what it failed to write.
  EXPECT_FALSE(storage->resume().ok());
  EXPECT_FALSE(storage->persist(append_request(make_entries(3, 4, 1))).ok());
}

}  // namespace
}  // namespace bcast::test
