// Reliable-eager dissemination: the origin sends each message to every peer, and every daemon
// relays a message to every other peer the first time it receives it, so a message survives its
// origin crashing mid-send (O(n^2) messages per broadcast). Lost messages are repaired: every
// `repair_interval_ticks` a daemon that holds messages not yet stable, or misses some, sends
// every live peer a digest of its stream positions; a peer answers with the stored messages the
// digest lacks, and (if it is idle itself) with its own digest, so the asker learns what is
// stable or what it lacks. Messages stay stored until every live member holds them.
#pragma once

#include <cstdint>
#include <vector>

#include "core/bcast/engine_options.hpp"
#include "core/bcast/stream_set.hpp"
#include "core/outbox.hpp"

namespace bcast {

class ReliableEngine {
 public:
  ReliableEngine(NodeId self, OriginId origin, const DisseminationOptions& options)
      : self_(self), options_(options), streams_(Mode::kReliable, origin) {}

  // Numbers the message in our reliable stream, stores it and sends it to every peer.
  void publish(BroadcastMessage& message, const std::vector<NodeId>& peers, Outbox& out);
  // Returns the messages now ready for ordering (see StreamSet::receive).
  std::vector<BroadcastMessage> on_push(NodeId from, const DataPush& push,
                                        const std::vector<NodeId>& peers, Outbox& out);
  void on_digest(NodeId from, const Digest& digest, Outbox& out);
  // Every repair interval: digests (see above), and garbage collection of what every peer in
  // `holding_back` holds.
  void on_repair_interval(const std::vector<NodeId>& live_peers,
                          const std::vector<NodeId>& holding_back, Outbox& out);

  StreamSet& streams() { return streams_; }
  const StreamSet& streams() const { return streams_; }

 private:
  NodeId self_;
  DisseminationOptions options_;
  StreamSet streams_;
};

}  // namespace bcast
