// Where our streams start for a restarted peer that we counted until it restarted.
//
// A daemon killed and restarted comes back as a new incarnation. Our first welcome to it names
// where our reliable and gossip streams start for it (the cuts). Cutting at our current end
// loses what we published between its restart and the welcome: its new subscribers joined in
// that window and were owed those messages (chaos run, seed 32 with clients started at once).
// While we counted the previous incarnation we kept every message of ours it had not reported,
// so the new one can start where the old one had got to instead.
//
// The causal cut must agree with both stream cuts: our causal messages up to the causal cut are
// taken as delivered, every later one must be above its stream's cut (and still stored), or the
// newcomer would wait for a message it never receives.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace bcast {

struct OwnStreamState {
  // How far the previous incarnation reported it had received our stream.
  std::uint64_t predecessor_position = 0;
  // Everything up to here was collected (we no longer store it); the rest is stored.
  std::uint64_t stable_upto = 0;
  std::uint64_t last_seq = 0;
  // (stream_seq, our causal count) of each stored causal message of ours, in stream order.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> stored_causal;
};

struct ResumeCuts {
  std::uint64_t reliable = 0;
  std::uint64_t gossip = 0;
  std::uint64_t causal = 0;
};

// Cuts as close to the predecessor's positions as one causal cut allows, never below what we
// collected. Usually they are its positions (or lower, where a causal message it lacked must
// come again). Only when it had received a causal message that we then collected while it lacked
// an earlier one (the two streams interleave) do they rise above them: the messages in between
// are not the newcomer's.
ResumeCuts resume_cuts(const OwnStreamState& reliable, const OwnStreamState& gossip,
                       std::uint64_t own_causal_sent);

}  // namespace bcast
