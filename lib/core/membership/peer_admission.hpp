// Which daemons this one listens to.
//
// Every envelope carries its sender's cluster id and data-directory identity (the node stamps
// them on everything it sends). A message is admitted only from a daemon of the same cluster,
// that is in the configuration, and whose node id the registry has not bound to another
// identity. Anything else is dropped, and the sender is told why (a Refusal, at most once per
// interval), so that a daemon started with a wiped data directory, a duplicate node id or a
// different --peer list says what is wrong in its own log and status instead of quietly
// voting twice or acknowledging messages nobody will deliver.
//
// The leader records what it admits: the first identity heard for a member binds it, and a
// newer boot count is written down (take_sightings), both through the log (ClusterRegistry).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "core/membership/cluster_registry.hpp"
#include "core/outbox.hpp"
#include "core/raft/types.hpp"

namespace bcast {

class PeerAdmission {
 public:
  PeerAdmission(NodeId self, std::uint64_t cluster_id, std::uint64_t refusal_interval_ticks)
      : self_(self), cluster_id_(cluster_id), refusal_interval_ticks_(refusal_interval_ticks) {}

  // Whether `envelope` may be stepped. `conf` is Raft's current configuration (a member added a
  // moment ago counts at once); a daemon that does not know its configuration yet (a joiner
  // waiting for the log) admits any member of its cluster.
  bool admit(const Envelope& envelope, const ClusterRegistry& registry, const raft::ConfState& conf,
             std::uint64_t now_tick, Outbox& out);

  // A peer refused us.
  void on_refusal(NodeId from, const Refusal& refusal, std::uint64_t now_tick, Outbox& out);
  // Peers that refused us recently (a refuser repeats its refusal every interval while we
  // talk to it; one that has stopped has admitted us again), and why.
  std::map<NodeId, Refusal> refused_by(std::uint64_t now_tick) const;
  // Peers we refused recently, and why.
  std::map<NodeId, Refusal> refusing(std::uint64_t now_tick) const;

  // Identities and boot counts heard from admitted members that the registry lacks: the leader
  // proposes them. Each is returned once per `refusal_interval_ticks` until the registry has it.
  std::vector<MemberSeenRecord> take_sightings(const ClusterRegistry& registry,
                                               std::uint64_t now_tick);
  // Our own, which no envelope brings.
  void saw_self(std::uint64_t identity, std::uint32_t incarnation);

 private:
  void refuse(const Envelope& envelope, Refusal refusal, std::uint64_t now_tick, Outbox& out);
  void note_sighting(NodeId node, std::uint64_t identity, std::uint32_t incarnation);

  struct Sighting {
    std::uint64_t identity = 0;
    std::uint32_t incarnation = 0;
    std::uint64_t proposed_tick = 0;
    bool proposed = false;
  };

  NodeId self_;
  std::uint64_t cluster_id_;
  std::uint64_t refusal_interval_ticks_;
  std::map<NodeId, std::uint64_t> last_refusal_tick_;
  struct Refused {
    Refusal refusal;
    std::uint64_t last_tick = 0;
  };
  bool recent(const Refused& refused, std::uint64_t now_tick) const {
    return now_tick - refused.last_tick <= 3 * refusal_interval_ticks_;
  }
  std::map<NodeId, Refused> refused_by_;
  std::map<NodeId, Refused> refusing_;
  std::map<NodeId, Refused> logged_;  // the last refusal of each peer that an event reported
  std::map<NodeId, Sighting> sightings_;
};

// Append, Heartbeat and InstallSnapshot: what a leader sends to bring a member up to date.
bool is_leader_traffic(const Envelope& envelope);

// Boot counts are 16 bits, compared as serial numbers (they wrap).
bool incarnation_newer(std::uint32_t a, std::uint32_t b);

}  // namespace bcast
