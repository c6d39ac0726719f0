#include "sim_cluster.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <variant>

#include "core/driver.hpp"
#include "core/node.hpp"
#include "raft_checker.hpp"
#include "sim_disk.hpp"
#include "sim_network.hpp"
#include "sim_state_machine.hpp"
#include "trace.hpp"

namespace bcast::sim {
namespace {

constexpr std::uint64_t kMs = 1000;

std::string describe(const raft::Message& m) {
  std::string s = std::string(raft::message_type_name(m.type)) + " " + std::to_string(m.from) +
                  "->" + std::to_string(m.to) + " t" + std::to_string(m.term);
  switch (m.type) {
    case raft::MessageType::kAppend:
      s += " prev=" + std::to_string(m.index) + "/t" + std::to_string(m.log_term) +
           " n=" + std::to_string(m.entries.size()) + " commit=" + std::to_string(m.commit);
      break;
    case raft::MessageType::kAppendResponse:
      s += m.reject
               ? " reject@" + std::to_string(m.index) + " hint=" + std::to_string(m.reject_hint)
               : " ok@" + std::to_string(m.index);
      break;
    case raft::MessageType::kVote:
    case raft::MessageType::kPreVote:
      s += " last=" + std::to_string(m.index) + "/t" + std::to_string(m.log_term);
      break;
    case raft::MessageType::kVoteResponse:
    case raft::MessageType::kPreVoteResponse:
      s += m.reject ? " rejected" : " granted";
      break;
    case raft::MessageType::kInstallSnapshot:
      if (m.snapshot) s += " snap@" + std::to_string(m.snapshot->meta.index);
      break;
    default:
      break;
  }
  return s;
}

struct SimEvent {
  enum class Kind : std::uint8_t { kTick, kDeliver, kFault, kClient, kResume, kRestart, kHeal };
  std::uint64_t time_us = 0;
  std::uint64_t sequence = 0;  // ties broken by scheduling order, never by address
  Kind kind = Kind::kTick;
  NodeId node = kNoNode;
  std::uint64_t incarnation = 0;
  std::uint64_t arg = 0;
  std::shared_ptr<const Envelope> envelope;

  bool operator>(const SimEvent& other) const {
    return time_us != other.time_us ? time_us > other.time_us : sequence > other.sequence;
  }
};

struct Proposal {
  std::uint64_t serial = 0;  // identifies the proposal's timeout event
  NodeId node = kNoNode;
  Term term = 0;
  LogIndex index = 0;
  std::uint64_t sent_us = 0;
};

struct Client {
  NodeId target = kNoNode;
  std::optional<Proposal> pending;
  std::uint64_t next_id = 0;
};

class Cluster;

struct SimNode {
  NodeId id = kNoNode;
  std::unique_ptr<SimDisk> disk;
  std::unique_ptr<SimStateMachine> state_machine;
  std::unique_ptr<Node> node;  // null while crashed
  bool paused = false;
  std::uint64_t paused_since_us = 0;
  std::deque<std::shared_ptr<const Envelope>> inbox;  // held while paused
  std::uint64_t incarnation = 0;
  std::uint64_t tick_interval_us = 0;
  bool was_leader = false;
  bool catching_up = false;  // replaying ticks missed while paused
};

class Cluster {
 public:
  explicit Cluster(const SimOptions& options);
  SimResult run();

 private:
  class NodeIo;

  // Scheduling.
  void schedule(SimEvent event);
  void schedule_tick(SimNode& n, std::uint64_t delay_us);
  void dispatch(const SimEvent& e);

  // Node life cycle and inputs.
  void start_node(SimNode& n);
  void crash(SimNode& n);
  void restart(SimNode& n);
  void pause(SimNode& n, std::uint64_t duration_us);
  void resume(SimNode& n);
  void input(SimNode& n, const std::function<void(Node&, Outbox&)>& fn);
  void deliver(SimNode& n, const Envelope& envelope);
  void transmit(Envelope envelope);
  void after_step(SimNode& n);
  void on_apply(SimNode& n, const raft::Entry& entry);

  // Faults and workload.
  void fault_action();
  void partition();
  void heal_all();
  // A client's turn. `timeout_for` names the proposal whose timeout fired (0: a normal turn).
  void client_step(std::size_t client_index, std::uint64_t timeout_for);
  SimNode* leader();
  bool converged(std::string& why) const;

