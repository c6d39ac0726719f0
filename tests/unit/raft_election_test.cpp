// Raft leader election: one vote per term, the election restriction, PreVote, CheckQuorum,
// stale leaders, leadership transfer and the leader lease.
#include <gtest/gtest.h>

#include "raft_cluster.hpp"

namespace bcast::raft {
namespace {

using testing::RaftCluster;

RaftOptions classic_options() {
  RaftOptions options;
  options.pre_vote = false;
  options.check_quorum = false;
  return options;
}

int count_leaders(RaftCluster& c, std::initializer_list<NodeId> ids) {
  int leaders = 0;
  for (NodeId id : ids) leaders += c.is_up(id) && c.node(id).role() == Role::kLeader;
  return leaders;
}

TEST(RaftElection, SingleVoterElectsItselfAndCommits) {
  RaftCluster c({1});
  c.run_ticks(40);
  ASSERT_EQ(c.node(1).role(), Role::kLeader);
  ASSERT_TRUE(c.propose(1, "x").ok());
  c.deliver_all();
  EXPECT_EQ(c.applied_data(1), std::vector<std::string>{"x"});
}

TEST(RaftElection, TimeoutsElectExactlyOneLeader) {
  RaftCluster c({1, 2, 3});
  c.run_ticks(40);
  EXPECT_EQ(count_leaders(c, {1, 2, 3}), 1);
  const NodeId leader = c.node(1).leader();
  ASSERT_NE(leader, kNoNode);
  EXPECT_EQ(c.node(2).leader(), leader);
  EXPECT_EQ(c.node(3).leader(), leader);
}

TEST(RaftElection, NoElectionBeforeTheTimeout) {
  RaftOptions options;
  options.election_timeout_ticks = 10;
  RaftCluster c({1, 2, 3}, options);
  c.run_ticks(9);  // the randomized timeout is at least the configured one
  EXPECT_EQ(count_leaders(c, {1, 2, 3}), 0);
}

TEST(RaftElection, AVoterGrantsOneVotePerTerm) {
  RaftCluster c({1, 2, 3}, classic_options());
  // 1 and 2 campaign in the same term; 3 hears 1 first.
  c.campaign(1);
  c.campaign(2);
  auto queued = c.take_queue();
  Message from_1_to_3;
  Message from_2_to_3;
  for (const Message& m : queued) {
    if (m.type == MessageType::kVote && m.to == 3) (m.from == 1 ? from_1_to_3 : from_2_to_3) = m;
  }
  ASSERT_EQ(from_1_to_3.term, from_2_to_3.term);
  c.step(from_1_to_3);
  c.step(from_2_to_3);
  auto replies = c.take_queue();
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_FALSE(replies[0].reject);
  EXPECT_EQ(replies[0].to, 1u);
  EXPECT_TRUE(replies[1].reject);
  EXPECT_EQ(replies[1].to, 2u);
  EXPECT_EQ(c.node(3).vote(), 1u);
}

TEST(RaftElection, TheVoteSurvivesARestart) {
  RaftCluster c({1, 2, 3}, classic_options());
  c.campaign(1);
  for (const Message& m : c.take_queue()) {
    if (m.to == 3) c.step(m);
  }
  c.take_queue();
  c.crash(3);
  c.restart(3);
  EXPECT_EQ(c.node(3).vote(), 1u);
  c.campaign(2);  // same term as 1's campaign
  for (const Message& m : c.take_queue()) {
    if (m.to == 3) c.step(m);
  }
  auto replies = c.take_queue();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(replies[0].reject);
}

TEST(RaftElection, ACandidateWithAStaleLogLoses) {
  RaftCluster c({1, 2, 3}, classic_options());
  ASSERT_TRUE(c.elect(1));
  c.cut(1, 3);
  c.cut(2, 3);
  ASSERT_TRUE(c.propose(1, "a").ok());
  c.deliver_all();  // 1 and 2 hold "a"; 3 does not
  c.heal();
  c.crash(1);
  c.campaign(3);
  c.deliver_all();
  EXPECT_NE(c.node(3).role(), Role::kLeader);  // 2 refused: 3's log is behind
  EXPECT_TRUE(c.elect(2));
}

TEST(RaftElection, StaleLeaderStepsDownOnHearingANewerTerm) {
  RaftCluster c({1, 2, 3}, classic_options());
  ASSERT_TRUE(c.elect(1));
  c.deliver_all();
  c.isolate(1);
  ASSERT_TRUE(c.propose(1, "lost").ok());  // can never commit: 1 is cut off
  c.deliver_all();
  ASSERT_TRUE(c.elect(2));
  ASSERT_TRUE(c.propose(2, "kept").ok());
  c.deliver_all();
  EXPECT_EQ(c.node(1).role(), Role::kLeader);  // it has not heard yet
  c.heal();
  c.heartbeat(1);  // its heartbeat meets the new term
  c.deliver_all();
  EXPECT_EQ(c.node(1).role(), Role::kFollower);
  EXPECT_EQ(c.node(1).term(), c.node(2).term());
  c.run_ticks(3);
  EXPECT_EQ(c.applied_data(1), std::vector<std::string>{"kept"});
}

TEST(RaftElection, CheckQuorumDeposesAnIsolatedLeader) {
  RaftOptions options;
  options.election_timeout_ticks = 10;
  RaftCluster c({1, 2, 3}, options);
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  c.isolate(1);
  for (int i = 0; i < 2 * 10 && c.node(1).role() == Role::kLeader; ++i) c.run_ticks(1);
  EXPECT_NE(c.node(1).role(), Role::kLeader);
}

TEST(RaftElection, WithoutCheckQuorumAnIsolatedLeaderStays) {
  RaftCluster c({1, 2, 3}, classic_options());
  ASSERT_TRUE(c.elect(1));
  c.isolate(1);
  for (int i = 0; i < 50; ++i) c.tick(1);
  EXPECT_EQ(c.node(1).role(), Role::kLeader);
}

TEST(RaftElection, PreVoteKeepsAReturningNodeFromDisruptingTheLeader) {
  RaftOptions options;  // PreVote and CheckQuorum on
  RaftCluster c({1, 2, 3}, options);
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  const Term term = c.node(1).term();
  c.isolate(3);
  for (int i = 0; i < 100; ++i) c.run_ticks(1);  // 3 polls again and again, in vain
  EXPECT_EQ(c.node(3).term(), term);             // a poll does not raise the term
  EXPECT_GT(c.delivered_count(MessageType::kPreVote), 0);
  c.heal();
  c.run_ticks(30);
  EXPECT_EQ(c.node(1).role(), Role::kLeader);
  EXPECT_EQ(c.node(1).term(), term);
  EXPECT_EQ(c.node(3).leader(), 1u);
}

TEST(RaftElection, PreVoteRefusesACandidateWhileTheLeaderIsHeard) {
  RaftOptions options;
  RaftCluster c({1, 2, 3}, options);
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  const Term term = c.node(1).term();
  c.cut(1, 3);  // only 3 lost the leader; 2 still hears it
  c.campaign(3);
  c.deliver_all();
  EXPECT_NE(c.node(3).role(), Role::kLeader);
  EXPECT_EQ(c.node(2).term(), term);
  EXPECT_EQ(c.node(1).role(), Role::kLeader);
}

TEST(RaftElection, WithoutPreVoteAReturningNodeDisruptsTheLeader) {
  // The contrast that shows PreVote matters: the same scenario raises everyone's term.
  RaftCluster c({1, 2, 3}, classic_options());
  ASSERT_TRUE(c.elect(1));
  const Term term = c.node(1).term();
  c.isolate(3);
  for (int i = 0; i < 100; ++i) c.tick(3);
  c.heal();
  c.campaign(3);
  c.deliver_all();
  EXPECT_GT(c.node(1).term(), term);
}

TEST(RaftElection, LeadershipTransferHandsOverToAnUpToDateFollower) {
  RaftCluster c({1, 2, 3});
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  ASSERT_TRUE(c.propose(1, "a").ok());
  c.deliver_all();
  ASSERT_TRUE(c.transfer_leadership(1, 2).ok());
  c.deliver_all();
  EXPECT_EQ(c.node(2).role(), Role::kLeader);
  EXPECT_EQ(c.node(1).role(), Role::kFollower);
  EXPECT_EQ(c.node(1).leader(), 2u);
}

TEST(RaftElection, LeadershipTransferWaitsForALaggingTarget) {
  RaftCluster c({1, 2, 3});
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  c.cut(1, 3);
  ASSERT_TRUE(c.propose(1, "a").ok());
  c.deliver_all();
  ASSERT_TRUE(c.transfer_leadership(1, 3).ok());
  EXPECT_FALSE(c.propose(1, "refused during transfer").ok());
  c.deliver_all();
  EXPECT_EQ(c.node(1).role(), Role::kLeader);  // 3 cannot catch up yet
  c.heal();
  c.heartbeat(1);  // 3 answers -> catch-up append -> TimeoutNow
  c.deliver_all();
  EXPECT_EQ(c.node(3).role(), Role::kLeader);
  EXPECT_EQ(c.applied_data(3), std::vector<std::string>{"a"});
}

TEST(RaftElection, LeadershipTransferToANonVoterIsRefused) {
  RaftCluster c({1, 2, 3}, {}, {4});
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  auto result = c.transfer_leadership(1, 4);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(c.transfer_leadership(2, 3).error().code, ErrorCode::kNotLeader);
}

TEST(RaftElection, LeaseHeldOnlyWithAQuorumAndEndsBeforeAnotherLeaderCanExist) {
  RaftOptions options;
  options.election_timeout_ticks = 10;
  options.heartbeat_interval_ticks = 1;
  options.lease_drift_ticks = 1;
  RaftCluster c({1, 2, 3}, options);
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  EXPECT_EQ(c.node(1).lease_remaining_ticks(), 0u);  // nothing acknowledged yet
  c.run_ticks(2);
  ASSERT_GT(c.node(1).lease_remaining_ticks(), 0u);
  c.isolate(1);
  // Everyone ticks in lockstep. The lease must run out no later than the tick at which any
  // other node becomes leader.
  int lease_end = -1;
  int other_leader = -1;
  for (int t = 0; t < 100 && other_leader < 0; ++t) {
    c.run_ticks(1);
    if (lease_end < 0 && c.node(1).lease_remaining_ticks() == 0) lease_end = t;
    if (c.node(2).role() == Role::kLeader || c.node(3).role() == Role::kLeader) other_leader = t;
  }
  ASSERT_GE(lease_end, 0);
  ASSERT_GE(other_leader, 0);
  EXPECT_LE(lease_end, other_leader);
}

TEST(RaftElection, ARestartedNodeWaitsBeforeVotingSoLeasesStaySound) {
  RaftOptions options;
  options.election_timeout_ticks = 10;
  RaftCluster c({1, 2, 3}, options);
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  c.run_ticks(2);
  c.crash(3);
  c.restart(3);
  c.cut(1, 2);
  c.cut(1, 3);
  // 2 campaigns at once: 3 has just restarted and must refuse, because it cannot know whether
  // it acknowledged a heartbeat that 1's lease counts on.
  c.campaign(2);
  c.deliver_all();
  EXPECT_NE(c.node(2).role(), Role::kLeader);
}

// [cluster] finding (a): a transfer is abandoned after an election timeout, but its TimeoutNow may
// still be in flight. The target then campaigns with the transfer flag, which voters honour even
// inside the old leader's lease; on 83aa5b9 the old leader went on reporting a lease, so two
// leaders could believe they lead at once. Once it has sent TimeoutNow in a term, a leader holds
// no lease for the rest of that term.
TEST(RaftElection, ADelayedTimeoutNowNeverOverlapsALease) {
  RaftOptions options;
  options.election_timeout_ticks = 10;
  options.heartbeat_interval_ticks = 1;
  options.lease_drift_ticks = 1;
  RaftCluster c({1, 2, 3}, options);
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  c.run_ticks(2);
  ASSERT_TRUE(c.transfer_leadership(1, 3).ok());
  std::vector<Message> held;
  for (const Message& m : c.take_queue()) {
    if (m.type == MessageType::kTimeoutNow) held.push_back(m);
  }
  ASSERT_EQ(held.size(), 1u) << "3 is up to date: the leader sends TimeoutNow at once";
  c.cut_one_way(1, 3);  // later TimeoutNows (none expected) cannot reach 3 either
  c.run_ticks(12);      // the transfer is abandoned; heartbeats go on to 2
  ASSERT_EQ(c.node(1).role(), Role::kLeader);
  c.heal();
  c.run_ticks(2);
  // From now on node 1 hears nothing: it serves reads on its lease as long as that lasts.
  c.cut_one_way(2, 1);
  c.cut_one_way(3, 1);
  c.step(held[0]);  // the delayed TimeoutNow arrives
  c.deliver_all();
  ASSERT_EQ(c.node(3).role(), Role::kLeader) << "2 honours a transfer inside the lease";
  EXPECT_EQ(c.node(1).lease_remaining_ticks(), 0u)
      << "node 1 still holds a lease while node 3 leads";
}

// [cluster] finding (b): with PreVote off, a follower inside the lease adopts a higher term from a
// stale non-vote message (here a late append response); on 83aa5b9 it then granted a vote in that
// term although it had promised the leader not to vote for an election timeout.
TEST(RaftElection, AFollowerInsideTheLeaseDoesNotVoteAfterAdoptingAHigherTerm) {
  RaftOptions options;
  options.pre_vote = false;  // CheckQuorum (and so the lease) stays on
  options.election_timeout_ticks = 10;
  options.heartbeat_interval_ticks = 1;
  RaftCluster c({1, 2, 3}, options);
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  c.run_ticks(2);  // 2 heard from its leader just now
  const Term term = c.node(2).term();
  Message stale;
  stale.type = MessageType::kAppendResponse;
  stale.from = 3;
  stale.to = 2;
  stale.term = term + 1;
  c.step(stale);
  ASSERT_EQ(c.node(2).term(), term + 1) << "Raft adopts any higher term";
  c.take_queue();
  Message vote;
  vote.type = MessageType::kVote;
  vote.from = 3;
  vote.to = 2;
  vote.term = term + 1;
  vote.index = c.node(3).log().last_index();
  vote.log_term = c.node(3).log().last_term();
  c.step(vote);
  bool answered = false;
  for (const Message& m : c.take_queue()) {
    if (m.type == MessageType::kVoteResponse && m.from == 2) {
      answered = true;
      EXPECT_TRUE(m.reject) << "2 voted inside the lease of node 1";
    }
  }
  EXPECT_TRUE(answered);
  EXPECT_EQ(c.node(2).vote(), kNoNode);
}

}  // namespace
}  // namespace bcast::raft
