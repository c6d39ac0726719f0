#include "core/raft/progress.hpp"

#include <algorithm>

namespace bcast::raft {

bool Progress::is_paused() const {
  switch (state_) {
    case State::kProbe:
      return probe_sent_;
    case State::kReplicate:
      return inflight_.size() >= max_inflight_;
    case State::kSnapshot:
      return true;
  }
  return true;
}

bool Progress::on_ack(LogIndex index) {
  const bool advanced = index > match_;
  if (advanced) {
    match_ = index;
    probe_sent_ = false;
  }
  next_ = std::max(next_, index + 1);
  free_inflight_up_to(index);
  return advanced;
}

bool Progress::on_reject(LogIndex rejected, LogIndex hint) {
  if (state_ == State::kReplicate) {
    // In replicate, only the rejection of the Append that probed next-1 is news; rejections of
    // older pipelined messages are stale. Restart from just after what is known to match.
    if (rejected <= match_) return false;
    next_ = match_ + 1;
    return true;
  }
  // In probe, only the answer to the Append just sent counts.
  if (next_ - 1 != rejected) return false;
  next_ = std::max(std::min(rejected, hint + 1), match_ + 1);
  probe_sent_ = false;
  return true;
}

void Progress::on_append_sent(LogIndex last, bool carried_entries) {
  switch (state_) {
    case State::kReplicate:
      if (carried_entries) {
        next_ = last + 1;
        inflight_.push_back(last);
      }
      break;
    case State::kProbe:
      probe_sent_ = true;
      break;
    case State::kSnapshot:
      break;
  }
}

void Progress::on_heartbeat_response() {
  probe_sent_ = false;
  if (state_ == State::kReplicate && inflight_.size() >= max_inflight_) inflight_.pop_front();
}

void Progress::become_probe() {
  // After a snapshot, probe right after it; otherwise right after what is known to match.
  if (state_ == State::kSnapshot) {
    next_ = std::max(match_ + 1, pending_snapshot_ + 1);
  } else {
    next_ = match_ + 1;
  }
  state_ = State::kProbe;
  probe_sent_ = false;
  pending_snapshot_ = 0;
  inflight_.clear();
}

void Progress::become_replicate() {
  state_ = State::kReplicate;
  next_ = match_ + 1;
  probe_sent_ = false;
  pending_snapshot_ = 0;
  inflight_.clear();
}

void Progress::become_snapshot(LogIndex snapshot_index) {
  state_ = State::kSnapshot;
  pending_snapshot_ = snapshot_index;
  probe_sent_ = false;
  inflight_.clear();
}

void Progress::free_inflight_up_to(LogIndex index) {
  while (!inflight_.empty() && inflight_.front() <= index) inflight_.pop_front();
}

}  // namespace bcast::raft
