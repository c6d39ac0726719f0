// Run-time membership requests (bcastctl cluster add / promote / remove / transfer-leader),
// carried out by the leader and answered to the daemon that asked.
//
// A daemon's client may ask any daemon. A follower forwards the request to the leader it knows
// (or answers "no leader" at once); the leader proposes the change and answers once its entry is
// committed (a transfer: once started), or with an error if it loses the leadership first. A
// forwarded request that gets no answer times out. The leader also promotes a learner that was
// added to become a voter as soon as it has caught up with the commit index.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "core/membership/cluster_registry.hpp"
#include "core/outbox.hpp"
#include "core/raft/raft.hpp"

namespace bcast {

class ClusterAdmin {
 public:
  ClusterAdmin(NodeId self, std::uint64_t forward_timeout_ticks)
      : self_(self), forward_timeout_ticks_(forward_timeout_ticks) {}

  // A request from a client of this daemon; the answer comes in out.admin_results.
  void submit(std::uint64_t request_id, const AdminRequest& request, raft::Raft& raft,
              const ClusterRegistry& registry, std::uint64_t now_tick, Outbox& out);
  // A request another daemon forwarded to us as the leader.
  void on_forward(NodeId from, const AdminForward& forward, raft::Raft& raft,
                  const ClusterRegistry& registry, Outbox& out);
  // The leader's answer to a request we forwarded.
  void on_result(const AdminResult& result, Outbox& out);
  // After every input: answers what committed, fails what no longer can, times out forwards,
  // and (as leader) promotes learners that have caught up.
  void after_input(raft::Raft& raft, const ClusterRegistry& registry, std::uint64_t now_tick,
                   Outbox& out);

  std::size_t pending() const { return pending_.size() + forwarded_.size(); }

 private:
  struct Pending {
    NodeId asker = kNoNode;
    std::uint64_t request_id = 0;
    LogIndex index = 0;
    Term term = 0;
  };

  // At the leader: validates and proposes; returns an error result, or nullopt once proposed.
  std::optional<Error> execute(NodeId asker, std::uint64_t request_id, const AdminRequest& request,
                               raft::Raft& raft, const ClusterRegistry& registry, Outbox& out);
  void answer(NodeId asker, AdminResult result, Outbox& out);
  void promote_caught_up(raft::Raft& raft, const ClusterRegistry& registry, Outbox& out);
  // A learner is promotable once its log is within kPromotableLagEntries of the leader's commit
  // index (exactly level is rare under load: entries keep committing while it replicates).
  static bool caught_up(const raft::Raft& raft, NodeId learner);
  static constexpr std::uint64_t kPromotableLagEntries = 64;

  NodeId self_;
  std::uint64_t forward_timeout_ticks_;
  std::vector<Pending> pending_;                         // leader: proposed, not yet committed
  std::map<std::uint64_t, std::uint64_t> forwarded_;     // request id -> tick forwarded
  std::set<std::pair<NodeId, std::uint64_t>> executed_;  // forwards seen: (asker, request id)
};

}  // namespace bcast
