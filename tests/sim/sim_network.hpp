// The simulated network: every message's fate (lost, delayed, duplicated) is drawn from the
// run's Rng under the current profile, and links can be blocked (partitions, including one-way
// ones) or clogged (a long extra delay for a while). Reordering follows from random delays.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "bcast/types.hpp"
#include "core/rng.hpp"

namespace bcast::sim {

struct NetworkProfile {
  std::uint64_t loss_per_million = 0;
  std::uint64_t duplicate_per_million = 0;
  std::uint64_t min_delay_us = 100;
  std::uint64_t max_delay_us = 2000;
};

class SimNetwork {
 public:
  SimNetwork(Rng rng, NetworkProfile profile) : rng_(rng), profile_(profile) {}

  // Delivery delays for one message sent now on from->to: empty if lost, two if duplicated.
  std::vector<std::uint64_t> transmit(NodeId from, NodeId to, std::uint64_t now_us);

  void set_profile(const NetworkProfile& profile) { profile_ = profile; }
  const NetworkProfile& profile() const { return profile_; }
  void block(NodeId from, NodeId to) { blocked_.insert({from, to}); }
  bool is_blocked(NodeId from, NodeId to) const { return blocked_.contains({from, to}); }
  // Messages on from->to take `extra_us` longer until `until_us`.
  void clog(NodeId from, NodeId to, std::uint64_t until_us, std::uint64_t extra_us);
  void heal();  // unblocks and unclogs every link

  std::uint64_t messages_sent() const { return messages_sent_; }

 private:
  struct Clog {
    std::uint64_t until_us;
    std::uint64_t extra_us;
  };

  Rng rng_;
  NetworkProfile profile_;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  std::map<std::pair<NodeId, NodeId>, Clog> clogs_;
  std::uint64_t messages_sent_ = 0;
};

}  // namespace bcast::sim
