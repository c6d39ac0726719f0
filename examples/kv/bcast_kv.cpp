// bcast-kv: the replicated key-value store from the command line (README.md).
//
//   bcast-kv [--socket PATH] [--group G] [--state-file F] put KEY VALUE
//   bcast-kv ... delete KEY | cas KEY EXPECTED|--absent NEW | incr KEY [BY]
//   bcast-kv ... get KEY [--consistency strong|sequential|eventual]
//   bcast-kv ... serve       a replica that answers one command per stdin line (the same words:
//                            "put k v", "get k sequential", ...) with one JSON line each
//
// Every invocation is a replica of the group: it catches up first (a state transfer from a
// running replica such as `serve`, or a replay of the daemon's history), then runs its command.
#include <poll.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "kv_store.hpp"

namespace {

using bcast::kv::Consistency;
using bcast::kv::KvStore;
using bcast::kv::Session;
using nlohmann::json;

constexpr const char* kUsage =
    "usage: bcast-kv [--socket PATH] [--group G] [--state-file FILE] COMMAND\n"
    "  put KEY VALUE | delete KEY | cas KEY EXPECTED|--absent NEW | incr KEY [BY]\n"
    "  get KEY [--consistency strong|sequential|eventual]   (default strong)\n"
    "  serve    one command per stdin line, one JSON reply line each\n"
    "The socket defaults to $BCAST_SOCKET; the group to \"kv\".\n";

json error_json(const std::string& message) { return {{"ok", false}, {"error", message}}; }

// Runs one command given as words; returns the JSON reply (an error reply for bad words).
json run(KvStore& store, Session& session, const std::vector<std::string>& words) {
  if (words.empty()) return error_json("empty command");
  const std::string& op = words[0];
  auto reply = [](const bcast::Result<json>& result) {
    return result ? result.value() : error_json(result.error().message);
  };
  if (op == "put" && words.size() == 3) return reply(store.put(words[1], words[2], session));
  if (op == "delete" && words.size() == 2) return reply(store.remove(words[1], session));
  if (op == "cas" && words.size() == 4) {
    const std::optional<std::string> expected =
        words[2] == "--absent" ? std::nullopt : std::optional(words[2]);
    return reply(store.compare_and_set(words[1], expected, words[3], session));
  }
  if (op == "incr" && (words.size() == 2 || words.size() == 3)) {
    long long by = 1;
    if (words.size() == 3) {
      std::istringstream in(words[2]);
      if (!(in >> by) || !in.eof()) return error_json("incr: BY must be an integer");
    }
    return reply(store.increment(words[1], by, session));
  }
  if (op == "get" && words.size() >= 2 && words.size() <= 4) {
    std::string level_name = "strong";
    if (words.size() == 3) level_name = words[2];
    if (words.size() == 4 && words[2] == "--consistency") level_name = words[3];
    if (words.size() == 4 && words[2] != "--consistency") return error_json("get: bad arguments");
    const auto level = bcast::kv::parse_consistency(level_name);
    if (!level) return error_json("unknown consistency " + level_name);
    auto read = store.get(words[1], *level, session);
    if (!read) return error_json(read.error().message);
    return {{"ok", true},
            {"value", read.value().value ? json(*read.value().value) : json(nullptr)},
            {"consistency", level_name},
            {"gseq", read.value().gseq}};
  }
  return error_json("unknown command or wrong arguments: " + op);
}

std::vector<std::string> split_words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

// Answers stdin lines while keeping the replica applying and answering state requests.
int serve(KvStore& store) {
  Session session;
  std::string pending;
  std::cout
      << json{{"ok", true}, {"serving", true}, {"gseq", store.replica().applied_gseq()}}.dump()
      << std::endl;
  while (true) {
    pollfd input{STDIN_FILENO, POLLIN, 0};
    const int ready = ::poll(&input, 1, 0);
    if (ready > 0) {
      char buffer[4096];
      const ssize_t got = ::read(STDIN_FILENO, buffer, sizeof buffer);
      if (got <= 0) return 0;  // end of input
      pending.append(buffer, static_cast<std::size_t>(got));
      for (auto newline = pending.find('\n'); newline != std::string::npos;
           newline = pending.find('\n')) {
        const auto words = split_words(pending.substr(0, newline));
        pending.erase(0, newline + 1);
        if (!words.empty()) std::cout << run(store, session, words).dump() << std::endl;
      }
      continue;
    }
    if (auto polled = store.replica().poll(std::chrono::milliseconds(20)); !polled) {
      std::cerr << "bcast-kv: " << polled.error().message << "\n";
      return 1;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  bcast::ReplicaOptions options;
  options.group = "kv";
  if (const char* env = std::getenv("BCAST_SOCKET")) options.client.socket_path = env;
  options.client.client_name = "bcast-kv";
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--socket" && has_value) {
      options.client.socket_path = argv[++i];
    } else if (arg == "--group" && has_value) {
      options.group = argv[++i];
    } else if (arg == "--state-file" && has_value) {
      options.snapshot_path = argv[++i];
      options.snapshot_every = 1;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      words.push_back(arg);
    }
  }
  if (words.empty() || options.client.socket_path.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  auto store = KvStore::open(options);
  if (!store) {
    std::cerr << "bcast-kv: " << store.error().message << "\n";
    return 1;
  }
  if (words[0] == "serve" && words.size() == 1) return serve(*store.value());
  Session session;
  const json reply = run(*store.value(), session, words);
  std::cout << reply.dump() << std::endl;
  if (!options.snapshot_path.empty()) (void)store.value()->replica().save_snapshot();
  return reply.value("ok", false) ? 0 : 1;
}
