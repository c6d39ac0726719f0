#include "chat_room.hpp"

#include <utility>

#include "chat_format.hpp"

namespace bcast::chat {

ChatRoom::ChatRoom(Client client, std::string room, std::string nick)
    : client_(std::move(client)), room_(std::move(room)), nick_(std::move(nick)) {}

Result<ChatRoom> ChatRoom::enter(const std::string& socket_path, std::string room,
                                 const std::string& nick, bool history) {
  if (auto valid = encode_line(nick, ""); !valid) return valid.error();
  auto client =
      Client::connect({.socket_path = socket_path, .client_name = nick, .group_views = true});
  if (!client) return client.error();
  ChatRoom chat(std::move(client).value(), std::move(room), nick);
  auto joined = history ? chat.client_.join(chat.room_, 0) : chat.client_.join(chat.room_);
  if (!joined && history && joined.error().code == ErrorCode::kUnavailable) {
    return make_error(ErrorCode::kUnavailable,
                      joined.error().message + " (no history to replay: try --no-history)");
  }
  if (!joined) return joined.error();
  return chat;
}

Result<void> ChatRoom::say(std::string_view text) {
  auto payload = encode_line(nick_, text);
  if (!payload) return payload.error();
  auto sent = client_.publish(room_, Mode::kReliable, Order::kTotal, payload.value());
  if (!sent) return sent.error();
  return {};
}

Result<std::vector<std::string>> ChatRoom::read(std::chrono::milliseconds timeout) {
  std::vector<std::string> lines;
  auto event = client_.next_event(timeout);
  while (true) {
    if (!event) return event.error();
    if (!event.value()) return lines;
    format(*event.value(), lines);
    event = client_.next_event(std::chrono::milliseconds(0));
  }
}

void ChatRoom::format(const Event& event, std::vector<std::string>& lines) {
  if (const auto* delivery = std::get_if<Delivery>(&event)) {
    if (delivery->group == room_) lines.push_back(format_delivery(*delivery));
  } else if (const auto* view = std::get_if<View>(&event)) {
    if (view->group != room_) return;
    for (std::string& notice : format_view(*view, client_.sender())) {
      lines.push_back(std::move(notice));
    }
  } else if (const auto* gap = std::get_if<Gap>(&event)) {
    if (gap->group.empty() || gap->group == room_) {
      lines.push_back("! some lines were lost (" + gap->reason + ")");
    }
  } else if (const auto* error = std::get_if<RequestError>(&event)) {
    lines.push_back("! not sent: " + error->error.message);
  }
}

}  // namespace bcast::chat
