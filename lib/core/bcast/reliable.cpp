#include "core/bcast/reliable.hpp"

namespace bcast {

void ReliableEngine::publish(BroadcastMessage& message, const std::vector<NodeId>& peers,
                             Outbox& out) {
  streams_.add_own(message);
  for (NodeId peer : peers) send_to(out, self_, peer, DataPush{message, 0, false});
}

std::vector<BroadcastMessage> ReliableEngine::on_push(NodeId from, const DataPush& push,
                                                      const std::vector<NodeId>& peers,
                                                      Outbox& out) {
  auto [is_new, ready] = streams_.receive(push.message);
  if (is_new && !push.repair && !options_.bugs.no_relay) {
    // First receipt: relay to everyone who may not have it yet.
    const NodeId origin = origin_node(push.message.origin());
    for (NodeId peer : peers) {
      if (peer != from && peer != origin)
        send_to(out, self_, peer, DataPush{push.message, 0, false});
    }
  }
  return ready;
}

void ReliableEngine::on_digest(NodeId from, const Digest& digest, Outbox& out) {
  if (options_.bugs.no_relay) return;
  for (auto& missing : streams_.on_digest(from, digest, options_.max_repair_messages)) {
    send_to(out, self_, from, DataPush{std::move(missing), 0, true});
  }
  // A peer that still holds unstable messages asks where we are. While we hold some too, our own
  // digests go to every peer each interval anyway.
  if (digest.wants_reply && !streams_.needs_exchange()) {
    send_to(out, self_, from, streams_.digest(/*wants_reply=*/false));
  }
}

void ReliableEngine::on_repair_interval(const std::vector<NodeId>& live_peers,
                                        const std::vector<NodeId>& holding_back, Outbox& out) {
  streams_.collect(holding_back);
  // An idle daemon (everything it holds is stable, nothing missing) stays quiet: a peer that
  // holds a message we lack is itself unstable and asks us. Otherwise digests cost n^2 messages
  // per interval even when nothing happens.
  if (!streams_.needs_exchange()) return;
  const Digest digest = streams_.digest(/*wants_reply=*/true);
  for (NodeId peer : live_peers) send_to(out, self_, peer, digest);
}

}  // namespace bcast
