// The total-order history written on its own thread (HistoryOptions::background), as the daemon
// runs it: appends are readable at once, durable after sync() or the store's end, a disk that
// stalls holds up no caller, and a write error stops the writing and is reported. Real files
// (the in-memory test file system is not made for two threads); the TSan stage runs these too.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "io/history_store.hpp"
#include "io/posix_file_system.hpp"

namespace bcast::io {
namespace {

constexpr std::uint64_t kNow = 1'800'000'000;  // unix seconds

// Real files whose writes can be held at a gate (a disk that stalls) or made to fail.
class GatedFileSystem : public FileSystem {
 public:
  void close_gate() {
    std::lock_guard lock(mutex_);
    gate_open_ = false;
  }
  void open_gate() {
    {
      std::lock_guard lock(mutex_);
      gate_open_ = true;
    }
    changed_.notify_all();
  }
  void fail_writes() {
    std::lock_guard lock(mutex_);
    fail_writes_ = true;
  }
  // Blocks while the gate is closed; then whether writes fail.
  bool pass_gate() {
    std::unique_lock lock(mutex_);
    ++writes_at_gate_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return gate_open_; });
    return !fail_writes_;
  }
  // Waits until a write is held at the closed gate.
  void wait_for_writer_at_gate() {
    std::unique_lock lock(mutex_);
    const int before = writes_at_gate_;
    changed_.wait(lock, [&] { return writes_at_gate_ > before; });
  }

  Result<bool> create_dir(const std::string& path) override { return posix_.create_dir(path); }
  Result<std::vector<std::string>> list_dir(const std::string& path) override {
    return posix_.list_dir(path);
  }
  Result<std::unique_ptr<File>> open_file(const std::string& path, OpenMode mode) override;
  Result<std::uint64_t> file_size(const std::string& path) override {
    return posix_.file_size(path);
  }
  Result<void> rename(const std::string& from, const std::string& to) override {
    return posix_.rename(from, to);
  }
  Result<void> remove(const std::string& path) override { return posix_.remove(path); }
  Result<void> sync_dir(const std::string& path) override { return posix_.sync_dir(path); }

 private:
  PosixFileSystem posix_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool gate_open_ = true;
  bool fail_writes_ = false;
  int writes_at_gate_ = 0;
};

class GatedFile : public File {
 public:
  GatedFile(std::unique_ptr<File> file, GatedFileSystem& fs) : file_(std::move(file)), fs_(fs) {}
  const std::string& path() const override { return file_->path(); }
  Result<void> write_at(std::uint64_t offset, std::string_view bytes) override {
    if (!fs_.pass_gate()) return make_error(ErrorCode::kIo, "write " + path() + ": injected");
    return file_->write_at(offset, bytes);
  }
  Result<std::string> read_at(std::uint64_t offset, std::uint64_t length_bytes) override {
    return file_->read_at(offset, length_bytes);
  }
  Result<std::uint64_t> size() override { return file_->size(); }
  Result<void> truncate(std::uint64_t size_bytes) override { return file_->truncate(size_bytes); }
  Result<void> sync() override { return file_->sync(); }

 private:
  std::unique_ptr<File> file_;
  GatedFileSystem& fs_;
};

Result<std::unique_ptr<File>> GatedFileSystem::open_file(const std::string& path, OpenMode mode) {
  auto file = posix_.open_file(path, mode);
  if (!file) return file.error();
  return std::unique_ptr<File>(std::make_unique<GatedFile>(std::move(file.value()), *this));
}

HistoryMessage message(std::uint64_t gseq, std::string group = "g") {
  HistoryMessage m;
  m.gseq = gseq;
  m.group = std::move(group);
  m.sender = 7;
  m.seq = gseq;
  m.payload = std::make_shared<const std::string>("payload " + std::to_string(gseq));
  return m;
}

