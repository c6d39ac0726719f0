// RaftStorage on the in-memory FaultyFileSystem: round trips, recovery rules, damage handling
// and the cost rules (what is synced, what is rewritten).
#include "io/raft_storage.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/byte_codec.hpp"
#include "io/record.hpp"
#include "io/storage_records.hpp"
#include "storage_test_util.hpp"
#include "support/faulty_file_system.hpp"

namespace bcast::test {
namespace {

const std::string kDir = "/data";

class RaftStorageTest : public ::testing::Test {
 protected:
  // Opens the storage, expecting success.
  std::unique_ptr<io::RaftStorage> open() {
    auto storage = io::RaftStorage::open(fs_, kDir, options_);
    EXPECT_TRUE(storage.ok()) << storage.error().message;
    return storage.ok() ? std::move(storage.value()) : nullptr;
  }

  // Simulates a restart (nothing lost) and returns what a fresh open recovers.
  raft::RaftState reopen() {
    fs_.restart_process();
    auto storage = open();
    return storage ? storage->take_recovered() : raft::RaftState{};
  }

  Error open_error() {
    fs_.restart_process();
    auto storage = io::RaftStorage::open(fs_, kDir, options_);
    EXPECT_FALSE(storage.ok());
    return storage.ok() ? Error{} : storage.error();
  }

  void persist(io::RaftStorage& storage, const PersistRequest& request) {
    auto result = storage.persist(request);
    ASSERT_TRUE(result.ok()) << result.error().message;
  }

  std::string read(const std::string& path) {
    auto bytes = io::read_whole_file(fs_, path, 1 << 30);
    EXPECT_TRUE(bytes.ok());
    return bytes.ok() ? bytes.value() : "";
  }

  // Writes `bytes` at `offset` (creating the file if needed) and makes it durable.
  void overwrite(const std::string& path, std::uint64_t offset, const std::string& bytes) {
    auto file = fs_.open_file(path, io::OpenMode::kCreate);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE(file.value()->write_at(offset, bytes).ok());
    ASSERT_TRUE(file.value()->sync().ok());
  }

  void flip_byte(const std::string& path, std::uint64_t offset) {
    const std::string content = read(path);
    ASSERT_LT(offset, content.size());
    overwrite(path, offset, std::string(1, static_cast<char>(content[offset] ^ 0x5a)));
  }

  void cut_file(const std::string& path, std::uint64_t size_bytes) {
    auto file = fs_.open_file(path, io::OpenMode::kExisting);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE(file.value()->truncate(size_bytes).ok());
  }

