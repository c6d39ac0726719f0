#include "core/order/best_effort_fifo.hpp"

namespace bcast {

void BestEffortFifo::advance(Stream& stream, std::vector<BroadcastMessage>& ready) {
  while (!stream.arrived.empty() && stream.arrived.begin()->first == stream.next) {
    stream.arrived.erase(stream.arrived.begin());
    ++stream.next;
    stream.started = true;
  }
  // Every held message below `next` has nothing missing before it.
  while (!stream.held.empty() && stream.held.begin()->first < stream.next) {
    ready.push_back(std::move(stream.held.begin()->second));
    stream.held.erase(stream.held.begin());
  }
}

void BestEffortFifo::on_message(BroadcastMessage message, std::uint64_t now_tick,
                                std::vector<BroadcastMessage>& ready) {
  Stream& stream = streams_[message.origin()];
  const std::uint64_t seq = message.stream_seq;
  if (seq < stream.next) {
    // Its gap was skipped: order-free messages still go out, FIFO ones would be out of order.
    if (message.order == Order::kNone) ready.push_back(std::move(message));
    return;
  }
  stream.arrived.emplace(seq, now_tick);
  if (message.order == Order::kNone) {
    ready.push_back(std::move(message));
  } else {
    stream.held.emplace(seq, std::move(message));
  }
  advance(stream, ready);
}

void BestEffortFifo::tick(std::uint64_t now_tick, std::vector<BroadcastMessage>& ready,
                          std::vector<Gap>& gaps) {
  for (auto& [origin, stream] : streams_) {
    if (stream.arrived.empty()) continue;
    const auto [seq, since_tick] = *stream.arrived.begin();
    if (now_tick - since_tick < hold_ticks_) continue;
    if (stream.started) {
      skipped_ += seq - stream.next;  // messages given up on
      Gap gap;
      gap.kind = Gap::Kind::kStream;
      gap.reason = Gap::Reason::kBestEffortHold;
      gap.origin = origin;
      gap.mode = Mode::kBestEffort;
      gap.from = stream.next;
      gap.to = seq - 1;
      gaps.push_back(std::move(gap));
    }
    stream.next = seq;
    stream.started = true;
    advance(stream, ready);
  }
}

std::size_t BestEffortFifo::held() const {
  std::size_t count = 0;
  for (const auto& [origin, stream] : streams_) count += stream.held.size();
  return count;
}

}  // namespace bcast
