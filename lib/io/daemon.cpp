#include "io/daemon.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <zmq.hpp>

#include "core/driver.hpp"
#include "core/membership/bootstrap.hpp"
#include "core/membership/member_keys.hpp"
#include "core/membership/peer_validation.hpp"
#include "io/accept_ceiling.hpp"
#include "io/atomic_file.hpp"
#include "io/client_server.hpp"
#include "io/curve_keys.hpp"
#include "io/daemon_history.hpp"
#include "io/daemon_metrics.hpp"
#include "io/descriptor_budget.hpp"
#include "io/http_server.hpp"
#include "io/join_cluster.hpp"
#include "io/listener_guard.hpp"
#include "io/log.hpp"
#include "io/node_identity.hpp"
#include "io/peer_authenticator.hpp"
#include "io/peer_transport.hpp"
#include "io/posix_file_system.hpp"
#include "io/raft_storage.hpp"
#include "io/round_watch.hpp"
#include "io/storage_writer.hpp"
#include "io/systemd_notify.hpp"
#include "io/timed_file_system.hpp"

namespace bcast::io {
namespace {

using Clock = std::chrono::steady_clock;

// A round over half the shortest election timeout is logged with where its time went.
std::chrono::milliseconds slow_round(const DaemonOptions& options) {
  return std::chrono::milliseconds(options.tick_ms * options.node.raft.election_timeout_ticks / 2);
}

// Reads, increments and durably stores the boot count before anything else starts.
Result<std::uint32_t> next_incarnation(FileSystem& fs, const std::string& dir) {
  std::uint32_t previous = 0;
  auto text = read_whole_file(fs, dir + "/incarnation", 64);
  if (text.ok()) {
    char* end = nullptr;
    const unsigned long value = std::strtoul(text.value().c_str(), &end, 10);
    if (end == text.value().c_str() || value >= 0xffff) {
      return make_error(ErrorCode::kCorrupt, dir + "/incarnation does not hold a boot count");
    }
    previous = static_cast<std::uint32_t>(value);
  }
  const std::string next = std::to_string(previous + 1) + "\n";
  if (auto stored = replace_file_atomically(fs, dir, "incarnation", {next}, true); !stored) {
    return stored.error();
  }
  return previous + 1;
}

// The data directory holds every payload: only the daemon's user may enter it. One made by an
// earlier version (0755) is closed at start.
Result<void> make_private(const std::string& dir) {
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0) {
    return make_error(ErrorCode::kIo, "--data-dir " + dir + ": " + std::strerror(errno));
  }
  if ((info.st_mode & 077) == 0) return {};
  if (::chmod(dir.c_str(), 0700) != 0) {
    return make_error(
        ErrorCode::kIo,
        "--data-dir " + dir + ": cannot make it private (mode 0700): " + std::strerror(errno));
  }
  log::warn("--data-dir {} was open to other users (mode {:o}); made it 0700", dir,
            info.st_mode & 0777);
  return {};
}

class DaemonImpl final : public Daemon, public DriverIo, public ClientHandler {
 public:
  explicit DaemonImpl(const DaemonOptions& options)
      : options_(options), metrics_(registry_, metrics_options(options)) {}

  ~DaemonImpl() override { http_.reset(); }  // joins the HTTP threads before anything goes

