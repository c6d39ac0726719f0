#include "sim_cluster.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <utility>
#include <variant>

#include "core/driver.hpp"
#include "core/membership/bootstrap.hpp"
#include "core/node.hpp"
#include "delivery_checker.hpp"
#include "io/daemon_history.hpp"
#include "io/log.hpp"
#include "raft_checker.hpp"
#include "sim_disk.hpp"
#include "sim_network.hpp"
#include "support/faulty_file_system.hpp"
#include "trace.hpp"
#include "view_checker.hpp"

namespace bcast::sim {
namespace {

constexpr std::uint64_t kMs = 1000;
// Broadcast scenario: links take exactly one round; measured broadcasts start once the daemons
// have met and follow each other at a fixed gap.
constexpr std::uint64_t kRoundUs = 1 * kMs;
constexpr std::uint64_t kBroadcastStartUs = 1000 * kMs;
constexpr std::uint64_t kBroadcastGapUs = 20 * kMs;

std::string describe(const Envelope& envelope) {
  return std::visit(
      [&](const auto& m) -> std::string {
        using T = std::decay_t<decltype(m)>;
        const std::string route =
            " " + std::to_string(envelope.from) + "->" + std::to_string(envelope.to);
        if constexpr (std::is_same_v<T, raft::Message>) {
          std::string s =
              std::string(raft::message_type_name(m.type)) + route + " t" + std::to_string(m.term);
          if (m.type == raft::MessageType::kAppend) {
            s += " prev=" + std::to_string(m.index) + "/t" + std::to_string(m.log_term) +
                 " n=" + std::to_string(m.entries.size()) + " commit=" + std::to_string(m.commit);
          } else if (m.type == raft::MessageType::kAppendResponse) {
            s += m.reject ? " reject@" + std::to_string(m.index) : " ok@" + std::to_string(m.index);
          } else if (raft::is_response(m.type)) {
            s += m.reject ? " rejected" : " granted";
          }
          return s;
        } else if constexpr (std::is_same_v<T, DataPush>) {
          return std::string("Data") + route + " " + mode_name(m.message.mode) + "/" +
                 order_name(m.message.order) + " origin " +
                 std::to_string(origin_node(m.message.origin())) + " #" +
                 std::to_string(m.message.stream_seq) + (m.repair ? " repair" : "") + " hops " +
                 std::to_string(m.hops);
        } else if constexpr (std::is_same_v<T, Digest>) {
          std::string s = std::string("Digest") + route + " " + mode_name(m.mode);
          for (const auto& p : m.streams) {
            s += " " + std::to_string(origin_node(p.origin)) + "." +
                 std::to_string(p.origin & 0xffff) + ":" + std::to_string(p.received_upto) + "/" +
                 std::to_string(p.stable_upto);
          }
          return s;
        } else if constexpr (std::is_same_v<T, Hello>) {
          return "Hello" + route;
        } else if constexpr (std::is_same_v<T, Welcome>) {
          return "Welcome" + route + " epoch " + std::to_string(m.epoch);
        } else if constexpr (std::is_same_v<T, TotalForward>) {
          return "TotalForward" + route + " n=" + std::to_string(m.messages.size());
        } else if constexpr (std::is_same_v<T, Refusal>) {
          return std::string("Refusal") + route + " " + refusal_reason_name(m.reason);
        } else if constexpr (std::is_same_v<T, AdminForward>) {
          return std::string("AdminForward") + route + " " + admin_kind_name(m.request.kind) + " " +
                 std::to_string(m.request.node);
        } else if constexpr (std::is_same_v<T, AdminResult>) {
          return "AdminResult" + route + (m.ok ? " ok" : " " + m.message);
        } else if constexpr (std::is_same_v<T, Credit>) {
          std::string s = "Credit" + route;
          if (!m.rooms.empty()) s += " share " + std::to_string(m.rooms[0].share_bytes);
          for (const CreditPosition& p : m.delivered) {
            s += " " + std::to_string(origin_node(p.origin)) + "." +
                 std::to_string(p.origin & 0xffff) + ":" + std::to_string(p.reliable) + "/" +
                 std::to_string(p.gossip) + "/" + std::to_string(p.total);
          }
          return s;
        } else if constexpr (std::is_same_v<T, JoinRequest>) {
          return "JoinRequest" + route;
        } else {
          return "JoinResponse" + route + (m.accepted ? " accepted" : " refused");
        }
      },
      envelope.message);
}

// The address a simulated daemon "listens" on (the simulated network routes by node id).
std::string sim_address(NodeId node) { return "tcp://10.0.0." + std::to_string(node) + ":7400"; }

struct SimEvent {
  enum class Kind : std::uint8_t {
    kTick,
    kDeliver,
    kFault,
    kPublish,
    kResume,
    kRestart,
    kHeal,
    kStopWorkload,
    kRound,        // round mode: what a node received since its last round, in one Outbox
    kJoinAttempt,  // a spare asks a member to let it in
    kWriteDone,    // disk latency: the node's oldest write in flight is durable
  };
  std::uint64_t time_us = 0;
  std::uint64_t sequence = 0;  // ties broken by scheduling order, never by address
  Kind kind = Kind::kTick;
  NodeId node = kNoNode;
  std::uint64_t life = 0;  // the node life an event belongs to (stale after a crash)
  std::uint64_t arg = 0;   // kPublish: client slot; bit 32 set: a causal reply in mode bit 33
  std::shared_ptr<const Envelope> envelope;

  bool operator>(const SimEvent& other) const {
    return time_us != other.time_us ? time_us > other.time_us : sequence > other.sequence;
  }
};

constexpr std::uint64_t kReplyFlag = 1ULL << 32;
constexpr std::uint64_t kReplyGossipFlag = 1ULL << 33;

// Follows the sequencer's applied entries with a hash chain, for the Raft checkers; and tells
// the delivery checker when a node installs a snapshot (its total-order gap may follow).
class ChainObserver : public ApplyObserver {
 public:
  ChainObserver(RaftChecker& checker, NodeId id) : checker_(checker), id_(id) {}
  void on_apply(const raft::Entry& entry) override {
    chain_ = chain_hash(chain_, entry);
    checker_.observe_apply(id_, entry.index, chain_);
  }
  void on_restore(const raft::SnapshotMeta& meta) override {
    chain_ = checker_.observe_restore(id_, meta.index);
    if (on_installed_) on_installed_();
  }
  void set_on_installed(std::function<void()> hook) { on_installed_ = std::move(hook); }

 private:
  RaftChecker& checker_;
  NodeId id_;
  std::uint64_t chain_ = 0;
  std::function<void()> on_installed_;
};

struct SimNode {
  NodeId id = kNoNode;
  std::unique_ptr<SimDisk> disk;
  std::unique_ptr<ChainObserver> observer;
  std::unique_ptr<Node> node;  // null while crashed
  std::uint32_t boots = 0;     // persisted across crashes, as the daemon keeps it on disk
  std::uint64_t life = 0;
  bool paused = false;
  std::uint64_t paused_since_us = 0;
  std::uint64_t paused_until_us = 0;
  std::deque<std::shared_ptr<const Envelope>> inbox;  // held while paused
  std::uint64_t tick_interval_us = 0;
  bool was_leader = false;
  bool catching_up = false;  // replaying ticks missed while paused
  std::vector<SenderId> senders;
  // Cluster membership (run-time changes): whether the harness wants this node running as a
  // member, the identity of its data directory (new whenever the disk is replaced), and a spare
  // waiting to be let in after `cluster add`.
  bool member = false;
  bool initial = false;  // of the bootstrap configuration, never removed: a new disk bootstraps
  std::uint64_t identity = 0;
  bool joining = false;
  std::uint64_t join_started_us = 0;
  std::vector<std::shared_ptr<const Envelope>> round_inbox;  // round mode
  bool round_scheduled = false;
  // Disk latency: writes in flight (lost by a crash), and the Driver that holds what waits for
  // them, as the daemon's event loop does with its storage thread.
  std::deque<PersistRequest> writes;
  std::uint64_t last_write_done_us = 0;
  std::unique_ptr<DriverIo> io;
  std::unique_ptr<Driver> driver;
  // The total-order history, as the daemon keeps it (io::DaemonHistory): on its own simulated
  // file system, which a crash hits like the disk; replaced with the disk. And the total-order
  // gaps every life of this disk announced (the history's holes must be among them).
  std::unique_ptr<test::FaultyFileSystem> history_fs;
  std::unique_ptr<io::DaemonHistory> history;
  std::uint64_t next_history_sync_us = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> total_gaps;
  // --slow-subscribers: the node's subscriber of every group (SimOptions).
  struct Reader {
    bool slow = false;
    std::uint64_t held_bytes = 0;         // reliable, gossip and total order: never dropped
    std::uint64_t best_effort_bytes = 0;  // dropped to make room, as the client queue does
    struct Queued {
      bool best_effort = false;
      std::uint64_t bytes = 0;
      OriginId origin = 0;
    };
    std::deque<Queued> queue;             // oldest first
    std::uint64_t read_credit_bytes = 0;  // read of the front message so far
    std::uint64_t started_us = 0;         // this life of the node
    std::uint64_t last_read_us = 0;
    std::uint64_t paused_until_us = 0;
  } reader;
};

class Cluster {
 public:
  explicit Cluster(const SimOptions& options);
  SimResult run();