  FaultyFileSystem fs_;
  io::StorageOptions options_;
};

// Offset of entry `index`'s record in a segment (of format 2: header, durable mark, entries)
// holding only entry records after its mark.
std::uint64_t record_offset(const std::string& segment, LogIndex first_index, LogIndex index) {
  std::uint64_t offset = io::kDurableMarkOffset + io::kDurableMarkRecordBytes;
  for (LogIndex i = first_index; i < index; ++i) {
    offset += io::kRecordHeaderBytes + get_le<std::uint64_t>(segment.data() + offset + 8);
  }
  return offset;
}

TEST_F(RaftStorageTest, NewDirectoryRecoversEmptyState) {
  auto storage = open();
  ASSERT_TRUE(storage);
  const raft::RaftState state = storage->take_recovered();
  EXPECT_EQ(state.hard_state, raft::HardState{});
  EXPECT_FALSE(state.snapshot);
  EXPECT_TRUE(state.entries.empty());
  EXPECT_TRUE(fs_.durable_content(kDir + "/hardstate") == std::nullopt);
}

TEST_F(RaftStorageTest, RoundTripsEntriesHardStateAndSnapshot) {
  auto storage = open();
  ASSERT_TRUE(storage);
  PersistRequest first = append_request(make_entries(1, 10, 2));
  first.entries[3].type = raft::EntryType::kConfChange;
  first.entries[4].type = raft::EntryType::kLeaderNoop;
  first.entries[5].data = std::string("\0binary\xff", 8);
  first.hard_state = raft::HardState{3, 2, 4};
  persist(*storage, first);
  PersistRequest second;
  second.set_snapshot(make_snapshot(5, 2, "state machine at 5"), false);
  second.sync = true;
  persist(*storage, second);

  const raft::RaftState state = reopen();
  EXPECT_EQ(state.hard_state, (raft::HardState{3, 2, 5}));
  ASSERT_TRUE(state.snapshot);
  EXPECT_EQ(state.snapshot->meta, make_snapshot(5, 2, "").meta);
  EXPECT_EQ(*state.snapshot->data, "state machine at 5");
  const std::vector<raft::Entry> expected(first.entries.begin() + 5, first.entries.end());
  EXPECT_EQ(state.entries, expected);
}

TEST_F(RaftStorageTest, SyncedStateSurvivesPowerLoss) {
  auto storage = open();
  ASSERT_TRUE(storage);
  PersistRequest request = append_request(make_entries(1, 20, 1, 100));
  request.hard_state = raft::HardState{1, 1, 0};
  persist(*storage, request);
  storage.reset();
  Rng rng(7);
  fs_.crash(rng);
  auto reopened = open();
  ASSERT_TRUE(reopened);
  const raft::RaftState state = reopened->take_recovered();
  EXPECT_EQ(state.entries, request.entries);
  EXPECT_EQ(state.hard_state.term, 1u);
  EXPECT_EQ(state.hard_state.vote, 1u);
}

TEST_F(RaftStorageTest, TornTailIsCutOffAndAppendingContinues) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 5, 1)));
  storage.reset();
  const std::string path = segment_path(kDir, 1);
  const std::string segment = read(path);
  const std::uint64_t fifth = record_offset(segment, 1, 5);
  // The last record lost its final bytes, and the write after it left only zeros.
  cut_file(path, segment.size() - 3);
  overwrite(path, segment.size() - 3, std::string(100, '\0'));

  raft::RaftState state = reopen();
  EXPECT_EQ(state.entries, make_entries(1, 4, 1));
  EXPECT_EQ(read(path).size(), fifth);  // cut exactly at the damaged record

  fs_.restart_process();
  auto again = open();
  ASSERT_TRUE(again);
  persist(*again, append_request(make_entries(5, 6, 2)));
  state = reopen();
  std::vector<raft::Entry> expected = make_entries(1, 4, 1);
  for (const raft::Entry& entry : make_entries(5, 6, 2)) expected.push_back(entry);
  EXPECT_EQ(state.entries, expected);
}

TEST_F(RaftStorageTest, CorruptionInTheMiddleIsRefusedWithFileAndOffset) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 8, 1)));
  storage.reset();
  const std::string path = segment_path(kDir, 1);
  const std::uint64_t second = record_offset(read(path), 1, 2);
  flip_byte(path, second + io::kRecordHeaderBytes + 3);  // inside entry 2's payload

  const Error error = open_error();
  EXPECT_EQ(error.code, ErrorCode::kCorrupt);
  EXPECT_NE(error.message.find(path), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("payload checksum mismatch"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("byte offset " + std::to_string(second)), std::string::npos)
      << error.message;
  EXPECT_NE(error.message.find("not a torn write"), std::string::npos) << error.message;
}

TEST_F(RaftStorageTest, FlippedLengthInAHeaderIsRefused) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 8, 1)));
  storage.reset();
  const std::string path = segment_path(kDir, 1);
  const std::uint64_t third = record_offset(read(path), 1, 3);
  flip_byte(path, third + 8);  // the payload length

  const Error error = open_error();
  EXPECT_EQ(error.code, ErrorCode::kCorrupt);
  EXPECT_NE(error.message.find("header checksum mismatch"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("byte offset " + std::to_string(third)), std::string::npos)
      << error.message;
}

TEST_F(RaftStorageTest, DamageAtTheEndOfAnOlderSegmentIsRefused) {
  options_.segment_bytes = 300;
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 30, 1, 40)));
  storage.reset();
  const std::vector<LogIndex> segments = segment_indices(fs_, kDir);
  ASSERT_GE(segments.size(), 3u);
  // The last byte of the first segment: its tail, but not the log's tail.
  const std::string path = segment_path(kDir, segments[0]);
  flip_byte(path, read(path).size() - 1);

  const Error error = open_error();
  EXPECT_EQ(error.code, ErrorCode::kCorrupt);
  EXPECT_NE(error.message.find(path), std::string::npos) << error.message;
}

TEST_F(RaftStorageTest, MissingMiddleSegmentIsAGap) {
  options_.segment_bytes = 300;
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 30, 1, 40)));
  storage.reset();
  const std::vector<LogIndex> segments = segment_indices(fs_, kDir);
  ASSERT_GE(segments.size(), 3u);
  ASSERT_TRUE(fs_.remove(segment_path(kDir, segments[1])).ok());

  const Error error = open_error();
  EXPECT_EQ(error.code, ErrorCode::kCorrupt);
  EXPECT_NE(error.message.find("gap"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find(io::segment_file_name(segments[2])), std::string::npos)
      << error.message;
}

