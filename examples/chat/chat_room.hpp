// One chat room: a bcastd group. Lines go in total order (Mode::kReliable, Order::kTotal), so
// everyone in the room reads the same conversation in the same order, and the daemon's history
// (which keeps total-order messages) can replay it to someone who joins later. Join and leave
// notices come from the group's agreed views: the same sequence for everyone, in its place
// among the lines.
//
// Threading: as bcast::Client, one thread at a time.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "bcast/client.hpp"

namespace bcast::chat {

class ChatRoom {
 public:
  // Connects as `nick` (the client name the views show) and joins `room`; with `history`,
  // replays the room's lines kept by the daemon first (Client::join(room, 0)).
  static Result<ChatRoom> enter(const std::string& socket_path, std::string room,
                                const std::string& nick, bool history);

  // Sends a line (pipelined: a refusal comes back through read() as a notice).
  Result<void> say(std::string_view text);
  // What arrived within `timeout`, as terminal lines: chat lines, notices, problems.
  Result<std::vector<std::string>> read(std::chrono::milliseconds timeout);

  const std::string& room() const { return room_; }
  Client& client() { return client_; }

 private:
  ChatRoom(Client client, std::string room, std::string nick);
  void format(const Event& event, std::vector<std::string>& lines);

  Client client_;
  std::string room_;
  std::string nick_;
};

}  // namespace bcast::chat
