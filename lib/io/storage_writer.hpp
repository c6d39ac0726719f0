// Carries out the Driver's persist requests on a thread of its own.
//
// A write of a 16 MiB entry, or an fsync behind a busy disk, takes long enough that followers
// would time out if the event loop waited for it: no heartbeat leaves while it waits. The loop
// hands requests over (submit) and goes on; the writer merges everything queued into one request
// (PersistRequest's own rules for combining, so one fsync covers them all: group commit), writes
// it, and signals the loop through a file descriptor it polls. The loop then completes that many
// writes in its Driver, in order. Requests share their payloads (SharedBytes, shared snapshots),
// so handing them over copies no data.
//
// A full disk (is_disk_full) is waited out on this thread: storage keeps what it could not
// write, and the writer tries again every `disk_retry_interval` (RaftStorage::resume) while the
// loop goes on (it refuses publishes meanwhile: disk_full()). What waits for those writes, the
// node's acknowledgements and votes among them, waits with them, so the cluster carries on
// without this daemon's disk. Any other storage error ends the writing for good.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "bcast/result.hpp"
#include "core/outbox.hpp"
#include "io/raft_storage.hpp"

namespace bcast::io {

class StorageWriter {
 public:
  explicit StorageWriter(RaftStorage& storage,
                         std::chrono::milliseconds disk_retry_interval = std::chrono::seconds(1));
  // Stops the thread (stop()).
  ~StorageWriter();
  StorageWriter(const StorageWriter&) = delete;
  StorageWriter& operator=(const StorageWriter&) = delete;

  // Called on the writer's thread before a request that installs a snapshot is written (the log
  // is about to forget entries): the history is made durable first. Set before start().
  void set_before_snapshot(std::function<void()> hook) { before_snapshot_ = std::move(hook); }
  Result<void> start();
  void submit(PersistRequest request);
  // Readable (for poll) when writes completed or storage failed.
  int completion_fd() const { return event_fd_; }
  // How many submitted writes are durable since the last call, in submission order; or the
  // storage error, after which nothing more is written (the node must stop).
  Result<std::size_t> take_completed();
  // Blocks until every submitted write completed, storage failed, or the disk is full (for a
  // clean stop).
  void wait_idle();
  // Finishes every queued write (gives them up if the disk is full) and stops the thread; the
  // storage error if any write failed. Afterwards only the caller touches the storage.
  Result<void> stop();
  // Set while the disk is full and writes wait for space (with storage's description).
  std::optional<Error> disk_full() const;
  // Data queued or being written, for bounding what a full disk may make the daemon hold.
  std::uint64_t pending_bytes() const;

 private:
  void run();

  void signal();
  // Storage refused the merged request for lack of space: retries until it is written, storage
  // fails otherwise, or the writer stops. Called and returns with `lock` held.
  Result<void> wait_for_space(Error full, std::unique_lock<std::mutex>& lock);

  RaftStorage& storage_;
  std::function<void()> before_snapshot_;
  std::chrono::milliseconds disk_retry_interval_;
  int event_fd_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<PersistRequest> queue_;
  std::size_t writing_ = 0;    // taken from the queue, being written
  std::size_t completed_ = 0;  // durable, not yet taken by the loop
  std::optional<Error> failure_;
  std::optional<Error> disk_full_;
  std::uint64_t queued_bytes_ = 0;   // entry data in queue_
  std::uint64_t writing_bytes_ = 0;  // entry data being written
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace bcast::io
