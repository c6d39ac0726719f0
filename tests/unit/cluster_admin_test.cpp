// ClusterAdmin at the leader: which run-time membership requests it accepts.
#include "core/membership/cluster_admin.hpp"

#include <gtest/gtest.h>

#include "raft_cluster.hpp"

namespace bcast {
namespace {

using raft::testing::RaftCluster;

ClusterRegistry registry_with_cluster_id() {
  ClusterRegistry registry;
  raft::Entry entry;
  entry.type = raft::EntryType::kMembership;
  entry.data = encode_membership_record(ClusterIdRecord{42});
  registry.apply(entry);
  return registry;
}

// The answer to one request made at the leader (node 1), once the change is proposed or refused.
std::vector<AdminResult> promote(ClusterAdmin& admin, raft::Raft& leader,
                                 const ClusterRegistry& registry, NodeId learner) {
  Outbox out;
  admin.submit(7, AdminRequest{AdminRequest::Kind::kPromote, learner, "", false}, leader, registry,
               0, out);
  return out.admin_results;
}

TEST(ClusterAdmin, RefusesToPromoteALearnerFarBehindAndPromotesItOnceCaughtUp) {
  RaftCluster c({1, 2, 3}, {}, {4});
  c.run_ticks(1);
  ASSERT_TRUE(c.elect(1));
  c.isolate(4);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(c.propose(1, "entry " + std::to_string(i)).ok());
  c.deliver_all();
  const ClusterRegistry registry = registry_with_cluster_id();
  ASSERT_EQ(registry.cluster_id(), 42u);
  ClusterAdmin admin(1, 100);

  const auto refused = promote(admin, c.node(1), registry, 4);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_FALSE(refused[0].ok);
  EXPECT_EQ(refused[0].code, ErrorCode::kUnavailable);
  EXPECT_NE(refused[0].message.find("has not caught up"), std::string::npos) << refused[0].message;
  EXPECT_TRUE(c.node(1).conf().is_learner(4));

  c.heal();
  c.run_ticks(5);  // heartbeats find the learner behind; appends bring it level
  EXPECT_TRUE(promote(admin, c.node(1), registry, 4).empty()) << "proposed, answered on commit";
  EXPECT_TRUE(c.node(1).conf().is_voter(4));
}

}  // namespace
}  // namespace bcast