TEST_F(RaftStorageTest, SuffixReplacementAcrossSegmentBoundaries) {
  options_.segment_bytes = 300;
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 40, 1, 40)));
  const std::vector<LogIndex> before = segment_indices(fs_, kDir);
  ASSERT_GE(before.size(), 4u);
  // Replace from the middle of the second segment: later segments must go.
  const LogIndex from = before[1] + 1;
  persist(*storage, append_request(make_entries(from, from + 2, 2, 40)));
  // The third entry overflows into a new segment, which may reuse a removed one's name.
  const std::vector<LogIndex> after = segment_indices(fs_, kDir);
  ASSERT_GE(after.size(), 2u);
  EXPECT_EQ(after[0], before[0]);
  EXPECT_EQ(after[1], before[1]);
  EXPECT_LE(after.back(), from + 2);

  std::vector<raft::Entry> expected = make_entries(1, from - 1, 1, 40);
  for (const raft::Entry& entry : make_entries(from, from + 2, 2, 40)) expected.push_back(entry);
  EXPECT_EQ(reopen().entries, expected);

  // Replacing from exactly the first entry of a segment, then growing past the old end.
  fs_.restart_process();
  storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(before[1], 60, 3, 40)));
  expected = make_entries(1, before[1] - 1, 1, 40);
  for (const raft::Entry& entry : make_entries(before[1], 60, 3, 40)) expected.push_back(entry);
  EXPECT_EQ(reopen().entries, expected);
}

TEST_F(RaftStorageTest, SnapshotCompactionDeletesCoveredSegments) {
  options_.segment_bytes = 300;
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 40, 1, 40)));
  const std::vector<LogIndex> before = segment_indices(fs_, kDir);
  ASSERT_GE(before.size(), 4u);
  // A snapshot in the middle of the third segment: the first two are wholly covered.
  const LogIndex index = before[2] + 1;
  PersistRequest request;
  request.set_snapshot(make_snapshot(index, 1, "compacted"), false);
  persist(*storage, request);
  std::vector<LogIndex> after = segment_indices(fs_, kDir);
  EXPECT_EQ(after, std::vector<LogIndex>(before.begin() + 2, before.end()));

  raft::RaftState state = reopen();
  ASSERT_TRUE(state.snapshot);
  EXPECT_EQ(state.snapshot->meta.index, index);
  EXPECT_EQ(state.entries, make_entries(index + 1, 40, 1, 40));

  // A newer snapshot replaces the older file, leaving only one.
  fs_.restart_process();
  storage = open();
  ASSERT_TRUE(storage);
  PersistRequest newer;
  newer.set_snapshot(make_snapshot(40, 1, "all"), false);
  persist(*storage, newer);
  EXPECT_TRUE(segment_indices(fs_, kDir).empty());
  auto names = fs_.list_dir(kDir);
  ASSERT_TRUE(names.ok());
  std::vector<std::string> snapshots;
  for (const std::string& name : names.value()) {
    if (io::parse_snapshot_file_name(name)) snapshots.push_back(name);
  }
  EXPECT_EQ(snapshots, (std::vector<std::string>{io::snapshot_file_name(40)}));
  persist(*storage, append_request(make_entries(41, 42, 2)));
  state = reopen();
  EXPECT_EQ(state.snapshot->meta.index, 40u);
  EXPECT_EQ(state.entries, make_entries(41, 42, 2));
}

TEST_F(RaftStorageTest, SnapshotResetDropsEveryEntry) {
  options_.segment_bytes = 300;
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 30, 1, 40)));
  // The leader's snapshot at 20 disagrees with this log: all of it goes, even entries above 20.
  PersistRequest request;
  request.set_snapshot(make_snapshot(20, 3, "leader state"), true);
  request.append_entries(make_entries(21, 22, 3));
  request.hard_state = raft::HardState{3, 0, 20};
  request.sync = true;
  persist(*storage, request);

  const raft::RaftState state = reopen();
  ASSERT_TRUE(state.snapshot);
  EXPECT_EQ(state.snapshot->meta.index, 20u);
  EXPECT_EQ(state.entries, make_entries(21, 22, 3));
  EXPECT_EQ(segment_indices(fs_, kDir), std::vector<LogIndex>{21});
}

