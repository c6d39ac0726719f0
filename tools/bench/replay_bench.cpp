// bcast_replay_bench: how fast a subscriber replays a group's total order from a daemon's history
// ([replay]), as a ratio to the live delivery of the same messages in the same run, and what the
// replaying daemon's memory does meanwhile.
//
// 1. A live subscriber on --sub joins GROUP; a publisher on --pub publishes --count total-order
//    messages of --size bytes, pipelined; live msgs/s = messages / (last delivery - first).
// 2. A second subscriber on --sub joins GROUP from gseq 1 and reads the whole sequence back out
//    of the history; replay msgs/s = messages / (last replayed - join). Every replayed message is
//    checked: each live one once, in the same order.
// 3. --daemon-pid: the --sub daemon's resident memory (VmRSS) before the replay and its peak
//    during it, sampled between reads.
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "bcast/client.hpp"
#include "bench_common.hpp"

namespace {

using namespace std::chrono_literals;
using bcast::Client;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: bcast_replay_bench --pub SOCKET --sub SOCKET [--count N] [--size BYTES] "
    "[--group G] [--daemon-pid PID]\n";

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "bcast_replay_bench: %s\n", message.c_str());
  std::exit(1);
}

Client connect(const std::string& socket, const std::string& name) {
  bcast::ClientOptions options;
  options.socket_path = socket;
  options.client_name = name;
  options.request_timeout = 30s;
  auto client = Client::connect(options);
  if (!client) die("connect " + socket + ": " + client.error().message);
  return std::move(client).value();
}

// The process's VmRSS in KiB (0 if unknown).
std::uint64_t rss_kib(std::uint64_t pid) {
  if (pid == 0) return 0;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Reads deliveries of `sub` until `count` arrived (or nothing for 30 s); returns their gseqs and
// the time of the first and last.
struct Read {
  std::vector<std::uint64_t> gseqs;
  Clock::time_point first{};
  Clock::time_point last{};
  std::uint64_t peak_rss_kib = 0;
};

void read_some(Client& client, Read& read, std::uint64_t pid, std::chrono::milliseconds wait) {
  auto event = client.next_event(wait);
  if (!event) die("subscriber: " + event.error().message);
  for (; event.value(); event = client.next_event(0ms)) {
    if (!event) die("subscriber: " + event.error().message);
    if (const auto* d = std::get_if<bcast::Delivery>(&*event.value())) {
      read.last = Clock::now();
      if (read.gseqs.empty()) read.first = read.last;
      read.gseqs.push_back(d->gseq.value_or(0));
    } else if (const auto* gap = std::get_if<bcast::Gap>(&*event.value())) {
      die("subscriber: a gap (" + gap->reason + ") in a benchmark run");
    }
    if (read.gseqs.size() % 4096 == 0) {
      read.peak_rss_kib = std::max(read.peak_rss_kib, rss_kib(pid));
    }
  }
  read.peak_rss_kib = std::max(read.peak_rss_kib, rss_kib(pid));
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Args args(argc, argv, kUsage,
                         {{"pub", "client socket of the publishing daemon (required)"},
                          {"sub", "client socket of the subscribing daemon (required)"},
                          {"count", "total-order messages (default 100000)"},
                          {"size", "message bytes (default 1024)"},
                          {"group", "group (default replay-bench)"},
                          {"daemon-pid", "the --sub daemon's pid, for its memory"}});
  const std::string pub_socket = args.text("pub", "");
  const std::string sub_socket = args.text("sub", "");
  const std::uint64_t count = args.number("count", 100000);
  const std::uint64_t size = args.number("size", 1024);
  const std::string group = args.text("group", "replay-bench");
  const std::uint64_t pid = args.number("daemon-pid", 0);
  if (pub_socket.empty() || sub_socket.empty()) args.fail("--pub and --sub are required");
  if (count == 0 || size == 0) args.fail("--count and --size must be positive");

  Client live = connect(sub_socket, "replay-bench live");
  if (auto joined = live.join(group); !joined) die("join: " + joined.error().message);
  Client pub = connect(pub_socket, "replay-bench publisher");
  const std::string payload(size, 'r');
  Read live_read;
  std::uint64_t published = 0;
  const auto drain_receipts = [&] {
    for (auto event = pub.next_event(0ms); event && event.value(); event = pub.next_event(0ms)) {
      if (const auto* e = std::get_if<bcast::RequestError>(&*event.value())) {
        die("publish refused: " + e->error.message);
      }
    }
  };
  while (published < count || live_read.gseqs.size() < count) {
    if (published < count) {
      auto id = pub.publish(group, bcast::Mode::kReliable, bcast::Order::kTotal, payload);
      if (!id) die("publish: " + id.error().message);
      ++published;
    }
    drain_receipts();
    const std::size_t before = live_read.gseqs.size();
    read_some(live, live_read, 0, published < count ? 0ms : 100ms);
    if (published == count && live_read.gseqs.size() == before &&
        Clock::now() - live_read.last > 30s) {
      die("live subscriber: " + std::to_string(live_read.gseqs.size()) + " of " +
          std::to_string(count) + " delivered");
    }
  }
  const std::uint64_t rss_before_kib = rss_kib(pid);

  Client replayer = connect(sub_socket, "replay-bench replayer");
  const auto joined_at = Clock::now();
  if (auto joined = replayer.join(group, 1); !joined) die("replay join: " + joined.error().message);
  Read replay_read;
  while (replay_read.gseqs.size() < live_read.gseqs.size()) {
    const std::size_t before = replay_read.gseqs.size();
    read_some(replayer, replay_read, pid, 100ms);
    if (replay_read.gseqs.size() == before && Clock::now() - joined_at > 30s &&
        Clock::now() - replay_read.last > 30s) {
      die("replay stalled at " + std::to_string(before) + " of " + std::to_string(count));
    }
  }
  if (replay_read.gseqs != live_read.gseqs) die("the replay differs from the live sequence");

  const double live_rate = count / seconds(live_read.last - live_read.first);
  const double replay_rate = count / seconds(replay_read.last - joined_at);
  std::printf("messages: %llu of %llu bytes, total order, group %s\n",
              static_cast<unsigned long long>(count), static_cast<unsigned long long>(size),
              group.c_str());
  std::printf("live delivery: %.0f msgs/s\n", live_rate);
  std::printf("replay from gseq 1: %.0f msgs/s (%.2f x live)\n", replay_rate,
              replay_rate / live_rate);
  if (pid != 0) {
    std::printf("daemon RSS: %.1f MiB before the replay, peak %.1f MiB during it\n",
                rss_before_kib / 1024.0, replay_read.peak_rss_kib / 1024.0);
  }
  return 0;
}
