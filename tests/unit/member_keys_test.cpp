// Members' CURVE keys carried by the committed configuration (`cluster add ID=ADDR --key KEY`):
// the ConfChange and registry image encodings, old and new, and the rules that merge them with
// the keys a daemon was started with (core/membership/member_keys.hpp).
#include "core/membership/member_keys.hpp"

#include <gtest/gtest.h>

#include "core/byte_codec.hpp"
#include "core/membership/cluster_registry.hpp"

namespace bcast {
namespace {

// Two valid Z85 public keys (from bcastctl keygen).
const std::string kKeyA = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const std::string kKeyB = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
const std::string kKeyC = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

raft::Entry conf_entry(raft::ConfChange change) {
  raft::Entry entry;
  entry.type = raft::EntryType::kConfChange;
  entry.data = raft::encode_conf_change(change);
  return entry;
}

raft::ConfChange add_learner(NodeId node, std::string address, std::string key = {}) {
  raft::ConfChange change;
  change.type = raft::ConfChangeType::kAddLearner;
  change.node = node;
  change.address = std::move(address);
  change.promote_when_caught_up = true;
  change.public_key = std::move(key);
  return change;
}

// The bytes a daemon without keys wrote for `cluster add 4=tcp://127.0.0.1:7404`: logs on
// disk hold such entries, and they must keep decoding as they did.
TEST(ConfChangeKeyEncoding, AnEntryWrittenBeforeKeysDecodesAsBefore) {
  std::string old_entry;
  old_entry.push_back(static_cast<char>(raft::ConfChangeType::kAddLearner));
  put_le<std::uint64_t>(old_entry, 4);
  old_entry.push_back(1);  // promote_when_caught_up
  old_entry += "tcp://127.0.0.1:7404";
  const auto decoded = raft::decode_conf_change(old_entry);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->node, 4u);
  EXPECT_TRUE(decoded->promote_when_caught_up);
  EXPECT_EQ(decoded->address, "tcp://127.0.0.1:7404");
  EXPECT_TRUE(decoded->public_key.empty());
  // A change without a key is still written exactly that way (older daemons read it).
  EXPECT_EQ(raft::encode_conf_change(*decoded), old_entry);
}

TEST(ConfChangeKeyEncoding, AKeyRoundTripsBesideTheAddressAndFlags) {
  for (bool promote : {false, true}) {
    raft::ConfChange change = add_learner(4, "tcp://127.0.0.1:7404", kKeyA);
    change.promote_when_caught_up = promote;
    const auto decoded = raft::decode_conf_change(raft::encode_conf_change(change));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, change);
  }
}

TEST(ConfChangeKeyEncoding, ATruncatedKeyIsRefused) {
  const std::string encoded = raft::encode_conf_change(add_learner(4, "", kKeyA));
  ASSERT_EQ(encoded.size(), 10u + raft::ConfChange::kPublicKeyChars);
  EXPECT_TRUE(raft::decode_conf_change(encoded).has_value());
  EXPECT_FALSE(raft::decode_conf_change(encoded.substr(0, encoded.size() - 1)).has_value());
  std::string unknown_flag = encoded;
  unknown_flag[9] = 4;
  EXPECT_FALSE(raft::decode_conf_change(unknown_flag).has_value());
}

TEST(RegistryKeys, AKeyStaysThroughPromotionAndGoesWithRemoval) {
  ClusterRegistry registry;
  registry.apply(conf_entry(add_learner(4, "tcp://127.0.0.1:7404", kKeyA)));
  ASSERT_NE(registry.member(4), nullptr);
  EXPECT_EQ(registry.member(4)->public_key, kKeyA);
  raft::ConfChange promote;
  promote.type = raft::ConfChangeType::kAddVoter;
  promote.node = 4;
  registry.apply(conf_entry(promote));
  EXPECT_EQ(registry.member(4)->public_key, kKeyA);
  raft::ConfChange remove;
  remove.type = raft::ConfChangeType::kRemoveNode;
  remove.node = 4;
  registry.apply(conf_entry(remove));
  EXPECT_EQ(registry.member(4), nullptr);
  EXPECT_TRUE(registry.removed(4));
}

