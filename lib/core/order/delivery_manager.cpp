#include "core/order/delivery_manager.hpp"

namespace bcast {

void DeliveryManager::deliver(std::vector<BroadcastMessage>& ready, Outbox& out) {
  for (BroadcastMessage& m : ready) {
    out.deliveries.push_back(Delivery{std::move(m.group), m.sender, m.seq, std::nullopt, m.mode,
                                      m.order, std::move(m.payload), m.stream_seq});
  }
  ready.clear();
}

void DeliveryManager::on_message(BroadcastMessage message, std::uint64_t now_tick, Outbox& out) {
  std::vector<BroadcastMessage> ready;
  const StreamKey stream = message.stream();
  if (bug_skip_hold_back_ && message.order != Order::kTotal) {
    ready.push_back(std::move(message));
    deliver(ready, out);
    return;
  }
  if (message.mode == Mode::kBestEffort) {
    best_effort_fifo_.on_message(std::move(message), now_tick, ready);
    deliver(ready, out);
    return;
  }
  switch (message.order) {
    case Order::kNone:
      ready.push_back(std::move(message));
      break;
    case Order::kFifo:
      stream_fifo_.hold(std::move(message));
      break;
    case Order::kCausal:
      causal_.on_message(std::move(message), ready);
      break;
    case Order::kTotal:
      break;  // total order never comes this way
  }
  // Any arrival may close the gap a held FIFO message waits on.
  stream_fifo_.release(stream, progress_(stream), ready);
  deliver(ready, out);
}

void DeliveryManager::on_cuts(OriginId origin, std::uint64_t causal_cut, bool rejoin, Outbox& out) {
  std::vector<BroadcastMessage> ready;
  std::vector<BroadcastMessage> dropped;
  causal_.set_cut(origin, causal_cut, rejoin, ready, dropped);
  for (const BroadcastMessage& m : dropped) {
    Gap gap;
    gap.kind = Gap::Kind::kStream;
    gap.reason = Gap::Reason::kExcluded;
    gap.origin = m.origin();
    gap.mode = m.mode;
    gap.from = gap.to = m.stream_seq;
    gap.group = m.group;
    announce_gap(out, std::move(gap));
  }
  deliver(ready, out);
  on_stream_progress(origin, out);
}

void DeliveryManager::on_stream_progress(OriginId origin, Outbox& out) {
  std::vector<BroadcastMessage> ready;
  for (Mode mode : {Mode::kReliable, Mode::kGossip}) {
    const StreamKey stream{origin, mode};
    stream_fifo_.release(stream, progress_(stream), ready);
  }
  deliver(ready, out);
}

void DeliveryManager::skip_missing(OriginId origin, Outbox& out) {
  std::vector<BroadcastMessage> ready;
  causal_.skip_missing(origin, ready);
  deliver(ready, out);
}

void DeliveryManager::tick(std::uint64_t now_tick, Outbox& out) {
  std::vector<BroadcastMessage> ready;
  std::vector<Gap> gaps;
  best_effort_fifo_.tick(now_tick, ready, gaps);
  for (Gap& gap : gaps) announce_gap(out, std::move(gap));
  deliver(ready, out);
}

std::size_t DeliveryManager::held() const {
  return stream_fifo_.held() + causal_.held() + best_effort_fifo_.held();
}

}  // namespace bcast
