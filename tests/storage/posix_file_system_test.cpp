// PosixFileSystem against a real temporary directory, and RaftStorage on top of it.
#include "io/posix_file_system.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "io/raft_storage.hpp"
#include "storage_test_util.hpp"

namespace bcast::test {
namespace {

class PosixFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "bcast-storage-XXXXXX");
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }

  io::PosixFileSystem fs_;
  std::string root_;
};

TEST_F(PosixFileSystemTest, FilesAndDirectories) {
  const std::string dir = root_ + "/d";
  auto created = fs_.create_dir(dir);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_TRUE(created.value());
  auto again = fs_.create_dir(dir);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again.value());

  auto file = fs_.open_file(dir + "/b", io::OpenMode::kCreate);
  ASSERT_TRUE(file.ok()) << file.error().message;
  ASSERT_TRUE(file.value()->write_at(0, "hello world").ok());
  ASSERT_TRUE(file.value()->write_at(20, "gap").ok());
  EXPECT_EQ(file.value()->size().value(), 23u);
  EXPECT_EQ(file.value()->read_at(6, 5).value(), "world");
  EXPECT_EQ(file.value()->read_at(11, 9).value(), std::string(9, '\0'));
  EXPECT_EQ(file.value()->read_at(20, 1000).value(), "gap");  // short at end of file
  EXPECT_EQ(file.value()->read_at(1000, 10).value(), "");
  ASSERT_TRUE(file.value()->truncate(5).ok());
  ASSERT_TRUE(file.value()->sync().ok());
  EXPECT_EQ(fs_.file_size(dir + "/b").value(), 5u);

  ASSERT_TRUE(fs_.open_file(dir + "/a", io::OpenMode::kCreate).ok());
  ASSERT_TRUE(fs_.rename(dir + "/b", dir + "/c").ok());
  ASSERT_TRUE(fs_.sync_dir(dir).ok());
  EXPECT_EQ(fs_.list_dir(dir).value(), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(io::read_whole_file(fs_, dir + "/c", 100).value(), "hello");
  EXPECT_EQ(io::read_whole_file(fs_, dir + "/c", 2).error().code, ErrorCode::kTooLarge);

  auto truncating = fs_.open_file(dir + "/c", io::OpenMode::kCreateTruncating);
  ASSERT_TRUE(truncating.ok());
  EXPECT_EQ(truncating.value()->size().value(), 0u);
  ASSERT_TRUE(fs_.remove(dir + "/a").ok());
  EXPECT_EQ(fs_.list_dir(dir).value(), std::vector<std::string>{"c"});
}

TEST_F(PosixFileSystemTest, ErrorsNameThePathAndTheReason) {
  auto missing = fs_.open_file(root_ + "/missing", io::OpenMode::kExisting);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kIo);
  EXPECT_NE(missing.error().message.find(root_ + "/missing"), std::string::npos);
  EXPECT_NE(missing.error().message.find("No such file or directory"), std::string::npos)
      << missing.error().message;
  EXPECT_FALSE(fs_.remove(root_ + "/missing").ok());
  EXPECT_FALSE(fs_.list_dir(root_ + "/missing").ok());
  EXPECT_FALSE(fs_.sync_dir(root_ + "/missing").ok());
  EXPECT_FALSE(fs_.create_dir(root_ + "/no/such/parent").ok());
  ASSERT_TRUE(fs_.open_file(root_ + "/file", io::OpenMode::kCreate).ok());
  EXPECT_FALSE(fs_.create_dir(root_ + "/file").ok());
}

TEST_F(PosixFileSystemTest, RaftStorageRoundTripAndTornTail) {
  const std::string dir = root_ + "/node";
  io::StorageOptions options;
  options.segment_bytes = 512;
  {
    auto storage = io::RaftStorage::open(fs_, dir, options);
    ASSERT_TRUE(storage.ok()) << storage.error().message;
    PersistRequest request = append_request(make_entries(1, 40, 1, 30));
    request.hard_state = raft::HardState{1, 2, 10};
    ASSERT_TRUE(storage.value()->persist(request).ok());
    PersistRequest snapshot;
    snapshot.set_snapshot(make_snapshot(15, 1, "snap"), false);
    ASSERT_TRUE(storage.value()->persist(snapshot).ok());
  }
  // Tear the last record of the newest segment.
  const std::vector<LogIndex> segments = segment_indices(fs_, dir);
  ASSERT_GE(segments.size(), 2u);
  const std::string newest = segment_path(dir, segments.back());
  std::filesystem::resize_file(newest, std::filesystem::file_size(newest) - 5);

  auto storage = io::RaftStorage::open(fs_, dir, options);
  ASSERT_TRUE(storage.ok()) << storage.error().message;
  const raft::RaftState state = storage.value()->take_recovered();
  EXPECT_EQ(state.hard_state.term, 1u);
  EXPECT_EQ(state.hard_state.vote, 2u);
  ASSERT_TRUE(state.snapshot);
  EXPECT_EQ(*state.snapshot->data, "snap");
  // The torn record was the commit record written after entry 40, or entry 40 itself.
  ASSERT_FALSE(state.entries.empty());
  EXPECT_EQ(state.entries.front().index, 16u);
  EXPECT_GE(state.entries.back().index, 39u);
  EXPECT_EQ(state.entries, make_entries(16, state.entries.back().index, 1, 30));

  // Corruption in the middle of a real file is refused too.
  storage.value().reset();
  std::string content = io::read_whole_file(fs_, newest, 1 << 20).value();
  content[40] = static_cast<char>(content[40] ^ 1);
  {
    auto file = fs_.open_file(newest, io::OpenMode::kExisting);
    ASSERT_TRUE(file.value()->write_at(0, content).ok());
  }
  auto corrupt = io::RaftStorage::open(fs_, dir, options);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.error().code, ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace bcast::test
