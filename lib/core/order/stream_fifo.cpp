#include "core/order/stream_fifo.hpp"

namespace bcast {

void StreamFifo::hold(BroadcastMessage message) {
  const auto stream = message.stream();
  const auto seq = message.stream_seq;
  held_[stream].emplace(seq, std::move(message));
}

void StreamFifo::release(StreamKey stream, std::uint64_t received_upto,
                         std::vector<BroadcastMessage>& ready) {
  auto it = held_.find(stream);
  if (it == held_.end()) return;
  auto& queue = it->second;
  while (!queue.empty() && queue.begin()->first <= received_upto) {
    ready.push_back(std::move(queue.begin()->second));
    queue.erase(queue.begin());
  }
  if (queue.empty()) held_.erase(it);
}

std::size_t StreamFifo::held() const {
  std::size_t count = 0;
  for (const auto& [stream, queue] : held_) count += queue.size();
  return count;
}

}  // namespace bcast