  Result<void> open() {
    auto descriptors = raise_descriptor_limit();
    if (!descriptors) return descriptors.error();
    // Before anything is written: a second daemon given this socket stops here.
    if (auto free = prepare_socket_path(options_.client_socket); !free) return free.error();
    if (auto created = fs_.create_dir(options_.data_dir); !created) return created.error();
    if (auto private_dir = make_private(options_.data_dir); !private_dir) {
      return private_dir.error();
    }
    StorageOptions storage_options;
    storage_options.fsync = options_.fsync != FsyncPolicy::kNone;
    auto storage = RaftStorage::open(timed_fs_, options_.data_dir, storage_options);
    if (!storage) return storage.error();
    storage_ = std::move(storage.value());
    writer_ = std::make_unique<StorageWriter>(*storage_);
    // Written on the history's own thread: this loop never waits for its disk.
    HistoryOptions history_options = options_.history;
    history_options.background = true;
    history_ = std::make_unique<DaemonHistory>(fs_, options_.data_dir, history_options,
                                               options_.history.max_bytes != 0);
    // The log is about to forget entries the history was made from: what the history holds of
    // them must be durable first (what a crash loses of the rest becomes a hole). The storage
    // thread waits for that, not this loop.
    writer_->set_before_snapshot(history_->sync_from_another_thread());
    raft::RaftState recovered = storage_->take_recovered();

    // The largest frame a peer sends: an Append (max_append_bytes, at least one entry, which
    // may hold one maximal message) or a push of one maximal message, plus framing.
    TransportOptions transport_options;
    transport_options.max_frame_bytes =
        options_.node.raft.max_append_bytes + options_.node.max_message_bytes + (1u << 20);
    auto curve = peer_security();
    if (!curve) return curve.error();
    transport_options.curve = std::move(curve.value());
    transport_options.known_endpoints = options_.peers;
    transport_ = std::make_unique<PeerTransport>(
        context_, options_.node_id, std::map<NodeId, std::string>{}, transport_options);
    if (auto started = transport_->start(options_.listen); !started) return started.error();

    auto identity = establish_identity(recovered);
    if (!identity) return identity.error();
    auto incarnation = next_incarnation(fs_, options_.data_dir);
    if (!incarnation) return incarnation.error();

    NodeOptions node_options = options_.node;
    node_options.raft.id = options_.node_id;
    node_options.incarnation = incarnation.value();
    node_options.cluster_id = identity.value().cluster_id;
    node_options.identity = identity.value().identity;
    std::random_device entropy;  // elections need real randomness; the core only takes a seed
    const std::uint64_t seed = (std::uint64_t{entropy()} << 32) ^ entropy() ^ options_.node_id;
    node_ = std::make_unique<Node>(node_options, Rng(seed), legacy_conf_, std::move(recovered));
    if (auto started = writer_->start(); !started) return started.error();
    Node& node = *node_;
    driver_ = std::make_unique<Driver>(*this, [&node](LogIndex index, Term term, Outbox& more) {
      node.on_persisted(index, term, more);
    });
    sync_peers();

    auto log_line = [](const std::string& line) { log::info("{}", line); };
    ListenerGuardOptions peer_guard_options;
    peer_guard_options.what = "peer-port connections";
    peer_guard_ = std::make_unique<ListenerGuard>(context_, transport_->listening_socket(),
                                                  peer_guard_options, log_line);
    if (auto watched = peer_guard_->watch(options_.listen); !watched) return watched.error();
    ClientServerOptions client_options;
    client_options.max_clients = options_.max_clients;
    client_options.client_queue_bytes = options_.client_queue_bytes;
    client_options.flow_control =
        options_.slow_subscriber == DaemonOptions::SlowSubscriberPolicy::kBlock;
    client_options.publish_wait = std::chrono::milliseconds(options_.publish_wait_ms);
    client_options.stalled_subscriber = std::chrono::milliseconds(options_.stalled_subscriber_ms);
    client_options.access = options_.client_access;
    client_options.group_permissions = options_.group_permissions;
    clients_ = std::make_unique<ClientServer>(context_, *this, client_options, log_line);
    if (auto started = clients_->start(options_.client_socket); !started) return started.error();
    const std::size_t cluster_size =
        std::max<std::size_t>(options_.peers.size(), node_->raft().conf().voters.size());
    if (auto shared = share_descriptors(descriptors.value(), cluster_size); !shared) {
      return shared.error();
    }
    if (auto started = start_http(); !started) return started.error();
    log::info(
        "started: cluster {:016x}, incarnation {}, listening on {}, clients on ipc://{}, fsync "
        "{}{}",
        node_options.cluster_id, incarnation.value(), options_.listen, options_.client_socket,
        fsync_policy_name(options_.fsync), http_ ? ", http on " + options_.http : std::string());
    const raft::RaftOptions& raft = options_.node.raft;
    log::debug(
        "timing: tick {} ms, heartbeats every {} ms, a leader unheard for {}-{} ms is replaced; "
        "rounds over {} ms are reported",
        options_.tick_ms, options_.tick_ms * raft.heartbeat_interval_ticks,
        options_.tick_ms * raft.election_timeout_ticks,
        options_.tick_ms * (2 * raft.election_timeout_ticks - 1), slow_round(options_).count());
    return {};
  }

  // The CURVE keys of the peer links, and the authenticator that checks who connects (bound
  // before the peer port, so that no handshake ever passes unchecked); or nullopt for plain TCP.
  Result<std::optional<CurveSecurity>> peer_security() {
    if (options_.secret_key_file.empty()) {
      if (options_.insecure) {
        log::warn(
            "peer links are neither authenticated nor encrypted (--insecure): anyone who reaches "
            "{} can speak for any member; see docs/security.md",
            options_.listen);
      } else {
        log::info("peer links without keys, on loopback only (docs/security.md)");
      }
      return std::optional<CurveSecurity>();
    }
    auto own = read_secret_key_file(options_.secret_key_file);
    if (!own) return own.error();
    CurveSecurity curve{own.value(), options_.peer_keys};
    auto self = curve.peer_keys.find(options_.node_id);
    if (self != curve.peer_keys.end() && self->second != curve.own.public_key) {
      return make_error(ErrorCode::kInvalidArgument,
                        "--peer-key " + std::to_string(options_.node_id) +
                            " is not the public key of --secret-key " + options_.secret_key_file +
                            " (" + curve.own.public_key +
                            "): is this the right key file for node " +
                            std::to_string(options_.node_id) + "?");
    }
    curve.peer_keys[options_.node_id] = curve.own.public_key;
    for (const auto& [node, endpoint] : options_.peers) {
      if (!curve.peer_keys.contains(node)) {
        log::warn("no --peer-key for node {} ({}): it cannot be reached or heard", node, endpoint);
      }
    }
    configured_keys_ = curve.peer_keys;
    active_keys_ = curve.peer_keys;
    authenticator_ = std::make_unique<PeerAuthenticator>(
        context_, curve.peer_keys, [](const std::string& line) { log::warn("{}", line); });
    if (auto started = authenticator_->start(); !started) return started.error();
    log::info("peer links: CURVE, {} member keys", curve.peer_keys.size());
    return std::optional<CurveSecurity>(std::move(curve));
  }

