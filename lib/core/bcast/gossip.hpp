// Gossip dissemination: the origin pushes each message to `gossip_fanout` random peers, and each
// daemon that receives it for the first time pushes it on to as many random peers, until it has
// travelled `gossip_rounds` hops (about log2 n: enough to reach nearly everyone). What a round
// misses, anti-entropy repairs: every `repair_interval_ticks` a daemon sends its digest to one
// random live peer, which pushes back what the digest lacks and answers with its own digest so
// the exchange also goes the other way. About fanout * n messages per broadcast, plus digests.
#pragma once

#include <cstdint>
#include <vector>

#include "core/bcast/engine_options.hpp"
#include "core/bcast/stream_set.hpp"
#include "core/outbox.hpp"
#include "core/rng.hpp"

namespace bcast {

class GossipEngine {
 public:
  GossipEngine(NodeId self, OriginId origin, const DisseminationOptions& options, Rng rng)
      : self_(self), options_(options), rng_(rng), streams_(Mode::kGossip, origin) {}

  void publish(BroadcastMessage& message, const std::vector<NodeId>& peers, Outbox& out);
  std::vector<BroadcastMessage> on_push(NodeId from, const DataPush& push,
                                        const std::vector<NodeId>& peers, Outbox& out);
  void on_digest(NodeId from, const Digest& digest, Outbox& out);
  void on_repair_interval(const std::vector<NodeId>& live_peers,
                          const std::vector<NodeId>& holding_back, Outbox& out);

  StreamSet& streams() { return streams_; }
  const StreamSet& streams() const { return streams_; }
  // The rounds a message travels among `cluster_size` daemons.
  std::uint32_t rounds(std::size_t cluster_size) const;

 private:
  // Pushes to up to `fanout` distinct random peers other than `skip_a` and `skip_b`.
  void push_to_random(const DataPush& push, const std::vector<NodeId>& peers, NodeId skip_a,
                      NodeId skip_b, Outbox& out);

  NodeId self_;
  DisseminationOptions options_;
  Rng rng_;
  StreamSet streams_;
};

}  // namespace bcast
