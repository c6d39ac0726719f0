// The daemon's state as the HTTP thread sees it: a snapshot the event loop publishes a few
// times a second (StatusBoard), read by /status.json, /readyz and the status page. The HTTP
// thread never touches the core: it reads only snapshots and the metrics registry's atomics.
//
// Readiness (GET /readyz answers 200 exactly when `evaluate_readiness` says ready):
//   1. the daemon is serving: storage recovered, sockets bound, not shutting down;
//   2. it is in the Raft configuration, as a voter or a learner;
//   3. a leader is known in the current term. A follower forgets the leader after an election
//      timeout without hearing from it, and a leader steps down after an election timeout
//      without hearing from a majority (CheckQuorum), so a known leader means this daemon is
//      on the majority side of any partition, give or take one election timeout;
//   4. it is caught up: it has applied every entry it knows committed, and — unless it is the
//      leader — within the last election timeout its applied index reached the highest commit
//      index the current leader announced to it. A follower that keeps falling behind (a slow
//      disk, a restart replaying a long log) is not ready until it catches up.
// /healthz is liveness only: 200 while the event loop completes rounds (at least one within
// the last kLoopStallLimit), whatever the cluster does.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bcast/types.hpp"

namespace bcast::io {

// An event loop silent this long is taken as hung (/healthz fails, /readyz too).
inline constexpr std::chrono::seconds kLoopStallLimit{5};

struct PeerStatus {
  NodeId id = kNoNode;
  std::string endpoint;
  std::string role;  // "voter", "learner", or "none" (configured at start, since removed)
  bool self = false;
  bool reachable = false;               // heard from within the reachability window
  std::optional<double> last_heard_ms;  // since its last message; nullopt: never
  std::uint32_t incarnation = 0;        // its boot count as last seen; 0 unknown
  std::optional<LogIndex> match_index;  // what the leader knows it holds (leader only)
};

struct GroupStatus {
  std::string name;
  std::size_t local_clients = 0;  // clients of this daemon that joined it
  std::uint64_t published_messages = 0;
  std::uint64_t delivered_messages = 0;
};

struct DaemonStatus {
  NodeId node_id = kNoNode;
  std::string version;
  std::string listen;
  std::string role;  // "leader", "follower", "candidate", "learner"
  Term term = 0;
  std::optional<NodeId> leader;
  LogIndex commit_index = 0;
  LogIndex applied_index = 0;
  LogIndex last_index = 0;
  std::uint64_t leader_changes = 0;
  std::vector<PeerStatus> peers;  // every configured daemon, this one included, by id
  std::vector<GroupStatus> groups;
  std::size_t clients = 0;
  std::uint64_t published_messages = 0;
  std::uint64_t delivered_messages = 0;
  std::uint64_t published_bytes = 0;
  std::uint64_t delivered_bytes = 0;
  std::size_t held_back_messages = 0;
  double uptime_seconds = 0;
  double unix_time_seconds = 0;  // when the snapshot was taken
  bool ready = false;
  std::string ready_reason;  // why not ready ("" when ready)
};

std::string to_json(const DaemonStatus& status);

struct ReadinessInputs {
  bool serving = false;
  bool member = false;
  bool is_leader = false;
  NodeId leader = kNoNode;
  LogIndex commit_index = 0;
  LogIndex applied_index = 0;
  // The highest commit index the current leader announced to us in its term (nullopt before
  // its first Append or Heartbeat), and when our applied index last reached it.
  std::optional<LogIndex> leader_commit;
  std::optional<std::chrono::steady_clock::time_point> last_caught_up;
  std::chrono::steady_clock::time_point now;
  std::chrono::milliseconds election_timeout{0};
};

struct Readiness {
  bool ready = false;
  std::string reason;  // one line; empty when ready
};

Readiness evaluate_readiness(const ReadinessInputs& in);

// The hand-over point between the event loop (writer) and the HTTP thread (readers).
class StatusBoard {
 public:
  using Clock = std::chrono::steady_clock;

  void publish(std::shared_ptr<const DaemonStatus> status, Clock::time_point now);
  // The latest snapshot (nullptr before the first) and when it was published.
  std::pair<std::shared_ptr<const DaemonStatus>, Clock::time_point> latest() const;

  void loop_alive(Clock::time_point now) {
    last_round_ns_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  }
  Clock::time_point last_round() const {
    return Clock::time_point(Clock::duration(last_round_ns_.load(std::memory_order_relaxed)));
  }
  void set_stopping() { stopping_.store(true); }
  bool stopping() const { return stopping_.load(); }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const DaemonStatus> status_;
  Clock::time_point published_{};
  std::atomic<Clock::rep> last_round_ns_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace bcast::io
