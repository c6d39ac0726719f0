#include "io/daemon_metrics.hpp"

#include <algorithm>

namespace bcast::io {
namespace {

using Seconds = std::chrono::duration<double>;

constexpr Mode kModes[] = {Mode::kBestEffort, Mode::kReliable, Mode::kGossip};
constexpr Order kOrders[] = {Order::kNone, Order::kFifo, Order::kCausal, Order::kTotal};
// PeerMessage's alternatives, in variant order.
constexpr const char* kPeerMessageTypes[] = {
    "raft",    "data",         "digest",        "hello",         "welcome",      "total_forward",
    "refusal", "join_request", "join_response", "admin_forward", "admin_result", "credit"};
static_assert(std::size(kPeerMessageTypes) == std::variant_size_v<PeerMessage>);

std::size_t cell_index(Mode mode, Order order) {
  return static_cast<std::size_t>(mode) * 4 + static_cast<std::size_t>(order);
}

std::string role_name(const raft::Raft& raft, NodeId self) {
  if (raft.conf().is_learner(self)) return "learner";
  switch (raft.role()) {
    case raft::Role::kLeader:
      return "leader";
    case raft::Role::kFollower:
      return "follower";
    default:
      return "candidate";
  }
}

double unix_now_seconds() {
  return Seconds(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

DaemonMetrics::DaemonMetrics(MetricsRegistry& registry, const DaemonMetricsOptions& options)
    : registry_(registry),
      options_(options),
      started_(Clock::now()),
      fsync_seconds_(registry.histogram(
          "bcast_storage_fsync_seconds",
          "Time to make written storage durable: one fsync of a log segment, hard state, "
          "snapshot or directory.",
          latency_buckets_seconds())),
      round_seconds_(registry.histogram(
          "bcast_loop_round_seconds",
          "Duration of one event-loop round (reading peers and clients, the tick, applying its "
          "effects); no heartbeat leaves or is answered while one runs.",
          latency_buckets_seconds())),
      untimed_(registry.counter("bcast_latency_untimed_messages_total",
                                "Local publishes not timed for bcast_publish_to_deliver_seconds "
                                "because too many were in flight.")),
      leader_changes_(registry.counter("bcast_raft_leader_changes_total",
                                       "Terms in which this daemon saw a leader (each election "
                                       "won, by any daemon, that it noticed).")),
      peer_frames_dropped_(
          registry.counter("bcast_peer_frames_dropped_total",
                           "Messages to peers dropped: peer unreachable or its send queue full.")),
      peer_frames_malformed_(registry.counter("bcast_peer_frames_malformed_total",
                                              "Frames from peers refused: they did not decode, "
                                              "came with another node's key, or were invalid "
                                              "for their sender (docs/security.md).")),
      client_deliveries_dropped_(registry.counter(
          "bcast_client_deliveries_dropped_total",
          "Deliveries lost because a local client's queue was full (it reads too slowly).")),
      client_stalled_disconnects_(registry.counter(
          "bcast_client_stalled_disconnects_total",
          "Local clients disconnected for reading nothing for --stalled-subscriber-ms.")) {
  for (Mode mode : kModes) {
    for (Order order : kOrders) {
      const Labels labels = {{"mode", mode_name(mode)}, {"order", order_name(order)}};
      cells_[cell_index(mode, order)] = Cell{
          &registry.counter("bcast_published_messages_total",
                            "Messages local clients published that this daemon accepted.", labels),
          &registry.counter("bcast_published_bytes_total",
                            "Payload bytes of bcast_published_messages_total.", labels),
          &registry.counter("bcast_delivered_messages_total",
                            "Messages this daemon delivered (to its clients that joined the "
                            "group, if any).",
                            labels),
          &registry.counter("bcast_delivered_bytes_total",
                            "Payload bytes of bcast_delivered_messages_total.", labels),
          &registry.histogram("bcast_publish_to_deliver_seconds",
                              "From accepting a local publish to delivering it locally.",
                              latency_buckets_seconds(), labels)};
    }
    const std::size_t m = static_cast<std::size_t>(mode);
    const char* kinds[] = {"origin", "relay", "repair"};
    for (std::size_t k = 0; k < 3; ++k) {
      data_pushes_[m][k] = &registry.counter(
          "bcast_data_pushes_sent_total",
          "Message copies sent to peers: origin (first sends), relay (reliable relays and gossip "
          "forwarding rounds), repair (retransmissions to fill gaps).",
          {{"mode", mode_name(mode)}, {"kind", kinds[k]}});
    }
    digests_sent_[m] = &registry.counter(
        "bcast_digests_sent_total",
        "Stream digests sent (reliable repair rounds; gossip anti-entropy rounds).",
        {{"mode", mode_name(mode)}});
  }
  for (std::size_t t = 0; t < std::size(kPeerMessageTypes); ++t) {
    sent_by_type_[t] = &registry.counter("bcast_peer_messages_sent_total",
                                         "Messages handed to the transport, by type.",
                                         {{"type", kPeerMessageTypes[t]}});
    received_by_type_[t] = &registry.counter("bcast_peer_messages_received_total",
                                             "Messages received from peers, by type.",
                                             {{"type", kPeerMessageTypes[t]}});
  }
  auto gauge = [&](const char* name, const char* help, Labels labels = {}) {
    return &registry.gauge(name, help, std::move(labels));
  };
  gauges_.term = gauge("bcast_raft_term", "Current Raft term.");
  gauges_.commit_index = gauge("bcast_raft_commit_index", "Highest log index known committed.");
  gauges_.applied_index = gauge("bcast_raft_applied_index", "Highest log index applied.");
  gauges_.last_log_index = gauge("bcast_raft_last_log_index", "Index of the last log entry.");
  gauges_.is_leader = gauge("bcast_raft_is_leader", "1 if this daemon is the Raft leader.");
  gauges_.leader_id = gauge("bcast_raft_leader_id", "Node id of the known leader, 0 if none.");
  gauges_.voters = gauge("bcast_raft_voters", "Voters in the configuration.");
  gauges_.learners = gauge("bcast_raft_learners", "Learners in the configuration.");
  gauges_.held_back_delivery =
      gauge("bcast_held_back_messages", "Messages received but not yet deliverable.",
            {{"stage", "delivery"}});
  gauges_.held_back_total =
      gauge("bcast_held_back_messages", "Messages received but not yet deliverable.",
            {{"stage", "total_pending"}});
  for (Mode mode : {Mode::kReliable, Mode::kGossip}) {
    const std::size_t m = static_cast<std::size_t>(mode);
    gauges_.stored_messages[m] = gauge("bcast_repair_store_messages",
                                       "Messages kept for repair until every member has "
                                       "them.",
                                       {{"mode", mode_name(mode)}});
    gauges_.stored_bytes[m] =
        gauge("bcast_repair_store_bytes", "Payload bytes of bcast_repair_store_messages.",
              {{"mode", mode_name(mode)}});
  }
  gauges_.clients = gauge("bcast_clients", "Connected local clients.");
  gauges_.client_backlog =
      gauge("bcast_client_backlog_replies", "Replies waiting for room in local clients' queues.");
  gauges_.client_max_backlog =
      gauge("bcast_client_max_backlog_replies", "The longest reply backlog of one local client.");
  gauges_.client_parked_publishes =
      gauge("bcast_client_parked_publishes",
            "Publishes of local clients held for credit (a slow subscriber paces the group).");
  gauges_.ready = gauge("bcast_ready", "1 when /readyz answers 200 (docs/operations.md).");
  gauges_.uptime = gauge("bcast_uptime_seconds", "Seconds since the daemon started.");
  registry
      .gauge("bcast_build_info", "Always 1; the version is a label.",
             {{"version", options.version}})
      .set(1);
  registry.gauge("bcast_start_time_seconds", "Unix time the daemon started.")
      .set(unix_now_seconds());
}

DaemonMetrics::GroupCounts* DaemonMetrics::group(const std::string& name) {
  auto it = groups_.find(name);
  if (it != groups_.end()) return &it->second;
  if (groups_.size() >= kMaxGroupsShown) return nullptr;  // bounded: later groups go unshown
  return &groups_[name];
}

void DaemonMetrics::published(const PublishRequest& request, std::uint64_t seq,
                              Clock::time_point now) {
  const std::size_t index = cell_index(request.mode, request.order);
  const std::size_t bytes = request.payload ? request.payload->size() : 0;
  cells_[index].published_messages->increment();
  cells_[index].published_bytes->increment(bytes);
  ++published_messages_;
  published_bytes_ += bytes;
  if (GroupCounts* g = group(request.group)) ++g->published;
  if (timed_.size() >= kMaxTimedMessages) {
    untimed_.increment();
    return;
  }
  timed_.emplace(std::make_pair(request.sender, seq), std::make_pair(now, index));
}

void DaemonMetrics::publish_refused(const Error& error) {
  registry_
      .counter("bcast_publishes_refused_total",
               "Publishes refused, at once or when their receipt was due, by error code.",
               {{"reason", error_code_name(error.code)}})
      .increment();
}

void DaemonMetrics::acknowledged(const Receipt& receipt) {
  if (!receipt.error) return;
  publish_refused(*receipt.error);
  timed_.erase({receipt.sender, receipt.seq});  // it will never be delivered
}

void DaemonMetrics::delivered(const Delivery& delivery) {
  const std::size_t index = cell_index(delivery.mode, delivery.order);
  const std::size_t bytes = delivery.payload ? delivery.payload->size() : 0;
  cells_[index].delivered_messages->increment();
  cells_[index].delivered_bytes->increment(bytes);
  ++delivered_messages_;
  delivered_bytes_ += bytes;
  if (GroupCounts* g = group(delivery.group)) ++g->delivered;
  if (sender_node(delivery.sender) != options_.node_id || timed_.empty()) return;
  auto it = timed_.find({delivery.sender, delivery.seq});
  if (it == timed_.end()) return;
  cells_[it->second.second].publish_to_deliver->observe(Clock::now() - it->second.first);
  timed_.erase(it);
}

void DaemonMetrics::sent(const Envelope& envelope) {
  sent_by_type_[envelope.message.index()]->increment();
  if (const auto* push = std::get_if<DataPush>(&envelope.message)) {
    const OriginId own = envelope.origin;
    const std::size_t kind = push->repair ? 2 : (push->message.origin() == own ? 0 : 1);
    data_pushes_[static_cast<std::size_t>(push->message.mode)][kind]->increment();
  } else if (const auto* digest = std::get_if<Digest>(&envelope.message)) {
    digests_sent_[static_cast<std::size_t>(digest->mode)]->increment();
  }
}

void DaemonMetrics::received(const Envelope& envelope, Clock::time_point now) {
  received_by_type_[envelope.message.index()]->increment();
  last_heard_[envelope.from] = now;
  // The leader's announced commit index, for readiness: Appends carry the leader's commit,
  // heartbeats as much of it as this follower is known to hold.
  if (const auto* m = std::get_if<raft::Message>(&envelope.message)) {
    if (m->type != raft::MessageType::kAppend && m->type != raft::MessageType::kHeartbeat) return;
    if (m->term != leader_commit_term_ || m->from != leader_commit_from_) {
      leader_commit_term_ = m->term;
      leader_commit_from_ = m->from;
      leader_commit_ = 0;
    }
    leader_commit_ = std::max(leader_commit_, m->commit);
  }
}

void DaemonMetrics::sender_closed(SenderId sender) {
  timed_.erase(timed_.lower_bound({sender, 0}), timed_.upper_bound({sender, ~std::uint64_t{0}}));
}

std::shared_ptr<const DaemonStatus> DaemonMetrics::after_round(const Node& node,
                                                               PeerTransport& transport,
                                                               const ClientServer& clients,
                                                               bool serving,
                                                               Clock::time_point now) {
  const raft::Raft& raft = node.raft();
  if (raft.leader() != kNoNode && raft.term() != leader_term_seen_) {
    leader_term_seen_ = raft.term();
    leader_changes_.increment();
  }
  const bool commit_known =
      leader_commit_term_ == raft.term() && leader_commit_from_ == raft.leader();
  if (raft.role() == raft::Role::kLeader ||
      (commit_known && raft.log().applied() >= leader_commit_)) {
    last_caught_up_ = now;
  }
  serving_ = serving;
  if (now < next_refresh_) return nullptr;
  next_refresh_ = now + options_.refresh_interval;
  const ClientServerStats client_stats = clients.stats();
  client_deliveries_dropped_.increment(
      client_stats.deliveries_dropped_total -
      std::min(client_dropped_seen_, client_stats.deliveries_dropped_total));
  client_dropped_seen_ = client_stats.deliveries_dropped_total;
  client_stalled_disconnects_.increment(
      client_stats.stalled_disconnects_total -
      std::min(client_stalled_seen_, client_stats.stalled_disconnects_total));
  client_stalled_seen_ = client_stats.stalled_disconnects_total;
  refresh(node, transport, now);
  return snapshot(node, transport, client_stats, now);
}

void DaemonMetrics::refresh(const Node& node, PeerTransport& transport, Clock::time_point now) {
  const raft::Raft& raft = node.raft();
  gauges_.term->set(static_cast<double>(raft.term()));
  gauges_.commit_index->set(static_cast<double>(raft.log().committed()));
  gauges_.applied_index->set(static_cast<double>(raft.log().applied()));
  gauges_.last_log_index->set(static_cast<double>(raft.log().last_index()));
  gauges_.is_leader->set(raft.role() == raft::Role::kLeader ? 1 : 0);
  gauges_.leader_id->set(static_cast<double>(raft.leader()));
  gauges_.voters->set(static_cast<double>(raft.conf().voters.size()));
  gauges_.learners->set(static_cast<double>(raft.conf().learners.size()));
  gauges_.held_back_delivery->set(static_cast<double>(node.delivery().held()));
  gauges_.held_back_total->set(static_cast<double>(node.total().pending()));
  const StreamSet* stores[] = {nullptr, &node.reliable().streams(), &node.gossip().streams()};
  for (std::size_t m = 1; m < 3; ++m) {
    gauges_.stored_messages[m]->set(static_cast<double>(stores[m]->stored_messages()));
    gauges_.stored_bytes[m]->set(static_cast<double>(stores[m]->stored_bytes()));
  }
  gauges_.uptime->set(Seconds(now - started_).count());

  const TransportCounters& c = transport.counters();
  peer_frames_dropped_.increment(c.dropped - std::min(transport_dropped_seen_, c.dropped));
  const std::uint64_t refused = c.malformed + c.invalid;
  peer_frames_malformed_.increment(refused - std::min(transport_malformed_seen_, refused));
  transport_dropped_seen_ = c.dropped;
  transport_malformed_seen_ = refused;
  for (const auto& [peer, up] : transport.connections()) {
    const Labels labels = {{"peer", std::to_string(peer)}};
    registry_
        .gauge("bcast_peer_connected",
               "1 while this daemon's connection to the peer is up (TCP, ZeroMQ monitor).", labels)
        .set(up ? 1 : 0);
    auto heard = last_heard_.find(peer);
    if (heard != last_heard_.end()) {
      registry_
          .gauge("bcast_peer_last_heard_seconds",
                 "Seconds since the last message from the peer (only after a first one).", labels)
          .set(Seconds(now - heard->second).count());
    }
  }
}

Readiness DaemonMetrics::readiness(const Node& node, bool serving, Clock::time_point now) const {
  const raft::Raft& raft = node.raft();
  ReadinessInputs in;
  in.serving = serving;
  in.member = raft.conf().contains(options_.node_id);
  in.is_leader = raft.role() == raft::Role::kLeader;
  in.leader = raft.leader();
  in.commit_index = raft.log().committed();
  in.applied_index = raft.log().applied();
  if (leader_commit_term_ == raft.term() && leader_commit_from_ == raft.leader()) {
    in.leader_commit = leader_commit_;
  }
  in.last_caught_up = last_caught_up_;
  in.now = now;
  in.election_timeout = options_.election_timeout;
  return evaluate_readiness(in);
}

std::shared_ptr<DaemonStatus> DaemonMetrics::snapshot(const Node& node, PeerTransport& transport,
                                                      const ClientServerStats& clients,
                                                      Clock::time_point now) {
  const raft::Raft& raft = node.raft();
  auto s = std::make_shared<DaemonStatus>();
  s->node_id = options_.node_id;
  s->version = options_.version;
  s->listen = options_.listen;
  s->role = role_name(raft, options_.node_id);
  s->term = raft.term();
  if (raft.leader() != kNoNode) s->leader = raft.leader();
  s->commit_index = raft.log().committed();
  s->applied_index = raft.log().applied();
  s->last_index = raft.log().last_index();
  s->leader_changes = leader_changes_.value();

  std::map<NodeId, std::string> endpoints = options_.peers;
  endpoints.emplace(options_.node_id, options_.listen);
  const raft::ConfState& conf = raft.conf();
  for (NodeId id : conf.voters) endpoints.emplace(id, "");
  for (NodeId id : conf.learners) endpoints.emplace(id, "");
  const auto& connections = transport.connections();
  for (const auto& [id, endpoint] : endpoints) {
    PeerStatus p;
    p.id = id;
    p.endpoint = endpoint;
    p.role = conf.is_voter(id) ? "voter" : conf.is_learner(id) ? "learner" : "none";
    p.self = id == options_.node_id;
    auto connected = connections.find(id);
    p.reachable = p.self || (connected != connections.end() && connected->second);
    if (auto heard = last_heard_.find(id); heard != last_heard_.end()) {
      p.last_heard_ms = std::chrono::duration<double, std::milli>(now - heard->second).count();
    }
    p.incarnation = p.self ? 0 : node.peers().incarnation(id) & 0xffff;
    if (raft.role() == raft::Role::kLeader) {
      if (auto progress = raft.progress().find(id); progress != raft.progress().end()) {
        p.match_index = progress->second.match();
      }
    }
    s->peers.push_back(std::move(p));
  }
  std::map<std::string, GroupStatus> groups;
  for (const auto& [name, counts] : groups_) {
    groups[name] = GroupStatus{name, 0, counts.published, counts.delivered};
  }
  for (const auto& [name, count] : clients.group_clients) {
    if (groups.size() >= kMaxGroupsShown && !groups.contains(name)) continue;
    GroupStatus& g = groups[name];
    g.name = name;
    g.local_clients = count;
  }
  for (auto& [name, g] : groups) s->groups.push_back(std::move(g));
  s->clients = clients.clients;
  s->published_messages = published_messages_;
  s->delivered_messages = delivered_messages_;
  s->published_bytes = published_bytes_;
  s->delivered_bytes = delivered_bytes_;
  s->held_back_messages = node.delivery().held() + node.total().pending();
  s->uptime_seconds = Seconds(now - started_).count();
  s->unix_time_seconds = unix_now_seconds();
  const Readiness ready = readiness(node, serving_, now);
  s->ready = ready.ready;
  s->ready_reason = ready.reason;
  gauges_.ready->set(ready.ready ? 1 : 0);
  gauges_.clients->set(static_cast<double>(clients.clients));
  gauges_.client_backlog->set(static_cast<double>(clients.backlog_replies));
  gauges_.client_max_backlog->set(static_cast<double>(clients.max_backlog_replies));
  gauges_.client_parked_publishes->set(static_cast<double>(clients.parked_publishes));
  return s;
}

}  // namespace bcast::io