TEST_F(RaftStorageTest, SegmentsFromBeforeALogResetAreDiscarded) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 30, 1)));
  const std::string old_segment = read(segment_path(kDir, 1));
  PersistRequest reset;
  reset.set_snapshot(make_snapshot(10, 3, "leader state"), true);
  reset.sync = true;
  persist(*storage, reset);
  storage.reset();
  // As if the crash came before the old segment's removal reached the disk.
  overwrite(segment_path(kDir, 1), 0, old_segment);

  const raft::RaftState state = reopen();
  ASSERT_TRUE(state.snapshot);
  EXPECT_EQ(state.snapshot->meta.index, 10u);
  EXPECT_TRUE(state.entries.empty());
  EXPECT_TRUE(segment_indices(fs_, kDir).empty());
}

TEST_F(RaftStorageTest, RecoveredTermIsRaisedToTheLastEntryAndWrittenBack) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, hard_state_request(2, 3, 0));
  // Entries of term 5 reached the disk but the hard state for term 5 did not.
  persist(*storage, append_request(make_entries(1, 3, 5)));
  raft::RaftState state = reopen();
  EXPECT_EQ(state.hard_state.term, 5u);
  EXPECT_EQ(state.hard_state.vote, kNoNode);

  // The raised term is durable on its own: replacing the term-5 entries cannot lower it.
  fs_.restart_process();
  storage = open();
  ASSERT_TRUE(storage);
  PersistRequest lower;
  lower.entries = make_entries(1, 1, 2);
  persist(*storage, lower);
  state = reopen();
  EXPECT_EQ(state.hard_state.term, 5u);
}

TEST_F(RaftStorageTest, CommitOnlyUpdatesCostNoWriteAndAreStoredWithTheNextEntries) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 10, 1)));
  persist(*storage, hard_state_request(1, 2, 0));
  const FaultyFileSystem::Stats before = fs_.stats();
  persist(*storage, hard_state_request(1, 2, 6, /*sync=*/false));
  EXPECT_EQ(fs_.stats().operations, before.operations);  // no write, no rename, no fsync
  EXPECT_EQ(reopen().hard_state.commit, 0u);             // commit is allowed to lag

  fs_.restart_process();
  storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, hard_state_request(1, 2, 8, /*sync=*/false));
  persist(*storage, append_request(make_entries(11, 11, 1)));
  EXPECT_EQ(reopen().hard_state.commit, 8u);
}

TEST_F(RaftStorageTest, HardStateIsRewrittenOnlyWhenTermOrVoteChange) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, hard_state_request(1, 0, 0));
  EXPECT_EQ(fs_.stats().renames, 1u);
  persist(*storage, hard_state_request(1, 0, 0));
  persist(*storage, hard_state_request(1, 0, 0, /*sync=*/false));
  EXPECT_EQ(fs_.stats().renames, 1u);
  persist(*storage, hard_state_request(1, 3, 0));  // a vote
  EXPECT_EQ(fs_.stats().renames, 2u);
  persist(*storage, hard_state_request(2, 0, 0));  // a new term
  EXPECT_EQ(fs_.stats().renames, 3u);
  EXPECT_EQ(reopen().hard_state, (raft::HardState{2, 0, 0}));
}

TEST_F(RaftStorageTest, SyncedAppendCostsOneFsync) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 1, 1)));  // creates the segment
  const FaultyFileSystem::Stats before = fs_.stats();
  persist(*storage, append_request(make_entries(2, 9, 1)));
  // The entries, and the segment's durable mark rewritten in place (48 bytes, same fsync).
  EXPECT_EQ(fs_.stats().writes - before.writes, 2u);
  EXPECT_EQ(fs_.stats().file_syncs - before.file_syncs, 1u);
  EXPECT_EQ(fs_.stats().dir_syncs - before.dir_syncs, 0u);
  EXPECT_EQ(fs_.pending_operations(), 0u);
}

TEST_F(RaftStorageTest, UnsyncedAppendIsSyncedBeforeTheSegmentIsWrittenAgain) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 2, 1)));
  persist(*storage, append_request(make_entries(3, 4, 1), /*sync=*/false));
  EXPECT_GT(fs_.pending_operations(), 0u);
  const FaultyFileSystem::Stats before = fs_.stats();
  persist(*storage, append_request(make_entries(5, 6, 1), /*sync=*/false));
  // One sync of the earlier write, so that at most one write per segment is ever unsynced.
  EXPECT_EQ(fs_.stats().file_syncs - before.file_syncs, 1u);
}

