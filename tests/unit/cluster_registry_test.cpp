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

// Found by fuzz_conf_change: an empty extension (flag byte 0, no address) decoded as the plain
// change, a second encoding of one change.
TEST(ConfChangeEncoding, OneEncodingPerChange) {
  raft::ConfChange plain;
  plain.node = 4;
  const std::string encoded = raft::encode_conf_change(plain);
  ASSERT_EQ(encoded.size(), 9u);
  ASSERT_TRUE(raft::decode_conf_change(encoded).has_value());
  EXPECT_FALSE(raft::decode_conf_change(encoded + std::string(1, '\0')).has_value());
  plain.promote_when_caught_up = true;
  const auto promoted = raft::decode_conf_change(raft::encode_conf_change(plain));
  ASSERT_TRUE(promoted.has_value());
  EXPECT_TRUE(promoted->promote_when_caught_up);
  plain.promote_when_caught_up = false;
  plain.address = "tcp://127.0.0.1:7404";
  const auto addressed = raft::decode_conf_change(raft::encode_conf_change(plain));
  ASSERT_TRUE(addressed.has_value());
  EXPECT_EQ(addressed->address, plain.address);
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

TEST(ClusterRegistry, ANodeIdRemovedBeforeAnyBootCountWasRecordedStartsANewSeriesWhenAddedAgain) {
  ClusterRegistry registry;
  registry.apply(conf_entry(raft::ConfChangeType::kAddVoter, 5, "tcp://127.0.0.1:7405"));
  EXPECT_EQ(registry.incarnation_floor(5), 1u);
  // Removed before the leader committed any "seen" record of the daemon that joined as 5.
  registry.apply(conf_entry(raft::ConfChangeType::kRemoveNode, 5));
  EXPECT_TRUE(registry.removed(5));
  registry.apply(conf_entry(raft::ConfChangeType::kAddLearner, 5, "tcp://127.0.0.1:7405"));
  // The removed daemon booted (at least) once: the new one must not reuse boot count 1.
  EXPECT_GT(registry.incarnation_floor(5), 1u);
  EXPECT_TRUE(registry.superseded(5, 1));
  const auto image = ClusterRegistry::decode(registry.encode());
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(image.value().incarnation_floor(5), registry.incarnation_floor(5));
}

}  // namespace
}  // namespace bcast
