// Replay of a group's total order from the daemon's history (see client_server.hpp, "Replay").
#include <algorithm>

#include "codec/client_protocol.hpp"
#include "io/client_server.hpp"

namespace bcast::io {

using protocol::Header;
using protocol::MessageType;

bool ClientServer::start_replay(const std::string& identity, Client& client,
                                const Header& request) {
  HistoryStore* history = handler_.history();
  if (history == nullptr) {
    send(identity, protocol::error_reply(
                       request.id, ErrorCode::kUnavailable,
                       "this daemon keeps no total-order history (--history-max-bytes 0, or it "
                       "was switched off: see its log), so it cannot replay from a gseq"));
    return false;
  }
  // 0: the oldest retained. A position older than the history is announced as a gap when the
  // replay starts (pump_replays), after the join's reply and view.
  const std::uint64_t from = *request.from_gseq == 0
                                 ? std::max<std::uint64_t>(history->first_gseq(), 1)
                                 : *request.from_gseq;
  client.replay_next_gseq[request.group] = from;
  client.live_from_gseq.erase(request.group);
  return true;
}

bool ClientServer::takes_live(const Client& client, const Delivery& delivery) {
  if (!delivery.gseq) return true;
  if (client.replay_next_gseq.contains(delivery.group)) return false;
  auto from = client.live_from_gseq.find(delivery.group);
  return from == client.live_from_gseq.end() || *delivery.gseq >= from->second;
}

void ClientServer::end_replay(Client& client, const std::string& group,
                              std::uint64_t live_from_gseq) {
  client.replay_next_gseq.erase(group);
  client.live_from_gseq[group] = live_from_gseq;
}

bool ClientServer::queue_replayed(const std::string& identity, const std::string& group,
                                  const std::vector<HistoryItem>& items) {
  for (const HistoryItem& item : items) {
    auto client = clients_.find(identity);
    if (client == clients_.end()) return false;
    if (!item.message) {
      // Positions this daemon skipped when it installed a snapshot: every group's, announced.
      enqueue(identity, client->second,
              total_gap_message(group, item.hole_from, item.hole_to, "snapshot"));
      continue;
    }
    const HistoryMessage& m = *item.message;
    Delivery delivery;
    delivery.group = m.group;
    delivery.sender = m.sender;
    delivery.seq = m.seq;
    delivery.gseq = m.gseq;
    delivery.mode = m.mode;
    delivery.order = Order::kTotal;
    delivery.payload = m.payload;
    enqueue(identity, client->second, delivery_message(delivery));
  }
  return clients_.contains(identity);
}

void ClientServer::pump_replays() {
  std::vector<std::pair<std::string, std::string>> replays;  // (client identity, group)
  for (const auto& [identity, client] : clients_) {
    for (const auto& [group, next] : client.replay_next_gseq) replays.emplace_back(identity, group);
  }
  HistoryStore* history = handler_.history();
  std::uint64_t budget_bytes = kReplayBytesPerRound;
  for (const auto& [identity, group] : replays) {
    auto found = clients_.find(identity);
    if (found == clients_.end() || budget_bytes == 0) continue;
    Client& client = found->second;
    std::uint64_t next = client.replay_next_gseq.at(group);
    if (history == nullptr) {
      // Switched off meanwhile (a write failed): what it no longer has is announced, and the
      // client goes live.
      end_replay(client, group, last_live_gseq_ + 1);
      if (next <= last_live_gseq_) {
        enqueue(identity, client, total_gap_message(group, next, last_live_gseq_, "history-off"));
      }
      continue;
    }
    if (history->first_gseq() > next) {
      // Older than the history holds (retention deleted it, or this daemon joined later).
      enqueue(identity, client,
              total_gap_message(group, next, history->first_gseq() - 1, "history-trimmed"));
      next = history->first_gseq();
      found = clients_.find(identity);
      if (found == clients_.end()) continue;
    }
    if (found->second.queue.queued_bytes() < kReplayQueueBytes && next <= history->last_gseq()) {
      std::uint64_t following = next;
      auto items = history->read(next, group, std::min(budget_bytes, kReplayQueueBytes), following);
      if (!items) {
        found->second.replay_next_gseq[group] = next;
        disconnect(identity, "replay failed: " + items.error().message, false);
        continue;
      }
      for (const HistoryItem& item : items.value()) {
        const std::uint64_t bytes =
            item.message && item.message->payload ? item.message->payload->size() : 0;
        budget_bytes -= std::min(budget_bytes, bytes);
      }
      if (!queue_replayed(identity, group, items.value())) continue;
      next = following;
    }
    Client& reader = clients_.at(identity);
    // Everything written is read: from here on the live deliveries are the ones it lacks (the
    // history gets each before its fan-out).
    if (next > history->last_gseq()) {
      end_replay(reader, group, next);
    } else {
      reader.replay_next_gseq[group] = next;
    }
  }
}

}  // namespace bcast::io
