// The replica's snapshot file (write_snapshot_file / read_snapshot_file): a whole state or a
// clear error, never a silently shortened state.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "bcast/replicated_state_machine.hpp"

namespace bcast {
namespace {

class SnapshotFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/rsm-snap-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(SnapshotFileTest, RoundTripsBinaryStateAndReplacesTheOldFile) {
  const std::string path = dir_ + "/snapshot";
  const std::string state("a\0b\nc", 5);
  ASSERT_TRUE(write_snapshot_file(path, 41, "old"));
  ASSERT_TRUE(write_snapshot_file(path, 42, state));
  auto read = read_snapshot_file(path);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read.value().gseq, 42u);
  EXPECT_EQ(read.value().state, state);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_F(SnapshotFileTest, AMissingFileIsNotFoundAndABrokenOneIsCorrupt) {
  auto missing = read_snapshot_file(dir_ + "/none");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  const std::string path = dir_ + "/snapshot";
  ASSERT_TRUE(write_snapshot_file(path, 7, "0123456789"));
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 1);
  auto truncated = read_snapshot_file(path);
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(truncated.error().message.find("truncated"), std::string::npos);

  std::ofstream(path, std::ios::trunc) << "something else entirely";
  auto foreign = read_snapshot_file(path);
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().code, ErrorCode::kCorrupt);
}

TEST_F(SnapshotFileTest, AnUnwritableDirectoryIsAnIoError) {
  auto written = write_snapshot_file(dir_ + "/no/such/dir/snapshot", 1, "x");
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace bcast