 private:
  class NodeIo;

  void schedule(SimEvent event);
  void schedule_tick(SimNode& n, std::uint64_t delay_us);
  void schedule_publish(SimNode& n, std::uint64_t slot, std::uint64_t delay_us);
  void dispatch(const SimEvent& e);

  void start_node(SimNode& n);
  void crash(SimNode& n);
  void restart(SimNode& n);
  void pause(SimNode& n, std::uint64_t duration_us);
  void resume(SimNode& n);
  void input(SimNode& n, const std::function<void(Node&, Outbox&)>& fn);
  void deliver(SimNode& n, const Envelope& envelope);
  void transmit(Envelope envelope);
  void after_step(SimNode& n);
  void publish(SimNode& n, std::uint64_t arg);
  void on_delivered(SimNode& n, const Delivery& delivery);
  void on_gap(SimNode& n, const Gap& gap);
  void on_receipt(const Receipt& receipt);

  void fault_action();
  void membership_action();
  void admin(SimNode& asker, const AdminRequest& request);
  void on_admin_result(SimNode& n, const AdminResult& result);
  // Members the committed configuration no longer holds (a removal answered with an error can
  // still commit under the next leader, as an operator finds with `cluster list`): stopped.
  void reap_removed();
  std::vector<NodeId> retire_after_input_;  // removals answered during the current input
  void retire_member(SimNode& n);
  void begin_join(SimNode& spare);
  void join_attempt(SimNode& spare);
  void on_join_response(SimNode& spare, const Envelope& envelope);
  void round(SimNode& n);
  void start_write(SimNode& n, const PersistRequest& request);
  void finish_write(SimNode& n);
  SimNode* random_running_member();
  void partition();
  void heal_all();
  SimNode* leader();
  bool converged(std::string& why) const;
  bool fail_if(bool condition, const std::string& what);

  SimOptions options_;
  std::vector<std::pair<Mode, Order>> cells_;
  bool has_total_ = false;
  Rng rng_;
  Rng fault_rng_;
  Rng disk_rng_;
  Rng history_rng_;  // crashes of the history's file systems (not forked: other streams stay)
  Rng workload_rng_;
  Rng reader_rng_;  // its own stream: runs without the subscriber model draw nothing from it
  // --slow-subscribers: the subscriber reads what it may since its last read, then the node
  // learns its room (as the daemon reports its client queues every round).
  void read_and_report_room(SimNode& n);
  void queue_for_reader(SimNode& n, const Delivery& delivery);
  // --slow-subscribers: when each flow-controlled message was published, and which nodes its
  // origin had excluded then (bit per node id).
  struct FlowPublish {
    std::uint64_t time_us = 0;
    std::uint64_t excluded_nodes = 0;
  };
  std::map<std::pair<SenderId, std::uint64_t>, FlowPublish> published_us_;
  SimNetwork network_;
  Trace trace_;
  RaftChecker raft_checker_;
  DeliveryChecker delivery_checker_;
  ViewChecker view_checker_;  // with options_.group_views
  void detection_fault();
  void on_detection_exclusion(SimNode& n, NodeId excluded);
  NodeId detection_victim_ = kNoNode;
  std::uint64_t detection_fault_us_ = 0;
  void on_view(SimNode& n, const ViewChange& view);
  // An empty disk and history (a new data directory).
  void give_new_disk(SimNode& n);
  // [replay] Every live node's history, read back in small pieces as a replay does, is the
  // total order: each message at its gseq, in order, and holes only where the node announced
  // total-order gaps. Empty if so, else the first discrepancy.
  std::string check_histories();
  void change_groups(SimNode& n, std::uint64_t slot);
  std::map<NodeId, SimNode> nodes_;
  std::vector<InitialMember> initial_members_;
  std::uint64_t cluster_id_ = 0;
  std::uint64_t next_admin_id_ = 1;
  std::map<std::uint64_t, AdminRequest> admin_requests_;  // by request id, until answered
  std::priority_queue<SimEvent, std::vector<SimEvent>, std::greater<>> queue_;
  std::uint64_t now_us_ = 0;
  std::uint64_t next_sequence_ = 0;
  bool healed_ = false;
  bool workload_stopped_ = false;
  std::uint64_t total_acked_after_heal_ = 0;
  std::uint64_t fault_interval_us_ = 0;
  std::uint64_t max_tick_drift_per_mille_ = 0;
  std::map<std::pair<SenderId, std::uint64_t>, std::uint64_t> total_sent_us_;  // for latency
  std::optional<std::pair<Term, std::uint64_t>> leader_crashed_;
  std::optional<std::uint64_t> total_paused_since_us_;  // a leader crashed; total order waits
  struct BroadcastTrack {
    BroadcastStats stats;
    NodeId origin = kNoNode;
    std::uint64_t published_us = 0;
    std::uint64_t last_arrival_us = 0;
    std::vector<bool> reached;
  };
  std::map<std::pair<SenderId, std::uint64_t>, BroadcastTrack> broadcast_tracks_;
  void track_arrival(const SimNode& n, const Envelope& envelope);
  void schedule_broadcasts();
  SimResult result_;
};

class Cluster::NodeIo : public DriverIo {
 public:
  NodeIo(Cluster& cluster, SimNode& node) : cluster_(cluster), node_(node) {}
  void persist(const PersistRequest& request) override {
    // The log is about to forget entries the history came from (the daemon does the same).
    if (request.snapshot && !cluster_.options_.history_not_synced_bug) node_.history->sync();
    if (cluster_.options_.disk_latency_us > 0) {
      cluster_.start_write(node_, request);
      return;
    }
    if (auto stored = node_.disk->persist(request); !stored) {
      cluster_.fail_if(true, "node " + std::to_string(node_.id) +
                                 ": storage refused a write: " + stored.error().message);
    }
  }
  void send(Envelope envelope) override { cluster_.transmit(std::move(envelope)); }
  // The history first, as the daemon does: it is what replays read.
  void deliver(Delivery delivery) override {
    node_.history->on_delivery(delivery);
    cluster_.on_delivered(node_, delivery);
  }
  void announce_gap(const Gap& gap) override {
    node_.history->on_gap(gap);
    if (gap.kind == Gap::Kind::kTotal) node_.total_gaps.emplace_back(gap.from, gap.to);
    cluster_.on_gap(node_, gap);
  }
  void announce_view(const ViewChange& view) override { cluster_.on_view(node_, view); }
  void acknowledge(Receipt receipt) override { cluster_.on_receipt(receipt); }
  void answer(AdminResult result) override { cluster_.on_admin_result(node_, result); }
  void observe(const bcast::Event& event) override {
    if (event.kind == bcast::Event::Kind::kConfigurationChanged) {
      const raft::ConfState& conf = node_.node->raft().conf();
      std::string text = "node " + std::to_string(node_.id) + " CONFIGURATION voters";
      for (NodeId v : conf.voters) text += " " + std::to_string(v);
      text += " learners";
      for (NodeId l : conf.learners) text += " " + std::to_string(l);
      cluster_.trace_.add(cluster_.now_us_, text);
      cluster_.delivery_checker_.on_configuration(node_.node->origin(), conf);
    }
    if (event.kind == bcast::Event::Kind::kSnapshotRestored) {
      ++cluster_.result_.snapshots_installed;
    } else if (event.kind == bcast::Event::Kind::kPeerWelcomed) {
      cluster_.delivery_checker_.on_welcome(node_.node->origin(), event.peer, event.epoch,
                                            event.from_start, event.cuts, cluster_.now_us_);
    } else if (event.kind == bcast::Event::Kind::kPeerExcluded) {
      ++cluster_.result_.exclusions;
      cluster_.on_detection_exclusion(node_, event.node);
      cluster_.delivery_checker_.on_excluded(node_.node->origin(), event.node, cluster_.now_us_);
      cluster_.trace_.add(cluster_.now_us_,
                          "node " + std::to_string(node_.id) + " EXCLUDES " +
                              std::to_string(event.node) + "." +
                              (event.peer == 0 ? std::string("? (never heard from)")
                                               : std::to_string(event.peer & 0xffff)));
    } else if (event.kind == bcast::Event::Kind::kJoinedOrigin) {
      cluster_.delivery_checker_.on_joined(node_.node->origin(), event.peer, event.epoch);
    } else if (event.kind == bcast::Event::Kind::kGaveUp ||
               event.kind == bcast::Event::Kind::kRetired) {
      cluster_.trace_.add(
          cluster_.now_us_,
          "node " + std::to_string(node_.id) +
              (event.kind == bcast::Event::Kind::kGaveUp ? " GIVES UP lost messages of "
                                                         : " RETIRES ") +
              std::to_string(origin_node(event.peer)) + "." + std::to_string(event.peer & 0xffff));
    }
  }

