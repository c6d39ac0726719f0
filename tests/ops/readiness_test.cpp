// /readyz's rule (lib/io/daemon_status.hpp), case by case, and /status.json's shape.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/daemon_status.hpp"
#include "io/http_server.hpp"

namespace bcast::io {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

ReadinessInputs follower_in_step() {
  ReadinessInputs in;
  in.serving = true;
  in.member = true;
  in.leader = 1;
  in.commit_index = 10;
  in.applied_index = 10;
  in.leader_commit = 10;
  in.now = Clock::time_point(100s);
  in.last_caught_up = in.now - 10ms;
  in.election_timeout = 200ms;
  return in;
}

TEST(Readiness, FollowerInStepIsReady) {
  const Readiness r = evaluate_readiness(follower_in_step());
  EXPECT_TRUE(r.ready) << r.reason;
  EXPECT_EQ(r.reason, "");
}

TEST(Readiness, EachConditionFailsOnItsOwn) {
  auto in = follower_in_step();
  in.serving = false;
  EXPECT_FALSE(evaluate_readiness(in).ready);

  in = follower_in_step();
  in.member = false;
  EXPECT_EQ(evaluate_readiness(in).reason, "not a member of the cluster configuration");

  in = follower_in_step();
  in.leader = kNoNode;
  EXPECT_EQ(evaluate_readiness(in).reason, "no leader known (no quorum reachable)");

  in = follower_in_step();
  in.applied_index = 7;
  EXPECT_EQ(evaluate_readiness(in).reason, "applying committed entries: applied 7 of 10");

  in = follower_in_step();
  in.leader_commit.reset();
  EXPECT_EQ(evaluate_readiness(in).reason, "waiting for the leader's commit index");

  in = follower_in_step();
  in.leader_commit = 50;
  in.last_caught_up = in.now - 300ms;  // last reached the leader's commit too long ago
  EXPECT_EQ(evaluate_readiness(in).reason,
            "behind the leader: applied 10, leader's commit index 50");
}

TEST(Readiness, LeaderNeedsNoAnnouncedCommit) {
  auto in = follower_in_step();
  in.is_leader = true;
  in.leader_commit.reset();
  in.last_caught_up.reset();
  EXPECT_TRUE(evaluate_readiness(in).ready);
}

TEST(StatusJson, CarriesNullsAndSurvivesInvalidUtf8GroupNames) {
  DaemonStatus s;
  s.node_id = 2;
  s.role = "follower";
  s.peers.push_back(PeerStatus{1, "tcp://127.0.0.1:1", "voter", false, true, 12.5, 3, {}});
  s.groups.push_back(GroupStatus{"bad\xff", 1, 2, 3});
  const auto j = nlohmann::json::parse(to_json(s));
  EXPECT_EQ(j["node_id"], 2);
  EXPECT_TRUE(j["leader"].is_null());
  EXPECT_EQ(j["peers"][0]["last_heard_ms"], 12.5);
  EXPECT_TRUE(j["peers"][0]["match_index"].is_null());
  EXPECT_EQ(j["groups"][0]["delivered_messages"], 3);
}

TEST(HttpAddress, ParsesAndClassifiesLoopback) {
  auto v4 = parse_http_address("127.0.0.1:9464");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4.value().host, "127.0.0.1");
  EXPECT_EQ(v4.value().port, 9464);
  EXPECT_TRUE(v4.value().loopback);
  auto v6 = parse_http_address("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6.value().host, "::1");
  EXPECT_TRUE(v6.value().loopback);
  auto remote = parse_http_address("0.0.0.0:80");
  ASSERT_TRUE(remote.ok());
  EXPECT_FALSE(remote.value().loopback);
  for (const char* bad : {"9464", "localhost:9464", "127.0.0.1:", "127.0.0.1:70000", ":80"}) {
    EXPECT_FALSE(parse_http_address(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace bcast::io