TEST(RegistryKeys, TheImageKeepsKeysAndOldImagesStillDecode) {
  ClusterRegistry registry;
  registry.apply(conf_entry(add_learner(4, "tcp://127.0.0.1:7404", kKeyA)));
  registry.apply(conf_entry(add_learner(5, "tcp://127.0.0.1:7405")));
  auto decoded = ClusterRegistry::decode(registry.encode());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded.value().members(), registry.members());
  EXPECT_EQ(decoded.value().member(4)->public_key, kKeyA);

  // A version 1 image (before keys), as earlier daemons wrote it in snapshots: one member.
  std::string old_image;
  put_le<std::uint8_t>(old_image, 1);
  put_le<std::uint64_t>(old_image, 0xabcd);  // cluster id
  put_le<std::uint32_t>(old_image, 1);
  put_le<std::uint64_t>(old_image, 2);  // node
  put_bytes(old_image, "tcp://127.0.0.1:7402");
  put_le<std::uint64_t>(old_image, 77);  // identity
  put_le<std::uint32_t>(old_image, 3);   // incarnation
  put_le<std::uint8_t>(old_image, 0);    // promote
  put_le<std::uint32_t>(old_image, 0);   // highest incarnations
  put_le<std::uint32_t>(old_image, 0);   // first incarnations
  auto old = ClusterRegistry::decode(old_image);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old.value().cluster_id(), 0xabcdu);
  ASSERT_NE(old.value().member(2), nullptr);
  EXPECT_EQ(old.value().member(2)->address, "tcp://127.0.0.1:7402");
  EXPECT_TRUE(old.value().member(2)->public_key.empty());
  // Without keys the image is still written as version 1, byte for byte.
  EXPECT_EQ(old.value().encode(), old_image);
}

TEST(MemberKeys, ARegistryKeyAdmitsAMemberAddedAtRunTime) {
  ClusterRegistry registry;
  registry.apply(conf_entry(add_learner(4, "tcp://127.0.0.1:7404", kKeyC)));
  const MemberKeys merged = member_keys({{1, kKeyA}, {2, kKeyB}}, registry, 1);
  EXPECT_EQ(merged.keys, (std::map<NodeId, std::string>{{1, kKeyA}, {2, kKeyB}, {4, kKeyC}}));
  EXPECT_TRUE(merged.conflicts.empty());
}

TEST(MemberKeys, ARemovedMemberLosesItsKeyWhereverItCameFrom) {
  ClusterRegistry registry;
  registry.apply(conf_entry(add_learner(4, "tcp://127.0.0.1:7404", kKeyC)));
  registry.apply(conf_entry(add_learner(5, "tcp://127.0.0.1:7405")));
  for (NodeId node : {4, 5}) {
    raft::ConfChange remove;
    remove.type = raft::ConfChangeType::kRemoveNode;
    remove.node = node;
    registry.apply(conf_entry(remove));
  }
  // Node 5 was keyed by --peer-key only; node 6 was never a member (a key provisioned ahead).
  const MemberKeys merged = member_keys({{1, kKeyA}, {5, kKeyB}, {6, kKeyC}}, registry, 1);
  EXPECT_EQ(merged.keys, (std::map<NodeId, std::string>{{1, kKeyA}, {6, kKeyC}}));
}

TEST(MemberKeys, TheRegistryWinsOverADifferentPeerKeyAndSaysSo) {
  ClusterRegistry registry;
  registry.apply(conf_entry(add_learner(4, "tcp://127.0.0.1:7404", kKeyC)));
  const MemberKeys merged = member_keys({{1, kKeyA}, {4, kKeyB}}, registry, 1);
  EXPECT_EQ(merged.keys.at(4), kKeyC);
  ASSERT_EQ(merged.conflicts.size(), 1u);
  EXPECT_NE(merged.conflicts[0].find("differs from the key the cluster configuration holds"),
            std::string::npos);
}

TEST(MemberKeys, OneKeyBindsOneNode) {
  // --peer-key 2=C while the registry gives C to node 4: C speaks for node 4 only.
  ClusterRegistry registry;
  registry.apply(conf_entry(add_learner(4, "tcp://127.0.0.1:7404", kKeyC)));
  const MemberKeys merged = member_keys({{1, kKeyA}, {2, kKeyC}}, registry, 1);
  EXPECT_EQ(merged.keys, (std::map<NodeId, std::string>{{1, kKeyA}, {4, kKeyC}}));
  ASSERT_EQ(merged.conflicts.size(), 1u);
}

TEST(MemberKeys, ADaemonKeepsItsOwnKeyAndReportsAnotherInTheRegistry) {
  ClusterRegistry registry;
  registry.apply(conf_entry(add_learner(4, "tcp://127.0.0.1:7404", kKeyC)));
  const MemberKeys merged = member_keys({{1, kKeyA}, {4, kKeyB}}, registry, 4);
  EXPECT_EQ(merged.keys.at(4), kKeyB);
  ASSERT_EQ(merged.conflicts.size(), 1u);
  EXPECT_NE(merged.conflicts[0].find("this daemon"), std::string::npos);
}

}  // namespace
}  // namespace bcast