TEST_F(RaftStorageTest, FsyncDisabledNeverSyncs) {
  options_.fsync = false;
  options_.segment_bytes = 300;
  auto storage = open();
  ASSERT_TRUE(storage);
  PersistRequest request = append_request(make_entries(1, 30, 1, 40));
  request.hard_state = raft::HardState{1, 1, 3};
  persist(*storage, request);
  PersistRequest snapshot;
  snapshot.set_snapshot(make_snapshot(10, 1, "s"), false);
  snapshot.sync = true;
  persist(*storage, snapshot);
  persist(*storage, append_request(make_entries(20, 22, 2)));
  EXPECT_EQ(fs_.stats().file_syncs, 0u);
  EXPECT_EQ(fs_.stats().dir_syncs, 0u);
  EXPECT_EQ(reopen().entries.back().index, 22u);
  EXPECT_EQ(fs_.stats().file_syncs + fs_.stats().dir_syncs, 0u);
}

TEST_F(RaftStorageTest, LeftoverTempFilesAreRemoved) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, hard_state_request(4, 1, 0));
  storage.reset();
  for (const std::string name : {"hardstate.tmp", "snapshot-00000000000000000009.snap.tmp"}) {
    auto file = fs_.open_file(kDir + "/" + name, io::OpenMode::kCreate);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE(file.value()->write_at(0, "half written").ok());
  }
  const raft::RaftState state = reopen();
  EXPECT_EQ(state.hard_state, (raft::HardState{4, 1, 0}));
  auto names = fs_.list_dir(kDir);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names.value(), std::vector<std::string>{"hardstate"});
}

TEST_F(RaftStorageTest, DamagedHardStateOrSnapshotIsRefused) {
  auto storage = open();
  ASSERT_TRUE(storage);
  PersistRequest request = append_request(make_entries(1, 5, 1));
  request.hard_state = raft::HardState{1, 1, 3};
  request.set_snapshot(make_snapshot(3, 1, "snapshot data"), false);
  persist(*storage, request);
  storage.reset();

  flip_byte(kDir + "/hardstate", 40);
  Error error = open_error();
  EXPECT_EQ(error.code, ErrorCode::kCorrupt);
  EXPECT_NE(error.message.find(kDir + "/hardstate"), std::string::npos) << error.message;
  flip_byte(kDir + "/hardstate", 40);  // repaired

  const std::string snapshot = kDir + "/" + io::snapshot_file_name(3);
  cut_file(snapshot, read(snapshot).size() - 1);
  error = open_error();
  EXPECT_EQ(error.code, ErrorCode::kCorrupt);
  EXPECT_NE(error.message.find(snapshot), std::string::npos) << error.message;
}

TEST_F(RaftStorageTest, GarbageLengthsNeverCauseHugeReads) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 5, 1)));
  persist(*storage, hard_state_request(1, 1, 0));
  storage.reset();
  const std::string path = segment_path(kDir, 1);
  const std::uint64_t size = read(path).size();
  // A header whose checksum verifies but whose length claims 2^62 bytes, at the tail...
  std::string forged = io::encode_record_header(io::RecordKind::kEntry, 1ULL << 62, 0);
  overwrite(path, size, forged);
  raft::RaftState state = reopen();
  EXPECT_EQ(state.entries.size(), 5u);
  EXPECT_EQ(read(path).size(), size);
  EXPECT_LT(fs_.stats().largest_read_request_bytes, 1u << 20);

  // ... and followed by a valid record, which makes it corruption, still without a huge read.
  std::string valid;
  io::append_record(valid, io::RecordKind::kCommit, std::string(8, '\0'));
  overwrite(path, size, forged + valid);
  EXPECT_EQ(open_error().code, ErrorCode::kCorrupt);
  EXPECT_LT(fs_.stats().largest_read_request_bytes, 1u << 20);

  // A hard state file claiming a huge payload.
  cut_file(path, size);
  overwrite(kDir + "/hardstate", 0, forged);
  EXPECT_EQ(open_error().code, ErrorCode::kCorrupt);
  EXPECT_LT(fs_.stats().largest_read_request_bytes, 1u << 20);
}

