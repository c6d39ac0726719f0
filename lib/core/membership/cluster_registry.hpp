// The cluster's own record of itself, replicated through the Raft log: which cluster this is,
// and for every member how to reach it and which data directory speaks for it.
//
// Raft's configuration (voters and learners) says who counts; the registry says who is who. It
// is built only from committed entries, so every daemon holds the same registry at the same log
// position, and it travels in snapshots:
//   * the bootstrap entries (core/membership/bootstrap.hpp) name the cluster (its id) and the
//     initial members with their addresses;
//   * every ConfChange that adds a member carries its address (and whether the leader promotes
//     it once it has caught up); a removal forgets the member but not the boot counts its node
//     id used, so a later member with the same id starts above them;
//   * kMembership "seen" records bind a member's node id to the identity of its data directory
//     (a random number made when the directory was created) the first time the leader hears
//     from it, and record its newest boot count (incarnation).
// A daemon whose data directory was wiped comes back with a new identity: peers refuse it, as
// they refuse a daemon of another cluster, until it is removed and added again.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "bcast/result.hpp"
#include "core/raft/types.hpp"

namespace bcast {

struct MemberRecord {
  std::string address;            // peer endpoint, tcp://IP:PORT
  std::uint64_t identity = 0;     // its data directory's identity; 0 until first heard
  std::uint32_t incarnation = 0;  // the newest boot count committed
  bool promote_when_caught_up = false;
  // Its CURVE public key (Z85) if `cluster add --key` gave one: every daemon lets it in, bound
  // to this node id, for as long as it is a member (docs/security.md).
  std::string public_key;

  bool operator==(const MemberRecord&) const = default;
};

// The payloads of kMembership entries.
struct ClusterIdRecord {
  std::uint64_t cluster_id = 0;
};
struct MemberSeenRecord {
  NodeId node = kNoNode;
  std::uint64_t identity = 0;
  std::uint32_t incarnation = 0;
};
std::string encode_membership_record(const ClusterIdRecord& record);
std::string encode_membership_record(const MemberSeenRecord& record);

class ClusterRegistry {
 public:
  // 0 for a cluster bootstrapped before the registry existed (its members are named by
  // --peer only); such a cluster runs, but cannot check identities.
  std::uint64_t cluster_id() const { return cluster_id_; }
  const std::map<NodeId, MemberRecord>& members() const { return members_; }
  const MemberRecord* member(NodeId node) const;
  // A node id that was a member (it was heard from) and has been removed since.
  bool removed(NodeId node) const {
    return !members_.contains(node) && highest_incarnation_.contains(node);
  }
  // An incarnation of a node id that was removed and added again since: the new member's boot
  // counts start above it, so it belongs to a daemon that is gone for good.
  bool superseded(NodeId node, std::uint32_t incarnation) const;
  // The boot count a new member with this node id must start above every earlier one's. The
  // registry records only the boot counts the leader heard while the node was a member; a
  // daemon restarted while its removal was pending, or after it, is refused and never recorded
  // (sim seed 12070 of SimMembership.ThreeVoters in the long mode: a new daemon reused such a
  // boot count and its messages passed for the old one's). Hence a wide gap above the highest
  // recorded; boot counts compare as 16-bit serial numbers, so it must stay far below 2^15.
  std::uint32_t incarnation_floor(NodeId node) const;
  static constexpr std::uint32_t kReaddedIncarnationGap = 1000;
  // Applies a committed entry; anything but ConfChange and kMembership entries is ignored. An
  // undecodable record is counted as an anomaly (the leader encoded it: a bug or damage).
  void apply(const raft::Entry& entry);
  std::uint64_t anomalies() const { return anomalies_; }

  std::string encode() const;
  static Result<ClusterRegistry> decode(std::string_view image);

 private:
  void apply_conf_change(const raft::ConfChange& change);
  void apply_seen(const MemberSeenRecord& record);

  std::uint64_t cluster_id_ = 0;
  std::map<NodeId, MemberRecord> members_;
  std::map<NodeId, std::uint32_t> highest_incarnation_;  // every node id ever seen, members or not
  std::map<NodeId, std::uint32_t> first_incarnation_;    // of a node id added again: its floor
  std::uint64_t anomalies_ = 0;
};

}  // namespace bcast
