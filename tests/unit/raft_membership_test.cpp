// Raft membership: learners, single-server changes through the log, and their limits.
#include <gtest/gtest.h>

#include "raft_cluster.hpp"

namespace bcast::raft {
namespace {

using testing::RaftCluster;

TEST(RaftMembership, ALearnerReceivesTheLogButNeverVotesOrCounts) {
  RaftCluster c({1, 2, 3}, {}, {4});
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  ASSERT_TRUE(c.propose(1, "a").ok());
  c.deliver_all();
  EXPECT_EQ(c.applied_data(4), std::vector<std::string>{"a"});
  EXPECT_TRUE(c.node(4).is_learner());
  // With both other voters cut off, the learner's acknowledgement does not make a quorum.
  c.cut(1, 2);
  c.cut(1, 3);
  const LogIndex committed = c.node(1).log().committed();
  ASSERT_TRUE(c.propose(1, "b").ok());
  c.deliver_all();
  EXPECT_EQ(c.node(4).log().last_index(), c.node(1).log().last_index());
  EXPECT_EQ(c.node(1).log().committed(), committed);
  // A learner never campaigns, however long it waits.
  c.heal();
  c.isolate(4);
  for (int i = 0; i < 100; ++i) c.tick(4);
  EXPECT_EQ(c.node(4).role(), Role::kFollower);
  for (const Message& m : c.take_queue()) EXPECT_NE(m.from, 4u) << message_type_name(m.type);
}

TEST(RaftMembership, ANewNodeJoinsAsALearnerCatchesUpAndIsPromoted) {
  RaftOptions options;
  options.retained_entries_behind_snapshot = 0;  // the newcomer must start from a snapshot
  RaftCluster c({1, 2, 3}, options);
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.propose(1, std::to_string(i)).ok());
  c.deliver_all();
  c.compact(1);
  c.add_node(4);
  ASSERT_TRUE(c.propose_conf_change(1, {ConfChangeType::kAddLearner, 4}).ok());
  c.run_ticks(3);
  EXPECT_TRUE(c.node(4).is_learner());
  EXPECT_GT(c.delivered_count(MessageType::kInstallSnapshot), 0);
  EXPECT_EQ(c.applied_data(4), c.applied_data(1));
  ASSERT_TRUE(c.propose_conf_change(1, {ConfChangeType::kAddVoter, 4}).ok());
  c.run_ticks(3);
  EXPECT_TRUE(c.node(4).is_voter());
  EXPECT_EQ(c.node(1).conf().voters, (std::vector<NodeId>{1, 2, 3, 4}));
  // Four voters need three: with 2 and 3 cut off, nothing commits even though 4 acknowledges.
  c.cut(1, 2);
  c.cut(1, 3);
  const LogIndex committed = c.node(1).log().committed();
  ASSERT_TRUE(c.propose(1, "x").ok());
  c.deliver_all();
  EXPECT_EQ(c.node(1).log().committed(), committed);
}

// [cluster] finding: on 83aa5b9 a node added with AddVoter before the leader's first compaction
// received the log from index 1 and replayed its ConfChange entries on an empty base
// configuration: it believed itself the only voter, elected itself alone and committed entries
// nobody else had. With the initial configuration in the log it replays that too.
TEST(RaftMembership, ANodeJoiningBeforeAnySnapshotLearnsTheWholeConfiguration) {
  RaftCluster c({1, 2, 3}, {}, {}, RaftCluster::Bootstrap::kInTheLog);
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.propose(1, std::to_string(i)).ok());
  c.deliver_all();
  ASSERT_EQ(c.node(1).log().snapshot_meta().index, 0u) << "no compaction: the log starts at 1";
  c.add_node(4);
  ASSERT_TRUE(c.propose_conf_change(1, {ConfChangeType::kAddLearner, 4}).ok());
  c.run_ticks(3);
  EXPECT_EQ(c.delivered_count(MessageType::kInstallSnapshot), 0) << "it must learn from the log";
  EXPECT_EQ(c.node(4).conf(), c.node(1).conf());
  ASSERT_TRUE(c.propose_conf_change(1, {ConfChangeType::kAddVoter, 4}).ok());
  c.run_ticks(3);
  EXPECT_EQ(c.node(4).conf().voters, (std::vector<NodeId>{1, 2, 3, 4}));
  EXPECT_EQ(c.applied_data(4), c.applied_data(1));
  // Alone, it cannot win: it needs three of four votes.
  c.isolate(4);
  for (int i = 0; i < 200; ++i) c.tick(4);
  c.take_queue();
  EXPECT_NE(c.node(4).role(), Role::kLeader) << "the joiner elected itself alone";
}

