// bcast-chat: a terminal chat room over bcastd (README.md).
//
//   bcast-chat --socket PATH --nick NICK [--room ROOM] [--no-history]
//
// Type a line and Enter to say it; /quit (or Ctrl-D, Ctrl-C) to leave.
#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

#include "chat_room.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;

constexpr const char* kUsage =
    "usage: bcast-chat --socket PATH --nick NICK [--room ROOM] [--no-history]\n";

bool print_arrivals(bcast::chat::ChatRoom& chat) {
  auto lines = chat.read(std::chrono::milliseconds(0));
  if (!lines) {
    std::cerr << "bcast-chat: " << lines.error().message << std::endl;
    return false;
  }
  for (const std::string& line : lines.value()) std::cout << line << std::endl;
  return true;
}

// Says each complete line of `buffer`; false on /quit.
bool say_lines(bcast::chat::ChatRoom& chat, std::string& buffer) {
  for (auto end = buffer.find('\n'); end != std::string::npos; end = buffer.find('\n')) {
    const std::string line = buffer.substr(0, end);
    buffer.erase(0, end + 1);
    if (line == "/quit") return false;
    if (line.empty()) continue;
    if (auto said = chat.say(line); !said) {
      std::cerr << "bcast-chat: " << said.error().message << std::endl;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket = std::getenv("BCAST_SOCKET") ? std::getenv("BCAST_SOCKET") : "";
  std::string nick;
  std::string room = "lobby";
  bool history = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--socket" && i + 1 < argc) {
      socket = argv[++i];
    } else if (arg == "--nick" && i + 1 < argc) {
      nick = argv[++i];
    } else if (arg == "--room" && i + 1 < argc) {
      room = argv[++i];
    } else if (arg == "--no-history") {
      history = false;
    } else {
      std::cerr << kUsage;
      return 2;
    }
  }
  if (socket.empty() || nick.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  auto chat = bcast::chat::ChatRoom::enter(socket, room, nick, history);
  if (!chat) {
    std::cerr << "bcast-chat: " << chat.error().message << std::endl;
    return 1;
  }
  std::string buffer;
  while (!g_stop) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {chat.value().client().fd(), POLLIN, 0}};
    ::poll(fds, 2, 200);  // the client's fd is edge-triggered: read events on every turn
    if (!print_arrivals(chat.value())) return 1;
    if ((fds[0].revents & (POLLIN | POLLHUP)) == 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (n > 0) buffer.append(chunk, static_cast<std::size_t>(n));
    if (!say_lines(chat.value(), buffer) || n <= 0) break;
  }
  // Let the last lines reach the daemon before the connection closes.
  while (chat.value().client().in_flight() > 0 && print_arrivals(chat.value())) {
    (void)chat.value().read(std::chrono::milliseconds(100));
  }
  return 0;
}
