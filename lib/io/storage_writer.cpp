#include "io/storage_writer.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "io/background_thread.hpp"

namespace bcast::io {
namespace {

// Folds `later` into `earlier` as if both had been asked in one round: the same rules the
// Outbox uses to combine the inputs of a round (a snapshot drops the entries it covers, entries
// from an index replace the pending ones from there, the newest hard state wins).
void merge_into(PersistRequest& earlier, PersistRequest later) {
  if (later.snapshot) earlier.set_snapshot(std::move(*later.snapshot), later.snapshot_resets_log);
  earlier.append_entries(std::move(later.entries));
  if (later.hard_state) earlier.hard_state = later.hard_state;
  earlier.sync = earlier.sync || later.sync;
}

std::uint64_t entry_bytes(const PersistRequest& request) {
  std::uint64_t bytes = 0;
  for (const raft::Entry& entry : request.entries) bytes += entry.data.size();
  return bytes;
}

}  // namespace

StorageWriter::StorageWriter(RaftStorage& storage, std::chrono::milliseconds disk_retry_interval)
    : storage_(storage), disk_retry_interval_(disk_retry_interval) {}

StorageWriter::~StorageWriter() {
  (void)stop();
  if (event_fd_ >= 0) ::close(event_fd_);
}

Result<void> StorageWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  if (failure_) return *failure_;
  return {};
}

Result<void> StorageWriter::start() {
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) {
    return make_error(ErrorCode::kIo, std::string("eventfd: ") + std::strerror(errno));
  }
  thread_ = std::thread([this] { run(); });
  return {};
}

void StorageWriter::submit(PersistRequest request) {
  {
    std::lock_guard lock(mutex_);
    queued_bytes_ += entry_bytes(request);
    queue_.push_back(std::move(request));
  }
  changed_.notify_all();
}

Result<std::size_t> StorageWriter::take_completed() {
  std::uint64_t signals = 0;
  while (::read(event_fd_, &signals, sizeof signals) < 0 && errno == EINTR) {
  }
  std::lock_guard lock(mutex_);
  if (failure_) return *failure_;
  return std::exchange(completed_, 0);
}

std::optional<Error> StorageWriter::disk_full() const {
  std::lock_guard lock(mutex_);
  return disk_full_;
}

std::uint64_t StorageWriter::pending_bytes() const {
  std::lock_guard lock(mutex_);
  return queued_bytes_ + writing_bytes_;
}

void StorageWriter::signal() {
  const std::uint64_t one = 1;
  while (::write(event_fd_, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

Result<void> StorageWriter::wait_for_space(Error full, std::unique_lock<std::mutex>& lock) {
  disk_full_ = full;
  signal();
  changed_.notify_all();  // wait_idle() returns on a full disk
  Result<void> written = full;
  while (!written && is_disk_full(written.error())) {
    // Woken early only to stop; a stop while the disk is full gives up the held writes.
    if (changed_.wait_for(lock, disk_retry_interval_, [&] { return stopping_; })) {
      written = make_error(ErrorCode::kIo,
                           "stopped while the disk was full: writes still held were never stored "
                           "(nothing depending on them was sent or acknowledged)");
      break;
    }
    lock.unlock();
    written = storage_.resume();
    lock.lock();
  }
  disk_full_.reset();
  return written;
}

void StorageWriter::wait_idle() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return failure_ || disk_full_ || (queue_.empty() && writing_ == 0); });
}

void StorageWriter::run() {
  become_background_thread("bcast-storage");
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything asked is written
    PersistRequest merged = std::move(queue_.front());
    queue_.pop_front();
    std::size_t count = 1;
    for (; !queue_.empty(); queue_.pop_front(), ++count) {
      merge_into(merged, std::move(queue_.front()));
    }
    writing_ = count;
    writing_bytes_ = queued_bytes_;
    queued_bytes_ = 0;
    lock.unlock();
    if (merged.snapshot && before_snapshot_) before_snapshot_();
    auto written = storage_.persist(merged);
    lock.lock();
    if (!written && is_disk_full(written.error())) written = wait_for_space(written.error(), lock);
    writing_ = 0;
    writing_bytes_ = 0;
    if (written) {
      completed_ += count;
    } else {
      failure_ = written.error();
    }
    signal();
    changed_.notify_all();
    if (failure_) return;
  }
}

}  // namespace bcast::io