TEST_F(RaftStorageTest, InjectedWriteErrorSurfacesAndStopsTheStorage) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 2, 1)));
  fs_.fail_next_writes(1);
  auto failed = storage->persist(append_request(make_entries(3, 4, 1)));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kIo);
  EXPECT_NE(failed.error().message.find(segment_path(kDir, 1)), std::string::npos)
      << failed.error().message;
  // The disk can no longer be trusted: later requests fail too, without touching it.
  const std::uint64_t operations = fs_.stats().operations;
  auto later = storage->persist(append_request(make_entries(3, 4, 1)));
  EXPECT_FALSE(later.ok());
  EXPECT_EQ(fs_.stats().operations, operations);

  EXPECT_EQ(reopen().entries, make_entries(1, 2, 1));
  fs_.restart_process();
  storage = open();
  ASSERT_TRUE(storage);
  fs_.fail_next_syncs(1);
  auto sync_failed = storage->persist(hard_state_request(9, 1, 0));
  ASSERT_FALSE(sync_failed.ok());
  EXPECT_EQ(sync_failed.error().code, ErrorCode::kIo);
}

TEST_F(RaftStorageTest, MalformedRequestsAreRefusedWithoutHarm) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, append_request(make_entries(1, 5, 1)));

  auto gap = storage->persist(append_request(make_entries(8, 9, 1)));
  EXPECT_EQ(gap.error().code, ErrorCode::kInvalidArgument);
  PersistRequest holes = append_request(make_entries(6, 7, 1));
  holes.entries[1].index = 9;
  EXPECT_EQ(storage->persist(holes).error().code, ErrorCode::kInvalidArgument);
  PersistRequest snapshot;
  snapshot.set_snapshot(make_snapshot(4, 1, "s"), false);
  persist(*storage, snapshot);
  PersistRequest older;
  older.set_snapshot(make_snapshot(2, 1, "older"), false);
  EXPECT_EQ(storage->persist(older).error().code, ErrorCode::kInvalidArgument);

  // Nothing was written by the refused requests and the storage still works.
  persist(*storage, append_request(make_entries(6, 6, 1)));
  EXPECT_EQ(reopen().entries, make_entries(5, 6, 1));
}

TEST_F(RaftStorageTest, RequestsThatWouldLowerATermAreRefused) {
  auto storage = open();
  ASSERT_TRUE(storage);
  std::vector<raft::Entry> entries = make_entries(1, 4, 2);
  for (const raft::Entry& entry : make_entries(5, 8, 5)) entries.push_back(entry);
  persist(*storage, append_request(entries));

  // Within a request, after the last stored entry, and after a stored entry mid-log.
  PersistRequest within = append_request(make_entries(9, 10, 6));
  within.entries[1].term = 5;
  EXPECT_EQ(storage->persist(within).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(storage->persist(append_request(make_entries(9, 9, 4))).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(storage->persist(append_request(make_entries(7, 7, 4))).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(storage->persist(append_request(make_entries(5, 5, 1))).error().code,
            ErrorCode::kInvalidArgument);
  // After a snapshot point, and a snapshot above the entries after it.
  PersistRequest snapshot;
  snapshot.set_snapshot(make_snapshot(6, 5, "s"), false);
  persist(*storage, snapshot);
  EXPECT_EQ(storage->persist(append_request(make_entries(7, 7, 4))).error().code,
            ErrorCode::kInvalidArgument);
  PersistRequest too_new;
  too_new.set_snapshot(make_snapshot(7, 9, "s"), false);
  EXPECT_EQ(storage->persist(too_new).error().code, ErrorCode::kInvalidArgument);

  // A replacement in a term at least the preceding one is fine.
  persist(*storage, append_request(make_entries(7, 7, 5)));
  persist(*storage, append_request(make_entries(8, 9, 7)));
  std::vector<raft::Entry> expected = make_entries(7, 7, 5);
  for (const raft::Entry& entry : make_entries(8, 9, 7)) expected.push_back(entry);
  EXPECT_EQ(reopen().entries, expected);
}

TEST_F(RaftStorageTest, EntriesCoveredByTheSnapshotAreIgnored) {
  auto storage = open();
  ASSERT_TRUE(storage);
  PersistRequest snapshot;
  snapshot.set_snapshot(make_snapshot(10, 2, "s"), false);
  persist(*storage, snapshot);
  persist(*storage, append_request(make_entries(8, 12, 2)));
  const raft::RaftState state = reopen();
  EXPECT_EQ(state.entries, make_entries(11, 12, 2));
  EXPECT_EQ(segment_indices(fs_, kDir), std::vector<LogIndex>{11});
}

}  // namespace
}  // namespace bcast::test