 private:
  Cluster& cluster_;
  SimNode& node_;
};

Cluster::Cluster(const SimOptions& options)
    : options_(options),
      cells_(parse_cells(options.cells).value_or(std::vector<std::pair<Mode, Order>>{})),
      rng_(options.seed),
      fault_rng_(rng_.fork()),
      disk_rng_(rng_.fork()),
      history_rng_(options.seed ^ 0x9e3779b97f4a7c15ULL),
      workload_rng_(rng_.fork()),
      reader_rng_(options.seed ^ 0x7265616465727321ULL),
      network_(rng_.fork(), NetworkProfile{}),
      trace_(options.trace) {
  // The daemon code the nodes run logs what a simulated crash does to its history; the checkers
  // report what matters.
  log::configure({.level = log::Level::kOff});
  for (const auto& [mode, order] : cells_) has_total_ = has_total_ || order == Order::kTotal;
  const NodeId initial = options_.voters + options_.learners;
  const NodeId total = initial + options_.spares;
  for (NodeId id = 1; id <= initial; ++id) {
    initial_members_.push_back({id, sim_address(id), id > options_.voters});
  }
  cluster_id_ = make_cluster_id("sim", initial_members_);
  if (options_.scenario == Scenario::kChaos) {
    // Fault rates are themselves drawn per seed, so the seeds cover gentle and harsh runs.
    NetworkProfile profile;
    const std::uint64_t losses[] = {0, 10000, 50000, 150000};
    const std::uint64_t dups[] = {0, 10000, 50000};
    const std::uint64_t max_delays[] = {1 * kMs, 5 * kMs, 20 * kMs, 60 * kMs};
    profile.loss_per_million = losses[fault_rng_.uniform(0, 3)];
    profile.duplicate_per_million = dups[fault_rng_.uniform(0, 2)];
    profile.min_delay_us = 100;
    profile.max_delay_us = max_delays[fault_rng_.uniform(0, 3)];
    network_.set_profile(profile);
    fault_interval_us_ = fault_rng_.uniform(100 * kMs, 1500 * kMs);
    max_tick_drift_per_mille_ = 20;
  } else if (options_.scenario == Scenario::kDetection) {
    NetworkProfile profile;
    profile.loss_per_million = options_.loss_percent * 10000ULL;
    network_.set_profile(profile);
  } else if (options_.scenario == Scenario::kBroadcast) {
    // Every link takes exactly one round, so arrival times count rounds.
    NetworkProfile profile;
    profile.loss_per_million = options_.loss_percent * 10000ULL;
    profile.min_delay_us = profile.max_delay_us = kRoundUs;
    network_.set_profile(profile);
  }
  for (NodeId id = 1; id <= total; ++id) {
    SimNode& n = nodes_[id];
    n.id = id;
    n.initial = n.member = id <= initial;
    n.identity = rng_.uniform(1, UINT64_MAX - 1);
    give_new_disk(n);
    const std::uint64_t drift = max_tick_drift_per_mille_;
    n.tick_interval_us = options_.tick_us * (1000 - drift + rng_.uniform(0, 2 * drift)) / 1000;
  }
}

bool Cluster::fail_if(bool condition, const std::string& what) {
  if (condition && result_.failure.empty()) result_.failure = what;
  return condition;
}

void Cluster::schedule(SimEvent event) {
  event.sequence = next_sequence_++;
  queue_.push(std::move(event));
}

void Cluster::schedule_tick(SimNode& n, std::uint64_t delay_us) {
  SimEvent e;
  e.time_us = now_us_ + delay_us;
  e.kind = SimEvent::Kind::kTick;
  e.node = n.id;
  e.life = n.life;
  schedule(std::move(e));
}

void Cluster::schedule_publish(SimNode& n, std::uint64_t arg, std::uint64_t delay_us) {
  SimEvent e;
  e.time_us = now_us_ + delay_us;
  e.kind = SimEvent::Kind::kPublish;
  e.node = n.id;
  e.life = n.life;
  e.arg = arg;
  schedule(std::move(e));
}

void Cluster::start_node(SimNode& n) {
  auto recovered = n.disk->recover();
  const bool fresh = recovered.ok() && !recovered.value().snapshot &&
                     recovered.value().entries.empty() && recovered.value().hard_state.term == 0;
  if (fresh && n.initial) {
    // A new data directory of the initial cluster bootstraps it, as the daemon does.
    raft::RaftState state = bootstrap_state("sim", initial_members_);
    PersistRequest bootstrap;
    bootstrap.entries = state.entries;
    bootstrap.hard_state = state.hard_state;
    bootstrap.sync = true;
    if (auto written = n.disk->persist(bootstrap); !written) {
      fail_if(true, "node " + std::to_string(n.id) + " cannot write its bootstrap entries");
      return;
    }
    recovered = n.disk->recover();
  }
  if (fail_if(!recovered.ok(), "node " + std::to_string(n.id) + " cannot recover its disk: " +
                                   (recovered.ok() ? "" : recovered.error().message))) {
    return;
  }
  n.history = std::make_unique<io::DaemonHistory>(*n.history_fs, "/data", io::HistoryOptions{},
                                                  /*enabled=*/true);
  if (fail_if(!n.history->problem().empty(),
              "node " + std::to_string(n.id) + " history: " + n.history->problem())) {
    return;
  }
  n.next_history_sync_us = now_us_ + 1000 * kMs;
  NodeOptions o;
  o.raft.id = n.id;
  o.raft.election_timeout_ticks = options_.election_timeout_ticks;
  o.raft.heartbeat_interval_ticks = options_.heartbeat_interval_ticks;
  o.raft.max_inflight_appends = options_.max_inflight_appends;
  o.raft.retained_entries_behind_snapshot = options_.retained_entries;
  o.raft.bugs = options_.bugs;
  o.incarnation = ++n.boots;
  o.cluster_id = cluster_id_;
  o.identity = n.identity;
  o.snapshot_interval_entries = options_.snapshot_interval_entries;
  o.dissemination.gossip_fanout = options_.gossip_fanout;
  o.dissemination.repair_interval_ticks = options_.repair_interval_ticks;
  o.dissemination.bugs = options_.delivery_bugs;
  // By default members are not excluded within a run: partitions heal and crashed nodes return
  // as new incarnations, which replace the old ones at once. --peer-timeout-ticks exercises
  // exclusion and rejoin.
  o.peer_timeout_ticks = options_.peer_timeout_ticks;
  // One message per group to a member not heard from yet (the subscriber queues are tiny).
  if (options_.slow_subscribers > 0) o.unheard_share_bytes = 1;
  n.observer = std::make_unique<ChainObserver>(raft_checker_, n.id);
  const OriginId incarnation = make_origin_id(n.id, o.incarnation);
  ++n.life;
  n.paused = false;
  n.inbox.clear();
  n.round_inbox.clear();  // a crashed process's round died with it
  n.round_scheduled = false;
  n.writes.clear();  // writes in flight at a crash never reached the disk
  n.last_write_done_us = 0;
  n.was_leader = false;
  n.node = std::make_unique<Node>(o, rng_.fork(), raft::ConfState{}, std::move(recovered.value()));
  n.node->set_apply_observer(n.observer.get());
  n.reader = SimNode::Reader{};  // the subscriber of the old life went with it
  n.reader.slow = n.id <= options_.slow_subscribers;
  n.reader.last_read_us = now_us_;
  n.reader.started_us = now_us_;
  n.driver.reset();
  if (options_.disk_latency_us > 0) {
    Node& node = *n.node;
    n.io = std::make_unique<NodeIo>(*this, n);
    n.driver = std::make_unique<Driver>(*n.io, [&node](LogIndex index, Term term, Outbox& more) {
      node.on_persisted(index, term, more);
    });
  }
  // The sequencer was restored from the recovered snapshot inside the constructor.
  const raft::SnapshotMeta& recovered_snapshot = n.node->raft().log().snapshot_meta();
  if (recovered_snapshot.index > 0) n.observer->on_restore(recovered_snapshot);
  // From now on a restore is an installed snapshot, which may skip total-order positions.
  n.observer->set_on_installed([this, incarnation] {
    delivery_checker_.on_snapshot_restored(incarnation);
    view_checker_.on_snapshot_restored(incarnation);
  });
  view_checker_.on_start(n.node->origin());
  delivery_checker_.on_start(n.node->origin(), now_us_);
  n.senders.clear();
  for (std::uint32_t slot = 0; slot < options_.clients_per_node; ++slot) {
    n.senders.push_back(n.node->open_sender());
    if (options_.group_views) {
      n.node->join_group(n.senders.back(), "g" + std::to_string(slot % 3 + 1),
                         "client " + std::to_string(slot));
    }
    if (!cells_.empty() && options_.scenario != Scenario::kBroadcast) {
      schedule_publish(n, slot, workload_rng_.uniform(1, options_.publish_interval_us));
    }
  }
  schedule_tick(n, rng_.uniform(1, n.tick_interval_us));
  after_step(n);
}

void Cluster::crash(SimNode& n) {
  if (!n.node) return;
  trace_.add(now_us_, "CRASH node " + std::to_string(n.id));
  ++result_.crashes;
  if (n.node->raft().role() == raft::Role::kLeader) {
    leader_crashed_ = std::make_pair(n.node->raft().term(), now_us_);
    if (options_.scenario == Scenario::kLeaderCrash && !total_paused_since_us_) {
      total_paused_since_us_ = now_us_;
    }
  }
  delivery_checker_.on_stop(n.node->origin(), now_us_);
  raft_checker_.forget_lease(n.id);
  n.driver.reset();
  n.node.reset();
  n.disk->crash(disk_rng_);
  n.history.reset();
  n.history_fs->crash(history_rng_);
  ++n.life;  // pending ticks and publishes of the old life are void
}

void Cluster::restart(SimNode& n) {
  if (n.node) return;
  trace_.add(now_us_, "RESTART node " + std::to_string(n.id));
  start_node(n);
}

void Cluster::pause(SimNode& n, std::uint64_t duration_us) {
  if (!n.node || n.paused) return;
  trace_.add(now_us_, "PAUSE node " + std::to_string(n.id) + " for " +
                          std::to_string(duration_us / kMs) + "ms");
  n.paused = true;
  n.paused_since_us = now_us_;
  n.paused_until_us = now_us_ + duration_us;
  raft_checker_.forget_lease(n.id);
  SimEvent e;
  e.time_us = now_us_ + duration_us;
  e.kind = SimEvent::Kind::kResume;
  e.node = n.id;
  e.life = n.life;
  schedule(std::move(e));
}

void Cluster::resume(SimNode& n) {
  if (!n.node || !n.paused) return;
  trace_.add(now_us_, "RESUME node " + std::to_string(n.id));
  n.paused = false;
  // A paused process wakes up to a clock that moved on: it catches up on the ticks it missed
  // before it reads the messages that queued up, as the daemon's monotonic timer does.
  const std::uint64_t missed = (now_us_ - n.paused_since_us) / n.tick_interval_us;
  n.catching_up = true;
  for (std::uint64_t i = 0; i < missed && n.node; ++i) {
    input(n, [](Node& node, Outbox& out) { node.tick(out); });
  }
  n.catching_up = false;
  while (!n.inbox.empty() && n.node && !n.paused) {
    auto envelope = std::move(n.inbox.front());
    n.inbox.pop_front();
    deliver(n, *envelope);
  }
}

void Cluster::input(SimNode& n, const std::function<void(Node&, Outbox&)>& fn) {
  Outbox out;
  fn(*n.node, out);
  n.node->flush(out);
  Node& node = *n.node;
  if (n.driver) {
    n.driver->apply(out);
  } else {
    NodeIo io(*this, n);
    apply_outbox(out, io, [&](LogIndex index, Term term, Outbox& more) {
      node.on_persisted(index, term, more);
    });
  }
  delivery_checker_.on_step_done(node.origin());
  after_step(n);
  for (NodeId removed : std::exchange(retire_after_input_, {})) retire_member(nodes_.at(removed));
}

void Cluster::track_arrival(const SimNode& n, const Envelope& envelope) {
  const auto* push = std::get_if<DataPush>(&envelope.message);
  if (!push) return;
  auto it = broadcast_tracks_.find({push->message.sender, push->message.seq});
  if (it == broadcast_tracks_.end()) return;
  BroadcastTrack& track = it->second;
  if (n.id == track.origin || track.reached[n.id]) return;
  track.reached[n.id] = true;
  track.last_arrival_us = now_us_;
  if (push->repair) track.stats.reached_all_by_push = false;
}

void Cluster::deliver(SimNode& n, const Envelope& envelope) {
  if (options_.trace) trace_.add(now_us_, describe(envelope));
  if (!broadcast_tracks_.empty()) track_arrival(n, envelope);
  input(n, [&](Node& node, Outbox& out) { node.step(envelope, out); });
}

void Cluster::transmit(Envelope envelope) {
  auto shared = std::make_shared<const Envelope>(std::move(envelope));
  if (const auto* push = std::get_if<DataPush>(&shared->message)) {
    ++result_.data_messages_sent;
    auto track = broadcast_tracks_.find({push->message.sender, push->message.seq});
    if (track != broadcast_tracks_.end()) {
      ++track->second.stats.pushes;
      if (push->repair) ++track->second.stats.repairs;
    }
  }
  for (std::uint64_t delay : network_.transmit(shared->from, shared->to, now_us_)) {
    SimEvent e;
    e.time_us = now_us_ + delay;
    e.kind = SimEvent::Kind::kDeliver;
    e.node = shared->to;
    e.envelope = shared;
    schedule(std::move(e));
  }
}

void Cluster::schedule_broadcasts() {
  for (std::uint32_t b = 0; b < options_.broadcasts; ++b) {
    SimNode& publisher = nodes_.at(workload_rng_.uniform(1, nodes_.size()));
    schedule_publish(publisher, 0, kBroadcastStartUs + b * kBroadcastGapUs - now_us_);
  }
}

void Cluster::after_step(SimNode& n) {
  if (!n.node) return;
  const raft::Raft& raft = n.node->raft();
  raft_checker_.observe(n.id, raft, now_us_, /*lease_counts=*/!n.catching_up);
  if (auto problem = n.node->check_invariants(); !problem.empty()) {
    fail_if(true, "invariant broken on node " + std::to_string(n.id) + ": " + problem);
  }
  const bool is_leader = raft.role() == raft::Role::kLeader;
  if (is_leader && !n.was_leader) {
    ++result_.elections_won;
    trace_.add(now_us_, "node " + std::to_string(n.id) + " LEADS term " +
                            std::to_string(raft.term()) + " (last index " +
                            std::to_string(raft.log().last_index()) + ")");
    if (leader_crashed_ && raft.term() > leader_crashed_->first) {
      result_.leader_recovery_us.push_back(now_us_ - leader_crashed_->second);
      leader_crashed_.reset();
    }
  }
  n.was_leader = is_leader;
}

void Cluster::publish(SimNode& n, std::uint64_t arg) {
  const std::uint64_t slot = arg & 0xffffffff;
  const bool reply = (arg & kReplyFlag) != 0;
  if (slot >= n.senders.size()) return;
  Mode mode;
  Order order;
  if (reply) {
    mode = (arg & kReplyGossipFlag) ? Mode::kGossip : Mode::kReliable;
    order = Order::kCausal;
  } else {
    std::tie(mode, order) = cells_[workload_rng_.uniform(0, cells_.size() - 1)];
  }
  if (options_.group_views && !reply && workload_rng_.chance(1, 10)) change_groups(n, slot);
  PublishRequest request;
  request.sender = n.senders[slot];
  request.group = "g" + std::to_string(workload_rng_.uniform(1, 3));
  request.mode = mode;
  request.order = order;
  std::string payload = "from " + std::to_string(n.id) + ":" + std::to_string(slot) + " ";
  payload.append(workload_rng_.uniform(0, 64), static_cast<char>('a' + slot % 26));
  request.payload = std::make_shared<const std::string>(payload);
  bool accepted = false;
  input(n, [&](Node& node, Outbox& out) {
    auto seq = node.publish(request, out);
    if (!seq.ok()) {  // busy: the client tries again at its next turn
      if (!node.has_credit(request)) ++result_.publishes_without_credit;
      return;
    }
    accepted = true;
    ++result_.published;
    if (flow_stream(mode, order)) {
      result_.published_flow_bytes += payload.size();
      if (options_.slow_subscribers > 0) {
        FlowPublish& record = published_us_[{request.sender, seq.value()}];
        record.time_us = now_us_;
        const std::vector<NodeId> counted = node.peers().holding_back();
        for (NodeId member : node.peers().members()) {
          if (std::find(counted.begin(), counted.end(), member) == counted.end() && member < 64) {
            record.excluded_nodes |= 1ULL << member;
          }
        }
      }
    }
    // Recorded before the driver hands out the publisher's own delivery and receipt.
    delivery_checker_.on_publish(node.origin(), request.sender, seq.value(), request.group, mode,
                                 order, payload, now_us_);
    if (order == Order::kTotal) total_sent_us_[{request.sender, seq.value()}] = now_us_;
    if (options_.scenario == Scenario::kBroadcast && !reply && order != Order::kTotal) {
      BroadcastTrack& track = broadcast_tracks_[{request.sender, seq.value()}];
      track.stats.mode = mode;
      track.origin = n.id;
      track.published_us = now_us_;
      track.reached.assign(nodes_.size() + 1, false);
    }
  });
  if (!reply && !workload_stopped_ && options_.scenario != Scenario::kBroadcast &&
      !(options_.scenario == Scenario::kThroughput && order == Order::kTotal && accepted)) {
    const std::uint64_t interval = options_.publish_interval_us;
    schedule_publish(n, slot, workload_rng_.uniform(interval / 2, interval * 3 / 2));
  }
}

void Cluster::on_view(SimNode& n, const ViewChange& view) {
  ++result_.views_announced;
  if (n.id == 1 && !healed_ &&
      (view.cause == ViewCause::kDaemonFailed || view.cause == ViewCause::kDaemonReturned)) {
    ++result_.daemon_view_changes;
  }
  view_checker_.on_view(n.node->origin(), view);
  if (options_.trace) {
    trace_.add(now_us_, "VIEW at node " + std::to_string(n.id) + " " + view.group + " #" +
                            std::to_string(view.view_id) + " " + view_cause_name(view.cause) +
                            " gseq " + std::to_string(view.gseq) + " members " +
                            std::to_string(view.members.size()));
  }
}

// Group churn beside publishing: the client joins or leaves one of the three groups.
void Cluster::change_groups(SimNode& n, std::uint64_t slot) {
  const std::string group = "g" + std::to_string(workload_rng_.uniform(1, 3));
  if (workload_rng_.chance(1, 2)) {
    n.node->join_group(n.senders[slot], group, "client " + std::to_string(slot));
  } else {
    n.node->leave_group(n.senders[slot], group);
  }
}

void Cluster::read_and_report_room(SimNode& n) {
  if (options_.slow_subscribers == 0) return;
  SimNode::Reader& reader = n.reader;
  const std::uint64_t elapsed_us = now_us_ - reader.last_read_us;
  reader.last_read_us = now_us_;
  std::uint64_t budget = reader.held_bytes + reader.best_effort_bytes;  // a fast reader
  if (reader.slow) {
    budget =
        now_us_ < reader.paused_until_us ? 0 : elapsed_us * options_.slow_read_bytes_per_ms / 1000;
    budget += reader.read_credit_bytes;
    // Pauses are part of the fault phase; after healing the reader only reads slowly (liveness
    // then requires total-order progress within a second).
    if (!healed_ && now_us_ >= reader.paused_until_us && reader_rng_.chance(1, 200)) {
      reader.paused_until_us = now_us_ + reader_rng_.uniform(50, 1500) * kMs;
    }
  }
  // In order of arrival, as a client reads its connection.
  while (!reader.queue.empty() && reader.queue.front().bytes <= budget) {
    const auto [best_effort, bytes, origin] = reader.queue.front();
    reader.queue.pop_front();
    budget -= bytes;
    (best_effort ? reader.best_effort_bytes : reader.held_bytes) -= bytes;
    result_.subscriber_read_bytes += bytes;
  }
  reader.read_credit_bytes = reader.queue.empty() ? 0 : budget;
  // Room is advertised against half the queue: the rest absorbs what flow control cannot see
  // coming (holes repaired after later messages, what a publisher sent before it heard from a
  // restarted or returning member), as the daemon does with its client queues.
  const std::uint64_t advertised = options_.subscriber_queue_bytes / 2;
  // One queue takes all three groups: each gets a third of its room, or publishers of the three
  // would each fill it.
  const std::uint64_t free = (advertised - std::min(advertised, reader.held_bytes)) / 3;
  n.node->set_delivery_rooms({{"g1", free}, {"g2", free}, {"g3", free}});
}

void Cluster::queue_for_reader(SimNode& n, const Delivery& delivery) {
  SimNode::Reader& reader = n.reader;
  const std::uint64_t bound = options_.subscriber_queue_bytes;
  const std::uint64_t size = delivery.payload ? delivery.payload->size() : 0;
  const bool best_effort = delivery.mode == Mode::kBestEffort;
  // Not paced, so read as it comes (docs/flow-control.md): what a restarted daemon catches up
  // on from the Raft log, published before it started; and what an origin published while it
  // had excluded this daemon (a one-way partition: it no longer counted it, yet its messages
  // got through).
  const auto published = published_us_.find({delivery.sender, delivery.seq});
  if (!best_effort &&
      (published == published_us_.end() || published->second.time_us < reader.started_us ||
       (n.id < 64 && (published->second.excluded_nodes >> n.id) & 1))) {
    result_.subscriber_read_bytes += size;
    return;
  }
  // The oldest queued best-effort deliveries make room, as the client queue drops them.
  for (auto it = reader.queue.begin();
       it != reader.queue.end() && reader.held_bytes + reader.best_effort_bytes + size > bound;) {
    if (!it->best_effort) {
      ++it;
      continue;
    }
    reader.best_effort_bytes -= it->bytes;
    ++result_.best_effort_dropped;
    it = reader.queue.erase(it);
  }
  if (best_effort && reader.held_bytes + reader.best_effort_bytes + size > bound) {
    ++result_.best_effort_dropped;
    return;
  }
  reader.queue.push_back({best_effort, size, sender_origin(delivery.sender)});
  if (best_effort) {
    reader.best_effort_bytes += size;
    return;
  }
  if (reader.held_bytes + size <= bound) {
    reader.held_bytes += size;
    return;
  }
  std::map<OriginId, std::uint64_t> by_origin;
  for (const auto& queued : reader.queue) {
    if (!queued.best_effort) by_origin[queued.origin] += queued.bytes;
  }
  std::string held_by;
  for (const auto& [origin, bytes] : by_origin) {
    held_by += " " + std::to_string(origin_node(origin)) + "." + std::to_string(origin & 0xffff) +
               ":" + std::to_string(bytes);
  }
  fail_if(true, "node " + std::to_string(n.id) + "'s subscriber overflowed: a " +
                    mode_name(delivery.mode) + "/" + order_name(delivery.order) + " delivery of " +
                    std::to_string(size) + " bytes does not fit beside the " +
                    std::to_string(reader.held_bytes) + " of " + std::to_string(bound) +
                    " it holds (flow control let the publisher overrun it; held by origin" +
                    held_by + ")");
}

void Cluster::on_delivered(SimNode& n, const Delivery& delivery) {
  ++result_.delivered;
  if (options_.slow_subscribers > 0) queue_for_reader(n, delivery);
  delivery_checker_.on_delivery(n.node->origin(), delivery, now_us_);
  view_checker_.on_delivery(n.node->origin(), delivery);
  if (options_.trace) {
    trace_.add(now_us_, "DELIVER at node " + std::to_string(n.id) + " " + mode_name(delivery.mode) +
                            "/" + order_name(delivery.order) + " from " +
                            std::to_string(sender_node(delivery.sender)) + ":" +
                            std::to_string(delivery.sender & 0xffffffff) + " seq " +
                            std::to_string(delivery.seq) +
                            (delivery.gseq ? " gseq " + std::to_string(*delivery.gseq) : "") +
                            " group " + delivery.group);
  }
  if (total_paused_since_us_ && delivery.order == Order::kTotal) {
    auto sent = total_sent_us_.find({delivery.sender, delivery.seq});
    if (sent != total_sent_us_.end() && sent->second >= *total_paused_since_us_) {
      result_.total_resume_us.push_back(now_us_ - *total_paused_since_us_);
      total_paused_since_us_.reset();
    }
  }
  // Replies make happened-before real: a causal message answered by its reader. Each message is
  // answered `reply_percent` times on average across the cluster, so reply chains die out.
  const std::uint64_t readers = std::max<std::uint64_t>(1, nodes_.size() - 1);
  if (delivery.order == Order::kCausal && sender_node(delivery.sender) != n.id &&
      !workload_stopped_ && workload_rng_.chance(options_.reply_percent, 100 * readers) &&
      !n.senders.empty()) {
    const std::uint64_t slot = workload_rng_.uniform(0, n.senders.size() - 1);
    const std::uint64_t flags =
        kReplyFlag | (delivery.mode == Mode::kGossip ? kReplyGossipFlag : 0);
    schedule_publish(n, slot | flags, workload_rng_.uniform(100, 2000));
  }
}

void Cluster::on_gap(SimNode& n, const Gap& gap) {
  delivery_checker_.on_gap(n.node->origin(), gap, now_us_);
  ++result_.gaps_by_reason[static_cast<int>(gap.reason)];
  std::string what =
      "GAP at node " + std::to_string(n.id) + " (" + gap_reason_name(gap.reason) + "): ";
  if (gap.kind == Gap::Kind::kTotal) {
    what += "gseq " + std::to_string(gap.from) + ".." + std::to_string(gap.to);
  } else {
    what += std::string(mode_name(gap.mode)) + " stream of " +
            std::to_string(origin_node(gap.origin)) + "." + std::to_string(gap.origin & 0xffff) +
            " #" + std::to_string(gap.from) + ".." +
            (gap.to == Gap::kOpenEnd ? std::string() : std::to_string(gap.to));
  }
  trace_.add(now_us_, what);
}

void Cluster::on_receipt(const Receipt& receipt) {
  delivery_checker_.on_receipt(receipt);
  auto sent = total_sent_us_.find({receipt.sender, receipt.seq});
  if (sent == total_sent_us_.end()) return;
  if (receipt.gseq) {
    ++result_.total_acked;
    if (healed_) ++total_acked_after_heal_;
    if (!healed_) ++result_.total_acked_in_fault_phase;
    result_.commit_latency_us.push_back(now_us_ - sent->second);
  }
  total_sent_us_.erase(sent);
  if (options_.scenario == Scenario::kThroughput && !workload_stopped_) {
    // Closed loop: the client publishes its next total-order message after a short think time.
    SimNode& n = nodes_.at(sender_node(receipt.sender));
    for (std::size_t slot = 0; slot < n.senders.size(); ++slot) {
      if (n.senders[slot] == receipt.sender) {
        schedule_publish(n, slot, workload_rng_.uniform(50, 500));
      }
    }
  }
}

SimNode* Cluster::leader() {
  SimNode* best = nullptr;
  for (auto& [id, n] : nodes_) {
    if (!n.node || n.node->raft().role() != raft::Role::kLeader) continue;
    if (!best || n.node->raft().term() > best->node->raft().term()) best = &n;
  }
  return best;
}

void Cluster::partition() {
  if (nodes_.size() < 2) return;  // nothing to cut apart
  std::vector<NodeId> ids;
  for (auto& [id, n] : nodes_) ids.push_back(id);
  // Deterministic shuffle from the fault stream.
  for (std::size_t i = ids.size(); i > 1; --i) {
    std::swap(ids[i - 1], ids[fault_rng_.uniform(0, i - 1)]);
  }
  std::string what;
  switch (fault_rng_.uniform(0, 3)) {
    case 0: {  // two halves (or majority / minority)
      const std::size_t cut = fault_rng_.uniform(1, ids.size() - 1);
      for (std::size_t a = 0; a < cut; ++a) {
        for (std::size_t b = cut; b < ids.size(); ++b) {
          network_.block(ids[a], ids[b]);
          network_.block(ids[b], ids[a]);
        }
      }
      what = "split after " + std::to_string(cut) + " of shuffled ids, first " +
             std::to_string(ids[0]);
      break;
    }
    case 1:  // one node isolated
      for (NodeId other : ids) {
        if (other == ids[0]) continue;
        network_.block(ids[0], other);
        network_.block(other, ids[0]);
      }
      what = "isolate " + std::to_string(ids[0]);
      break;
    case 2: {  // the leader isolated, the classic stale-leader setup
      SimNode* l = leader();
      const NodeId victim = l ? l->id : ids[0];
      for (NodeId other : ids) {
        if (other == victim) continue;
        network_.block(victim, other);
        network_.block(other, victim);
      }
      what = "isolate leader " + std::to_string(victim);
      break;
    }
    default: {  // one-way links: a node can send but not receive (or the reverse)
      const bool deaf = fault_rng_.chance(1, 2);
      for (NodeId other : ids) {
        if (other == ids[0]) continue;
        deaf ? network_.block(other, ids[0]) : network_.block(ids[0], other);
      }
      what = std::string(deaf ? "deafen " : "mute ") + std::to_string(ids[0]);
      break;
    }
  }
  trace_.add(now_us_, "PARTITION " + what);
}

// Detection scenario: the one fault, on the highest node.
void Cluster::detection_fault() {
  SimNode& victim = nodes_.at(nodes_.size());
  detection_victim_ = victim.id;
  detection_fault_us_ = now_us_;
  trace_.add(now_us_, "DETECTION fault " + options_.detection_fault + " on node " +
                          std::to_string(victim.id));
  if (options_.detection_fault == "crash") {
    crash(victim);
    return;
  }
  for (const auto& [id, other] : nodes_) {
    if (id == victim.id) continue;
    if (options_.detection_fault == "mute") {
      network_.block(victim.id, id);
    } else {
      network_.block(id, victim.id);
    }
  }
}

void Cluster::on_detection_exclusion(SimNode& n, NodeId excluded) {
  if (options_.scenario != Scenario::kDetection || healed_) return;
  if (n.id == detection_victim_) return;  // the failed node's own judgments do not count
  if (excluded == detection_victim_) {
    result_.exclusion_latency_us.push_back(now_us_ - detection_fault_us_);
  } else {
    ++result_.false_suspicions;
  }
}

void Cluster::fault_action() {
  if (healed_) return;
  if (options_.scenario == Scenario::kDetection) {
    detection_fault();
    return;
  }
  if (options_.membership_changes) reap_removed();
  const std::uint64_t n = nodes_.size();
  auto random_node = [&]() -> SimNode& { return nodes_.at(fault_rng_.uniform(1, n)); };
  switch (fault_rng_.uniform(0, 9)) {
    case 0:
    case 1:
      partition();
      break;
    case 2:
    case 3:
      trace_.add(now_us_, "HEAL network");
      network_.heal();
      break;
    case 4: {  // crash a node, usually the leader; it comes back later
      SimNode* l = leader();
      SimNode& victim = (l && fault_rng_.chance(2, 3)) ? *l : random_node();
      crash(victim);
      SimEvent e;
      e.time_us = now_us_ + fault_rng_.uniform(10 * kMs, 2000 * kMs);
      e.kind = SimEvent::Kind::kRestart;
      e.node = victim.id;
      schedule(std::move(e));
      break;
    }
    case 5:
      pause(random_node(),
            fault_rng_.uniform(options_.tick_us,
                               3ULL * options_.election_timeout_ticks * options_.tick_us));
      break;
    case 6: {
      const NodeId from = fault_rng_.uniform(1, n);
      const NodeId to = fault_rng_.uniform(1, n);
      const std::uint64_t extra = fault_rng_.uniform(10 * kMs, 500 * kMs);
      network_.clog(from, to, now_us_ + fault_rng_.uniform(100 * kMs, 2000 * kMs), extra);
      trace_.add(now_us_, "CLOG " + std::to_string(from) + "->" + std::to_string(to));
      break;
    }
    case 7:
    case 8:
      if (options_.membership_changes) {
        membership_action();
        break;
      }
      [[fallthrough]];
    default:
      break;  // quiet spells matter too: the cluster must make progress between faults
  }
  SimEvent e;
  e.time_us = now_us_ + fault_rng_.uniform(fault_interval_us_ / 2, fault_interval_us_ * 3 / 2);
  e.kind = SimEvent::Kind::kFault;
  schedule(std::move(e));
}

// --- Run-time membership -----------------------------------------------------------------------

SimNode* Cluster::random_running_member() {
  std::vector<SimNode*> running;
  for (auto& [id, n] : nodes_) {
    if (n.node && !n.paused && n.member) running.push_back(&n);
  }
  if (running.empty()) return nullptr;
  return running[fault_rng_.uniform(0, running.size() - 1)];
}

// What an operator does with bcastctl cluster ...: add a spare (which then joins through a
// member; three adds in four ask for promotion once caught up), promote a learner, remove a member
// (a removed daemon is stopped and its data directory discarded; it may be added again later as a
// new one), or move the leadership. Requests go to any daemon, which forwards them to the leader.
void Cluster::membership_action() {
  SimNode* asker = random_running_member();
  SimNode* lead = leader();
  if (!asker || !lead) return;
  const raft::ConfState& conf = lead->node->raft().conf();
  switch (fault_rng_.uniform(0, 3)) {
    case 0: {  // add a spare
      std::vector<SimNode*> spares;
      for (auto& [id, n] : nodes_) {
        if (!n.member && !n.joining && !n.node && !conf.contains(id)) spares.push_back(&n);
      }
      if (spares.empty()) return;
      SimNode& spare = *spares[fault_rng_.uniform(0, spares.size() - 1)];
      const bool learner = fault_rng_.chance(1, 4);
      admin(*asker,
            AdminRequest{AdminRequest::Kind::kAdd, spare.id, sim_address(spare.id), learner});
      begin_join(spare);
      return;
    }
    case 1: {  // remove a member, keeping at least three voters (or as many as there were)
      std::vector<NodeId> candidates = conf.learners;
      const std::size_t min_voters = std::min<std::size_t>(3, options_.voters);
      if (conf.voters.size() > min_voters) {
        candidates.insert(candidates.end(), conf.voters.begin(), conf.voters.end());
      }
      if (candidates.empty()) return;
      const NodeId victim = candidates[fault_rng_.uniform(0, candidates.size() - 1)];
      admin(*asker, AdminRequest{AdminRequest::Kind::kRemove, victim, "", false});
      return;
    }
    case 2: {  // promote a learner (one added as such, or configured so), caught up or not
      if (conf.learners.empty()) return;
      const NodeId learner = conf.learners[fault_rng_.uniform(0, conf.learners.size() - 1)];
      admin(*asker, AdminRequest{AdminRequest::Kind::kPromote, learner, "", false});
      return;
    }
    default: {  // move the leadership to another voter
      std::vector<NodeId> voters;
      for (NodeId v : conf.voters) {
        if (v != lead->id) voters.push_back(v);
      }
      if (voters.empty()) return;
      const NodeId target = voters[fault_rng_.uniform(0, voters.size() - 1)];
      admin(*asker, AdminRequest{AdminRequest::Kind::kTransferLeader, target, "", false});
      return;
    }
  }
}

void Cluster::admin(SimNode& asker, const AdminRequest& request) {
  const std::uint64_t id = next_admin_id_++;
  admin_requests_[id] = request;
  trace_.add(now_us_, std::string("ADMIN ") + admin_kind_name(request.kind) + " " +
                          std::to_string(request.node) + " asked at node " +
                          std::to_string(asker.id));
  input(asker, [&](Node& node, Outbox& out) { node.admin(id, request, out); });
}

void Cluster::on_admin_result(SimNode& n, const AdminResult& result) {
  auto it = admin_requests_.find(result.request_id);
  if (it == admin_requests_.end()) return;
  const AdminRequest request = it->second;
  admin_requests_.erase(it);
  trace_.add(now_us_, std::string("ADMIN ") + admin_kind_name(request.kind) + " " +
                          std::to_string(request.node) + (result.ok ? " done" : " refused: ") +
                          (result.ok ? "" : result.message) + " (answered at node " +
                          std::to_string(n.id) + ")");
  // Retired once the input that produced this answer is done: the removed daemon may be the
  // one being driven right now (ASan: heap-use-after-free in Cluster::input).
  if (result.ok && request.kind == AdminRequest::Kind::kRemove) {
    retire_after_input_.push_back(request.node);
  }
}

// The removed daemon is stopped and its data directory discarded (a later add brings a new one,
// with a new identity).
void Cluster::retire_member(SimNode& n) {
  if (!n.member) return;
  trace_.add(now_us_, "RETIRE removed node " + std::to_string(n.id));
  n.member = false;
  n.joining = false;
  if (n.node) crash(n);
  give_new_disk(n);
  n.identity = fault_rng_.uniform(1, UINT64_MAX - 1);
}

void Cluster::reap_removed() {
  // The configuration at the highest commit index anywhere: a leader elected a moment ago may
  // not have learned the commit index yet, and an add it does not know as committed would look
  // like a removal.
  const raft::RaftLog* most_advanced = nullptr;
  for (const auto& [id, n] : nodes_) {
    if (!n.node) continue;
    const raft::RaftLog& log = n.node->raft().log();
    if (!most_advanced || log.committed() > most_advanced->committed()) most_advanced = &log;
  }
  if (!most_advanced) return;
  const raft::ConfState committed = most_advanced->conf_at(most_advanced->committed());
  // A joiner that has not caught up yet knows no configuration (when it runs alone: every
  // member crashed): that removes no one (seed 11772, --voters 3 --spares 2 --membership 1).
  if (committed.voters.empty()) return;
  for (auto& [id, n] : nodes_) {
    if (n.member && !n.joining && !committed.contains(id)) retire_member(n);
  }
}

void Cluster::begin_join(SimNode& spare) {
  spare.initial = false;  // a daemon started with --join takes the configuration from the cluster
  spare.joining = true;
  spare.join_started_us = now_us_;
  give_new_disk(spare);
  spare.identity = fault_rng_.uniform(1, UINT64_MAX - 1);
  join_attempt(spare);
}

// A new daemon started with --join: it asks a member every 200 ms until one lets it in (the add
// may not be committed yet) or it gives up after 10 s (the add was lost with a leader).
void Cluster::join_attempt(SimNode& spare) {
  if (now_us_ - spare.join_started_us > 10000 * kMs) {
    trace_.add(now_us_, "JOIN of node " + std::to_string(spare.id) + " gives up");
    spare.joining = false;
    return;
  }
  if (SimNode* member = random_running_member()) {
    Envelope request;
    request.from = spare.id;
    request.to = member->id;
    request.identity = spare.identity;
    request.message = JoinRequest{spare.identity, sim_address(spare.id)};
    transmit(std::move(request));
  }
  SimEvent next;
  next.time_us = now_us_ + 200 * kMs;
  next.kind = SimEvent::Kind::kJoinAttempt;
  next.node = spare.id;
  schedule(std::move(next));
}

void Cluster::on_join_response(SimNode& spare, const Envelope& envelope) {
  const auto* response = std::get_if<JoinResponse>(&envelope.message);
  if (!response || !response->accepted || response->cluster_id != cluster_id_) return;
  if (fail_if(response->incarnation_floor == 0,
              "node " + std::to_string(spare.id) + " was given no boot count floor")) {
    return;
  }
  // Its boot counts start above every earlier daemon that used this node id.
  spare.boots = response->incarnation_floor - 1;
  spare.joining = false;
  spare.member = true;
  trace_.add(now_us_, "JOIN node " + std::to_string(spare.id) + " starts (boot " +
                          std::to_string(response->incarnation_floor) + ")");
  start_node(spare);
}

// Writes complete in the order they started, `disk_latency_us` after the later of their start
// and the previous write's completion.
void Cluster::start_write(SimNode& n, const PersistRequest& request) {
  n.writes.push_back(request);
  n.last_write_done_us = std::max(n.last_write_done_us, now_us_) + options_.disk_latency_us;
  SimEvent done;
  done.time_us = n.last_write_done_us;
  done.kind = SimEvent::Kind::kWriteDone;
  done.node = n.id;
  done.life = n.life;
  schedule(std::move(done));
}

void Cluster::finish_write(SimNode& n) {
  if (!n.node || n.writes.empty()) return;
  if (n.paused) {
    // The storage thread may finish meanwhile, but the paused event loop learns of it only
    // once it runs again.
    SimEvent later;
    later.time_us = n.paused_until_us + 1;
    later.kind = SimEvent::Kind::kWriteDone;
    later.node = n.id;
    later.life = n.life;
    schedule(std::move(later));
    return;
  }
  PersistRequest request = std::move(n.writes.front());
  n.writes.pop_front();
  if (auto stored = n.disk->persist(request); !stored) {
    fail_if(true, "node " + std::to_string(n.id) +
                      ": storage refused a write: " + stored.error().message);
    return;
  }
  input(n, [&](Node&, Outbox& out) { n.driver->complete_oldest_write(out); });
}

void Cluster::round(SimNode& n) {
  n.round_scheduled = false;
  if (!n.node) return;
  std::vector<std::shared_ptr<const Envelope>> batch = std::move(n.round_inbox);
  n.round_inbox.clear();
  if (n.paused) {  // a paused process reads nothing: what arrived waits for it to resume
    for (auto& envelope : batch) n.inbox.push_back(std::move(envelope));
    return;
  }
  if (batch.empty()) return;
  for (const auto& envelope : batch) {
    if (options_.trace) trace_.add(now_us_, describe(*envelope));
    if (!broadcast_tracks_.empty()) track_arrival(n, *envelope);
  }
  input(n, [&](Node& node, Outbox& out) {
    for (const auto& envelope : batch) node.step(*envelope, out);
  });
}

void Cluster::heal_all() {
  healed_ = true;
  trace_.add(now_us_, "HEAL everything: network clean, crashed nodes restart, paused resume");
  network_.heal();
  network_.set_profile(NetworkProfile{});
  for (auto& [id, n] : nodes_) {
    if (!n.node && n.member && !n.joining) restart(n);
  }
  for (auto& [id, n] : nodes_) {
    if (n.paused) resume(n);
    n.reader.paused_until_us = 0;  // a slow subscriber still reads slowly
  }
  // The workload goes on for a second after healing (progress must resume), then stops so that
  // convergence has a fixed target.
  SimEvent stop;
  stop.time_us = now_us_ + 1000 * kMs;
  stop.kind = SimEvent::Kind::kStopWorkload;
  schedule(std::move(stop));
}

bool Cluster::converged(std::string& why) const {
  if (!workload_stopped_) {
    why = "the workload is still running";
    return false;
  }
  const SimNode* lead = nullptr;
  for (const auto& [id, n] : nodes_) {
    if (n.node && n.node->raft().role() == raft::Role::kLeader) {
      if (lead) {
        why = "two nodes think they lead";
        return false;
      }
      lead = &n;
    }
  }
  if (!lead) {
    why = "no leader";
    return false;
  }
  for (const auto& [id, n] : nodes_) {
    if (!n.node) continue;  // a spare, or a removed member
    if (n.node->raft().leader() != lead->id) {
      why = "node " + std::to_string(id) + " does not follow leader " + std::to_string(lead->id);
      return false;
    }
  }
  // (The broadcast scenario publishes nothing after healing.)
  if (has_total_ && total_acked_after_heal_ == 0 && options_.scenario != Scenario::kBroadcast) {
    why = "no total-order message acknowledged since healing";
    return false;
  }
  why = delivery_checker_.unmet_obligations();
  return why.empty();
}

void Cluster::dispatch(const SimEvent& e) {
  switch (e.kind) {
    case SimEvent::Kind::kTick: {
      SimNode& n = nodes_.at(e.node);
      if (!n.node || e.life != n.life) return;
      schedule_tick(n, n.tick_interval_us);
      if (n.paused) return;  // resume() catches up on missed ticks
      if (now_us_ >= n.next_history_sync_us) {
        n.history->every_second();
        n.next_history_sync_us = now_us_ + 1000 * kMs;
      }
      read_and_report_room(n);
      input(n, [](Node& node, Outbox& out) { node.tick(out); });
      return;
    }
    case SimEvent::Kind::kDeliver: {
      SimNode& n = nodes_.at(e.node);
      if (!n.node) {
        if (n.joining) on_join_response(n, *e.envelope);
        return;  // a crashed node's network buffers are gone
      }
      if (n.paused) {
        n.inbox.push_back(e.envelope);
        return;
      }
      if (options_.round_us > 0) {
        n.round_inbox.push_back(e.envelope);
        if (!n.round_scheduled) {
          n.round_scheduled = true;
          SimEvent r;
          r.time_us = now_us_ + options_.round_us;
          r.kind = SimEvent::Kind::kRound;
          r.node = n.id;
          r.life = n.life;
          schedule(std::move(r));
        }
        return;
      }
      deliver(n, *e.envelope);
      return;
    }
    case SimEvent::Kind::kWriteDone: {
      SimNode& n = nodes_.at(e.node);
      if (e.life == n.life) finish_write(n);
      return;
    }
    case SimEvent::Kind::kRound: {
      SimNode& n = nodes_.at(e.node);
      if (e.life == n.life) round(n);
      return;
    }
    case SimEvent::Kind::kJoinAttempt: {
      SimNode& n = nodes_.at(e.node);
      if (n.joining && !n.node) join_attempt(n);
      return;
    }
    case SimEvent::Kind::kFault:
      fault_action();
      return;
    case SimEvent::Kind::kPublish: {
      SimNode& n = nodes_.at(e.node);
      if (!n.node || e.life != n.life || workload_stopped_) return;
      if (n.paused) {  // a paused process publishes nothing; its clients try again later
        schedule_publish(n, e.arg, options_.publish_interval_us);
        return;
      }
      publish(n, e.arg);
      return;
    }
    case SimEvent::Kind::kResume: {
      SimNode& n = nodes_.at(e.node);
      if (e.life == n.life) resume(n);
      return;
    }
    case SimEvent::Kind::kRestart:
      if (!healed_ && nodes_.at(e.node).member) restart(nodes_.at(e.node));
      return;
    case SimEvent::Kind::kHeal:
      heal_all();
      return;
    case SimEvent::Kind::kStopWorkload:
      workload_stopped_ = true;
      trace_.add(now_us_, "WORKLOAD stops");
      return;
  }
}

void Cluster::give_new_disk(SimNode& n) {
  n.disk = options_.use_file_storage ? make_file_disk() : make_memory_disk();
  n.history.reset();
  n.history_fs = std::make_unique<test::FaultyFileSystem>();
  (void)n.history_fs->create_dir("/data");  // as the daemon's data directory exists
  (void)n.history_fs->sync_dir("/");
  n.total_gaps.clear();
}

std::string Cluster::check_histories() {
  for (auto& [id, n] : nodes_) {
    if (!n.node || !n.history) continue;
    const std::string who = "node " + std::to_string(id);
    io::HistoryStore* store = n.history->store();
    if (store == nullptr) return who + "'s history was switched off: " + n.history->problem();
    const auto announced = [&](std::uint64_t from, std::uint64_t to) {
      return std::any_of(n.total_gaps.begin(), n.total_gaps.end(),
                         [&](const auto& gap) { return gap.first <= from && to <= gap.second; });
    };
    // Read as a replay does: from the start, in pieces of a few KiB.
    std::uint64_t expected = store->first_gseq();
    for (std::uint64_t from = 0; from <= store->last_gseq();) {
      std::uint64_t next = from;
      auto items = store->read(from, "", 4096, next);
      if (!items) return who + ": reading its history: " + items.error().message;
      for (const io::HistoryItem& item : items.value()) {
        const std::uint64_t first = item.message ? item.message->gseq : item.hole_from;
        const std::uint64_t last = item.message ? item.message->gseq : item.hole_to;
        if (first != expected) {
          return who + "'s history jumps from gseq " + std::to_string(expected) + " to " +
                 std::to_string(first);
        }
        expected = last + 1;
        if (!item.message) {
          if (!announced(first, last)) {
            return who + "'s history has a hole " + std::to_string(first) + ".." +
                   std::to_string(last) + " it never announced as a gap";
          }
          continue;
        }
        const io::HistoryMessage& m = *item.message;
        const auto owner = delivery_checker_.gseq_owner(m.gseq);
        if (!owner || *owner != DeliveryChecker::MessageKey{m.sender, m.seq} ||
            delivery_checker_.group_of(*owner) != m.group) {
          return who + "'s history holds another message at gseq " + std::to_string(m.gseq) +
                 " than the total order";
        }
      }
      if (next <= from) return who + ": a history read made no progress at " + std::to_string(from);
      from = next;
    }
  }
  return {};
}

SimResult Cluster::run() {
  result_.replay = options_.command_line();
  if (cells_.empty()) {
    result_.ok = false;
    result_.failure = "no valid cells in '" + options_.cells + "'";
    return result_;
  }
  for (auto& [id, n] : nodes_) {
    if (n.member) start_node(n);
  }
  std::uint64_t fault_end_us = options_.fault_ms * kMs;
  if (options_.scenario == Scenario::kBroadcast) {
    schedule_broadcasts();
    fault_end_us = kBroadcastStartUs + options_.broadcasts * kBroadcastGapUs + 500 * kMs;
  }
  const std::uint64_t deadline_us = fault_end_us + options_.heal_ms * kMs;
  if (options_.scenario == Scenario::kDetection) {
    SimEvent fault;
    fault.time_us = fault_end_us / 3;
    fault.kind = SimEvent::Kind::kFault;
    schedule(std::move(fault));
    // Every node but the failed one counts for the whole fault phase; it for the time before.
    result_.member_us = (nodes_.size() - 1) * fault_end_us + fault_end_us / 3;
  }
  if (options_.scenario == Scenario::kChaos) {
    SimEvent first;
    first.time_us = fault_rng_.uniform(0, fault_interval_us_);
    first.kind = SimEvent::Kind::kFault;
    schedule(std::move(first));
  }
  SimEvent heal;
  heal.time_us = fault_end_us;
  heal.kind = SimEvent::Kind::kHeal;
  schedule(std::move(heal));

  std::uint64_t next_leader_crash_us = 1000 * kMs;
  std::uint64_t next_convergence_check_us = fault_end_us;
  std::string why_not = "never checked";
  bool converged_in_time = false;
  auto failed = [&] {
    return raft_checker_.failed() || delivery_checker_.failed() || view_checker_.failed() ||
           !result_.failure.empty();
  };
  while (!queue_.empty() && !failed()) {
    SimEvent e = queue_.top();
    queue_.pop();
    now_us_ = e.time_us;
    if (now_us_ > deadline_us) break;
    if (options_.scenario == Scenario::kLeaderCrash && now_us_ >= next_leader_crash_us &&
        !healed_) {
      // Crash the leader once the cluster has settled, and bring it back soon after.
      if (SimNode* l = leader(); l && !leader_crashed_) {
        SimNode& victim = *l;
        crash(victim);
        SimEvent restart_event;
        restart_event.time_us = now_us_ + 300 * kMs;
        restart_event.kind = SimEvent::Kind::kRestart;
        restart_event.node = victim.id;
        schedule(std::move(restart_event));
      }
      next_leader_crash_us = now_us_ + rng_.uniform(800 * kMs, 1200 * kMs);
    }
    dispatch(e);
    if (workload_stopped_ && now_us_ >= next_convergence_check_us) {
      next_convergence_check_us = now_us_ + 50 * kMs;
      if (options_.membership_changes) reap_removed();
      if (converged(why_not)) {
        converged_in_time = true;
        break;
      }
    }
  }
  result_.virtual_us = now_us_;
  result_.messages_sent = network_.messages_sent();
  for (auto& [key, track] : broadcast_tracks_) {
    const auto reached = std::count(track.reached.begin(), track.reached.end(), true);
    if (static_cast<std::size_t>(reached) + 1 < nodes_.size())
      track.stats.reached_all_by_push = false;
    track.stats.rounds = (track.last_arrival_us - track.published_us + kRoundUs - 1) / kRoundUs;
    result_.broadcasts.push_back(track.stats);
  }
  result_.measured_us = std::min(now_us_, fault_end_us);
  if (converged_in_time && result_.failure.empty()) {
    if (std::string why = check_histories(); !why.empty()) result_.failure = "history: " + why;
  }
  if (raft_checker_.failed()) {
    result_.ok = false;
    if (result_.failure.empty()) result_.failure = raft_checker_.violation();
  } else if (delivery_checker_.failed()) {
    result_.ok = false;
    if (result_.failure.empty()) result_.failure = delivery_checker_.violation();
  } else if (view_checker_.failed()) {
    result_.ok = false;
    if (result_.failure.empty()) result_.failure = view_checker_.violation();
  } else if (!result_.failure.empty()) {
    result_.ok = false;
  } else if (!converged_in_time) {
    result_.ok = false;
    result_.failure = "liveness: not converged " + std::to_string(options_.heal_ms) +
                      " ms after healing: " + why_not;
  }
  if (!result_.ok) result_.trace_tail = trace_.tail();
  return result_;
}

}  // namespace

SimResult run_simulation(const SimOptions& options) { return Cluster(options).run(); }

}  // namespace bcast::sim
