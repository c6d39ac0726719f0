#include "core/bcast/best_effort.hpp"

namespace bcast {

void BestEffortEngine::publish(BroadcastMessage& message, const std::vector<NodeId>& peers,
                               Outbox& out) {
  message.stream_seq = ++own_last_seq_;
  for (NodeId peer : peers) send_to(out, self_, peer, DataPush{message, 0, false});
}

std::optional<BroadcastMessage> BestEffortEngine::on_push(const DataPush& push) {
  const BroadcastMessage& m = push.message;
  Seen& seen = seen_[m.origin()];
  const std::uint64_t seq = m.stream_seq;
  if (seq + kDuplicateWindow <= seen.highest) return std::nullopt;  // too old to tell
  if (!seen.recent.insert(seq).second) return std::nullopt;         // duplicate
  if (seq > seen.highest) {
    seen.highest = seq;
    while (!seen.recent.empty() && *seen.recent.begin() + kDuplicateWindow <= seen.highest) {
      seen.recent.erase(seen.recent.begin());
    }
  }
  return m;
}

}  // namespace bcast
