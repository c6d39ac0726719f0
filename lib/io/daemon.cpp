#include "io/daemon.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <zmq.hpp>

#include "core/driver.hpp"
#include "io/accept_ceiling.hpp"
#include "io/atomic_file.hpp"
#include "io/client_server.hpp"
#include "io/descriptor_budget.hpp"
#include "io/listener_guard.hpp"
#include "io/peer_transport.hpp"
#include "io/posix_file_system.hpp"
#include "io/raft_storage.hpp"

namespace bcast::io {
namespace {

using Clock = std::chrono::steady_clock;

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

class DaemonImpl final : public Daemon, public DriverIo, public ClientHandler {
 public:
  explicit DaemonImpl(const DaemonOptions& options) : options_(options) {}

  Result<void> open() {
    auto descriptors = raise_descriptor_limit();
    if (!descriptors) return descriptors.error();
    if (auto created = fs_.create_dir(options_.data_dir); !created) return created.error();
    auto incarnation = next_incarnation(fs_, options_.data_dir);
    if (!incarnation) return incarnation.error();
    StorageOptions storage_options;
    storage_options.fsync = options_.fsync != FsyncPolicy::kNone;
    auto storage = RaftStorage::open(fs_, options_.data_dir, storage_options);
    if (!storage) return storage.error();
    storage_ = std::move(storage.value());

    raft::ConfState conf;
    for (const auto& [node, endpoint] : options_.peers) conf.voters.push_back(node);
    if (!options_.peers.contains(options_.node_id)) conf.voters.push_back(options_.node_id);
    std::sort(conf.voters.begin(), conf.voters.end());

    NodeOptions node_options = options_.node;
    node_options.raft.id = options_.node_id;
    node_options.incarnation = incarnation.value();
    std::random_device entropy;  // elections need real randomness; the core only takes a seed
    const std::uint64_t seed = (std::uint64_t{entropy()} << 32) ^ entropy() ^ options_.node_id;
    node_ = std::make_unique<Node>(node_options, Rng(seed), conf, storage_->take_recovered());

    // The largest frame a peer sends: an Append (max_append_bytes, at least one entry, which
    // may hold one maximal message) or a push of one maximal message, plus framing.
    TransportOptions transport_options;
    transport_options.max_frame_bytes =
        node_options.raft.max_append_bytes + node_options.max_message_bytes + (1u << 20);
    transport_ = std::make_unique<PeerTransport>(context_, options_.node_id, options_.peers,
                                                 transport_options);
    if (auto started = transport_->start(options_.listen); !started) return started.error();
    auto log_line = [this](const std::string& line) { log("%s", line.c_str()); };
    ListenerGuardOptions peer_guard_options;
    peer_guard_options.what = "peer-port connections";
    peer_guard_ = std::make_unique<ListenerGuard>(context_, transport_->listening_socket(),
                                                  peer_guard_options, log_line);
    if (auto watched = peer_guard_->watch(options_.listen); !watched) return watched.error();
    ClientServerOptions client_options;
    client_options.max_clients = options_.max_clients;
    client_options.client_queue_bytes = options_.client_queue_bytes;
    clients_ = std::make_unique<ClientServer>(context_, *this, client_options, log_line);
    if (auto started = clients_->start(options_.client_socket); !started) return started.error();
    if (auto shared = share_descriptors(descriptors.value(), conf.voters.size()); !shared) {
      return shared.error();
    }
    log("started: incarnation %u, %zu voters, listening on %s, clients on ipc://%s, fsync %s",
        incarnation.value(), conf.voters.size(), options_.listen.c_str(),
        options_.client_socket.c_str(), fsync_policy_name(options_.fsync));
    return {};
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
    log("file descriptors: limit %llu (was %llu), %llu in use; at most %zu peer-port and %zu "
        "client connections, %zu clients; no connection above descriptor %d",
        static_cast<unsigned long long>(limit.soft), static_cast<unsigned long long>(limit.was),
        static_cast<unsigned long long>(in_use.value()), b.max_peer_connections,
        b.max_client_connections, b.max_clients, b.accept_ceiling);
    if (b.max_clients < options_.max_clients) {
      log("warning: --max-clients %zu lowered to %zu to fit the file descriptor limit",
          options_.max_clients, b.max_clients);
    }
    return {};
  }

