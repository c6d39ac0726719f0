// The in-memory disk model: what a power loss keeps, loses and tears, and its determinism.
#include "support/faulty_file_system.hpp"

#include <gtest/gtest.h>

#include <set>

namespace bcast::test {
namespace {

std::unique_ptr<io::File> create(FaultyFileSystem& fs, const std::string& path) {
  auto file = fs.open_file(path, io::OpenMode::kCreate);
  EXPECT_TRUE(file.ok());
  return file.ok() ? std::move(file.value()) : nullptr;
}

std::string content(FaultyFileSystem& fs, const std::string& path) {
  auto bytes = io::read_whole_file(fs, path, 1 << 20);
  return bytes.ok() ? bytes.value() : "<missing>";
}

TEST(FaultyFileSystem, SyncedDataAndNamesSurviveAPowerLoss) {
  FaultyFileSystem fs;
  ASSERT_TRUE(fs.create_dir("/d").ok());
  auto file = create(fs, "/d/f");
  ASSERT_TRUE(file->write_at(0, "durable").ok());
  ASSERT_TRUE(file->sync().ok());
  ASSERT_TRUE(fs.sync_dir("/d").ok());
  ASSERT_TRUE(fs.sync_dir("/").ok());
  ASSERT_TRUE(file->write_at(7, " maybe").ok());
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    Rng rng(seed);
    fs.crash(rng);
    const std::string after = content(fs, "/d/f");
    EXPECT_EQ(after.substr(0, 7), "durable");
    EXPECT_TRUE(std::string(" maybe").starts_with(after.substr(7))) << after;
  }
  // Files opened before a crash are dead.
  EXPECT_FALSE(file->write_at(0, "x").ok());
}

TEST(FaultyFileSystem, UnsyncedChangesAreSometimesLostSometimesTornSometimesKept) {
  std::set<std::string> outcomes;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    FaultyFileSystem fs;
    auto file = create(fs, "/f");
    ASSERT_TRUE(fs.sync_dir("/").ok());
    ASSERT_TRUE(file->write_at(0, "0123456789").ok());
    Rng rng(seed);
    fs.crash(rng);
    outcomes.insert(content(fs, "/f"));
  }
  EXPECT_TRUE(outcomes.contains(""));            // lost
  EXPECT_TRUE(outcomes.contains("0123456789"));  // kept
  EXPECT_GT(outcomes.size(), 4u);                // and torn at various bytes
}

TEST(FaultyFileSystem, WritesAreReorderedLeavingHoles) {
  bool hole_seen = false;
  for (std::uint64_t seed = 0; seed < 200 && !hole_seen; ++seed) {
    FaultyFileSystem fs;
    auto file = create(fs, "/f");
    ASSERT_TRUE(fs.sync_dir("/").ok());
    ASSERT_TRUE(file->write_at(0, "aaaa").ok());
    ASSERT_TRUE(file->write_at(4, "bbbb").ok());
    Rng rng(seed);
    fs.crash(rng);
    hole_seen = content(fs, "/f") == std::string(4, '\0') + "bbbb";
  }
  EXPECT_TRUE(hole_seen);
}

TEST(FaultyFileSystem, DirectoryChangesNeedADirectorySync) {
  std::set<std::string> outcomes;
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    FaultyFileSystem fs;
    auto file = create(fs, "/old");
    ASSERT_TRUE(file->write_at(0, "data").ok());
    ASSERT_TRUE(file->sync().ok());  // the content is durable, the name is not
    ASSERT_TRUE(fs.rename("/old", "/new").ok());
    Rng rng(seed);
    fs.crash(rng);
    auto names = fs.list_dir("/");
    ASSERT_TRUE(names.ok());
    std::string listing;
    for (const std::string& name : names.value()) listing += name + ";";
    outcomes.insert(listing);
  }
  EXPECT_TRUE(outcomes.contains(""));
  EXPECT_TRUE(outcomes.contains("new;"));
  EXPECT_TRUE(outcomes.contains("old;"));

  FaultyFileSystem fs;
  auto file = create(fs, "/old");
  ASSERT_TRUE(file->write_at(0, "data").ok());
  ASSERT_TRUE(file->sync().ok());
  ASSERT_TRUE(fs.rename("/old", "/new").ok());
  ASSERT_TRUE(fs.sync_dir("/").ok());
  Rng rng(1);
  fs.crash(rng);
  EXPECT_EQ(content(fs, "/new"), "data");
  EXPECT_EQ(fs.file_size("/old").ok(), false);
}

