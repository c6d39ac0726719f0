// The leader's view of one follower's replication (thesis §3.5 nextIndex/matchIndex, plus the
// flow control of a production implementation).
//
// A follower is in one of three states:
//  * probe: the leader does not know where the follower's log matches. It sends one Append at a
//    time and waits for the answer (or a heartbeat response) before sending the next.
//  * replicate: the follower is matching. The leader streams Appends without waiting, up to
//    `max_inflight` unacknowledged messages (pipelining with a bounded window).
//  * snapshot: the follower needs entries that were compacted; an InstallSnapshot is in flight
//    and nothing else is sent until it is answered.
#pragma once

#include <cstdint>
#include <deque>

#include "bcast/types.hpp"

namespace bcast::raft {

class Progress {
 public:
  enum class State : std::uint8_t { kProbe, kReplicate, kSnapshot };

  Progress(LogIndex next, std::uint32_t max_inflight) : next_(next), max_inflight_(max_inflight) {}

  State state() const { return state_; }
  LogIndex match() const { return match_; }
  LogIndex next() const { return next_; }
  LogIndex pending_snapshot() const { return pending_snapshot_; }

  // True when the leader must not send this follower another Append now.
  bool is_paused() const;

  // The follower acknowledged entries up to `index`. Returns false if the acknowledgement is
  // stale (older than what is already known).
  bool on_ack(LogIndex index);
  // The follower rejected the Append that probed `rejected` and suggests probing at `hint`.
  // Returns false if the rejection is stale.
  bool on_reject(LogIndex rejected, LogIndex hint);

  // An Append carrying entries up to `last` was sent.
  void on_append_sent(LogIndex last, bool carried_entries);
  // A heartbeat response arrived: the follower is reachable, so a paused probe may send again,
  // and a full pipeline window gives up its oldest slot (if every Append in the window was
  // lost, this is what restarts replication).
  void on_heartbeat_response();

  void become_probe();
  void become_replicate();
  void become_snapshot(LogIndex snapshot_index);

  // CheckQuorum bookkeeping: whether the follower was heard from in the current window.
  bool recent_active = false;
  // Leader lease bookkeeping: the highest leader tick the follower echoed in a heartbeat reply.
  std::uint64_t lease_ack_tick = 0;
  // The commit index last sent, so a commit advance reaches followers without waiting for a
  // heartbeat.
  LogIndex commit_sent = 0;
  // The leader tick at which an InstallSnapshot was sent; one presumed lost is sent again.
  std::uint64_t snapshot_sent_tick = 0;

  std::size_t inflight_count() const { return inflight_.size(); }

 private:
  void free_inflight_up_to(LogIndex index);

  State state_ = State::kProbe;
  LogIndex match_ = 0;
  LogIndex next_;
  LogIndex pending_snapshot_ = 0;
  bool probe_sent_ = false;
  std::uint32_t max_inflight_;
  std::deque<LogIndex> inflight_;  // last index of each unacknowledged Append, ascending
};

}  // namespace bcast::raft