  // Who this data directory is. An existing directory says so itself; a new one either joins a
  // running cluster (--join) or bootstraps a new one from --peer, and a directory made by an
  // earlier version (a log but no identity file) keeps running as it did, from --peer.
  Result<NodeIdentity> establish_identity(raft::RaftState& recovered) {
    auto stored = read_node_identity(fs_, options_.data_dir);
    if (!stored) return stored.error();
    if (stored.value()) {
      const NodeIdentity& identity = *stored.value();
      if (identity.node_id != options_.node_id) {
        return make_error(ErrorCode::kInvalidArgument,
                          options_.data_dir + " belongs to node " +
                              std::to_string(identity.node_id) + ", not to node " +
                              std::to_string(options_.node_id) + " (--node-id)");
      }
      fallback_peers_ = options_.peers;
      return identity;
    }
    const bool fresh =
        !recovered.snapshot && recovered.entries.empty() && recovered.hard_state.term == 0;
    if (!fresh) {
      log::warn(
          "{} was made by an earlier bcastd (no identity file): running from --peer without "
          "cluster or identity checks; run-time membership needs a cluster bootstrapped by this "
          "version",
          options_.data_dir);
      for (const auto& [node, endpoint] : options_.peers) legacy_conf_.voters.push_back(node);
      fallback_peers_ = options_.peers;
      return NodeIdentity{0, options_.node_id, 0};
    }
    NodeIdentity identity{0, options_.node_id, make_identity()};
    if (!options_.join.empty()) {
      auto joined =
          join_cluster(*transport_, options_.node_id, identity.identity, options_.listen,
                       options_.join, std::chrono::milliseconds(options_.join_timeout_ms), [this] {
                         if (authenticator_) authenticator_->handle();
                       });
      if (!joined) return joined.error();
      identity.cluster_id = joined.value().cluster_id;
      for (const auto& [node, endpoint] : joined.value().members) fallback_peers_[node] = endpoint;
      // Boot counts start above those of any earlier daemon that used this node id.
      const std::string floor = std::to_string(joined.value().incarnation_floor - 1) + "\n";
      if (auto stored_floor =
              replace_file_atomically(fs_, options_.data_dir, "incarnation", {floor}, true);
          !stored_floor) {
        return stored_floor.error();
      }
      log::info("joined cluster {:016x} through {}", identity.cluster_id, options_.join);
    } else {
      std::vector<InitialMember> members;
      for (const auto& [node, endpoint] : options_.peers) members.push_back({node, endpoint});
      identity.cluster_id = make_cluster_id(options_.cluster_name, members);
      recovered = bootstrap_state(options_.cluster_name, members);
      PersistRequest bootstrap;
      bootstrap.entries = recovered.entries;
      bootstrap.hard_state = recovered.hard_state;
      bootstrap.sync = true;
      if (auto written = storage_->persist(bootstrap); !written) return written.error();
      fallback_peers_ = options_.peers;
      log::info("bootstrapped cluster {:016x} ('{}') with {} members", identity.cluster_id,
                options_.cluster_name, members.size());
    }
    if (auto written = write_node_identity(fs_, options_.data_dir, identity); !written) {
      return written.error();
    }
    return identity;
  }

  // Caps the connections each socket accepts so that they can never use up the descriptors
  // (descriptor_budget.hpp).
  Result<void> share_descriptors(const DescriptorLimit& limit, std::size_t cluster_size) {
    auto in_use = open_descriptors();
    if (!in_use) return in_use.error();
    auto budget = plan_descriptors(limit.soft, in_use.value(), cluster_size, options_.max_clients);
    if (!budget) return budget.error();
    const DescriptorBudget& b = budget.value();
    peer_guard_->set_max_connections(b.max_peer_connections);
    clients_->set_limits(b.max_clients, b.max_client_connections);
    set_accept_ceiling(b.accept_ceiling);
    log::info(
        "file descriptors: limit {} (was {}), {} in use; at most {} peer-port and {} client "
        "connections, {} clients; no connection above descriptor {}",
        limit.soft, limit.was, in_use.value(), b.max_peer_connections, b.max_client_connections,
        b.max_clients, b.accept_ceiling);
    if (b.max_clients < options_.max_clients) {
      log::warn("--max-clients {} lowered to {} to fit the file descriptor limit",
                options_.max_clients, b.max_clients);
    }
    return {};
  }

