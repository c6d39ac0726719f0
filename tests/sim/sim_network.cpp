#include "sim_network.hpp"

namespace bcast::sim {

std::vector<std::uint64_t> SimNetwork::transmit(NodeId from, NodeId to, std::uint64_t now_us) {
  ++messages_sent_;
  std::vector<std::uint64_t> delays;
  if (is_blocked(from, to)) return delays;
  if (rng_.chance(profile_.loss_per_million, 1000000)) return delays;
  std::uint64_t extra = 0;
  if (auto it = clogs_.find({from, to}); it != clogs_.end() && it->second.until_us > now_us) {
    extra = it->second.extra_us;
  }
  const int copies = rng_.chance(profile_.duplicate_per_million, 1000000) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    delays.push_back(extra + rng_.uniform(profile_.min_delay_us, profile_.max_delay_us));
  }
  return delays;
}

void SimNetwork::clog(NodeId from, NodeId to, std::uint64_t until_us, std::uint64_t extra_us) {
  clogs_[{from, to}] = Clog{until_us, extra_us};
}

void SimNetwork::heal() {
  blocked_.clear();
  clogs_.clear();
}

}  // namespace bcast::sim