  Result<void> run(const std::atomic<bool>& stop) override {
    stop_ = &stop;
    const auto tick = std::chrono::milliseconds(options_.tick_ms);
    auto next_tick = Clock::now() + tick;
    while (!stop.load()) {
      const auto wait =
          std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - Clock::now());
      zmq::pollitem_t items[] = {
          {transport_->listening_socket().handle(), 0, ZMQ_POLLIN, 0},
          {clients_->socket().handle(), 0, ZMQ_POLLIN, 0},
          {clients_->monitor().handle(), 0, ZMQ_POLLIN, 0},
          {peer_guard_->monitor().handle(), 0, ZMQ_POLLIN, 0},
      };
      try {
        zmq::poll(items, 4, std::max(wait, std::chrono::milliseconds(0)));
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) return make_error(ErrorCode::kIo, std::string("poll: ") + e.what());
        continue;  // a signal: look at `stop`
      }
      peer_guard_->poll_events();
      if (items[0].revents & ZMQ_POLLIN) read_peers();
      if ((items[1].revents | items[2].revents) & ZMQ_POLLIN) clients_->on_readable();
      // Ticks keep their pace even after a long round; a stall is caught up at once.
      for (int due = 0; Clock::now() >= next_tick && due < 100; ++due) {
        node_->tick(round_);
        next_tick += tick;
      }
      if (Clock::now() >= next_tick) next_tick = Clock::now() + tick;
      apply();
      if (waited_for_disk_) {
        // The node stood still while the disk was full; its clock resumes from now rather than
        // catching up (which would only start an election at once).
        waited_for_disk_ = false;
        next_tick = Clock::now() + tick;
      }
      clients_->flush();
      report_drops();
    }
    apply();
    if (auto closed = storage_->close(); !closed) {
      log("storage could not record the log's end at stop: %s", closed.error().message.c_str());
    }
    log("stopped");
    return {};
  }

  // --- DriverIo ---------------------------------------------------------------------------------
  void persist(const PersistRequest& request) override {
    auto stored = storage_->persist(request);
    if (!stored && is_disk_full(stored.error())) stored = wait_for_disk(stored.error());
    if (!stored) {
      stop_on_storage_failure(
          "storage failed: " + stored.error().message +
          ". The disk can no longer be trusted (a failed fsync may have dropped writes, and "
          "retrying could report them stored), so continuing could acknowledge what is not "
          "stored. Everything acknowledged so far is on disk; restart once the disk is "
          "repaired: recovery reads back exactly what was stored");
    }
  }
  void send(Envelope envelope) override { transport_->send(envelope); }
  void deliver(Delivery delivery) override { clients_->deliver(delivery); }
  void acknowledge(Receipt receipt) override { clients_->acknowledge(receipt); }
  void observe(const Event& event) override {
    if (event.kind == Event::Kind::kBecameLeader) {
      log("leader of term %llu", static_cast<unsigned long long>(node_->raft().term()));
    } else if (options_.verbose) {
      log("event %d peer %u", static_cast<int>(event.kind), static_cast<unsigned>(event.peer));
    }
  }

  // A full disk: the round being applied is held (none of its messages, deliveries or receipts
  // goes out before its entries and hard state are stored) and the node stands still, exactly
  // as if the process were paused in this call, which Raft tolerates: other nodes time this one
  // out (a leader is replaced, a follower is caught up later). Clients are still served:
  // publishes are refused with a clear `io` error, and publishes waiting for a receipt are
  // answered with it too. Storage is retried every second; the round goes on once it is stored.
  Result<void> wait_for_disk(const Error& full) {
    const auto started = Clock::now();
    log("disk full: %s. Holding this round until it is stored: nothing of it is sent, "
        "delivered or acknowledged before; publishes are refused meanwhile; retrying every "
        "second",
        full.message.c_str());
    const Error refusal = make_error(
        ErrorCode::kIo, "disk full on bcastd node " + std::to_string(options_.node_id) + " (" +
                            full.message + "): this publish was not accepted; retry later");
    clients_->refuse_publishes(refusal);
    clients_->fail_pending_publishes(make_error(
        ErrorCode::kIo, "disk full on bcastd node " + std::to_string(options_.node_id) + " (" +
                            full.message +
                            "): this publish was not acknowledged, and may or may not be "
                            "delivered once space returns"));
    auto next_try = Clock::now() + std::chrono::seconds(1);
    auto next_report = Clock::now() + std::chrono::seconds(30);
    Result<void> stored = full;
    while (!stored && is_disk_full(stored.error())) {
      if (stop_ != nullptr && stop_->load()) {
        stop_on_storage_failure(
            "stopped on request while the disk was full: the round being applied was never "
            "stored, and nothing of it was sent or acknowledged");
      }
      serve_clients_until(std::min(next_try, Clock::now() + std::chrono::milliseconds(100)));
      if (Clock::now() < next_try) continue;
      stored = storage_->resume();
      next_try = Clock::now() + std::chrono::seconds(1);
      if (!stored && Clock::now() >= next_report) {
        next_report = Clock::now() + std::chrono::seconds(30);
        log("disk still full: %s", stored.error().message.c_str());
      }
    }
    clients_->refuse_publishes(std::nullopt);
    if (stored) {
      waited_for_disk_ = true;
      const auto waited =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
      log("disk space returned: the held round is stored after %.1f s; resuming",
          static_cast<double>(waited.count()) / 1000.0);
    }
    return stored;
  }

