#include "replica.hpp"

#include <utility>

namespace bcast::crdt {

Replica::Replica(Client client, std::string group)
    : client_(std::move(client)), group_(std::move(group)), store_(client_.sender()) {}

Result<Replica> Replica::start(Client client, std::string group) {
  Replica replica(std::move(client), std::move(group));
  if (auto joined = replica.client_.join(replica.group_); !joined) return joined.error();
  if (auto asked = replica.send(SyncRequest{}); !asked) return asked.error();
  return replica;
}

Result<void> Replica::publish(const Update& update) { return send(update); }

Result<void> Replica::send(const Message& message) {
  auto payload = encode(message);
  if (!payload) return payload.error();
  auto sent = client_.publish(group_, Mode::kGossip, Order::kNone, payload.value());
  if (!sent) return sent.error();
  return {};
}

Result<void> Replica::answer_sync() {
  ++sync_answers_;
  for (const Update& update : store_.snapshot()) {
    if (auto sent = send(update); !sent) return sent;
  }
  return {};
}

Result<std::optional<Update>> Replica::handle(const Event& event) {
  if (const auto* error = std::get_if<RequestError>(&event)) return error->error;
  if (std::holds_alternative<Gap>(event)) {
    // Something of the group may be lost for this daemon: ask for everyone's whole state.
    if (auto asked = send(SyncRequest{}); !asked) return asked.error();
    return std::optional<Update>();
  }
  const auto* delivery = std::get_if<Delivery>(&event);
  if (delivery == nullptr || delivery->group != group_) return std::optional<Update>();
  auto message = decode(delivery->payload);
  if (!message) {
    ++dropped_;
    last_dropped_reason_ = message.error().message;
    return std::optional<Update>();
  }
  if (std::holds_alternative<SyncRequest>(message.value())) {
    if (delivery->sender == client_.sender()) return std::optional<Update>();
    if (auto answered = answer_sync(); !answered) return answered.error();
    return std::optional<Update>();
  }
  Update& update = std::get<Update>(message.value());
  store_.merge(update);  // our own deltas come back too: merging them again changes nothing
  return std::optional<Update>(std::move(update));
}

Result<std::optional<Update>> Replica::poll(std::chrono::milliseconds timeout) {
  auto event = client_.next_event(timeout);
  if (!event) return event.error();
  if (!event.value()) return std::optional<Update>();
  return handle(*event.value());
}

}  // namespace bcast::crdt