// The same join in a cluster whose initial configuration is beside the log (made by an earlier
// version): the leader refuses it until a snapshot has replaced the log's start.
TEST(RaftMembership, WithoutTheConfigurationInTheLogAJoinWaitsForASnapshot) {
  RaftCluster c({1, 2, 3});
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  ASSERT_TRUE(c.propose(1, "a").ok());
  c.deliver_all();
  auto refused = c.propose_conf_change(1, {ConfChangeType::kAddLearner, 4});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kBusy);
  c.compact(1);
  c.add_node(4);
  ASSERT_TRUE(c.propose_conf_change(1, {ConfChangeType::kAddLearner, 4}).ok());
  c.run_ticks(3);
  EXPECT_GT(c.delivered_count(MessageType::kInstallSnapshot), 0);
  EXPECT_EQ(c.node(4).conf(), c.node(1).conf());
}

TEST(RaftMembership, OneChangeAtATime) {
  RaftCluster c({1, 2, 3}, {}, {}, RaftCluster::Bootstrap::kInTheLog);
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  c.deliver_all();
  c.isolate(1);  // the first change cannot commit
  ASSERT_TRUE(c.propose_conf_change(1, {ConfChangeType::kAddLearner, 4}).ok());
  auto second = c.propose_conf_change(1, {ConfChangeType::kAddLearner, 5});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kBusy);
}

TEST(RaftMembership, NoChangeBeforeTheNewLeaderCommitsInItsTerm) {
  RaftCluster c({1, 2, 3});
  c.run_ticks(1);
  c.campaign(1);
  // Votes arrive, the no-op does not: nothing of the new term is committed yet.
  for (auto queued = c.take_queue(); !queued.empty(); queued = c.take_queue()) {
    for (const Message& m : queued) {
      if (m.type != MessageType::kAppend) c.step(m);
    }
  }
  ASSERT_EQ(c.node(1).role(), Role::kLeader);
  auto change = c.propose_conf_change(1, {ConfChangeType::kAddLearner, 4});
  ASSERT_FALSE(change.ok());
  EXPECT_EQ(change.error().code, ErrorCode::kBusy);
}

TEST(RaftMembership, InvalidChangesAreRefused) {
  RaftCluster c({1, 2, 3});
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  c.deliver_all();
  EXPECT_EQ(c.propose_conf_change(1, {ConfChangeType::kAddVoter, 2}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(c.propose_conf_change(1, {ConfChangeType::kRemoveNode, 9}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(c.propose_conf_change(2, {ConfChangeType::kAddLearner, 9}).error().code,
            ErrorCode::kNotLeader);
}

TEST(RaftMembership, RemovingAVoterShrinksTheQuorum) {
  RaftCluster c({1, 2, 3});
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  c.deliver_all();
  ASSERT_TRUE(c.propose_conf_change(1, {ConfChangeType::kRemoveNode, 3}).ok());
  c.run_ticks(2);
  EXPECT_EQ(c.node(1).conf().voters, (std::vector<NodeId>{1, 2}));
  c.crash(3);
  ASSERT_TRUE(c.propose(1, "after").ok());
  c.run_ticks(2);
  EXPECT_EQ(c.applied_data(2), std::vector<std::string>{"after"});
}

TEST(RaftMembership, ALeaderThatRemovesItselfStepsDownOnceTheRemovalCommits) {
  RaftCluster c({1, 2, 3});
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  c.deliver_all();
  ASSERT_TRUE(c.propose_conf_change(1, {ConfChangeType::kRemoveNode, 1}).ok());
  c.deliver_all();
  EXPECT_NE(c.node(1).role(), Role::kLeader);
  EXPECT_FALSE(c.node(1).is_voter());
  // The remaining two elect a leader between them and keep committing.
  c.run_ticks(60);
  const NodeId leader = c.node(2).leader();
  ASSERT_TRUE(leader == 2 || leader == 3);
  ASSERT_TRUE(c.propose(leader, "still here").ok());
  c.run_ticks(2);
  EXPECT_EQ(c.applied_data(2), std::vector<std::string>{"still here"});
  EXPECT_EQ(c.applied_data(3), std::vector<std::string>{"still here"});
}

TEST(RaftMembership, AnUncommittedChangeIsRevertedWhenItsEntryIsOverwritten) {
  RaftCluster c({1, 2, 3, 4, 5}, {}, {}, RaftCluster::Bootstrap::kInTheLog);
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  c.deliver_all();
  for (NodeId other : {3, 4, 5}) c.cut(1, other);
  ASSERT_TRUE(c.propose_conf_change(1, {ConfChangeType::kAddLearner, 9}).ok());
  c.deliver_all();
  ASSERT_TRUE(c.node(2).conf().is_learner(9));  // in effect as soon as it is in the log
  // 1 dies; 3, 4 and 5 elect a leader without 2 and overwrite the uncommitted change.
  c.crash(1);
  c.isolate(2);
  c.run_ticks(60);
  NodeId leader = kNoNode;
  for (NodeId id : {3, 4, 5}) {
    if (c.node(id).role() == Role::kLeader) leader = id;
  }
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(c.propose(leader, "x").ok());
  c.heal();
  c.run_ticks(5);
  EXPECT_FALSE(c.node(2).conf().is_learner(9));
  EXPECT_EQ(c.node(2).conf(), c.node(leader).conf());
  EXPECT_EQ(c.applied_data(2), std::vector<std::string>{"x"});
}

}  // namespace
}  // namespace bcast::raft
