// bcastd's instruments: what its event loop counts as effects pass through the shell, and the
// gauges and status snapshot it refreshes from the core's const accessors a few times a second.
// docs/operations.md lists every metric with its meaning and the alerts built on it.
//
// Everything here runs on the event-loop thread; the registry's instruments are atomics, so
// the HTTP thread renders them at any time, and the status snapshot is handed over through a
// StatusBoard. Nothing here changes what the daemon does.
//
// Publish-to-deliver latency is measured where one clock sees both ends: from the moment this
// daemon accepts a local client's publish to the moment it delivers that message to its own
// clients (every daemon delivers every message of every mode to itself). For total order that
// covers forwarding to the leader, the Raft commit and the way back; for reliable and gossip,
// the local path only. At most kMaxTimedMessages messages are timed at once; beyond that new
// ones go untimed (counted in bcast_latency_untimed_messages_total).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "core/node.hpp"
#include "io/client_server.hpp"
#include "io/daemon_status.hpp"
#include "io/metrics.hpp"
#include "io/peer_transport.hpp"

namespace bcast::io {

struct DaemonMetricsOptions {
  NodeId node_id = kNoNode;
  std::string listen;
  std::map<NodeId, std::string> peers;  // the initial cluster, for endpoints
  std::string version;
  std::chrono::milliseconds election_timeout{200};
  // How often refresh() takes a snapshot and updates the gauges.
  std::chrono::milliseconds refresh_interval{200};
};

class DaemonMetrics {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxTimedMessages = 65536;
  static constexpr std::size_t kMaxGroupsShown = 1024;

  DaemonMetrics(MetricsRegistry& registry, const DaemonMetricsOptions& options);

  // --- hooks, called by the event loop as effects pass ---------------------------------------
  void published(const PublishRequest& request, std::uint64_t seq, Clock::time_point now);
  void publish_refused(const Error& error);
  void acknowledged(const Receipt& receipt);
  void delivered(const Delivery& delivery);
  void sent(const Envelope& envelope);
  void received(const Envelope& envelope, Clock::time_point now);
  void sender_closed(SenderId sender);
  // After every round: leader changes and catch-up are tracked per round (cheap), the rest at
  // the refresh interval. Returns a new snapshot when one was taken.
  std::shared_ptr<const DaemonStatus> after_round(const Node& node, PeerTransport& transport,
                                                  const ClientServer& clients, bool serving,
                                                  Clock::time_point now);

  // Filled by the file system wrapper around the daemon's storage.
  Histogram& fsync_seconds() { return fsync_seconds_; }
  // Filled by the event loop's RoundWatch.
  Histogram& round_seconds() { return round_seconds_; }

 private:
  struct Cell {
    Counter* published_messages;
    Counter* published_bytes;
    Counter* delivered_messages;
    Counter* delivered_bytes;
    Histogram* publish_to_deliver;
  };
  struct GroupCounts {
    std::uint64_t published = 0;
    std::uint64_t delivered = 0;
  };
  Cell& cell(Mode mode, Order order) {
    return cells_[static_cast<std::size_t>(mode) * 4 + static_cast<std::size_t>(order)];
  }
  GroupCounts* group(const std::string& name);
  void refresh(const Node& node, PeerTransport& transport, Clock::time_point now);
  std::shared_ptr<DaemonStatus> snapshot(const Node& node, PeerTransport& transport,
                                         const ClientServerStats& clients, Clock::time_point now);
  Readiness readiness(const Node& node, bool serving, Clock::time_point now) const;

  MetricsRegistry& registry_;
  DaemonMetricsOptions options_;
  Clock::time_point started_;
  Clock::time_point next_refresh_{};

  std::array<Cell, 12> cells_{};
  Histogram& fsync_seconds_;
  Histogram& round_seconds_;
  Counter& untimed_;
  Counter* data_pushes_[3][3] = {};  // [mode][origin, relay, repair]
  std::array<Counter*, std::variant_size_v<PeerMessage>> sent_by_type_{};  // by alternative
  std::array<Counter*, std::variant_size_v<PeerMessage>> received_by_type_{};
  std::array<Counter*, 3> digests_sent_{};  // by mode
  Counter& leader_changes_;
  Counter& peer_frames_dropped_;
  Counter& peer_frames_malformed_;
  Counter& client_deliveries_dropped_;
  Counter& client_stalled_disconnects_;
  struct Gauges {
    Gauge* term;
    Gauge* commit_index;
    Gauge* applied_index;
    Gauge* last_log_index;
    Gauge* is_leader;
    Gauge* leader_id;
    Gauge* voters;
    Gauge* learners;
    Gauge* held_back_delivery;
    Gauge* held_back_total;
    Gauge* stored_messages[3];  // by mode (best-effort stores nothing)
    Gauge* stored_bytes[3];
    Gauge* clients;
    Gauge* client_backlog;
    Gauge* client_max_backlog;
    Gauge* client_parked_publishes;
    Gauge* ready;
    Gauge* uptime;
  } gauges_{};

  // Event-loop state behind the metrics.
  std::map<std::pair<SenderId, std::uint64_t>, std::pair<Clock::time_point, std::size_t>>
      timed_;  // (sender, seq) -> when published, and its cell
  std::map<std::string, GroupCounts> groups_;
  std::map<NodeId, Clock::time_point> last_heard_;
  Term leader_term_seen_ = 0;
  Term leader_commit_term_ = 0;
  NodeId leader_commit_from_ = kNoNode;
  LogIndex leader_commit_ = 0;
  std::optional<Clock::time_point> last_caught_up_;
  bool serving_ = false;
  std::uint64_t transport_dropped_seen_ = 0;
  std::uint64_t transport_malformed_seen_ = 0;
  std::uint64_t client_dropped_seen_ = 0;
  std::uint64_t client_stalled_seen_ = 0;
  std::uint64_t published_messages_ = 0;
  std::uint64_t delivered_messages_ = 0;
  std::uint64_t published_bytes_ = 0;
  std::uint64_t delivered_bytes_ = 0;
};

}  // namespace bcast::io
