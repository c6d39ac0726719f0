// Best-effort dissemination: the origin sends each message once to every peer. Nothing is
// stored, relayed or retransmitted; a lost message stays lost. Receivers discard duplicates
// (the network may duplicate) within a window of recent sequence numbers per origin.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "core/bcast/message.hpp"
#include "core/outbox.hpp"

namespace bcast {

class BestEffortEngine {
 public:
  explicit BestEffortEngine(NodeId self) : self_(self) {}

  // Numbers the message in our best-effort stream and sends it to every peer.
  void publish(BroadcastMessage& message, const std::vector<NodeId>& peers, Outbox& out);
  // The message if it is new (not a duplicate, not older than the window), else nothing.
  std::optional<BroadcastMessage> on_push(const DataPush& push);

  // How far back duplicates are recognised; older arrivals are dropped as stale.
  static constexpr std::uint64_t kDuplicateWindow = 4096;

 private:
  struct Seen {
    std::uint64_t highest = 0;
    std::set<std::uint64_t> recent;  // seen sequence numbers within the window below highest
  };

  NodeId self_;
  std::uint64_t own_last_seq_ = 0;
  std::map<OriginId, Seen> seen_;
};

}  // namespace bcast
