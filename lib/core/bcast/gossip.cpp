#include "core/bcast/gossip.hpp"

#include <algorithm>
#include <bit>

namespace bcast {

std::uint32_t GossipEngine::rounds(std::size_t cluster_size) const {
  if (options_.gossip_rounds != 0) return options_.gossip_rounds;
  const auto log2_ceil = static_cast<std::uint32_t>(std::bit_width(cluster_size - 1));
  return log2_ceil + 2;
}

void GossipEngine::push_to_random(const DataPush& push, const std::vector<NodeId>& peers,
                                  NodeId skip_a, NodeId skip_b, Outbox& out) {
  std::vector<NodeId> candidates;
  for (NodeId peer : peers) {
    if (peer != skip_a && peer != skip_b) candidates.push_back(peer);
  }
  const std::size_t count = std::min<std::size_t>(options_.gossip_fanout, candidates.size());
  // A partial Fisher-Yates shuffle: the first `count` are a uniform random choice.
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t j = i + rng_.uniform(0, candidates.size() - 1 - i);
    std::swap(candidates[i], candidates[j]);
    send_to(out, self_, candidates[i], push);
  }
}

void GossipEngine::publish(BroadcastMessage& message, const std::vector<NodeId>& peers,
                           Outbox& out) {
  streams_.add_own(message);
  push_to_random(DataPush{message, 1, false}, peers, kNoNode, kNoNode, out);
}

std::vector<BroadcastMessage> GossipEngine::on_push(NodeId from, const DataPush& push,
                                                    const std::vector<NodeId>& peers, Outbox& out) {
  auto [is_new, ready] = streams_.receive(push.message);
  if (is_new && !push.repair && push.hops < rounds(peers.size() + 1)) {
    DataPush next = push;
    ++next.hops;
    push_to_random(next, peers, from, origin_node(push.message.origin()), out);
  }
  return ready;
}

void GossipEngine::on_digest(NodeId from, const Digest& digest, Outbox& out) {
  for (auto& missing : streams_.on_digest(from, digest, options_.max_repair_messages)) {
    send_to(out, self_, from, DataPush{std::move(missing), 0, true});
  }
  if (digest.wants_reply) send_to(out, self_, from, streams_.digest(/*wants_reply=*/false));
}

void GossipEngine::on_repair_interval(const std::vector<NodeId>& live_peers,
                                      const std::vector<NodeId>& holding_back, Outbox& out) {
  streams_.collect(holding_back);
  if (live_peers.empty()) return;
  const NodeId peer = live_peers[rng_.uniform(0, live_peers.size() - 1)];
  send_to(out, self_, peer, streams_.digest(/*wants_reply=*/true));
}

}  // namespace bcast
