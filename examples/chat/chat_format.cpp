#include "chat_format.hpp"

#include <nlohmann/json.hpp>

namespace bcast::chat {

namespace {

using nlohmann::json;

std::string name_of(const ViewMember& member) {
  return member.name.empty() ? "sender " + std::to_string(member.sender) : member.name;
}

}  // namespace

Result<std::string> encode_line(std::string_view nick, std::string_view text) {
  if (nick.empty() || nick.size() > kMaxNickBytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      "a nick is 1.." + std::to_string(kMaxNickBytes) + " bytes");
  }
  try {
    return json{{"chat", 1}, {"nick", nick}, {"text", text}}.dump();
  } catch (const json::type_error&) {
    return make_error(ErrorCode::kInvalidArgument, "nick and text must be UTF-8");
  }
}

std::string format_delivery(const Delivery& delivery) {
  const json line = json::parse(delivery.payload, nullptr, /*allow_exceptions=*/false);
  // Checks every type before reading: anyone may publish anything to the room.
  const auto is = [&](const char* key, json::value_t type) {
    return line.is_object() && line.contains(key) && line[key].type() == type;
  };
  if (is("chat", json::value_t::number_unsigned) && line["chat"] == 1 &&
      is("nick", json::value_t::string) && is("text", json::value_t::string)) {
    return "<" + line["nick"].get<std::string>() + "> " + line["text"].get<std::string>();
  }
  return "(not a chat line from sender " + std::to_string(delivery.sender) + ", " +
         std::to_string(delivery.payload.size()) + " bytes)";
}

std::vector<std::string> format_view(const View& view, SenderId self) {
  std::vector<std::string> notices;
  if (!view.view_id) return notices;  // the daemons' view after a join: not about people
  for (const ViewMember& member : view.joined) {
    if (member.sender != self) {
      notices.push_back("* " + name_of(member) + " joined " + view.group);
      continue;
    }
    std::string here;
    for (const ViewMember& present : view.group_members) {
      here += (here.empty() ? "" : ", ") + name_of(present);
    }
    notices.push_back("* you joined " + view.group + " (here: " + here + ")");
  }
  for (const ViewMember& member : view.left) {
    notices.push_back("* " + name_of(member) + " left " + view.group + " (" + view.cause + ")");
  }
  return notices;
}

}  // namespace bcast::chat