class HistoryBackground : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/bcast-history-bg-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  HistoryOptions options(bool background) const {
    HistoryOptions o;
    o.dir = root_ + "/history";
    o.segment_bytes = 400;  // a few records each: rotation happens on the writer's thread
    o.background = background;
    return o;
  }
  std::unique_ptr<HistoryStore> open(FileSystem& fs, bool background) {
    auto store = HistoryStore::open(fs, options(background));
    EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message);
    return store.ok() ? std::move(store.value()) : nullptr;
  }
  // "<gseq>" for messages, "hole <a>..<b>" for holes, from `from` on.
  static std::vector<std::string> read_all(HistoryStore& store, std::uint64_t from,
                                           const std::string& group = "") {
    std::uint64_t next = 0;
    auto items = store.read(from, group, UINT64_MAX, next);
    EXPECT_TRUE(items.ok()) << items.error().message;
    EXPECT_EQ(next, store.last_gseq() + 1);
    std::vector<std::string> out;
    if (!items.ok()) return out;
    for (const HistoryItem& item : items.value()) {
      out.push_back(item.message ? std::to_string(item.message->gseq)
                                 : "hole " + std::to_string(item.hole_from) + ".." +
                                       std::to_string(item.hole_to));
    }
    return out;
  }

  std::string root_;
  GatedFileSystem fs_;
};

TEST_F(HistoryBackground, AStalledDiskHoldsUpNoAppendAndQueuedRecordsAreReadFromMemory) {
  auto store = open(fs_, true);
  ASSERT_NE(store, nullptr);
  for (std::uint64_t g = 1; g <= 5; ++g) ASSERT_TRUE(store->append(message(g), kNow).ok());
  ASSERT_TRUE(store->sync().ok());

  fs_.close_gate();
  ASSERT_TRUE(store->append(message(6), kNow).ok());
  fs_.wait_for_writer_at_gate();  // the writer is stuck in the disk; appends go on
  ASSERT_TRUE(store->append(message(7, "other"), kNow).ok());
  ASSERT_TRUE(store->append(message(10), kNow).ok());  // 8..9 become a hole
  EXPECT_EQ(store->last_gseq(), 10u);
  EXPECT_EQ(read_all(*store, 1),
            (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "hole 8..9", "10"}));
  EXPECT_EQ(read_all(*store, 7, "g"), (std::vector<std::string>{"hole 8..9", "10"}));
  EXPECT_EQ(read_all(*store, 9), (std::vector<std::string>{"hole 9..9", "10"}));
  EXPECT_EQ(store->first_gseq(), 1u);

  fs_.open_gate();
  ASSERT_TRUE(store->sync().ok());
  store.reset();
  PosixFileSystem posix;
  auto reopened = open(posix, false);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(read_all(*reopened, 1),
            (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "hole 8..9", "10"}));
}

TEST_F(HistoryBackground, WhatIsQueuedAtTheEndIsWrittenAndSynced) {
  {
    auto store = open(fs_, true);
    ASSERT_NE(store, nullptr);
    for (std::uint64_t g = 1; g <= 40; ++g) ASSERT_TRUE(store->append(message(g), kNow).ok());
    // No sync: the store's end writes and syncs the rest.
  }
  PosixFileSystem posix;
  auto reopened = open(posix, false);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->last_gseq(), 40u);
  EXPECT_EQ(read_all(*reopened, 1).size(), 40u);
}

TEST_F(HistoryBackground, AWriteErrorStopsTheWritingAndIsReported) {
  auto store = open(fs_, true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->append(message(1), kNow).ok());
  ASSERT_TRUE(store->sync().ok());
  EXPECT_FALSE(store->failure().has_value());

  fs_.fail_writes();
  ASSERT_TRUE(store->append(message(2), kNow).ok());  // queued; the write fails later
  auto synced = store->sync();
  ASSERT_FALSE(synced.ok());
  EXPECT_NE(synced.error().message.find("injected"), std::string::npos) << synced.error().message;
  ASSERT_TRUE(store->failure().has_value());
  EXPECT_FALSE(store->append(message(3), kNow).ok());
  EXPECT_FALSE(store->enforce_retention(kNow).ok());
}

TEST_F(HistoryBackground, RetentionRunsOnTheWritersThread) {
  HistoryOptions o = options(true);
  o.max_bytes = 1200;
  auto opened = HistoryStore::open(fs_, o);
  ASSERT_TRUE(opened.ok());
  HistoryStore& store = *opened.value();
  for (std::uint64_t g = 1; g <= 60; ++g) ASSERT_TRUE(store.append(message(g), kNow).ok());
  ASSERT_TRUE(store.enforce_retention(kNow).ok());
  ASSERT_TRUE(store.sync().ok());  // queued after the retention pass: it is done too
  EXPECT_LE(store.size_bytes(), 1200u + 400u);
  const std::uint64_t first = store.first_gseq();
  EXPECT_GT(first, 1u);
  EXPECT_EQ(read_all(store, 0).front(), std::to_string(first));
}

}  // namespace
}  // namespace bcast::io