  // Requests, connection events and queued replies, but nothing that steps the node.
  void serve_clients_until(Clock::time_point deadline) {
    const auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    zmq::pollitem_t items[] = {
        {clients_->socket().handle(), 0, ZMQ_POLLIN, 0},
        {clients_->monitor().handle(), 0, ZMQ_POLLIN, 0},
    };
    try {
      zmq::poll(items, 2, std::max(wait, std::chrono::milliseconds(0)));
    } catch (const zmq::error_t&) {
      return;  // a signal: the caller looks at `stop`
    }
    if ((items[0].revents | items[1].revents) & ZMQ_POLLIN) clients_->on_readable();
    clients_->flush();
  }

  // Tells every client why (publishes awaiting a receipt get an `io` error, then everyone is
  // told they are disconnected), gives ZeroMQ a moment to write that, and exits with 70.
  [[noreturn]] void stop_on_storage_failure(const std::string& why) {
    log("FATAL: %s", why.c_str());
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
  void close_sender(SenderId sender) override { node_->close_sender(sender); }
  Result<std::uint64_t> publish(const PublishRequest& request) override {
    return node_->publish(request, round_);
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
    return h;
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

 private:
  void read_peers() {
    // Bounded per round so ticks and clients are never starved by a flood.
    for (int i = 0; i < 10000; ++i) {
      auto received = transport_->receive();
      if (!received) return;
      if (!received->ok()) {
        if (++malformed_logged_ <= 20) {
          log("dropped a malformed peer frame: %s", received->error().message.c_str());
        }
        continue;
      }
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
    if (c.dropped == reported_dropped_ && c.malformed == reported_malformed_) return;
    log("peer messages: %llu sent, %llu received, %llu dropped (peer unreachable or queue full), "
        "%llu malformed",
        static_cast<unsigned long long>(c.sent), static_cast<unsigned long long>(c.received),
        static_cast<unsigned long long>(c.dropped), static_cast<unsigned long long>(c.malformed));
    reported_dropped_ = c.dropped;
    reported_malformed_ = c.malformed;
  }

  void apply() {
    node_->flush(round_);
    Node& node = *node_;
    apply_outbox(round_, *this, [&node](LogIndex index, Term term, Outbox& more) {
      node.on_persisted(index, term, more);
    });
  }

  template <typename... Args>
  void log(const char* format, Args... args) {
    std::fprintf(stderr, "bcastd[%u]: ", static_cast<unsigned>(options_.node_id));
    if constexpr (sizeof...(Args) == 0) {
      std::fputs(format, stderr);
    } else {
      std::fprintf(stderr, format, args...);
    }
    std::fputc('\n', stderr);
  }

  DaemonOptions options_;
  PosixFileSystem fs_;
  zmq::context_t context_{1};
  std::unique_ptr<RaftStorage> storage_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<PeerTransport> transport_;
  std::unique_ptr<ClientServer> clients_;
  std::unique_ptr<ListenerGuard> peer_guard_;  // caps the connections on the peer port
  const std::atomic<bool>* stop_ = nullptr;
  bool waited_for_disk_ = false;
  Outbox round_;  // effects of the current round, applied once at its end
  std::uint64_t malformed_logged_ = 0;
  Clock::time_point next_drop_report_ = Clock::now() + std::chrono::seconds(10);
  std::uint64_t reported_dropped_ = 0;
  std::uint64_t reported_malformed_ = 0;
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