  SimOptions options_;
  Rng rng_;
  Rng fault_rng_;
  Rng disk_rng_;
  SimNetwork network_;
  Trace trace_;
  RaftChecker checker_;
  std::map<NodeId, SimNode> nodes_;
  raft::ConfState bootstrap_;
  std::priority_queue<SimEvent, std::vector<SimEvent>, std::greater<>> queue_;
  std::uint64_t now_us_ = 0;
  std::uint64_t next_sequence_ = 0;
  std::vector<Client> clients_;
  std::vector<Proposal> acked_;
  std::uint64_t next_proposal_serial_ = 0;
  bool healed_ = false;
  std::uint64_t heal_commit_target_ = 0;
  std::uint64_t acked_after_heal_ = 0;
  std::uint64_t fault_interval_us_ = 0;
  std::uint64_t max_tick_drift_per_mille_ = 0;
  // leader-crash measurements: the term of the crashed leader and when it died.
  std::optional<std::pair<Term, std::uint64_t>> leader_crashed_;
  SimResult result_;
};

class Cluster::NodeIo : public DriverIo {
 public:
  NodeIo(Cluster& cluster, SimNode& node) : cluster_(cluster), node_(node) {}
  void persist(const PersistRequest& request) override {
    if (auto stored = node_.disk->persist(request); !stored && cluster_.result_.failure.empty()) {
      cluster_.result_.failure = "node " + std::to_string(node_.id) +
                                 ": storage refused a write: " + stored.error().message;
    }
  }
  void send(Envelope envelope) override { cluster_.transmit(std::move(envelope)); }
  void observe(const bcast::Event& event) override {
    if (event.kind == bcast::Event::Kind::kSnapshotRestored) ++cluster_.result_.snapshots_installed;
  }

