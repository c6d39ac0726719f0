// Peer validation (core/membership/peer_validation.hpp): each rule refuses what the [security]
// findings forged, and lets the same message through when an honest daemon would send it.
#include "core/membership/peer_validation.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <memory>

namespace bcast {
namespace {

// Node 1 receives, in term 5, led by node 3.
constexpr ValidationContext kFollower{1, 5, 3, kNoNode};

Envelope from_node(NodeId from, PeerMessage message, NodeId to = 1) {
  Envelope envelope;
  envelope.from = from;
  envelope.to = to;
  envelope.origin = make_origin_id(from, 1);
  envelope.message = std::move(message);
  return envelope;
}

raft::Message raft_message(raft::MessageType type, NodeId from, Term term, NodeId to = 1) {
  raft::Message m;
  m.type = type;
  m.from = from;
  m.to = to;
  m.term = term;
  return m;
}

DataPush push(NodeId origin_node_id, Mode mode) {
  BroadcastMessage message;
  message.sender = make_sender_id(origin_node_id, 1, 9);
  message.seq = 1;
  message.stream_seq = 1;
  message.group = "g";
  message.mode = mode;
  message.payload = std::make_shared<const std::string>("x");
  return DataPush{message, 0, false};
}

TEST(PeerValidation, AnHonestLeadersTrafficPasses) {
  for (auto type : {raft::MessageType::kAppend, raft::MessageType::kHeartbeat}) {
    EXPECT_EQ(invalid_for_sender(from_node(3, raft_message(type, 3, 5)), kFollower), std::nullopt);
  }
  // A new term's leader, and any node before this one knows the term's leader.
  EXPECT_EQ(
      invalid_for_sender(from_node(2, raft_message(raft::MessageType::kAppend, 2, 6)), kFollower),
      std::nullopt);
  const ValidationContext no_leader{1, 5, kNoNode, kNoNode};
  EXPECT_EQ(
      invalid_for_sender(from_node(2, raft_message(raft::MessageType::kAppend, 2, 5)), no_leader),
      std::nullopt);
}

TEST(PeerValidation, ASecondLeaderInTheSameTermIsRefused) {
  // The forged Append that split the total order, and the phantom heartbeats.
  for (auto type : {raft::MessageType::kAppend, raft::MessageType::kHeartbeat,
                    raft::MessageType::kInstallSnapshot}) {
    auto reason = invalid_for_sender(from_node(2, raft_message(type, 2, 5)), kFollower);
    ASSERT_TRUE(reason.has_value());
    EXPECT_NE(reason->find("one leader per term"), std::string::npos) << *reason;
  }
}

TEST(PeerValidation, TermsNearTheTopOrFarAheadAreRefusedNeverWrapped) {
  const Term top = std::numeric_limits<Term>::max();
  EXPECT_TRUE(
      invalid_for_sender(from_node(2, raft_message(raft::MessageType::kVote, 2, top)), kFollower));
  EXPECT_TRUE(invalid_for_sender(
      from_node(2, raft_message(raft::MessageType::kHeartbeat, 2, 5 + kMaxTermsAhead + 1)),
      kFollower));
  EXPECT_EQ(
      invalid_for_sender(
          from_node(2, raft_message(raft::MessageType::kVote, 2, 5 + kMaxTermsAhead)), kFollower),
      std::nullopt);
  auto append = raft_message(raft::MessageType::kAppend, 3, 5);
  append.commit = top;
  EXPECT_TRUE(invalid_for_sender(from_node(3, append), kFollower));
  append.commit = 0;
  append.entries.push_back(raft::Entry{top, 1, raft::EntryType::kNormal, {}});
  EXPECT_TRUE(invalid_for_sender(from_node(3, append), kFollower));
}

TEST(PeerValidation, ATransferVoteReachesTheLeaderOnlyFromItsTransferTarget) {
  auto vote = raft_message(raft::MessageType::kVote, 2, 6);
  vote.context = raft::kCampaignTransfer;
  const ValidationContext leading{1, 5, 1, kNoNode};
  auto reason = invalid_for_sender(from_node(2, vote), leading);
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("not handing over"), std::string::npos);
  const ValidationContext transferring{1, 5, 1, 2};
  EXPECT_EQ(invalid_for_sender(from_node(2, vote), transferring), std::nullopt);
  // Without the flag it is an ordinary vote request (the lease decides).
  vote.context = 0;
  EXPECT_EQ(invalid_for_sender(from_node(2, vote), leading), std::nullopt);
}

TEST(PeerValidation, ANodeSpeaksOnlyForItself) {
  // A Raft message whose own sender differs from the envelope's.
  EXPECT_TRUE(invalid_for_sender(from_node(2, raft_message(raft::MessageType::kVoteResponse, 3, 5)),
                                 kFollower));
  // The envelope stamped with another node's origin.
  Envelope stamped = from_node(2, Hello{make_origin_id(2, 1)});
  stamped.origin = make_origin_id(3, 1);
  EXPECT_TRUE(invalid_for_sender(stamped, kFollower));
  // Hello and Digest of another origin (welcomes are relayed: any origin).
  EXPECT_TRUE(invalid_for_sender(from_node(2, Hello{make_origin_id(3, 1)}), kFollower));
  EXPECT_EQ(invalid_for_sender(from_node(2, Hello{make_origin_id(2, 1)}), kFollower), std::nullopt);
  Digest digest;
  digest.from = make_origin_id(3, 1);
  EXPECT_TRUE(invalid_for_sender(from_node(2, digest), kFollower));
  Welcome welcome;
  welcome.from = make_origin_id(3, 1);
  EXPECT_EQ(invalid_for_sender(from_node(2, welcome), kFollower), std::nullopt);
  // Best-effort is never relayed: only the origin pushes it. Reliable is relayed by anyone.
  EXPECT_TRUE(invalid_for_sender(from_node(2, push(3, Mode::kBestEffort)), kFollower));
  EXPECT_EQ(invalid_for_sender(from_node(2, push(2, Mode::kBestEffort)), kFollower), std::nullopt);
  EXPECT_EQ(invalid_for_sender(from_node(2, push(3, Mode::kReliable)), kFollower), std::nullopt);
  // An origin forwards only its own total-order messages.
  TotalForward forward;
  forward.messages.push_back(push(3, Mode::kReliable).message);
  EXPECT_TRUE(invalid_for_sender(from_node(2, forward), kFollower));
}

}  // namespace
}  // namespace bcast
