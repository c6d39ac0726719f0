// StorageWriter: writes happen on its thread, in order; requests queued behind a write in
// progress are merged into one write (one fsync); a failure is reported and nothing more is
// written.
#include "io/storage_writer.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "storage_test_util.hpp"

namespace bcast::test {
namespace {

// Records what it is asked to write; the first write blocks until released, so that the test
// can queue more behind it.
class GatedStorage : public io::RaftStorage {
 public:
  raft::RaftState take_recovered() override { return {}; }
  Result<void> persist(const PersistRequest& request) override {
    std::unique_lock lock(mutex_);
    writes.push_back(request);
    changed_.notify_all();
    changed_.wait(lock, [&] { return released_; });
    if (fail) return make_error(ErrorCode::kIo, "disk gone");
    if (full_for > 0) return io::io_error("write", "log", ENOSPC);
    return {};
  }
  Result<void> resume() override {
    std::lock_guard lock(mutex_);
    ++resumes;
    if (--full_for > 0) return io::io_error("write", "log", ENOSPC);
    return {};
  }
  bool interrupted() const override { return full_for > 0; }
  Result<void> close() override { return {}; }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }
  void wait_for_writes(std::size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return writes.size() >= count; });
  }
  std::vector<PersistRequest> writes;
  bool fail = false;
  int full_for = 0;  // the disk is full for this many attempts (the write, then resumes)
  int resumes = 0;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool released_ = false;
};

std::size_t wait_completed(io::StorageWriter& writer, std::size_t expected) {
  std::size_t total = 0;
  while (total < expected) {
    pollfd fd{writer.completion_fd(), POLLIN, 0};
    EXPECT_EQ(::poll(&fd, 1, 5000), 1) << "no completion signalled";
    auto completed = writer.take_completed();
    EXPECT_TRUE(completed.ok());
    if (!completed.ok()) return total;
    total += completed.value();
  }
  return total;
}

TEST(StorageWriter, RequestsQueuedBehindAWriteAreMergedIntoOne) {
  GatedStorage storage;
  io::StorageWriter writer(storage);
  ASSERT_TRUE(writer.start().ok());
  writer.submit(append_request(make_entries(1, 2, 1)));
  storage.wait_for_writes(1);  // the first write is in progress
  writer.submit(append_request(make_entries(3, 3, 1), /*sync=*/false));
  writer.submit(append_request(make_entries(3, 4, 2)));  // replaces entry 3
  storage.release();
  EXPECT_EQ(wait_completed(writer, 3), 3u);
  writer.wait_idle();
  ASSERT_EQ(storage.writes.size(), 2u);
  const PersistRequest& merged = storage.writes[1];
  ASSERT_EQ(merged.entries.size(), 2u);
  EXPECT_EQ(merged.entries[0].index, 3u);
  EXPECT_EQ(merged.entries[0].term, 2u);
  EXPECT_EQ(merged.entries[1].index, 4u);
  EXPECT_TRUE(merged.sync) << "one of the merged requests asked for a sync";
}

TEST(StorageWriter, AFailureIsReportedAndNothingMoreIsWritten) {
  GatedStorage storage;
  storage.fail = true;
  io::StorageWriter writer(storage);
  ASSERT_TRUE(writer.start().ok());
  writer.submit(append_request(make_entries(1, 1, 1)));
  storage.release();
  pollfd fd{writer.completion_fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&fd, 1, 5000), 1);
  auto completed = writer.take_completed();
  ASSERT_FALSE(completed.ok());
  EXPECT_EQ(completed.error().message, "disk gone");
  writer.submit(append_request(make_entries(2, 2, 1)));
  writer.wait_idle();
  EXPECT_EQ(storage.writes.size(), 1u);
}

TEST(StorageWriter, AFullDiskIsWaitedOutOnTheWriterThread) {
  GatedStorage storage;
  storage.full_for = 3;  // the write and two resumes find no room
  io::StorageWriter writer(storage, std::chrono::milliseconds(1));
  ASSERT_TRUE(writer.start().ok());
  writer.submit(append_request(make_entries(1, 1, 1, 1000)));
  storage.release();
  pollfd fd{writer.completion_fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&fd, 1, 5000), 1);
  // The loop is told the disk is full (and nothing completed) before the write is done...
  auto first = writer.take_completed();
  ASSERT_TRUE(first.ok());
  std::size_t completed = first.value();
  if (completed == 0) {
    EXPECT_TRUE(writer.disk_full().has_value() || storage.resumes >= 2);
    completed += wait_completed(writer, 1);
  }
  // ...and once there is room, the write completes.
  EXPECT_EQ(completed, 1u);
  EXPECT_FALSE(writer.disk_full().has_value());
  EXPECT_EQ(storage.resumes, 3);  // two more found no room, the third wrote it
  EXPECT_TRUE(writer.stop().ok());
}

TEST(StorageWriter, StoppingWhileTheDiskIsFullGivesUpTheHeldWrites) {
  GatedStorage storage;
  storage.full_for = 1000000;
  io::StorageWriter writer(storage, std::chrono::milliseconds(1));
  ASSERT_TRUE(writer.start().ok());
  writer.submit(append_request(make_entries(1, 1, 1)));
  storage.release();
  writer.wait_idle();  // returns once the disk is reported full
  EXPECT_TRUE(writer.disk_full().has_value());
  EXPECT_GT(writer.pending_bytes(), 0u);
  auto stopped = writer.stop();
  ASSERT_FALSE(stopped.ok());
  EXPECT_NE(stopped.error().message.find("stopped while the disk was full"), std::string::npos);
}

}  // namespace
}  // namespace bcast::test
