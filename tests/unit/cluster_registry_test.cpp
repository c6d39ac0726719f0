// ClusterRegistry: which data directory (identity) each member's node id is bound to.
#include "core/membership/cluster_registry.hpp"

#include <gtest/gtest.h>

namespace bcast {
namespace {

raft::Entry conf_entry(raft::ConfChangeType type, NodeId node, std::string address = {}) {
  raft::ConfChange change;
  change.type = type;
  change.node = node;
  change.address = std::move(address);
  raft::Entry entry;
  entry.type = raft::EntryType::kConfChange;
  entry.data = raft::encode_conf_change(change);
  return entry;
}

raft::Entry seen_entry(NodeId node, std::uint64_t identity, std::uint32_t incarnation) {
  raft::Entry entry;
  entry.type = raft::EntryType::kMembership;
  entry.data = encode_membership_record(MemberSeenRecord{node, identity, incarnation});
  return entry;
}

TEST(ClusterRegistry, TheFirstIdentityHeardBindsAMemberAndAnotherDoesNotRebindIt) {
  ClusterRegistry registry;
  registry.apply(conf_entry(raft::ConfChangeType::kAddVoter, 4, "tcp://127.0.0.1:7404"));
  registry.apply(seen_entry(4, 1111, 1));
  registry.apply(seen_entry(4, 2222, 2));
  ASSERT_NE(registry.member(4), nullptr);
  EXPECT_EQ(registry.member(4)->identity, 1111u);
  EXPECT_EQ(registry.member(4)->incarnation, 1u);
  EXPECT_EQ(registry.anomalies(), 0u);
}

// Seen records about a removed daemon can commit after the node id was added again: proposed
// before the removal, or from a late message of the old daemon. They must not bind the new
// member to the old data directory, which would refuse the new daemon for good.
TEST(ClusterRegistry, ARecordAboutAnEarlierLifeDoesNotBindANodeIdAddedAgain) {
  ClusterRegistry registry;
  registry.apply(conf_entry(raft::ConfChangeType::kAddVoter, 6, "tcp://127.0.0.1:7406"));
  registry.apply(seen_entry(6, 1111, 1));
  registry.apply(conf_entry(raft::ConfChangeType::kRemoveNode, 6));
  registry.apply(conf_entry(raft::ConfChangeType::kAddLearner, 6, "tcp://127.0.0.1:7406"));
  // Boot counts of the new daemon start well above the old one's: the old one may have
  // restarted unrecorded (refused) while its removal was pending.
  const std::uint32_t floor = registry.incarnation_floor(6);
  EXPECT_EQ(floor, 1u + ClusterRegistry::kReaddedIncarnationGap);
  registry.apply(seen_entry(6, 1111, 2));  // the old daemon, restarted, late
  ASSERT_NE(registry.member(6), nullptr);
  EXPECT_EQ(registry.member(6)->identity, 0u) << "bound to the removed daemon's directory";
  registry.apply(seen_entry(6, 3333, floor));  // the new daemon, from its boot count floor
  EXPECT_EQ(registry.member(6)->identity, 3333u);
  EXPECT_EQ(registry.member(6)->incarnation, floor);
}

}  // namespace
}  // namespace bcast
