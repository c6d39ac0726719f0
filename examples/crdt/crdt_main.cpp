// bcast-crdt: a CRDT replica on a bcastd group, from the command line (README.md).
//
//   bcast-crdt --socket PATH [--group G] [--sync-ms N] [COMMAND ...]
//
// With a command: catches up with the group for --sync-ms, runs it, waits for its receipt and
// prints the object's new value. Without: reads one command per stdin line and prints every
// value that changes, local or remote, as "TYPE NAME = VALUE".
#include <poll.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "replica.hpp"

namespace {

using bcast::Error;
using bcast::ErrorCode;
using bcast::Result;
using bcast::crdt::Replica;
using bcast::crdt::Update;

volatile std::sig_atomic_t g_stop = 0;

constexpr const char* kUsage =
    "usage: bcast-crdt --socket PATH [--group G] [--sync-ms N] [COMMAND...]\n"
    "commands:\n"
    "  gcounter inc NAME [N]        grow-only counter += N (default 1)\n"
    "  pncounter add NAME N         counter += N (N may be negative)\n"
    "  max propose NAME N           max register: keeps the largest N proposed\n"
    "  mvregister write NAME VALUE  multi-value register: concurrent writes all kept\n"
    "  gset add NAME ELEMENT        grow-only set\n"
    "  orset add|remove NAME ELEMENT  observed-remove set (add wins)\n"
    "  show [TYPE NAME]             one object's value, or every object\n";

template <typename T>
Result<T> parse_number(const std::string& text) {
  T value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return bcast::make_error(ErrorCode::kInvalidArgument, "not a number: " + text);
  }
  return value;
}

Error usage_error(const std::string& why) {
  return bcast::make_error(ErrorCode::kInvalidArgument, why + "\n" + kUsage);
}

// Runs one operation on the store; returns the delta to publish.
Result<Update> operate(bcast::crdt::Store& store, const std::vector<std::string>& words) {
  const std::string op = words.size() >= 2 ? words[0] + " " + words[1] : "";
  if (words.size() < 3) return usage_error("missing arguments");
  const std::string& name = words[2];
  const std::string argument = words.size() > 3 ? words[3] : "";
  if (op == "gcounter inc" && words.size() <= 4) {
    auto n = words.size() == 4 ? parse_number<std::uint64_t>(argument) : Result<std::uint64_t>(1);
    if (!n) return n.error();
    return store.gcounter_increment(name, n.value());
  }
  if (words.size() != 4) return usage_error("wrong number of arguments for " + op);
  if (op == "pncounter add") {
    auto n = parse_number<std::int64_t>(argument);
    if (!n) return n.error();
    return store.pncounter_add(name, n.value());
  }
  if (op == "max propose") {
    auto n = parse_number<std::int64_t>(argument);
    if (!n) return n.error();
    return store.max_propose(name, n.value());
  }
  if (op == "mvregister write") return store.mvregister_write(name, argument);
  if (op == "gset add") return store.gset_add(name, argument);
  if (op == "orset add") return store.orset_add(name, argument);
  if (op == "orset remove") return store.orset_remove(name, argument);
  return usage_error("unknown command: " + op);
}

std::string line_of(const std::string& type, const std::string& name, const std::string& value) {
  return type + " " + name + " = " + value;
}

void show(const bcast::crdt::Store& store, const std::vector<std::string>& words) {
  if (words.size() == 3) {
    auto type = bcast::crdt::parse_type(words[1]);
    const bcast::crdt::Object* object = type ? store.find(*type, words[2]) : nullptr;
    std::cout << line_of(words[1], words[2],
                         object != nullptr ? bcast::crdt::describe(*object) : "(no such object)")
              << std::endl;
    return;
  }
  for (const Update& update : store.snapshot()) {
    std::cout << line_of(bcast::crdt::type_name(bcast::crdt::type_of(update.state)), update.name,
                         bcast::crdt::describe(update.state))
              << std::endl;
  }
}

// Prints the object's value; received updates only when it changed (echoes of our own deltas
// and sync answers mostly change nothing).
void print_update(const Update& update, const bcast::crdt::Store& store, bool received) {
  static std::map<std::string, std::string> shown;  // "TYPE NAME" -> the value last printed
  const auto type = bcast::crdt::type_of(update.state);
  const std::string key = std::string(bcast::crdt::type_name(type)) + " " + update.name;
  std::string value = bcast::crdt::describe(*store.find(type, update.name));
  if (received && shown[key] == value) return;
  std::cout << key << " = " << value << std::endl;
  shown[key] = std::move(value);
}

