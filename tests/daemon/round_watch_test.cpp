// The event loop's round watch: slow rounds are reported with their phases, at most one report
// per interval, and the report after a quiet interval counts the slow rounds it stood for.
#include "io/round_watch.hpp"

#include <gtest/gtest.h>

namespace bcast::io {
namespace {

using namespace std::chrono_literals;
using Phase = RoundWatch::Phase;

class RoundWatchTest : public ::testing::Test {
 protected:
  // One round starting at `at`: `peers` reading peers, `history` keeping the history.
  std::optional<std::string> round(RoundWatch::Clock::duration at,
                                   RoundWatch::Clock::duration peers,
                                   RoundWatch::Clock::duration history = 0ms) {
    const auto start = RoundWatch::Clock::time_point{} + at;
    watch_.begin(start);
    watch_.lap(Phase::kPeers, start + peers);
    watch_.lap(Phase::kHistory, start + peers + history);
    return watch_.end(start + peers + history);
  }

  Histogram rounds_{latency_buckets_seconds()};
  RoundWatch watch_{rounds_, 100ms, 10s};
};

TEST_F(RoundWatchTest, AFastRoundIsTimedButNotReported) {
  EXPECT_FALSE(round(1s, 99ms).has_value());
  EXPECT_EQ(rounds_.cumulative_counts().back(), 1u);
  EXPECT_NEAR(rounds_.sum(), 0.099, 1e-9);
}

TEST_F(RoundWatchTest, ASlowRoundNamesWhereItsTimeWent) {
  const auto report = round(1s, 30ms, 250ms);
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(*report,
            "slow event-loop round: 280 ms (peers 30 ms, history 250 ms); heartbeats wait "
            "while a round runs");
}

TEST_F(RoundWatchTest, ReportsAreRateLimitedAndCountWhatTheyStoodFor) {
  ASSERT_TRUE(round(1s, 150ms).has_value());
  EXPECT_FALSE(round(2s, 300ms).has_value());
  EXPECT_FALSE(round(3s, 120ms).has_value());
  EXPECT_FALSE(round(4s, 50ms).has_value());  // fast: not counted
  const auto report = round(11s + 150ms, 200ms);
  ASSERT_TRUE(report.has_value());
  EXPECT_NE(report->find("200 ms (peers 200 ms)"), std::string::npos) << *report;
  EXPECT_NE(report->find("2 more slow rounds since the last report, the longest 300 ms"),
            std::string::npos)
      << *report;
  // The count starts again after a report.
  const auto next = round(22s, 100ms);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->find("more slow rounds"), std::string::npos) << *next;
  EXPECT_EQ(rounds_.cumulative_counts().back(), 6u);
}

}  // namespace
}  // namespace bcast::io
