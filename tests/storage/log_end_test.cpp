// [robustness] item 5: recovery refuses a log shorter than what was recorded as durable, instead
// of handing out again positions (gseqs) that were already acknowledged. A segment's durable
// mark records, with every write, how much of it the previous sync made durable; a clean close
// records its whole length and puts the commit index in the hard state.
//
// The finding: "a segment truncated at a record boundary is accepted silently, and gseqs already
// acknowledged are handed out again". Before the fix, each refusal below was a successful open
// of the shortened log.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/log_segment.hpp"
#include "io/raft_storage.hpp"
#include "io/record.hpp"
#include "io/storage_records.hpp"
#include "storage_test_util.hpp"
#include "support/faulty_file_system.hpp"

namespace bcast::test {
namespace {

const std::string kDir = "/data";

class LogEndTest : public ::testing::Test {
 protected:
  std::unique_ptr<io::RaftStorage> open() {
    auto storage = io::RaftStorage::open(fs_, kDir, options_);
    EXPECT_TRUE(storage.ok()) << storage.error().message;
    return storage.ok() ? std::move(storage.value()) : nullptr;
  }

  // The process dies (kill -9): nothing written is lost, nothing more is written.
  void kill_process(std::unique_ptr<io::RaftStorage>& storage) {
    storage.reset();
    fs_.restart_process();
  }

  Error open_error() {
    fs_.restart_process();
    auto storage = io::RaftStorage::open(fs_, kDir, options_);
    EXPECT_FALSE(storage.ok()) << "the shortened log was accepted";
    return storage.ok() ? Error{} : storage.error();
  }

  void persist(io::RaftStorage& storage, const PersistRequest& request) {
    auto result = storage.persist(request);
    ASSERT_TRUE(result.ok()) << result.error().message;
  }

  // Where each entry's record starts in a segment.
  std::vector<std::uint64_t> entry_offsets(const std::string& path) {
    auto file = fs_.open_file(path, io::OpenMode::kExisting);
    EXPECT_TRUE(file.ok());
    if (!file.ok()) return {};
    auto scan = io::scan_segment(*file.value(), false);
    EXPECT_TRUE(scan.ok());
    return scan.ok() ? scan.value().entry_offsets : std::vector<std::uint64_t>{};
  }

  // An operator's (or a broken disk's) truncation, made durable.
  void cut_file(const std::string& path, std::uint64_t size_bytes) {
    auto file = fs_.open_file(path, io::OpenMode::kExisting);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE(file.value()->truncate(size_bytes).ok());
    ASSERT_TRUE(file.value()->sync().ok());
  }

  void expect_refusal(const Error& error, const std::string& mentions) {
    EXPECT_EQ(error.code, ErrorCode::kCorrupt) << error.message;
    EXPECT_NE(error.message.find(mentions), std::string::npos) << error.message;
    EXPECT_NE(error.message.find("Refusing to start"), std::string::npos) << error.message;
  }

