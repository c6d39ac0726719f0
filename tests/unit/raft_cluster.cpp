#include "raft_cluster.hpp"

#include <stdexcept>
#include <variant>

#include "core/membership/bootstrap.hpp"
#include "raft_checker.hpp"

namespace bcast::raft::testing {

RaftCluster::RaftCluster(std::vector<NodeId> voters, RaftOptions base, std::vector<NodeId> learners,
                         Bootstrap bootstrap)
    : base_(base) {
  if (bootstrap == Bootstrap::kInTheLog) {
    std::vector<InitialMember> members;
    for (NodeId id : voters) members.push_back({id, "tcp://node-" + std::to_string(id), false});
    for (NodeId id : learners) members.push_back({id, "tcp://node-" + std::to_string(id), true});
    const RaftState state = bootstrap_state("test", members);
    for (const InitialMember& m : members) {
      PersistRequest request;
      request.entries = state.entries;
      request.hard_state = state.hard_state;
      storage_[m.node].persist(request);
    }
  } else {
    bootstrap_.voters = voters;
    bootstrap_.learners = learners;
  }
  std::sort(bootstrap_.voters.begin(), bootstrap_.voters.end());
  std::sort(bootstrap_.learners.begin(), bootstrap_.learners.end());
  for (NodeId id : voters) make_node(id);
  for (NodeId id : learners) make_node(id);
}

namespace {

// The test state machine's snapshot is its applied kNormal data, one item per line.
std::vector<Entry> entries_from_snapshot(const std::string& data) {
  std::vector<Entry> out;
  std::size_t pos = 0;
  while (pos < data.size()) {
    const auto end = data.find('\n', pos);
    Entry e;
    e.data = data.substr(pos, end - pos);
    out.push_back(e);
    pos = end + 1;
  }
  return out;
}

}  // namespace

void RaftCluster::make_node(NodeId id) {
  RaftOptions options = base_;
  options.id = id;
  RaftState state = storage_[id].state();
  const ConfState initial = state.snapshot ? ConfState{} : bootstrap_;
  // A restarted state machine starts from the snapshot and re-applies committed entries.
  applied_[id] =
      state.snapshot ? entries_from_snapshot(*state.snapshot->data) : std::vector<Entry>{};
  nodes_[id] =
      std::make_unique<Raft>(options, Rng(next_seed_++ * 7919 + id), initial, std::move(state));
}

void RaftCluster::add_node(NodeId id) {
  RaftOptions options = base_;
  options.id = id;
  nodes_[id] =
      std::make_unique<Raft>(options, Rng(next_seed_++ * 7919 + id), ConfState{}, RaftState{});
  applied_[id];
}

std::vector<std::string> RaftCluster::applied_data(NodeId id) const {
  std::vector<std::string> out;
  for (const Entry& e : applied_.at(id)) {
    if (e.type == EntryType::kNormal) out.push_back(e.data.str());
  }
  return out;
}

void RaftCluster::persist(const PersistRequest& request) { storage_[driving_].persist(request); }

void RaftCluster::send(Envelope envelope) {
  queue_.push_back(std::get<raft::Message>(std::move(envelope.message)));
}

void RaftCluster::drive(NodeId id, Outbox& out) {
  driving_ = id;
  Raft& raft = node(id);
  apply_outbox(out, *this, [&](LogIndex index, Term term, Outbox& more) {
    raft.on_persisted(index, term, more);
  });
  CommittedWork work = raft.take_committed();
  auto& applied = applied_[id];
  if (work.restore) applied = entries_from_snapshot(*work.restore->data);
  for (Entry& entry : work.entries) applied.push_back(std::move(entry));
  if (checker_) checker_->observe(id, raft, 0);
  const std::string check = raft.check_invariants();
  if (!check.empty())
    throw std::logic_error("invariant broken on node " + std::to_string(id) + ": " + check);
}

void RaftCluster::tick(NodeId id, int times) {
  for (int i = 0; i < times; ++i) {
    Outbox out;
    node(id).tick(out);
    drive(id, out);
  }
}

void RaftCluster::tick_all(int times) {
  for (int i = 0; i < times; ++i) {
    for (auto& [id, raft] : nodes_) tick(id);
  }
}

void RaftCluster::campaign(NodeId id) {
  Outbox out;
  node(id).campaign(out);
  drive(id, out);
}

Result<LogIndex> RaftCluster::propose(NodeId id, std::string data) {
  Outbox out;
  auto result = node(id).propose(std::move(data), out);
  node(id).flush(out);
  drive(id, out);
  return result;
}

Result<LogIndex> RaftCluster::propose_conf_change(NodeId id, ConfChange change) {
  Outbox out;
  auto result = node(id).propose_conf_change(change, out);
  drive(id, out);
  return result;
}

Result<void> RaftCluster::transfer_leadership(NodeId from, NodeId to) {
  Outbox out;
  auto result = node(from).transfer_leadership(to, out);
  drive(from, out);
  return result;
}

void RaftCluster::compact(NodeId id) {
  Raft& raft = node(id);
  std::string data;
  for (const std::string& d : applied_data(id)) data += d + "\n";
  Outbox out;
  auto result = raft.compact(raft.log().applied(), std::make_shared<const std::string>(data), out);
  if (!result) throw std::logic_error("compact failed: " + result.error().message);
  drive(id, out);
}

void RaftCluster::step(const Message& message) {
  if (!is_up(message.to)) return;
  ++delivered_[message.type];
  Outbox out;
  node(message.to).step(message, out);
  drive(message.to, out);
}

void RaftCluster::deliver_all() {
  for (int guard = 0; !queue_.empty(); ++guard) {
    if (checker_ && checker_->failed()) return;  // the run is known broken; stop there
    if (guard > 1000000) throw std::logic_error("messages never stop");
    Message m = std::move(queue_.front());
    queue_.pop_front();
    if (cut_links_.contains({m.from, m.to})) continue;
    step(m);
  }
}

bool RaftCluster::elect(NodeId id) {
  campaign(id);
  deliver_all();
  return node(id).role() == Role::kLeader;
}

void RaftCluster::run_ticks(int times) {
  for (int i = 0; i < times; ++i) {
    for (auto& [id, raft] : nodes_) tick(id);
    deliver_all();
  }
}

void RaftCluster::cut(NodeId a, NodeId b) {
  cut_links_.insert({a, b});
  cut_links_.insert({b, a});
}

void RaftCluster::cut_one_way(NodeId from, NodeId to) { cut_links_.insert({from, to}); }

void RaftCluster::isolate(NodeId id) {
  for (auto& [other, raft] : nodes_) {
    if (other != id) cut(id, other);
  }
}

void RaftCluster::heal() { cut_links_.clear(); }

void RaftCluster::crash(NodeId id) {
  nodes_.erase(id);
  std::erase_if(queue_, [&](const Message& m) { return m.to == id || m.from == id; });
}

void RaftCluster::restart(NodeId id) { make_node(id); }

int RaftCluster::delivered_count(MessageType type) const {
  auto it = delivered_.find(type);
  return it == delivered_.end() ? 0 : it->second;
}

std::vector<Message> RaftCluster::take_queue() {
  std::vector<Message> out(queue_.begin(), queue_.end());
  queue_.clear();
  return out;
}

}  // namespace bcast::raft::testing
