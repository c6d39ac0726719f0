// The daemon's total-order history (history_store.hpp) fed from what the core delivers: every
// total-order delivery, and every total-order gap as a hole. A history that cannot be opened or
// written is switched off with a log line, never the daemon: ordering and live delivery do not
// depend on it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/bcast/message.hpp"
#include "io/history_store.hpp"

namespace bcast::io {

class DaemonHistory {
 public:
  // Opens DATA_DIR/history. `enabled` false (or max_bytes 0) keeps no history.
  DaemonHistory(FileSystem& fs, const std::string& data_dir, const HistoryOptions& options,
                bool enabled);

  void on_delivery(const Delivery& delivery);
  void on_gap(const Gap& gap);
  // Before the log compacts away entries the history came from (waits for the disk).
  void sync();
  // Syncs (unless the store does so on its own thread: HistoryOptions::background) and enforces
  // retention; a background store's write error switches the history off here.
  void every_second();

  HistoryStore* store() { return store_.get(); }  // nullptr when off
  // Syncs the history from another thread (the storage writer's, before the log compacts), for
  // as long as it is on: with a background store (HistoryOptions::background) only.
  std::function<void()> sync_from_another_thread() const;
  const std::string& problem() const { return problem_; }

 private:
  void fail(const std::string& doing, const Error& error);

  // Shared with sync_from_another_thread()'s hook, which may be syncing when the history is
  // switched off here.
  std::shared_ptr<HistoryStore> store_;
  bool background_ = false;  // the store writes and syncs on its own thread
  std::string problem_;      // why the history is off, if it was on
};

std::uint64_t unix_seconds_now();

}  // namespace bcast::io
