// Carries out the Driver's persist requests on a thread of its own.
//
// A write of a 16 MiB entry, or an fsync behind a busy disk, takes long enough that followers
// would time out if the event loop waited for it: no heartbeat leaves while it waits. The loop
// hands requests over (submit) and goes on; the writer merges everything queued into one request
// (PersistRequest's own rules for combining, so one fsync covers them all: group commit), writes
// it, and signals the loop through a file descriptor it polls. The loop then completes that many
// writes in its Driver, in order. Requests share their payloads (SharedBytes, shared snapshots),
// so handing them over copies no data.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "bcast/result.hpp"
#include "core/outbox.hpp"
#include "io/raft_storage.hpp"

namespace bcast::io {

class StorageWriter {
 public:
  explicit StorageWriter(RaftStorage& storage);
  // Finishes every queued write, then stops the thread.
  ~StorageWriter();
  StorageWriter(const StorageWriter&) = delete;
  StorageWriter& operator=(const StorageWriter&) = delete;

  Result<void> start();
  void submit(PersistRequest request);
  // Readable (for poll) when writes completed or storage failed.
  int completion_fd() const { return event_fd_; }
  // How many submitted writes are durable since the last call, in submission order; or the
  // storage error, after which nothing more is written (the node must stop).
  Result<std::size_t> take_completed();
  // Blocks until every submitted write completed or storage failed (for a clean stop).
  void wait_idle();

 private:
  void run();

  RaftStorage& storage_;
  int event_fd_ = -1;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<PersistRequest> queue_;
  std::size_t writing_ = 0;    // taken from the queue, being written
  std::size_t completed_ = 0;  // durable, not yet taken by the loop
  std::optional<Error> failure_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace bcast::io
