#include "io/storage_writer.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

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

}  // namespace

StorageWriter::StorageWriter(RaftStorage& storage) : storage_(storage) {}

StorageWriter::~StorageWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (event_fd_ >= 0) ::close(event_fd_);
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

void StorageWriter::wait_idle() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return failure_ || (queue_.empty() && writing_ == 0); });
}

void StorageWriter::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything asked is written
    PersistRequest merged = std::move(queue_.front());
    queue_.pop_front();
    std::size_t count = 1;
    for (; !queue_.empty(); queue_.pop_front(), ++count)
      merge_into(merged, std::move(queue_.front()));
    writing_ = count;
    lock.unlock();
    auto written = storage_.persist(merged);
    lock.lock();
    writing_ = 0;
    if (written) {
      completed_ += count;
    } else {
      failure_ = written.error();
    }
    const std::uint64_t one = 1;
    while (::write(event_fd_, &one, sizeof one) < 0 && errno == EINTR) {
    }
    changed_.notify_all();
    if (failure_) return;
  }
}

}  // namespace bcast::io