 private:
  Cluster& cluster_;
  SimNode& node_;
};

Cluster::Cluster(const SimOptions& options)
    : options_(options),
      rng_(options.seed),
      fault_rng_(rng_.fork()),
      disk_rng_(rng_.fork()),
      network_(rng_.fork(), NetworkProfile{}),
      trace_(options.trace) {
  const NodeId total = options_.voters + options_.learners;
  for (NodeId id = 1; id <= total; ++id) {
    (id <= options_.voters ? bootstrap_.voters : bootstrap_.learners).push_back(id);
  }
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
  }
  for (NodeId id = 1; id <= total; ++id) {
    SimNode& n = nodes_[id];
    n.id = id;
    n.disk = options_.use_file_storage ? make_file_disk() : make_memory_disk();
    const std::uint64_t drift = max_tick_drift_per_mille_;
    n.tick_interval_us = options_.tick_us * (1000 - drift + rng_.uniform(0, 2 * drift)) / 1000;
  }
  clients_.resize(options_.clients);
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
  e.incarnation = n.incarnation;
  schedule(std::move(e));
}

void Cluster::start_node(SimNode& n) {
  auto recovered = n.disk->recover();
  if (!recovered.ok()) {
    result_.failure =
        "node " + std::to_string(n.id) + " cannot recover its disk: " + recovered.error().message;
    return;
  }
  NodeOptions node_options;
  node_options.raft.id = n.id;
  node_options.raft.election_timeout_ticks = options_.election_timeout_ticks;
  node_options.raft.heartbeat_interval_ticks = options_.heartbeat_interval_ticks;
  node_options.raft.max_inflight_appends = options_.max_inflight_appends;
  node_options.raft.bugs = options_.bugs;
  node_options.snapshot_interval_entries = options_.snapshot_interval_entries;
  node_options.raft.retained_entries_behind_snapshot = options_.retained_entries;
  n.state_machine = std::make_unique<SimStateMachine>(
      [this, &n](const raft::Entry& entry) { on_apply(n, entry); },
      [this, &n](LogIndex index, std::uint64_t chain) {
        checker_.observe_restore(n.id, index, chain);
      });
  ++n.incarnation;
  n.paused = false;
  n.inbox.clear();
  n.was_leader = false;
  n.node = std::make_unique<Node>(node_options, rng_.fork(), bootstrap_,
                                  std::move(recovered.value()), *n.state_machine);
  schedule_tick(n, rng_.uniform(1, n.tick_interval_us));
  after_step(n);
}

void Cluster::crash(SimNode& n) {
  if (!n.node) return;
  trace_.add(now_us_, "CRASH node " + std::to_string(n.id));
  ++result_.crashes;
  if (n.node->raft().role() == raft::Role::kLeader) {
    leader_crashed_ = std::make_pair(n.node->raft().term(), now_us_);
  }
  n.node.reset();
  n.state_machine.reset();
  checker_.forget_lease(n.id);
  n.disk->crash(disk_rng_);
  ++n.incarnation;  // pending ticks of the old incarnation are void
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
  checker_.forget_lease(n.id);
  SimEvent e;
  e.time_us = now_us_ + duration_us;
  e.kind = SimEvent::Kind::kResume;
  e.node = n.id;
  e.incarnation = n.incarnation;
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
  NodeIo io(*this, n);
  Node& node = *n.node;
  apply_outbox(out, io, [&](LogIndex index, Term term, Outbox& more) {
    node.on_persisted(index, term, more);
  });
  after_step(n);
}

void Cluster::deliver(SimNode& n, const Envelope& envelope) {
  if (options_.trace) {
    if (const auto* m = std::get_if<raft::Message>(&envelope.message))
      trace_.add(now_us_, describe(*m));
  }
  input(n, [&](Node& node, Outbox& out) { node.step(envelope, out); });
}

void Cluster::transmit(Envelope envelope) {
  auto shared = std::make_shared<const Envelope>(std::move(envelope));
  for (std::uint64_t delay : network_.transmit(shared->from, shared->to, now_us_)) {
    SimEvent e;
    e.time_us = now_us_ + delay;
    e.kind = SimEvent::Kind::kDeliver;
    e.node = shared->to;
    e.envelope = shared;
    schedule(std::move(e));
  }
}

void Cluster::after_step(SimNode& n) {
  if (!n.node) return;
  const raft::Raft& raft = n.node->raft();
  checker_.observe(n.id, raft, now_us_, /*lease_counts=*/!n.catching_up);
  if (auto problem = n.node->check_invariants(); !problem.empty()) {
    result_.failure = "invariant broken on node " + std::to_string(n.id) + ": " + problem;
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

void Cluster::on_apply(SimNode& n, const raft::Entry& entry) {
  checker_.observe_apply(n.id, entry.index, n.state_machine->chain());
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    Client& client = clients_[i];
    if (!client.pending || client.pending->node != n.id || client.pending->index != entry.index) {
      continue;
    }
    if (entry.term == client.pending->term) {
      acked_.push_back(*client.pending);
      ++result_.proposals_acked;
      if (healed_) {
        ++acked_after_heal_;
      } else {
        ++result_.proposals_acked_in_fault_phase;
      }
      result_.commit_latency_us.push_back(now_us_ - client.pending->sent_us);
    }
    client.pending.reset();
    SimEvent e;
    e.time_us = now_us_ + rng_.uniform(50, 500);  // the client's own round trip
    e.kind = SimEvent::Kind::kClient;
    e.arg = i;
    schedule(std::move(e));
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

void Cluster::client_step(std::size_t client_index, std::uint64_t timeout_for) {
  Client& client = clients_[client_index];
  const std::uint64_t timeout_us =
      4ULL * options_.election_timeout_ticks * options_.tick_us;  // then give up and retry
  // After healing, the workload winds down once it has shown progress, so that convergence
  // means every acknowledged proposal is applied everywhere, not a moving target.
  if (healed_ && acked_after_heal_ > 0) return;
  if (timeout_for != 0) {
    // Only the timeout of the proposal still pending counts; older ones are stale.
    if (!client.pending || client.pending->serial != timeout_for) return;
    client.pending.reset();  // it may still commit; the client just stops waiting
  } else if (client.pending) {
    return;
  }
  auto schedule_turn = [&](std::uint64_t delay_us, std::uint64_t serial) {
    SimEvent e;
    e.time_us = now_us_ + delay_us;
    e.kind = SimEvent::Kind::kClient;
    e.arg = client_index;
    e.incarnation = serial;
    schedule(std::move(e));
  };
  auto retry_in = [&](std::uint64_t delay_us) { schedule_turn(delay_us, 0); };
  auto it = nodes_.find(client.target);
  if (it == nodes_.end() || !it->second.node || it->second.paused) {
    client.target = rng_.uniform(1, nodes_.size());
    retry_in(5 * kMs);
    return;
  }
  SimNode& n = it->second;
  const std::string data =
      "c" + std::to_string(client_index) + "-" + std::to_string(client.next_id++);
  NodeId hint = kNoNode;
  std::uint64_t proposed_serial = 0;
  input(n, [&](Node& node, Outbox& out) {
    auto index = node.propose(data, out);
    if (index.ok()) {
      // Pending before the driver runs: a single voter commits within this very input.
      proposed_serial = ++next_proposal_serial_;
      client.pending = Proposal{proposed_serial, n.id, node.raft().term(), index.value(), now_us_};
    } else {
      hint = node.raft().leader();
    }
  });
  if (proposed_serial != 0) {
    schedule_turn(timeout_us, proposed_serial);  // wakes the client if it never resolves
  } else {
    client.target = hint != kNoNode ? hint : rng_.uniform(1, nodes_.size());
    retry_in(hint != kNoNode ? 0 : 10 * kMs);
  }
}

void Cluster::partition() {
  if (nodes_.size() < 2) return;  // nothing to cut apart
  std::vector<NodeId> ids;
  for (auto& [id, n] : nodes_) ids.push_back(id);
  // Deterministic shuffle from the fault stream.
  for (std::size_t i = ids.size(); i > 1; --i)
    std::swap(ids[i - 1], ids[fault_rng_.uniform(0, i - 1)]);
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

void Cluster::fault_action() {
  if (healed_) return;
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
    default:
      break;  // quiet spells matter too: the cluster must make progress between faults
  }
  SimEvent e;
  e.time_us = now_us_ + fault_rng_.uniform(fault_interval_us_ / 2, fault_interval_us_ * 3 / 2);
  e.kind = SimEvent::Kind::kFault;
  schedule(std::move(e));
}

void Cluster::heal_all() {
  healed_ = true;
  trace_.add(now_us_, "HEAL everything: network clean, crashed nodes restart, paused resume");
  network_.heal();
  network_.set_profile(NetworkProfile{});
  for (auto& [id, n] : nodes_) {
    if (!n.node) restart(n);
  }
  for (auto& [id, n] : nodes_) {
    if (n.paused) resume(n);
  }
  heal_commit_target_ = checker_.max_committed();
}

bool Cluster::converged(std::string& why) const {
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
  if (acked_after_heal_ == 0 && !clients_.empty()) {
    why = "no proposal acknowledged since healing";
    return false;
  }
  std::uint64_t target = heal_commit_target_;
  for (const Proposal& p : acked_) target = std::max(target, p.index);
  for (const auto& [id, n] : nodes_) {
    if (n.node->raft().leader() != lead->id) {
      why = "node " + std::to_string(id) + " does not follow leader " + std::to_string(lead->id);
      return false;
    }
    if (n.node->raft().log().applied() < target) {
      why = "node " + std::to_string(id) + " applied " +
            std::to_string(n.node->raft().log().applied()) + " < " + std::to_string(target);
      return false;
    }
  }
  return true;
}

void Cluster::dispatch(const SimEvent& e) {
  switch (e.kind) {
    case SimEvent::Kind::kTick: {
      SimNode& n = nodes_.at(e.node);
      if (!n.node || e.incarnation != n.incarnation) return;
      schedule_tick(n, n.tick_interval_us);
      if (n.paused) return;  // resume() catches up on missed ticks
      input(n, [](Node& node, Outbox& out) { node.tick(out); });
      return;
    }
    case SimEvent::Kind::kDeliver: {
      SimNode& n = nodes_.at(e.node);
      if (!n.node) return;  // a crashed node's network buffers are gone
      if (n.paused) {
        n.inbox.push_back(e.envelope);
        return;
      }
      deliver(n, *e.envelope);
      return;
    }
    case SimEvent::Kind::kFault:
      fault_action();
      return;
    case SimEvent::Kind::kClient:
      client_step(e.arg, e.incarnation);
      return;
    case SimEvent::Kind::kResume: {
      SimNode& n = nodes_.at(e.node);
      if (e.incarnation == n.incarnation) resume(n);
      return;
    }
    case SimEvent::Kind::kRestart:
      if (!healed_) restart(nodes_.at(e.node));
      return;
    case SimEvent::Kind::kHeal:
      heal_all();
      return;
  }
}

SimResult Cluster::run() {
  result_.replay = options_.command_line();
  for (auto& [id, n] : nodes_) start_node(n);
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    clients_[i].target = rng_.uniform(1, nodes_.size());
    SimEvent e;
    e.time_us = rng_.uniform(0, 50 * kMs);
    e.kind = SimEvent::Kind::kClient;
    e.arg = i;
    schedule(std::move(e));
  }
  const std::uint64_t fault_end_us = options_.fault_ms * kMs;
  const std::uint64_t deadline_us = fault_end_us + options_.heal_ms * kMs;
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
  while (!queue_.empty() && !checker_.failed() && result_.failure.empty()) {
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
    if (healed_ && now_us_ >= next_convergence_check_us) {
      next_convergence_check_us = now_us_ + 10 * kMs;
      if (converged(why_not)) {
        converged_in_time = true;
        break;
      }
    }
  }
  result_.virtual_us = now_us_;
  result_.messages_sent = network_.messages_sent();
  result_.measured_us = std::min(now_us_, fault_end_us);
  if (checker_.failed()) {
    result_.ok = false;
    if (result_.failure.empty()) result_.failure = checker_.violation();
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
