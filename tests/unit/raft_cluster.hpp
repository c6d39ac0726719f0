// A tiny synchronous network of Raft nodes for unit tests: messages queue up and are delivered
// when the test says so, links can be cut one way or both, nodes can crash and restart from
// their MemoryStorage. Each node's outbox goes through the real driver (core/driver.hpp).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/driver.hpp"
#include "core/raft/memory_storage.hpp"
#include "core/raft/raft.hpp"

namespace bcast::sim {
class RaftChecker;
}

namespace bcast::raft::testing {

class RaftCluster : private DriverIo {
 public:
  // How the initial configuration is given: as the daemon does, in the first log entries
  // (core/membership/bootstrap.hpp), or beside the log as clusters of earlier versions had it.
  enum class Bootstrap : std::uint8_t { kBesideTheLog, kInTheLog };
  // Builds nodes `voters` (and `learners`, which start with the same bootstrap configuration).
  RaftCluster(std::vector<NodeId> voters, RaftOptions base = {}, std::vector<NodeId> learners = {},
              Bootstrap bootstrap = Bootstrap::kBesideTheLog);

  Raft& node(NodeId id) { return *nodes_.at(id); }
  const std::vector<Entry>& applied(NodeId id) { return applied_.at(id); }
  std::vector<std::string> applied_data(NodeId id) const;  // kNormal entries only

  // Inputs, each followed by the driver; messages are queued, not delivered.
  void tick(NodeId id, int times = 1);
  void tick_all(int times = 1);
  // Ticks a leader exactly long enough to send one round of heartbeats.
  void heartbeat(NodeId id) { tick(id, static_cast<int>(base_.heartbeat_interval_ticks)); }
  void campaign(NodeId id);
  Result<LogIndex> propose(NodeId id, std::string data);
  Result<LogIndex> propose_conf_change(NodeId id, ConfChange change);
  Result<void> transfer_leadership(NodeId from, NodeId to);
  void compact(NodeId id);  // snapshot everything applied
  void step(const Message& message);

  // Delivers queued messages (and what they cause) until none is left.
  void deliver_all();
  // Elects `id` by campaigning and delivering; returns whether it became leader.
  bool elect(NodeId id);
  // Ticks every node, delivering after each tick, `times` times.
  void run_ticks(int times);

  void cut(NodeId a, NodeId b);  // both directions
  void cut_one_way(NodeId from, NodeId to);
  void isolate(NodeId id);
  void heal();
  void crash(NodeId id);    // the node is gone; its storage remains
  void restart(NodeId id);  // rebuilt from its storage
  bool is_up(NodeId id) const { return nodes_.contains(id); }

  // Runs the simulator's Raft checkers (tests/sim/raft_checker.hpp) after every step.
  void attach_checker(sim::RaftChecker& checker) { checker_ = &checker; }

  // Messages of a type delivered so far (for assertions about what was sent).
  int delivered_count(MessageType type) const;
  std::vector<Message> take_queue();  // removes and returns every queued message
  void add_node(NodeId id);           // a new, empty node (joins via the leader)

 private:
  void persist(const PersistRequest& request) override;
  void send(Envelope envelope) override;
  void deliver(Delivery) override {}  // Raft alone delivers nothing
  void acknowledge(Receipt) override {}
  void observe(const Event&) override {}
  void drive(NodeId id, Outbox& out);
  void make_node(NodeId id);

  RaftOptions base_;
  ConfState bootstrap_;
  std::map<NodeId, std::unique_ptr<Raft>> nodes_;
  std::map<NodeId, MemoryStorage> storage_;
  std::map<NodeId, std::vector<Entry>> applied_;
  std::map<NodeId, std::shared_ptr<const std::string>> state_;  // applied data, for snapshots
  std::deque<Message> queue_;
  std::set<std::pair<NodeId, NodeId>> cut_links_;
  std::map<MessageType, int> delivered_;
  NodeId driving_ = kNoNode;
  sim::RaftChecker* checker_ = nullptr;
  std::uint64_t next_seed_ = 1;
};

}  // namespace bcast::raft::testing