// Runs a command line: an operation (published; prints the new value) or show.
Result<void> run_command(Replica& replica, const std::vector<std::string>& words) {
  if (words.empty()) return {};
  if (words[0] == "show") {
    show(replica.store(), words);
    return {};
  }
  auto update = operate(replica.store(), words);
  if (!update) return update.error();
  if (auto published = replica.publish(update.value()); !published) return published;
  print_update(update.value(), replica.store(), false);
  return {};
}

// Handles events for `duration` (catching up, or waiting for receipts); prints changes if asked.
Result<void> pump(Replica& replica, std::chrono::milliseconds duration, bool print) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  while (!g_stop) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return {};
    auto handled = replica.poll(left);
    if (!handled) return handled.error();
    if (print && handled.value()) print_update(*handled.value(), replica.store(), true);
  }
  return {};
}

// Handles every event already there, printing what changes.
Result<void> drain(Replica& replica) {
  while (true) {
    auto event = replica.client().next_event(std::chrono::milliseconds(0));
    if (!event) return event.error();
    if (!event.value()) return {};
    auto handled = replica.handle(*event.value());
    if (!handled) {
      std::cerr << "bcast-crdt: " << handled.error().message << std::endl;
    } else if (handled.value()) {
      print_update(*handled.value(), replica.store(), true);
    }
  }
}

std::vector<std::string> split(const std::string& line) {
  std::istringstream stream(line);
  std::vector<std::string> words;
  for (std::string word; stream >> word;) words.push_back(word);
  return words;
}

// Interactive: commands from stdin, changes printed as they arrive, until EOF or a signal.
int interactive(Replica& replica) {
  std::string buffer;
  bool input_open = true;
  while (!g_stop && input_open) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {replica.client().fd(), POLLIN, 0}};
    ::poll(fds, 2, 200);  // the client's fd is edge-triggered: drain events on every turn
    if (auto drained = drain(replica); !drained) {
      std::cerr << "bcast-crdt: " << drained.error().message << std::endl;
      return 1;
    }
    if ((fds[0].revents & (POLLIN | POLLHUP)) == 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (n <= 0) input_open = false;
    if (n > 0) buffer.append(chunk, static_cast<std::size_t>(n));
    for (auto end = buffer.find('\n'); end != std::string::npos; end = buffer.find('\n')) {
      auto ran = run_command(replica, split(buffer.substr(0, end)));
      if (!ran) std::cerr << "bcast-crdt: " << ran.error().message << std::endl;
      buffer.erase(0, end + 1);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket = std::getenv("BCAST_SOCKET") ? std::getenv("BCAST_SOCKET") : "";
  std::string group = "crdt";
  long sync_ms = 500;
  std::vector<std::string> command;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--socket" || arg == "--group" || arg == "--sync-ms") && i + 1 < argc) {
      const std::string value = argv[++i];
      if (arg == "--socket") socket = value;
      if (arg == "--group") group = value;
      if (arg == "--sync-ms") {
        auto parsed = parse_number<long>(value);
        if (!parsed || parsed.value() < 0) {
          std::cerr << "bcast-crdt: --sync-ms takes a number of milliseconds\n" << kUsage;
          return 2;
        }
        sync_ms = parsed.value();
      }
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      command.push_back(arg);
    }
  }
  if (socket.empty()) {
    std::cerr << "bcast-crdt: --socket PATH (or BCAST_SOCKET) is required\n" << kUsage;
    return 2;
  }
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  auto client = bcast::Client::connect({.socket_path = socket, .client_name = "bcast-crdt"});
  if (!client) {
    std::cerr << "bcast-crdt: " << client.error().message << std::endl;
    return 1;
  }
  auto replica = Replica::start(std::move(client).value(), group);
  if (!replica) {
    std::cerr << "bcast-crdt: " << replica.error().message << std::endl;
    return 1;
  }
  // Catch up first: other replicas answer the sync request with their whole state.
  if (auto synced = pump(replica.value(), std::chrono::milliseconds(sync_ms), false); !synced) {
    std::cerr << "bcast-crdt: " << synced.error().message << std::endl;
    return 1;
  }
  if (command.empty()) return interactive(replica.value());
  if (auto ran = run_command(replica.value(), command); !ran) {
    std::cerr << "bcast-crdt: " << ran.error().message << std::endl;
    return 1;
  }
  // Stay until the daemon accepted what was published (gossip receipts come at once).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (replica.value().client().in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    if (auto handled = replica.value().poll(std::chrono::milliseconds(100)); !handled) {
      std::cerr << "bcast-crdt: " << handled.error().message << std::endl;
      return 1;
    }
  }
  return 0;
}
