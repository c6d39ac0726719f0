// Agreed group views in the simulator: clients join and leave groups while faults run (with a
// peer timeout short enough that partitions exclude daemons, whose members then leave the views
// and come back), and the view-agreement checker (view_checker.hpp) watches every daemon; and
// proof that it catches a total-order message delivered in the wrong view.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "sim_cluster.hpp"

namespace bcast::sim {
namespace {

// BCAST_SIM_SEEDS scales the sweeps (the long mode), as in sim_test.cpp.
std::uint64_t seeds_or(std::uint64_t default_count) {
  if (const char* env = std::getenv("BCAST_SIM_SEEDS")) return std::strtoull(env, nullptr, 10);
  return default_count;
}

// The peer timeout of the exclusion sweeps (sim_test.cpp): 1.5 s of silence excludes.
constexpr std::uint64_t kExcludingPeerTimeoutTicks = 150;

void sweep_views(SimOptions o, std::uint64_t first_seed, std::uint64_t count) {
  o.group_views = true;
  std::uint64_t views = 0;
  for (std::uint64_t seed = first_seed; seed < first_seed + count; ++seed) {
    o.seed = seed;
    const SimResult r = run_simulation(o);
    ASSERT_TRUE(r.ok) << r.failure << "\nreplay: " << r.replay << "\n--- last events ---\n"
                      << r.trace_tail;
    views += r.views_announced;
  }
  // The sweep exercised the checker: views were announced and checked.
  EXPECT_GT(views, count) << "too few views to check";
}

TEST(SimViews, ThreeVotersWithExclusion) {
  SimOptions o;
  o.voters = 3;
  o.peer_timeout_ticks = kExcludingPeerTimeoutTicks;
  sweep_views(o, 20000, seeds_or(150));
}

TEST(SimViews, FiveVoters) {
  SimOptions o;
  o.voters = 5;
  sweep_views(o, 21000, seeds_or(60) / 2);
}

TEST(SimViews, MembershipChangesWithExclusion) {
  SimOptions o;
  o.voters = 3;
  o.spares = 2;
  o.membership_changes = true;
  o.round_us = 500;
  o.disk_latency_us = 600;
  o.peer_timeout_ticks = kExcludingPeerTimeoutTicks;
  sweep_views(o, 22000, seeds_or(60) / 2);
}

// The deliberate bug: each view is announced one delivery too late, so a total-order message of
// the next view is delivered in the one before.
TEST(ViewCheckerTeeth, CatchesAMessageDeliveredInTheWrongView) {
  SimOptions o;
  o.voters = 3;
  o.group_views = true;
  ASSERT_TRUE(set_bug(o, "late-view"));
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    o.seed = seed;
    const SimResult r = run_simulation(o);
    if (r.ok) continue;
    std::printf("bug late-view caught by seed %llu: %s\n", static_cast<unsigned long long>(seed),
                r.failure.c_str());
    EXPECT_NE(r.failure.find("view agreement violated"), std::string::npos) << r.failure;
    return;
  }
  FAIL() << "the view checker did not catch late-view in seeds 1..20";
}

}  // namespace
}  // namespace bcast::sim
