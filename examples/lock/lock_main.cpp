// bcast-lock: take a lease lock from the command line (README.md).
//
//   bcast-lock --socket PATH [--group G] acquire NAME [--lease-ms L] [--hold-ms H] [--wait-ms W]
//   bcast-lock --socket PATH [--group G] show
//
// acquire waits (up to W) for the lock, prints "granted NAME token T", renews it every L/3
// until H has passed (or SIGINT/SIGTERM), then releases it and prints "released NAME". If a
// renewal finds the lease gone (this process was paused past it), it prints "lost NAME" and
// exits with 3: whatever it guarded may now be someone else's.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "lock_client.hpp"

namespace {

using bcast::lock::LockClient;
using bcast::lock::Outcome;
using namespace std::chrono_literals;

volatile std::sig_atomic_t g_stop = 0;

constexpr const char* kUsage =
    "usage: bcast-lock --socket PATH [--group G] acquire NAME [--lease-ms L] [--hold-ms H] "
    "[--wait-ms W]\n"
    "       bcast-lock --socket PATH [--group G] show\n";

struct Options {
  std::string socket;
  std::string group = "locks";
  std::vector<std::string> words;
  std::chrono::milliseconds lease{5000};
  std::chrono::milliseconds hold{10000};
  std::chrono::milliseconds wait{30000};
};

bool parse(int argc, char** argv, Options& options) {
  if (const char* env = std::getenv("BCAST_SOCKET")) options.socket = env;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--socket" && has_value) {
      options.socket = argv[++i];
    } else if (arg == "--group" && has_value) {
      options.group = argv[++i];
    } else if ((arg == "--lease-ms" || arg == "--hold-ms" || arg == "--wait-ms") && has_value) {
      char* end = nullptr;
      const long value = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || value <= 0) return false;
      (arg == "--lease-ms"  ? options.lease
       : arg == "--hold-ms" ? options.hold
                            : options.wait) = std::chrono::milliseconds(value);
    } else if (arg.rfind("--", 0) == 0) {
      return false;
    } else {
      options.words.push_back(arg);
    }
  }
  const bool acquire = options.words.size() == 2 && options.words[0] == "acquire";
  const bool show = options.words.size() == 1 && options.words[0] == "show";
  return !options.socket.empty() && (acquire || show);
}

int show(LockClient& locks) {
  if (auto polled = locks.poll(500ms); !polled) {  // the replay
    std::cerr << "bcast-lock: " << polled.error().message << std::endl;
    return 1;
  }
  const auto clock = locks.table().clock_ms();
  for (const auto& [name, lease] : locks.table().leases()) {
    std::cout << name << " held by sender " << lease.holder << " token " << lease.token
              << " lease ends in " << (lease.expires_ms - clock) << " ms of ordered time"
              << std::endl;
  }
  return 0;
}

// Renews every lease/3 until `hold` passes; returns the exit code.
int hold(LockClient& locks, const Options& options, const std::string& name) {
  const auto until = std::chrono::steady_clock::now() + options.hold;
  while (!g_stop && std::chrono::steady_clock::now() < until) {
    // Apply what others send until the next renewal is due.
    const auto renew_at = std::chrono::steady_clock::now() + options.lease / 3;
    while (!g_stop && std::chrono::steady_clock::now() < renew_at) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          renew_at - std::chrono::steady_clock::now());
      if (auto polled = locks.poll(std::max(left, 1ms)); !polled) {
        std::cerr << "bcast-lock: " << polled.error().message << std::endl;
        return 1;
      }
    }
    auto renewed = locks.renew(name, options.lease);
    if (!renewed) {
      std::cerr << "bcast-lock: " << renewed.error().message << std::endl;
      return 1;
    }
    if (renewed.value().status != Outcome::Status::kRenewed) {
      std::cout << "lost " << name << std::endl;
      return 3;
    }
  }
  auto released = locks.release(name);
  if (!released || released.value().status != Outcome::Status::kReleased) {
    std::cout << "lost " << name << std::endl;
    return 3;
  }
  std::cout << "released " << name << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse(argc, argv, options)) {
    std::cerr << kUsage;
    return 2;
  }
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  auto locks = LockClient::start({.socket_path = options.socket, .client_name = "bcast-lock"},
                                 options.group);
  if (!locks) {
    std::cerr << "bcast-lock: " << locks.error().message << std::endl;
    return 1;
  }
  if (options.words[0] == "show") return show(locks.value());
  const std::string& name = options.words[1];
  auto granted = locks.value().acquire_wait(name, options.lease, options.wait);
  if (!granted) {
    std::cerr << "bcast-lock: " << granted.error().message << std::endl;
    return 1;
  }
  std::cout << "granted " << name << " token " << granted.value().lease->token << std::endl;
  return hold(locks.value(), options, name);
}
