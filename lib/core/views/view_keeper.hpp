// One daemon's side of the agreed group views: which group records it must put into the
// total-order stream (core/views/group_views.hpp) so that the agreed views come to match what
// really happened.
//
// Level-triggered, so that nothing is lost to a leader change, a timeout or a minority
// partition: the keeper compares what it knows with the agreed views and asks for a record for
// every difference, again after `resend_ticks` while the difference lasts.
//
//   * Every daemon, for its own clients: a client in a group the agreed view lacks -> join; an
//     agreed member of its own incarnation that left the group -> leave, or whose connection
//     closed -> disconnect; agreed members of an older incarnation of this daemon -> node up
//     (which drops them).
//   * The leader, for the daemons that host members (the others change no view, and cost no
//     record): one its peer table excluded (silent longer than the peer
//     timeout) or that left the configuration, still up in the agreed views -> node down; one
//     heard again (or with members of an older incarnation) -> node up with its incarnation.
//     Only the leader decides this, so that daemons that hear each other differently (one-way
//     links) cannot make the views flap: the views follow one daemon's peer table.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/views/group_views.hpp"

namespace bcast {

// What the leader knows of the other daemons of the configuration.
struct DaemonReachability {
  std::set<NodeId> configured;           // voters and learners, this daemon included
  std::map<NodeId, OriginId> reachable;  // not excluded, with the incarnation heard (0: not yet)
};

class ViewKeeper {
 public:
  ViewKeeper(NodeId self, OriginId origin, std::uint64_t resend_ticks)
      : self_(self), origin_(origin), resend_ticks_(resend_ticks) {}

  void opened(SenderId sender) { clients_[sender]; }
  void joined(SenderId sender, const std::string& group, const std::string& client_name);
  void left(SenderId sender, const std::string& group);
  void closed(SenderId sender) { clients_.erase(sender); }
  // Something changed locally since the last call to due().
  bool dirty() const { return dirty_; }

  // The records to submit now. `daemons` only on the leader.
  std::vector<GroupRecord> due(const GroupViews& agreed,
                               const std::optional<DaemonReachability>& daemons,
                               std::uint64_t now_tick);

 private:
  struct LocalClient {
    std::string name;
    std::set<std::string> groups;
  };
  void for_own_clients(const GroupViews& agreed, std::vector<GroupRecord>& wanted) const;
  void for_daemons(const GroupViews& agreed, const DaemonReachability& daemons,
                   std::vector<GroupRecord>& wanted) const;

  NodeId self_;
  OriginId origin_;
  std::uint64_t resend_ticks_;
  std::map<SenderId, LocalClient> clients_;
  bool dirty_ = false;
  std::map<std::string, std::uint64_t> asked_tick_;  // encoded record -> when last asked for
};

}  // namespace bcast