  FaultyFileSystem fs_;
  io::StorageOptions options_;
};

// Entries 1..10 stored by ten synced requests, as Raft stores them one round at a time.
void store_ten_rounds(io::RaftStorage& storage) {
  for (LogIndex index = 1; index <= 10; ++index) {
    auto stored = storage.persist(append_request(make_entries(index, index, 1)));
    ASSERT_TRUE(stored.ok()) << stored.error().message;
  }
}

TEST_F(LogEndTest, SegmentCutAtARecordBoundaryIsRefused) {
  auto storage = open();
  ASSERT_TRUE(storage);
  store_ten_rounds(*storage);
  kill_process(storage);
  const std::string path = segment_path(kDir, 1);
  const std::uint64_t sixth = entry_offsets(path).at(5);
  cut_file(path, sixth);  // entries 6..10 gone, at a record boundary: every record verifies
  const Error error = open_error();
  expect_refusal(error, path);
  EXPECT_NE(error.message.find("cut short"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("entry 5"), std::string::npos) << error.message;
  // Refusing changes nothing: the directory is left as it was found.
  EXPECT_EQ(entry_offsets(path).size(), 5u);
}

TEST_F(LogEndTest, LosingOnlyTheLastWriteIsATornTailNotARefusal) {
  // What a crash may do (lose the last write, which the next write's mark would have covered)
  // is indistinguishable from a cut there, and must recover.
  auto storage = open();
  ASSERT_TRUE(storage);
  store_ten_rounds(*storage);
  kill_process(storage);
  const std::string path = segment_path(kDir, 1);
  cut_file(path, entry_offsets(path).at(9));
  auto reopened = open();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->take_recovered().entries, make_entries(1, 9, 1));
}

TEST_F(LogEndTest, AfterACleanCloseEvenTheLastWriteIsCovered) {
  auto storage = open();
  ASSERT_TRUE(storage);
  store_ten_rounds(*storage);
  ASSERT_TRUE(storage->close().ok());
  EXPECT_FALSE(storage->persist(append_request(make_entries(11, 11, 1))).ok())
      << "nothing may be persisted after close";
  kill_process(storage);
  const std::string path = segment_path(kDir, 1);
  cut_file(path, entry_offsets(path).at(9));
  expect_refusal(open_error(), path);
}

TEST_F(LogEndTest, ARemovedSegmentIsRefusedAfterACleanClose) {
  options_.segment_bytes = 300;  // a few entries per segment
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, hard_state_request(1, 1, 0));
  store_ten_rounds(*storage);
  persist(*storage, hard_state_request(1, 1, 10, /*sync=*/false));  // all committed
  ASSERT_TRUE(storage->close().ok());
  kill_process(storage);
  const std::vector<LogIndex> segments = segment_indices(fs_, kDir);
  ASSERT_GE(segments.size(), 3u);
  // The newest segment disappears whole: no segment is cut, but the log ends early.
  ASSERT_TRUE(fs_.remove(segment_path(kDir, segments.back())).ok());
  ASSERT_TRUE(fs_.sync_dir(kDir).ok());
  const Error error = open_error();
  expect_refusal(error, "commit index 10");
}

TEST_F(LogEndTest, ACleanLogReopensAndKeepsGrowing) {
  auto storage = open();
  ASSERT_TRUE(storage);
  persist(*storage, hard_state_request(1, 1, 0));
  store_ten_rounds(*storage);
  persist(*storage, hard_state_request(1, 1, 10, false));
  ASSERT_TRUE(storage->close().ok());
  kill_process(storage);
  for (int restart = 0; restart < 3; ++restart) {
    storage = open();
    ASSERT_TRUE(storage);
    const raft::RaftState state = storage->take_recovered();
    const LogIndex last = state.entries.back().index;
    EXPECT_EQ(state.hard_state.commit, last);
    persist(*storage, append_request(make_entries(last + 1, last + 2, 1)));
    persist(*storage, hard_state_request(1, 1, last + 2, false));
    ASSERT_TRUE(storage->close().ok());
    kill_process(storage);
  }
}

TEST_F(LogEndTest, ReplacingASuffixLowersTheMarkBeforeCutting) {
  auto storage = open();
  ASSERT_TRUE(storage);
  store_ten_rounds(*storage);
  // A new leader replaces entries 4..10 (never committed) with its own.
  persist(*storage, append_request(make_entries(4, 5, 2)));
  kill_process(storage);
  auto reopened = open();
  ASSERT_TRUE(reopened);
  std::vector<raft::Entry> expected = make_entries(1, 3, 1);
  for (const raft::Entry& entry : make_entries(4, 5, 2)) expected.push_back(entry);
  EXPECT_EQ(reopened->take_recovered().entries, expected);
}

TEST_F(LogEndTest, SegmentsWithoutAMarkAreStillRead) {
  // A segment written before durable marks existed (format 1): header, then entries.
  std::string bytes;
  io::append_segment_header_record(bytes, io::SegmentHeader{0, 1, io::kSegmentFormatWithoutMark});
  for (const raft::Entry& entry : make_entries(1, 4, 1)) io::append_entry_record(bytes, entry);
  ASSERT_TRUE(fs_.create_dir(kDir).ok());
  auto file = fs_.open_file(segment_path(kDir, 1), io::OpenMode::kCreate);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(file.value()->write_at(0, bytes).ok());
  file.value().reset();
  auto storage = open();
  ASSERT_TRUE(storage);
  EXPECT_EQ(storage->take_recovered().entries, make_entries(1, 4, 1));
  persist(*storage, append_request(make_entries(5, 6, 1)));
  kill_process(storage);
  auto reopened = open();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->take_recovered().entries, make_entries(1, 6, 1));
}

TEST_F(LogEndTest, ATornMarkClaimsNothing) {
  auto storage = open();
  ASSERT_TRUE(storage);
  store_ten_rounds(*storage);
  kill_process(storage);
  const std::string path = segment_path(kDir, 1);
  // A crash tore the in-place rewrite of the mark: its checksum fails.
  auto file = fs_.open_file(path, io::OpenMode::kExisting);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(file.value()->write_at(io::kDurableMarkOffset + 40, "\xff\xff").ok());
  file.value().reset();
  auto reopened = open();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->take_recovered().entries, make_entries(1, 10, 1));
}

}  // namespace
}  // namespace bcast::test
