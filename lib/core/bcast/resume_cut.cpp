#include "core/bcast/resume_cut.hpp"

#include <algorithm>
#include <set>

namespace bcast {

namespace {

// The highest causal count c such that every stored causal message of ours counted up to c lies
// at or below the predecessor's position in its stream.
std::uint64_t received_prefix(const OwnStreamState& stream, std::uint64_t causal) {
  for (const auto& [seq, count] : stream.stored_causal) {
    if (seq > stream.predecessor_position) causal = std::min(causal, count - 1);
  }
  return causal;
}

// The highest causal count we no longer store (0: we store them all): every later one must be
// above its stream's cut, so the causal cut cannot be lower.
std::uint64_t highest_collected(const OwnStreamState& reliable, const OwnStreamState& gossip,
                                std::uint64_t own_causal_sent) {
  std::set<std::uint64_t> stored;
  for (const auto* stream : {&reliable, &gossip}) {
    for (const auto& item : stream->stored_causal) stored.insert(item.second);
  }
  std::uint64_t count = own_causal_sent;
  while (count > 0 && stored.contains(count)) --count;
  return count;
}

// The predecessor's position, moved into the range that agrees with the causal cut: at or above
// what we collected and every stored causal message counted up to the cut, below every later
// one.
std::uint64_t stream_cut(const OwnStreamState& stream, std::uint64_t causal) {
  std::uint64_t lowest = stream.stable_upto;
  std::uint64_t highest = stream.last_seq;
  for (const auto& [seq, count] : stream.stored_causal) {
    if (count <= causal) {
      lowest = std::max(lowest, seq);
    } else {
      highest = std::min(highest, seq - 1);
    }
  }
  return std::clamp(stream.predecessor_position, lowest, std::max(lowest, highest));
}

}  // namespace

ResumeCuts resume_cuts(const OwnStreamState& reliable, const OwnStreamState& gossip,
                       std::uint64_t own_causal_sent) {
  ResumeCuts cuts;
  cuts.causal = std::max(received_prefix(gossip, received_prefix(reliable, own_causal_sent)),
                         highest_collected(reliable, gossip, own_causal_sent));
  cuts.reliable = stream_cut(reliable, cuts.causal);
  cuts.gossip = stream_cut(gossip, cuts.causal);
  return cuts;
}

}  // namespace bcast