TEST(FaultyFileSystem, LostDirectoryTakesItsFilesAlong) {
  bool lost = false;
  for (std::uint64_t seed = 0; seed < 50 && !lost; ++seed) {
    FaultyFileSystem fs;
    ASSERT_TRUE(fs.create_dir("/d").ok());
    auto file = create(fs, "/d/f");
    ASSERT_TRUE(file->sync().ok());
    ASSERT_TRUE(fs.sync_dir("/d").ok());  // but "/" was never synced
    Rng rng(seed);
    fs.crash(rng);
    lost = !fs.list_dir("/d").ok() && !fs.file_size("/d/f").ok();
  }
  EXPECT_TRUE(lost);
}

TEST(FaultyFileSystem, WritebackBoundsUnsyncedData) {
  FaultyFileSystem fs;
  auto file = create(fs, "/f");
  ASSERT_TRUE(fs.sync_dir("/").ok());
  const std::string chunk(1 << 20, 'c');
  const std::uint64_t chunks = FaultyFileSystem::kWritebackBytes / chunk.size() + 2;
  for (std::uint64_t i = 0; i < chunks; ++i) {
    ASSERT_TRUE(file->write_at(i * chunk.size(), chunk).ok());
  }
  // The oldest writes went to disk on their own, as a kernel's writeback would send them.
  const std::optional<std::string> durable = fs.durable_content("/f");
  ASSERT_TRUE(durable);
  EXPECT_GE(durable->size(), FaultyFileSystem::kWritebackBytes / 2);
  EXPECT_LT(fs.pending_operations(), chunks);
  Rng rng(3);
  fs.crash(rng);
  EXPECT_GE(fs.file_size("/f").value(), durable->size());
}

TEST(FaultyFileSystem, CrashesAreDeterministic) {
  auto run = [](std::uint64_t seed) {
    FaultyFileSystem fs;
    for (int i = 0; i < 10; ++i) {
      auto file = create(fs, "/f" + std::to_string(i));
      for (int j = 0; j < 5; ++j) {
        EXPECT_TRUE(file->write_at(j * 3, "w" + std::to_string(i * 10 + j)).ok());
      }
      if (i % 3 == 0) {
        EXPECT_TRUE(file->sync().ok());
      }
    }
    Rng rng(seed);
    fs.crash(rng);
    std::string state;
    auto names = fs.list_dir("/");
    for (const std::string& name : names.value())
      state += name + "=" + content(fs, "/" + name) + ";";
    return state;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(FaultyFileSystem, HaltsAfterTheGivenNumberOfOperations) {
  FaultyFileSystem fs;
  auto file = create(fs, "/f");
  fs.crash_after(2);
  EXPECT_TRUE(file->write_at(0, "one").ok());
  EXPECT_TRUE(file->write_at(3, "two").ok());
  auto third = file->write_at(6, "three");
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, ErrorCode::kIo);
  EXPECT_TRUE(fs.halted());
  EXPECT_FALSE(file->read_at(0, 3).ok());
  fs.restart_process();  // a process crash keeps everything written
  EXPECT_FALSE(fs.halted());
  EXPECT_EQ(content(fs, "/f"), "onetwo");
}

TEST(FaultyFileSystem, InjectedErrorsAndStatistics) {
  FaultyFileSystem fs;
  auto file = create(fs, "/f");
  fs.fail_next_writes(1);
  auto failed = file->write_at(0, "abc");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kIo);
  EXPECT_NE(failed.error().message.find("/f"), std::string::npos);
  EXPECT_EQ(content(fs, "/f"), "");
  ASSERT_TRUE(file->write_at(0, "abc").ok());
  fs.fail_next_syncs(1);
  EXPECT_FALSE(file->sync().ok());
  EXPECT_TRUE(file->sync().ok());
  ASSERT_TRUE(fs.sync_dir("/").ok());
  EXPECT_EQ(fs.stats().writes, 1u);
  EXPECT_EQ(fs.stats().bytes_written, 3u);
  EXPECT_EQ(fs.stats().file_syncs, 1u);
  EXPECT_EQ(fs.stats().dir_syncs, 1u);
  EXPECT_EQ(fs.pending_operations(), 0u);
  EXPECT_EQ(fs.durable_content("/f"), "abc");
}

TEST(FaultyFileSystem, ReportsErrorsLikeAFileSystem) {
  FaultyFileSystem fs;
  EXPECT_FALSE(fs.open_file("/missing", io::OpenMode::kExisting).ok());
  EXPECT_FALSE(fs.open_file("/no/dir/file", io::OpenMode::kCreate).ok());
  EXPECT_FALSE(fs.remove("/missing").ok());
  ASSERT_TRUE(fs.create_dir("/d").ok());
  auto again = fs.create_dir("/d");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again.value());
  create(fs, "/f");
  EXPECT_FALSE(fs.rename("/f", "/d/f").ok());  // across directories
  auto missing = fs.file_size("/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nope"), std::string::npos);
  EXPECT_NE(missing.error().message.find("No such file"), std::string::npos);
}

}  // namespace
}  // namespace bcast::test
