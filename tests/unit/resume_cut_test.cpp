#include "core/bcast/resume_cut.hpp"

#include <gtest/gtest.h>

namespace bcast {
namespace {

OwnStreamState stream(std::uint64_t predecessor, std::uint64_t stable, std::uint64_t last,
                      std::vector<std::pair<std::uint64_t, std::uint64_t>> causal = {}) {
  OwnStreamState s;
  s.predecessor_position = predecessor;
  s.stable_upto = stable;
  s.last_seq = last;
  s.stored_causal = std::move(causal);
  return s;
}

// Without causal messages each stream starts where the previous incarnation had got to.
TEST(ResumeCuts, WithoutCausalMessagesTheCutsAreThePredecessorsPositions) {
  const ResumeCuts cuts = resume_cuts(stream(7, 5, 12), stream(3, 3, 4), 0);
  EXPECT_EQ(cuts.reliable, 7u);
  EXPECT_EQ(cuts.gossip, 3u);
  EXPECT_EQ(cuts.causal, 0u);
}

// Causal #1 reliable @6 (received), #2 gossip @4 (not received), #3 reliable @7 (received):
// the causal cut is 1, so #3 must come again: the reliable cut drops below it.
TEST(ResumeCuts, TheCausalCutIsTheLongestPrefixReceivedAndTheStreamCutsFollowIt) {
  const ResumeCuts cuts =
      resume_cuts(stream(8, 2, 9, {{6, 1}, {7, 3}}), stream(3, 1, 5, {{4, 2}}), 3);
  EXPECT_EQ(cuts.causal, 1u);
  EXPECT_EQ(cuts.reliable, 6u);  // #3 at 7 is above it
  EXPECT_EQ(cuts.gossip, 3u);    // #2 at 4 is above it
}

// A digest older than what the predecessor had when we collected: never below what we collected.
TEST(ResumeCuts, NeverBelowWhatWasCollected) {
  const ResumeCuts cuts = resume_cuts(stream(2, 4, 6), stream(1, 1, 1), 0);
  EXPECT_EQ(cuts.reliable, 4u);
  EXPECT_EQ(cuts.gossip, 1u);
}

// Causal #1 reliable @6 (not received), #2 gossip @3 (received and collected), #3 gossip @4 (not
// received). #2 is gone, so the causal cut cannot be below it; #1, counted in it, must then lie
// below the reliable cut: the cut rises above the predecessor's position, and #1 is not the
// newcomer's.
TEST(ResumeCuts, TheCutsRiseWhereACollectedCausalMessageFollowsOneThePredecessorLacked) {
  const ResumeCuts cuts = resume_cuts(stream(5, 5, 7, {{6, 1}}), stream(3, 3, 4, {{4, 3}}), 3);
  EXPECT_EQ(cuts.causal, 2u);
  EXPECT_EQ(cuts.reliable, 6u);
  EXPECT_EQ(cuts.gossip, 3u);
}

}  // namespace
}  // namespace bcast