  Result<void> run(const std::atomic<bool>& stop) override {
    const auto tick = std::chrono::milliseconds(options_.tick_ms);
    auto next_tick = Clock::now() + tick;
    serving_ = true;
    systemd_.ready("serving as node " + std::to_string(options_.node_id));
    while (!stop.load()) {
      const auto wait =
          std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - Clock::now());
      zmq::pollitem_t items[] = {
          {transport_->listening_socket().handle(), 0, ZMQ_POLLIN, 0},
          {clients_->socket().handle(), 0, ZMQ_POLLIN, 0},
          {clients_->monitor().handle(), 0, ZMQ_POLLIN, 0},
          {peer_guard_->monitor().handle(), 0, ZMQ_POLLIN, 0},
          {nullptr, writer_->completion_fd(), ZMQ_POLLIN, 0},
          {authenticator_ ? authenticator_->socket().handle() : nullptr, 0, ZMQ_POLLIN, 0},
      };
      try {
        zmq::poll(items, authenticator_ ? 6 : 5, std::max(wait, std::chrono::milliseconds(0)));
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) return make_error(ErrorCode::kIo, std::string("poll: ") + e.what());
        continue;  // a signal: look at `stop`
      }
      round_start_ = Clock::now();
      round_watch_.begin(round_start_);
      if (authenticator_) authenticator_->handle();
      peer_guard_->poll_events();
      if (items[4].revents & ZMQ_POLLIN) complete_writes();
      round_watch_.lap(RoundWatch::Phase::kWrites, Clock::now());
      read_peers();  // also what peers answered on our connections to them (refusals)
      round_watch_.lap(RoundWatch::Phase::kPeers, Clock::now());
      if ((items[1].revents | items[2].revents) & ZMQ_POLLIN) clients_->on_readable();
      round_watch_.lap(RoundWatch::Phase::kClients, Clock::now());
      // At most one tick per round. After a long round the ticks owed run one per round, with
      // the input that queued meanwhile read in between (the poll does not wait while a tick is
      // due): caught up all at once, they would let a leader check its quorum twice without
      // reading the answers waiting for it, and step down although every follower answered.
      if (Clock::now() >= next_tick) {
        node_->tick(round_);
        next_tick += tick;
        // Beyond a second behind (the process was stopped), the rest is forgiven.
        if (Clock::now() - next_tick > std::chrono::seconds(1)) next_tick = Clock::now();
      }
      round_watch_.lap(RoundWatch::Phase::kTick, Clock::now());
      // Credit from peers arrived in step() and tick(): publishes waiting for it may go now.
      clients_->retry_parked();
      apply();
      clients_->flush();
      report_drops();
      round_watch_.lap(RoundWatch::Phase::kApply, Clock::now());
      observe_round();
      if (auto slow = round_watch_.end(Clock::now())) log::warn("{}", *slow);
    }
    serving_ = false;
    board_.set_stopping();
    systemd_.stopping();
    log::info("stopping");
    apply();
    // Whatever was asked to be written is, before the process ends.
    writer_->wait_idle();
    complete_writes();
    apply();
    if (auto stopped = writer_->stop(); !stopped) {
      log::error("stopping without storing every write: {}", stopped.error().message);
    } else if (auto closed = storage_->close(); !closed) {
      log::warn("storage could not record the log's end at stop: {}", closed.error().message);
    }
    log::info("stopped");
    return {};
  }

  // --- DriverIo ---------------------------------------------------------------------------------
  void persist(const PersistRequest& request) override { writer_->submit(request); }
  void send(Envelope envelope) override {
    metrics_.sent(envelope);
    // The answer to a join request may go to a daemon that is not a member (yet): to the
    // address it asked from.
    if (const auto* join = std::get_if<JoinResponse>(&envelope.message);
        join != nullptr && !transport_->has_peer(envelope.to)) {
      transport_->send_to_endpoint(join->reply_address, envelope);
      return;
    }
    if (const auto* refusal = std::get_if<Refusal>(&envelope.message)) {
      transport_->send_refusal(envelope, *refusal);
      return;
    }
    transport_->send(envelope);
  }
  void answer(AdminResult result) override { clients_->answer_admin(result); }
  void announce_gap(const Gap& gap) override {
    history_->on_gap(gap);
    clients_->announce_gap(gap);
  }
  void deliver(Delivery delivery) override {
    history_->on_delivery(delivery);
    metrics_.delivered(delivery);
    clients_->deliver(delivery);
  }
  void announce_view(const ViewChange& view) override { clients_->announce_view(view); }
  void acknowledge(Receipt receipt) override {
    metrics_.acknowledged(receipt);
    clients_->acknowledge(receipt);
  }
  void observe(const Event& event) override {
    if (event.kind == Event::Kind::kBecameLeader) {
      log::info("leader of term {}", node_->raft().term());
    } else if (event.kind == Event::Kind::kBecameCandidate) {
      log::info(
          "campaigning in term {}: no leader heard within the election timeout (or asked "
          "to take over)",
          event.term);
    } else if (event.kind == Event::Kind::kBecameFollower) {
      // From leader or candidate: a higher term, a lost election, or no quorum heard.
      log::info("follower in term {}, leader {}", event.term,
                event.leader == kNoNode ? std::string("unknown") : std::to_string(event.leader));
    } else if (event.kind == Event::Kind::kRefusedByPeer && event.refusal) {
      log::error("node {} refuses this daemon: {}", event.node, describe(*event.refusal, false));
    } else if (event.kind == Event::Kind::kRefusedPeer && event.refusal) {
      log::warn("refusing node {}: {}", event.node, describe(*event.refusal, true));
    } else if (event.kind == Event::Kind::kConfigurationChanged) {
      const raft::ConfState& conf = node_->raft().conf();
      log::info("configuration: {} voters, {} learners", conf.voters.size(), conf.learners.size());
    } else {
      log::debug("event {} peer {}", static_cast<int>(event.kind), event.peer);
    }
  }

  // A full disk: the round being applied is held (none of its messages, deliveries or receipts
  // goes out before its entries and hard state are stored) and the node stands still, exactly
  // as if the process were paused in this call, which Raft tolerates: other nodes time this one
  // out (a leader is replaced, a follower is caught up later). Clients are still served:
  // publishes are refused with a clear `io` error, and publishes waiting for a receipt are
  // answered with it too. Storage is retried every second; the round goes on once it is stored.
  // Tells every client why (publishes awaiting a receipt get an `io` error, then everyone is
  // told they are disconnected), gives ZeroMQ a moment to write that, and exits with 70.
  [[noreturn]] void stop_on_storage_failure(const std::string& why) {
    log::error("FATAL: {}", why);
    const std::string told =
        "bcastd node " + std::to_string(options_.node_id) + " is stopping: " + why;
    clients_->fail_pending_publishes(make_error(ErrorCode::kIo, told));
    clients_->disconnect_all(told);
    clients_->drain(std::chrono::seconds(1));
    clients_.reset();  // removes the socket file
    std::_Exit(70);
  }

  // --- ClientHandler
  // ------------------------------------------------------------------------------
  SenderId open_sender() override { return node_->open_sender(); }
  void close_sender(SenderId sender) override {
    metrics_.sender_closed(sender);
    node_->close_sender(sender);
  }
  void joined_group(SenderId sender, const std::string& group,
                    const std::string& client_name) override {
    node_->join_group(sender, group, client_name);
  }
  void left_group(SenderId sender, const std::string& group) override {
    node_->leave_group(sender, group);
  }
  bool has_credit(const PublishRequest& request) const override {
    return node_->has_credit(request);
  }
  void set_delivery_rooms(std::map<std::string, std::uint64_t> free_bytes_by_group) override {
    node_->set_delivery_rooms(std::move(free_bytes_by_group));
  }
  Result<std::uint64_t> publish(const PublishRequest& request) override {
    auto seq = node_->publish(request, round_);
    if (seq) {
      metrics_.published(request, seq.value(), round_start_);
    } else {
      metrics_.publish_refused(seq.error());
    }
    return seq;
  }
  protocol::Header status() override {
    const raft::Raft& raft = node_->raft();
    protocol::Header h;
    h.node_id = options_.node_id;
    const auto& learners = raft.conf().learners;
    const bool learner =
        std::find(learners.begin(), learners.end(), options_.node_id) != learners.end();
    h.role = learner                                ? "learner"
             : raft.role() == raft::Role::kLeader   ? "leader"
             : raft.role() == raft::Role::kFollower ? "follower"
                                                    : "candidate";
    h.term = raft.term();
    if (raft.leader() != kNoNode) h.leader = raft.leader();
    h.members = members();
    h.commit_index = raft.log().committed();
    h.max_message_bytes = max_message_bytes();
    h.cluster_id = node_->registry().cluster_id();
    h.problems = problems();
    h.peers = peer_reachability();
    const auto& down = node_->views().down_nodes();
    h.daemons_down.assign(down.begin(), down.end());
    return h;
  }
  // The failure detector's judgment of every other configured daemon (bcastctl members).
  std::vector<protocol::PeerReach> peer_reachability() const {
    const PeerTable& table = node_->peers();
    const std::uint64_t now = node_->now_tick();
    const auto live = table.holding_back();
    std::vector<protocol::PeerReach> peers;
    for (NodeId node : table.members()) {
      protocol::PeerReach peer;
      peer.node = node;
      const bool heard = table.incarnation(node) != 0;
      peer.reachable = heard && std::find(live.begin(), live.end(), node) != live.end();
      if (heard) peer.last_heard_ms = (now - table.last_heard_tick(node)) * options_.tick_ms;
      peers.push_back(peer);
    }
    return peers;
  }
  protocol::Header cluster_list() override {
    const raft::Raft& raft = node_->raft();
    const ClusterRegistry& registry = node_->registry();
    protocol::Header h;
    h.cluster_id = registry.cluster_id();
    if (raft.leader() != kNoNode) h.leader = raft.leader();
    const auto& reachable = transport_->connections();
    for (NodeId node : members()) {
      protocol::ClusterNode n;
      n.node = node;
      n.role = raft.conf().is_voter(node) ? "voter" : "learner";
      if (const MemberRecord* record = registry.member(node)) {
        n.address = record->address;
        n.identity_bound = record->identity != 0;
        n.promote_when_caught_up = record->promote_when_caught_up;
      } else if (auto it = fallback_peers_.find(node); it != fallback_peers_.end()) {
        n.address = it->second;
      }
      // The key this daemon admits for it (the registry's, else its --peer-key).
      if (auto key = active_keys_.find(node); key != active_keys_.end()) n.public_key = key->second;
      if (node == options_.node_id) {
        n.address = n.address.empty() ? options_.listen : n.address;
        n.match_index = raft.log().last_index();
      } else {
        if (auto it = raft.progress().find(node); it != raft.progress().end()) {
          n.match_index = it->second.match();
        }
        if (auto it = reachable.find(node); it != reachable.end()) n.reachable = it->second;
      }
      h.nodes.push_back(std::move(n));
    }
    return h;
  }
  void admin(std::uint64_t request_id, const AdminRequest& request) override {
    log::info("cluster {} {} requested", admin_kind_name(request.kind), request.node);
    if (auto refused = refused_key(request)) {
      round_.admin_results.push_back(
          AdminResult{request_id, false, ErrorCode::kInvalidArgument, *refused});
      return;
    }
    node_->admin(request_id, request, round_);
  }
  // Why the key of a `cluster add` cannot be used, if it cannot: not Z85, or a key this daemon
  // already binds to another node (the leader checks the registry's keys again).
  std::optional<std::string> refused_key(const AdminRequest& request) const {
    if (request.kind != AdminRequest::Kind::kAdd || request.public_key.empty()) return {};
    if (auto invalid = invalid_key(request.public_key)) return "--key: " + *invalid;
    for (const auto& [node, key] : active_keys_) {
      if (node != request.node && key == request.public_key) {
        return "that key is already node " + std::to_string(node) + "'s";
      }
    }
    return {};
  }
  std::vector<NodeId> members() override {
    const raft::ConfState& conf = node_->raft().conf();
    std::vector<NodeId> all = conf.voters;
    all.insert(all.end(), conf.learners.begin(), conf.learners.end());
    std::sort(all.begin(), all.end());
    return all;
  }
  NodeId node_id() const override { return options_.node_id; }
  std::uint64_t max_message_bytes() const override { return options_.node.max_message_bytes; }
  std::size_t max_group_bytes() const override { return options_.node.max_group_bytes; }
  HistoryStore* history() override { return history_->store(); }

 private:
  void read_peers() {
    // Bounded per round so ticks and clients are never starved by a flood.
    for (int i = 0; i < 10000; ++i) {
      auto received = transport_->receive();
      if (!received) return;
      if (!received->ok()) {
        transport_->refuse_last(/*decoded=*/false);
        if (++malformed_logged_ <= 20) {
          log::warn("dropped a malformed peer frame: {}", received->error().message);
        }
        continue;
      }
      // A node speaks only for itself (core/membership/peer_validation.hpp).
      const raft::Raft& raft = node_->raft();
      const ValidationContext context{options_.node_id, raft.term(), raft.leader(),
                                      raft.transfer_target()};
      if (auto invalid = invalid_for_sender(received->value(), context)) {
        transport_->refuse_last(/*decoded=*/true);
        if (++invalid_logged_ <= 20 || invalid_logged_ % 1000 == 0) {
          log::warn("refused a message from node {} and closed its connection: {} ({} so far)",
                    received->value().from, *invalid, invalid_logged_);
        }
        continue;
      }
      metrics_.received(received->value(), round_start_);
      node_->step(received->value(), round_);
    }
  }

  // Peer messages dropped for an unreachable peer or a full queue are expected during faults
  // (the protocols repair them) but an operator should see them: logged at most every 10 s.
  void report_drops() {
    const auto now = Clock::now();
    if (now < next_drop_report_) return;
    next_drop_report_ = now + std::chrono::seconds(10);
    const TransportCounters& c = transport_->counters();
    if (c.dropped == reported_dropped_ && c.malformed == reported_malformed_ &&
        c.invalid == reported_invalid_) {
      return;
    }
    log::warn(
        "peer messages: {} sent, {} received, {} dropped (peer unreachable or queue full), {} "
        "malformed ({} claiming another node's id), {} invalid for their sender; {} connections "
        "closed for it",
        c.sent, c.received, c.dropped, c.malformed, c.impersonations, c.invalid, c.disconnected);
    reported_invalid_ = c.invalid;
    reported_dropped_ = c.dropped;
    reported_malformed_ = c.malformed;
  }

  void apply() {
    node_->flush(round_);
    driver_->apply(round_);
    sync_peers();
  }

  // The members to stay connected to: the committed configuration's (the registry), or, until
  // this daemon has one (a joiner waiting for the log, a cluster of an earlier version), the
  // addresses it started with.
  void sync_peers() {
    const ClusterRegistry& registry = node_->registry();
    std::map<NodeId, std::string> wanted;
    if (registry.cluster_id() != 0) {
      for (const auto& [node, record] : registry.members()) {
        if (node != options_.node_id && !record.address.empty()) wanted[node] = record.address;
      }
    } else {
      for (const auto& [node, endpoint] : fallback_peers_) {
        if (node != options_.node_id) wanted[node] = endpoint;
      }
    }
    sync_peer_keys();
    if (wanted != transport_->peers()) transport_->set_peers(wanted);
  }

  // With CURVE: the keys the authenticator admits and the transport connects to follow the
  // committed configuration (core/membership/member_keys.hpp); each conflict is logged once.
  void sync_peer_keys() {
    if (!authenticator_) return;
    MemberKeys merged = member_keys(configured_keys_, node_->registry(), options_.node_id);
    for (auto it = merged.keys.begin(); it != merged.keys.end();) {
      if (auto invalid = invalid_key(it->second)) {
        merged.conflicts.push_back("the key of node " + std::to_string(it->first) +
                                   " in the cluster configuration is unusable: " + *invalid);
        it = merged.keys.erase(it);
      } else {
        ++it;
      }
    }
    for (const std::string& conflict : merged.conflicts) {
      if (logged_key_conflicts_.insert(conflict).second) log::error("peer keys: {}", conflict);
    }
    if (merged.keys == active_keys_) return;
    for (const auto& [node, key] : merged.keys) {
      auto before = active_keys_.find(node);
      if (before == active_keys_.end() || before->second != key) {
        log::info("peer keys: node {} may connect with key {}", node, key);
      }
    }
    for (const auto& [node, key] : active_keys_) {
      if (!merged.keys.contains(node)) log::info("peer keys: node {}'s key {} refused", node, key);
    }
    active_keys_ = std::move(merged.keys);
    authenticator_->set_keys(active_keys_);
    transport_->set_peer_keys(active_keys_);
  }

  // What keeps this daemon from serving fully, for status.
  std::vector<std::string> problems() const {
    std::vector<std::string> out;
    if (options_.insecure && options_.secret_key_file.empty()) {
      out.push_back(
          "peer links are neither authenticated nor encrypted (--insecure): anyone who "
          "reaches " +
          options_.listen + " can speak for any member");
    }
    for (const auto& [node, refusal] : node_->admission().refused_by(node_->now_tick())) {
      out.push_back("refused by node " + std::to_string(node) + ": " + describe(refusal, false));
    }
    for (const auto& [node, refusal] : node_->admission().refusing(node_->now_tick())) {
      out.push_back("refusing node " + std::to_string(node) + ": " + describe(refusal, true));
    }
    return out;
  }

  // A refusal in words: what it means and what to do about it.
  static std::string describe(const Refusal& refusal, bool we_refuse) {
    switch (refusal.reason) {
      case RefusalReason::kClusterMismatch:
        return we_refuse ? "it belongs to another cluster (or was started with a different "
                           "--peer list or --cluster-name)"
                         : "this daemon belongs to another cluster (cluster " +
                               fmt_hex(refusal.cluster_id) +
                               "): a different --peer list or --cluster-name at bootstrap, or a "
                               "data directory of another cluster";
      case RefusalReason::kIdentityMismatch:
        return we_refuse ? "its data directory is not the one the cluster knows for its node id"
                         : "the cluster knows this node id with another data directory (was it "
                           "wiped or copied, or does another daemon use this id?); remove the "
                           "member (bcastctl cluster remove ID) and add it again, then start "
                           "with --join";
      case RefusalReason::kNotMember:
        return we_refuse ? "it is not in the configuration"
                         : "this daemon is not in the cluster's configuration (removed, or never "
                           "added: bcastctl cluster add ID=tcp://IP:PORT, then start with --join)";
    }
    return "unknown reason";
  }
  static std::string fmt_hex(std::uint64_t value) {
    char buffer[17];
    std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(value));
    return buffer;
  }

  // Writes the storage thread finished: what waited for them leaves, and the node learns they
  // are durable (its effects join this round).
  void complete_writes() {
    auto completed = writer_->take_completed();
    if (!completed) {
      stop_on_storage_failure(
          "storage failed: " + completed.error().message +
          ". The disk can no longer be trusted (a failed fsync may have dropped writes, and "
          "retrying could report them stored), so continuing could acknowledge what is not "
          "stored. Everything acknowledged so far is on disk; restart once the disk is "
          "repaired: recovery reads back exactly what was stored");
    }
    for (std::size_t i = 0; i < completed.value(); ++i) driver_->complete_oldest_write(round_);
    watch_disk();
  }

  // While the disk is full the storage thread waits for space and this daemon holds back what
  // depends on its writes (its acknowledgements and votes), so the cluster carries on without
  // it. Its own clients are told: publishes are refused, and those awaiting a receipt learn that
  // their fate is unknown. What a full disk makes it hold is bounded: beyond kMaxHeldBytes it
  // stops instead.
  void watch_disk() {
    static constexpr std::uint64_t kMaxHeldBytes = 256ULL << 20;
    const std::optional<Error> full = writer_->disk_full();
    if (full && !disk_full_) {
      log::error(
          "disk full: {}. Writes wait for space (retried every second); nothing that depends on "
          "them is sent or acknowledged meanwhile; publishes are refused",
          full->message);
      const std::string where = "disk full on bcastd node " + std::to_string(options_.node_id) +
                                " (" + full->message + ")";
      clients_->refuse_publishes(
          make_error(ErrorCode::kIo, where + ": this publish was not accepted; retry later"));
      clients_->fail_pending_publishes(make_error(
          ErrorCode::kIo, where + ": this publish was not acknowledged, and may or may not be "
                                  "delivered once space returns"));
    } else if (!full && disk_full_) {
      log::info("disk space returned: the held writes are stored; resuming");
      clients_->refuse_publishes(std::nullopt);
    }
    disk_full_ = full;
    if (disk_full_ && writer_->pending_bytes() > kMaxHeldBytes) {
      stop_on_storage_failure(
          "the disk stayed full while more than 256 MiB of log waited to be written; nothing of "
          "it was acknowledged. Free space and restart: recovery reads back exactly what was "
          "stored");
    }
  }

  static DaemonMetricsOptions metrics_options(const DaemonOptions& options) {
    DaemonMetricsOptions m;
    m.node_id = options.node_id;
    m.listen = options.listen;
    m.peers = options.peers;
    m.version = BCAST_VERSION;
    m.election_timeout =
        std::chrono::milliseconds(options.tick_ms * options.node.raft.election_timeout_ticks);
    return m;
  }

  Result<void> start_http() {
    if (options_.http.empty()) return {};
    auto address = parse_http_address(options_.http);
    if (!address) return address.error();
    if (!address.value().loopback && !options_.http_allow_remote) {
      return make_error(ErrorCode::kInvalidArgument,
                        "--http " + options_.http +
                            ": not a loopback address; the endpoint has no authentication, so "
                            "serving it beyond this host needs --http-allow-remote");
    }
    auto http = HttpServer::start(address.value(), registry_, board_);
    if (!http) return http.error();
    http_ = std::move(http.value());
    return {};
  }

  // After every round: metrics, the status snapshot, liveness for /healthz and systemd.
  void observe_round() {
    const auto now = Clock::now();
    if (now >= next_history_sync_) {
      history_->every_second();
      next_history_sync_ = now + std::chrono::seconds(1);
      round_watch_.lap(RoundWatch::Phase::kHistory, Clock::now());
    }
    if (auto status = metrics_.after_round(*node_, *transport_, *clients_, serving_, now)) {
      board_.publish(std::move(status), now);
    }
    board_.loop_alive(now);
    systemd_.keep_alive(now);
  }

  DaemonOptions options_;
  PosixFileSystem fs_;
  MetricsRegistry registry_;
  DaemonMetrics metrics_;
  TimedFileSystem timed_fs_{fs_, metrics_.fsync_seconds()};
  StatusBoard board_;
  SystemdNotifier systemd_;
  std::unique_ptr<HttpServer> http_;  // declared after what its threads read
  bool serving_ = false;
  Clock::time_point round_start_ = Clock::now();
  RoundWatch round_watch_{metrics_.round_seconds(), slow_round(options_)};
  // With CURVE, ZeroMQ's I/O threads encrypt and decrypt every frame: two threads, so that the
  // control lane (heartbeats, votes) never waits behind a 16 MiB append being encrypted
  // (PeerTransport pins each lane to its own thread).
  zmq::context_t context_{options_.secret_key_file.empty() ? 1 : 2};
  std::unique_ptr<RaftStorage> storage_;
  std::unique_ptr<StorageWriter> writer_;  // declared after storage_: stops before it closes
  std::unique_ptr<DaemonHistory> history_;
  Clock::time_point next_history_sync_ = Clock::now();
  std::unique_ptr<Node> node_;
  std::unique_ptr<Driver> driver_;
  std::unique_ptr<PeerAuthenticator> authenticator_;  // with CURVE; before transport_ (ZAP)
  std::unique_ptr<PeerTransport> transport_;
  std::map<NodeId, std::string> configured_keys_;  // --peer-key and our own, as given at start
  std::map<NodeId, std::string> active_keys_;      // merged with the registry's (member_keys)
  std::set<std::string> logged_key_conflicts_;
  std::unique_ptr<ClientServer> clients_;
  raft::ConfState legacy_conf_;                   // a data directory of an earlier version only
  std::map<NodeId, std::string> fallback_peers_;  // addresses until the registry has them
  std::unique_ptr<ListenerGuard> peer_guard_;     // caps the connections on the peer port
  std::optional<Error> disk_full_;  // the storage thread waits for space (see complete_writes)
  Outbox round_;                    // effects of the current round, applied once at its end
  std::uint64_t malformed_logged_ = 0;
  std::uint64_t invalid_logged_ = 0;
  Clock::time_point next_drop_report_ = Clock::now() + std::chrono::seconds(10);
  std::uint64_t reported_dropped_ = 0;
  std::uint64_t reported_malformed_ = 0;
  std::uint64_t reported_invalid_ = 0;
};

}  // namespace

const char* fsync_policy_name(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::kAlways:
      return "always";
    case FsyncPolicy::kNone:
      return "none";
  }
  return "always";
}

Result<std::unique_ptr<Daemon>> Daemon::open(const DaemonOptions& options) {
  auto daemon = std::make_unique<DaemonImpl>(options);
  if (auto opened = daemon->open(); !opened) return opened.error();
  return std::unique_ptr<Daemon>(std::move(daemon));
}

}  // namespace bcast::io
