#include "io/client_queue.hpp"

#include <algorithm>
#include <utility>

namespace bcast::io {

ClientQueue::ClientQueue(std::uint64_t bound_bytes, std::uint64_t zmq_budget_bytes)
    : bound_bytes_(bound_bytes),
      // At most a quarter of the bound goes to ZeroMQ, where nothing can be dropped any more: the
      // rest stays here, so that a reply can always make room by dropping best-effort ones.
      zmq_budget_bytes_(std::min(zmq_budget_bytes, bound_bytes / 4)),
      written_(std::make_shared<Written>()) {}

std::uint64_t ClientQueue::cost_bytes(const Message& message) {
  return message.header.size() + (message.payload ? message.payload->size() : 0) +
         kMessageOverheadBytes;
}

bool ClientQueue::fits(std::uint64_t cost) const {
  const std::uint64_t held = held_bytes();
  return held == 0 || held + cost <= bound_bytes_;
}

void ClientQueue::record_drop(const Message& message) {
  ++dropped_;
  if (!message.position) return;
  const StreamPosition& at = *message.position;
  if (!dropped_runs_.empty()) {
    DroppedRun& last = dropped_runs_.back();
    if (last.origin == at.origin && last.group == at.group && last.to_seq + 1 == at.stream_seq) {
      last.to_seq = at.stream_seq;
      return;
    }
  }
  dropped_runs_.push_back(DroppedRun{at.group, at.origin, at.stream_seq, at.stream_seq});
}

bool ClientQueue::make_room(std::uint64_t cost) {
  auto it = queue_.begin();
  while (!fits(cost) && best_effort_queued_ > 0) {
    it = std::find_if(it, queue_.end(),
                      [](const Message& m) { return m.kind == Kind::kBestEffortDelivery; });
    queued_bytes_ -= cost_bytes(*it);
    --best_effort_queued_;
    record_drop(*it);
    it = queue_.erase(it);
  }
  return fits(cost);
}

ClientQueue::Admission ClientQueue::push(Message message) {
  const std::uint64_t cost = cost_bytes(message);
  if (!make_room(cost)) {
    if (message.kind != Kind::kBestEffortDelivery) return Admission::kOverflow;
    record_drop(message);
    return Admission::kDropped;
  }
  if (message.kind == Kind::kBestEffortDelivery) ++best_effort_queued_;
  queued_bytes_ += cost;
  queue_.push_back(std::move(message));
  return Admission::kQueued;
}

void ClientQueue::push_unbounded(Message message) {
  if (message.kind == Kind::kBestEffortDelivery) ++best_effort_queued_;
  queued_bytes_ += cost_bytes(message);
  queue_.push_back(std::move(message));
}

void ClientQueue::discard() {
  queue_.clear();
  queued_bytes_ = 0;
  best_effort_queued_ = 0;
}

bool ClientQueue::may_go_now(std::uint64_t cost) const {
  if (!queue_.empty()) return false;
  const std::uint64_t in_zmq = in_zmq_bytes();
  return in_zmq == 0 || in_zmq + cost <= zmq_budget_bytes_;
}

bool ClientQueue::front_may_go() const {
  const std::uint64_t in_zmq = in_zmq_bytes();
  return in_zmq == 0 || in_zmq + cost_bytes(queue_.front()) <= zmq_budget_bytes_;
}

ClientQueue::Message ClientQueue::pop_front() {
  Message message = std::move(queue_.front());
  queue_.pop_front();
  queued_bytes_ -= cost_bytes(message);
  if (message.kind == Kind::kBestEffortDelivery) --best_effort_queued_;
  return message;
}

ClientQueue::Ticket* ClientQueue::make_ticket(Message message) {
  const std::uint64_t cost = cost_bytes(message);
  written_->in_zmq_bytes.fetch_add(cost);
  return new Ticket{std::move(message.header), std::move(message.payload), written_, cost};
}

void ClientQueue::release_ticket(void* /*data*/, void* hint) {
  // Called by ZeroMQ (its I/O thread, or the caller's thread for a message never sent).
  auto* ticket = static_cast<Ticket*>(hint);
  ticket->written->in_zmq_bytes.fetch_sub(ticket->cost_bytes);
  ticket->written->released_messages.fetch_add(1);
  delete ticket;
}

std::uint64_t ClientQueue::take_dropped() { return std::exchange(dropped_, 0); }

}  // namespace bcast::io
