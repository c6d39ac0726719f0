#include "io/daemon_history.hpp"

#include <algorithm>

#include "io/log.hpp"

namespace bcast::io {

std::uint64_t unix_seconds_now() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

DaemonHistory::DaemonHistory(FileSystem& fs, const std::string& data_dir,
                             const HistoryOptions& options, bool enabled) {
  if (!enabled || options.max_bytes == 0) return;
  HistoryOptions o = options;
  o.dir = data_dir + "/history";
  auto opened = HistoryStore::open(fs, o);
  if (!opened) {
    fail("opening " + o.dir, opened.error());
    return;
  }
  store_ = std::move(opened.value());
  background_ = o.background;
  if (store_->cut_bytes() > 0) {
    log::warn("history: cut {} damaged bytes off the newest segment (an unsynced tail)",
              store_->cut_bytes());
  }
}

void DaemonHistory::fail(const std::string& doing, const Error& error) {
  problem_ = doing + ": " + error.message;
  log::error(
      "history switched off ({}); replay from this daemon is unavailable until it "
      "restarts with a readable history (move DATA_DIR/history aside to start anew)",
      problem_);
  store_.reset();
}

void DaemonHistory::on_delivery(const Delivery& delivery) {
  if (!store_ || !delivery.gseq || *delivery.gseq <= store_->last_gseq()) return;
  HistoryMessage message;
  message.gseq = *delivery.gseq;
  message.group = delivery.group;
  message.sender = delivery.sender;
  message.seq = delivery.seq;
  message.mode = delivery.mode;
  message.payload = delivery.payload;
  if (auto appended = store_->append(message, unix_seconds_now()); !appended) {
    fail("appending gseq " + std::to_string(message.gseq), appended.error());
  }
}

void DaemonHistory::on_gap(const Gap& gap) {
  if (!store_ || gap.kind != Gap::Kind::kTotal || gap.to <= store_->last_gseq()) return;
  // From right after what the history holds: a gap announced beyond it (positions the
  // history lost in a crash before the log could give them again) is one hole with it.
  const std::uint64_t from = store_->last_gseq() == 0 ? gap.from : store_->last_gseq() + 1;
  if (auto appended = store_->append_hole(from, gap.to, unix_seconds_now()); !appended) {
    fail("recording the hole " + std::to_string(from) + ".." + std::to_string(gap.to),
         appended.error());
  }
}

void DaemonHistory::sync() {
  if (!store_) return;
  if (auto synced = store_->sync(); !synced) fail("syncing", synced.error());
}

std::function<void()> DaemonHistory::sync_from_another_thread() const {
  if (!background_) return {};
  return [store = std::weak_ptr<HistoryStore>(store_)] {
    // A failure is the store's to report: every_second() switches the history off.
    if (auto held = store.lock()) (void)held->sync();
  };
}

void DaemonHistory::every_second() {
  if (!store_) return;
  if (!background_) {
    sync();
  } else if (auto failed = store_->failure()) {
    fail("writing", *failed);  // its own thread syncs; only its failure is news here
  }
  if (!store_) return;
  if (auto kept = store_->enforce_retention(unix_seconds_now()); !kept) {
    fail("deleting old segments", kept.error());
  }
}

}  // namespace bcast::io
