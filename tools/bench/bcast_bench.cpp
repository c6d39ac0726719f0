// bcast_bench: bcastd's throughput and latency per service, measured through the C++ client
// library against a running cluster (tools/bench.sh starts one; docs/performance.md).
//
// One process, two threads, one steady_clock: a publisher Client connected to one daemon and a
// subscriber Client connected to another, joined to the benchmark's groups before anything is
// published. Each payload starts with a stamp (phase, index, steady_clock time taken just before
// the publish call), so a latency is the subscriber's clock at delivery minus the stamp. Every
// cell (mode/order) gets fresh clients, hence a fresh sender, and fresh group names.
//
//   throughput  --count messages of --size bytes published back to back, pipelined through the
//               client's window (--window publishes unacknowledged, then publish() waits for
//               receipts). Rate = messages delivered at the subscriber / (time of the last
//               delivery - time of the first publish). Their latencies are reported as
//               "saturated" (mostly queueing: publish() waits for the window).
//   latency     --latency-count messages (after --warmup unrecorded ones) at a fixed --rate, an
//               open-loop schedule: publish -> delivery at the subscriber, and publish ->
//               receipt at the publisher (for total order the receipt carries the gseq, so it is
//               the time to a committed position).
//
// Messages a service may lose (best-effort) are counted, never waited for: the subscriber stops
// once it has every message or nothing new arrived for --idle-ms after the publisher finished.
// A loss in any other service is a bug and is reported as such.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bcast/client.hpp"
#include "bench_common.hpp"

namespace {

using namespace std::chrono_literals;
using bcast::Client;
using bcast::Mode;
using bcast::Order;

constexpr char kUsage[] =
    "usage: bcast_bench --pub SOCKET --sub SOCKET [--cells LIST] [--size BYTES] [--count N]\n"
    "                   [--rate MSGS_PER_S] [--latency-count M] [--warmup W] [--window W]\n"
    "                   [--idle-ms MS] [--settle-ms MS] [--prime N] [--baseline FILE]\n"
    "                   [--out FILE] [--samples FILE]\n"
    "  --pub, --sub  client sockets of two different daemons of a running cluster\n"
    "  --cells       mode/order list (default reliable/none,reliable/fifo,reliable/total,\n"
    "                gossip/none,gossip/total,best-effort/none)\n"
    "  defaults: --size 1024 --count 50000 --rate 1000 --latency-count 5000 --warmup 200\n"
    "            --window 1024 (the client library's default) --idle-ms 2000 --settle-ms 500\n"
    "            --prime 10000 (reliable/none messages sent first and not reported; 0: none)\n"
    "  --baseline FILE  bcast_bench_zmq --out FILE of the same run: adds ratios to the table\n"
    "  --out FILE       writes every figure as key=value lines\n"
    "  --samples FILE   writes every delivery's latency: cell phase index gseq sent_ns latency_ns\n"
    "                   (phase 1 throughput, 2 latency; gseq 0 without total order)\n";

constexpr const char* kDefaultCells =
    "reliable/none,reliable/fifo,reliable/total,gossip/none,gossip/total,best-effort/none";

struct Config {
  std::string pub_socket, sub_socket;
  std::size_t size = 1024;
  std::uint64_t count = 50000;
  std::uint64_t rate = 1000;
  std::uint64_t latency_count = 5000;
  std::uint64_t warmup = 200;
  std::size_t window = 1024;
  std::chrono::milliseconds idle{2000};
  std::chrono::milliseconds settle{500};
  std::uint64_t prime = 10000;
  std::string samples;  // --samples FILE
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "bcast_bench: %s\n", message.c_str());
  std::exit(1);
}

Client connect(const std::string& socket, std::size_t window) {
  bcast::ClientOptions options;
  options.socket_path = socket;
  options.client_name = "bcast_bench";
  options.max_in_flight = window;
  options.request_timeout = 10s;  // above the daemon's total-order timeout (3 s)
  auto client = Client::connect(options);
  if (!client) die("connect " + socket + ": " + client.error().message);
  return std::move(client.value());
}

// The subscriber side of one phase: runs in its own thread with the subscriber Client.
class Collector {
 public:
  Collector(std::string group, std::uint32_t phase, std::uint64_t expected, std::uint64_t warmup,
            std::chrono::milliseconds idle)
      : group_(std::move(group)),
        phase_(phase),
        expected_(expected),
        warmup_(warmup),
        idle_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(idle).count()),
        seen_(expected, false) {
    latency_ns.reserve(expected);
    samples.reserve(expected);
  }

  void publisher_done() { publisher_done_ns_.store(bench::now_ns(), std::memory_order_release); }

  void run(Client& sub) {
    const std::int64_t give_up = bench::now_ns() + 600'000'000'000;  // 10 minutes
    std::int64_t last_progress = 0;
    while (delivered < expected_) {
      auto event = sub.next_event(20ms);
      const std::int64_t now = bench::now_ns();
      if (!event) {
        if (!failure) failure = event.error().message;
        return;
      }
      if (event.value()) on_event(*event.value(), now, last_progress);
      const std::int64_t done = publisher_done_ns_.load(std::memory_order_acquire);
      if (done != 0 && now - std::max(done, last_progress) > idle_ns_) return;
      if (now > give_up) {
        failure = "gave up after 10 minutes";
        return;
      }
    }
  }

  // Results, read after the thread is joined.
  std::uint64_t delivered = 0;       // distinct messages of this phase
  std::uint64_t duplicates = 0;      // the same index delivered again
  std::uint64_t reordered = 0;       // delivered after a message published later
  std::uint64_t client_drops = 0;    // deliveries the daemon dropped for this (slow) client
  std::uint64_t gseq_missing = 0;    // total order without a gseq
  std::uint64_t gseq_backwards = 0;  // total order with a gseq not above the previous one
  std::int64_t last_ns = 0;
  std::vector<std::int64_t> latency_ns;
  struct Sample {
    std::uint64_t index, gseq;  // gseq 0: none
    std::int64_t sent_ns, latency_ns;
  };
  std::vector<Sample> samples;  // for --samples
  std::optional<std::string> failure;

 private:
  void on_event(const bcast::Event& event, std::int64_t now, std::int64_t& last_progress) {
    if (const auto* error = std::get_if<bcast::RequestError>(&event)) {
      // Older daemons: "N best-effort deliveries dropped: this client reads too slowly".
      client_drops += std::strtoull(error->error.message.c_str(), nullptr, 10);
      if (error->error.code == bcast::ErrorCode::kUnavailable) {
        failure = "the daemon disconnected the subscriber: " + error->error.message;
      }
      return;
    }
    if (const auto* gap = std::get_if<bcast::Gap>(&event)) {
      // Deliveries the daemon dropped because this client read too slowly, named exactly.
      if (gap->reason == "slow-subscriber" && gap->to) client_drops += *gap->to - gap->from + 1;
      return;
    }
    const auto* delivery = std::get_if<bcast::Delivery>(&event);
    if (delivery == nullptr || delivery->group != group_) return;
    const auto stamp = bench::read_stamp(delivery->payload);
    if (!stamp || stamp->phase != phase_ || stamp->index >= expected_) return;
    if (seen_[stamp->index]) {
      ++duplicates;
      return;
    }
    seen_[stamp->index] = true;
    ++delivered;
    last_ns = now;
    last_progress = now;
    if (highest_ && stamp->index < *highest_) ++reordered;
    highest_ = std::max(highest_.value_or(0), stamp->index);
    if (delivery->order == Order::kTotal) {
      if (!delivery->gseq) {
        ++gseq_missing;
      } else {
        if (last_gseq_ && *delivery->gseq <= *last_gseq_) ++gseq_backwards;
        last_gseq_ = delivery->gseq;
      }
    }
    if (stamp->index >= warmup_) {
      latency_ns.push_back(now - stamp->sent_ns);
      samples.push_back(
          Sample{stamp->index, delivery->gseq.value_or(0), stamp->sent_ns, now - stamp->sent_ns});
    }
  }

  std::string group_;
  std::uint32_t phase_;
  std::uint64_t expected_;
  std::uint64_t warmup_;
  std::int64_t idle_ns_;
  std::vector<bool> seen_;
  std::optional<std::uint64_t> highest_;
  std::optional<std::uint64_t> last_gseq_;
  std::atomic<std::int64_t> publisher_done_ns_{0};
};

// The publisher's bookkeeping of receipts and refusals.
struct Receipts {
  struct Sent {
    std::uint64_t index;
    std::int64_t sent_ns;
  };
  std::unordered_map<std::uint64_t, Sent> pending;  // request id -> what was published
  std::uint64_t warmup = 0;
  std::uint64_t received = 0;
  std::uint64_t refused = 0;        // by the daemon, after publish() sent them
  std::uint64_t refused_local = 0;  // publish() itself failed (e.g. a timeout on the window)
  std::uint64_t gseq_missing = 0;
  std::string first_refusal;
  std::vector<std::int64_t> latency_ns;

  void on_event(const bcast::Event& event, std::int64_t now, bool total) {
    if (const auto* receipt = std::get_if<bcast::Receipt>(&event)) {
      ++received;
      if (total && !receipt->gseq) ++gseq_missing;
      auto it = pending.find(receipt->request_id);
      if (it == pending.end()) return;
      if (it->second.index >= warmup) latency_ns.push_back(now - it->second.sent_ns);
      pending.erase(it);
    } else if (const auto* error = std::get_if<bcast::RequestError>(&event)) {
      if (error->request_id != 0) ++refused;
      if (first_refusal.empty()) {
        first_refusal =
            std::string(bcast::error_code_name(error->error.code)) + ": " + error->error.message;
      }
      pending.erase(error->request_id);
    }
  }
};

struct CellResult {
  std::string name;
  bool total = false;
  bool may_lose = false;
  std::string placement;  // which daemons, and who leads
  // throughput
  std::uint64_t published = 0;
  double msgs_per_s = 0, mb_per_s = 0;
  double publish_seconds = 0;  // until the last publish call returned
  std::shared_ptr<Collector> thr;
  Receipts thr_receipts;
  bench::Summary saturated;
  // latency
  std::uint64_t latency_published = 0;
  std::shared_ptr<Collector> lat;
  Receipts lat_receipts;
  bench::Summary latency, receipt;
  double max_lag_us = 0;
  std::vector<std::string> problems;

  // Messages the service accepted (neither publish() nor the daemon refused them) but the
  // subscriber never got.
  std::uint64_t thr_lost() const {
    const std::uint64_t accepted = published - std::min(published, thr_receipts.refused);
    return accepted - std::min(accepted, thr->delivered);
  }
  std::uint64_t lat_lost() const {
    const std::uint64_t accepted =
        latency_published - std::min(latency_published, lat_receipts.refused);
    return accepted - std::min(accepted, lat->delivered);
  }
  std::uint64_t thr_accepted() const { return thr_lost() + thr->delivered; }
  std::uint64_t lat_accepted() const { return lat_lost() + lat->delivered; }
};

std::string placement(Client& pub, Client& sub) {
  auto status = pub.status();
  std::string text = "publisher on daemon " + std::to_string(pub.node_id()) +
                     ", subscriber on daemon " + std::to_string(sub.node_id());
  if (status && status.value().leader) {
    text += ", leader daemon " + std::to_string(*status.value().leader);
  }
  return text;
}

// Waits for the outstanding receipts (or refusals) of `pub`.
void await_receipts(Client& pub, Receipts& receipts, bool total,
                    std::vector<std::string>& problems) {
  const auto give_up = bench::Clock::now() + 60s;
  while (pub.in_flight() > 0 || pub.has_queued_events()) {
    auto event = pub.next_event(50ms);
    if (!event) {
      problems.push_back("publisher: " + event.error().message);
      return;
    }
    if (event.value()) receipts.on_event(*event.value(), bench::now_ns(), total);
    if (bench::Clock::now() > give_up) {
      problems.push_back(std::to_string(pub.in_flight()) + " receipts missing after 60 s");
      return;
    }
  }
}

void drain(Client& pub, Receipts& receipts, bool total, std::vector<std::string>& problems) {
  while (pub.has_queued_events()) {
    auto event = pub.next_event(0ms);
    if (!event) {
      problems.push_back("publisher: " + event.error().message);
      return;
    }
    if (event.value()) receipts.on_event(*event.value(), bench::now_ns(), total);
  }
}

// Reads whatever the publisher's socket holds right now (the receipts), then waits on its fd
// until `until` or until something arrives. ZMQ_FD is edge-triggered: it is only waited on
// after next_event(0) came back empty.
void pump_until(Client& pub, Receipts& receipts, bool total, bench::Clock::time_point until,
                std::vector<std::string>& problems) {
  for (;;) {
    for (;;) {
      auto event = pub.next_event(0ms);
      if (!event) {
        problems.push_back("publisher: " + event.error().message);
        return;
      }
      if (!event.value()) break;
      receipts.on_event(*event.value(), bench::now_ns(), total);
    }
    const auto now = bench::Clock::now();
    if (now >= until) return;
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(until - now).count();
    timespec timeout{static_cast<time_t>(left / 1'000'000'000),
                     static_cast<long>(left % 1'000'000'000)};
    pollfd item{pub.fd(), POLLIN, 0};
    (void)::ppoll(&item, 1, &timeout, nullptr);
  }
}

CellResult run_cell(const Config& config, Mode mode, Order order, int number) {
  CellResult result;
  result.name = std::string(bcast::mode_name(mode)) + "/" + bcast::order_name(order);
  result.total = order == Order::kTotal;
  result.may_lose = mode == Mode::kBestEffort;
  const std::string prefix = "bench." + std::to_string(::getpid()) + "." + std::to_string(number);
  const std::string thr_group = prefix + ".throughput";
  const std::string lat_group = prefix + ".latency";

  Client sub = connect(config.sub_socket, 1024);
  for (const std::string& group : {thr_group, lat_group}) {
    if (auto joined = sub.join(group); !joined) die("join: " + joined.error().message);
  }
  Client pub = connect(config.pub_socket, config.window);
  if (pub.node_id() == sub.node_id()) die("--pub and --sub are the same daemon");
  result.placement = placement(pub, sub);
  std::string payload = bench::make_payload(config.size);

  // --- throughput ---
  {
    auto collector = std::make_shared<Collector>(thr_group, 1, config.count, 0, config.idle);
    result.thr = collector;
    std::thread thread([&sub, collector] { collector->run(sub); });
    const std::int64_t start = bench::now_ns();
    for (std::uint64_t i = 0; i < config.count; ++i) {
      bench::write_stamp(payload, bench::Stamp{bench::Stamp::kMagic, 1, i, bench::now_ns()});
      auto id = pub.publish(thr_group, mode, order, payload);
      if (!id) {
        result.thr_receipts.refused_local += 1;
        if (result.thr_receipts.first_refusal.empty()) {
          result.thr_receipts.first_refusal = "publish: " + id.error().message;
        }
        continue;
      }
      ++result.published;
      drain(pub, result.thr_receipts, result.total, result.problems);
    }
    result.publish_seconds = static_cast<double>(bench::now_ns() - start) / 1e9;
    collector->publisher_done();
    await_receipts(pub, result.thr_receipts, result.total, result.problems);
    thread.join();
    if (collector->failure) result.problems.push_back("subscriber: " + *collector->failure);
    if (collector->delivered > 0) {
      result.msgs_per_s = static_cast<double>(collector->delivered) /
                          (static_cast<double>(collector->last_ns - start) / 1e9);
      result.mb_per_s = result.msgs_per_s * static_cast<double>(config.size) / 1e6;
    }
    result.saturated = bench::summarize(collector->latency_ns);
  }
  std::this_thread::sleep_for(config.settle);

  // --- latency at a fixed rate ---
  {
    const std::uint64_t total_messages = config.warmup + config.latency_count;
    auto collector =
        std::make_shared<Collector>(lat_group, 2, total_messages, config.warmup, config.idle);
    result.lat = collector;
    result.lat_receipts.warmup = config.warmup;
    std::thread thread([&sub, collector] { collector->run(sub); });
    const auto interval = std::chrono::nanoseconds(1'000'000'000 / config.rate);
    auto next = bench::Clock::now() + interval;
    std::int64_t max_lag_ns = 0;
    for (std::uint64_t i = 0; i < total_messages; ++i) {
      pump_until(pub, result.lat_receipts, result.total, next, result.problems);
      max_lag_ns = std::max<std::int64_t>(max_lag_ns, (bench::Clock::now() - next).count());
      const std::int64_t sent = bench::now_ns();
      bench::write_stamp(payload, bench::Stamp{bench::Stamp::kMagic, 2, i, sent});
      auto id = pub.publish(lat_group, mode, order, payload);
      if (!id) {
        result.lat_receipts.refused_local += 1;
        if (result.lat_receipts.first_refusal.empty()) {
          result.lat_receipts.first_refusal = "publish: " + id.error().message;
        }
      } else {
        ++result.latency_published;
        result.lat_receipts.pending[id.value()] = Receipts::Sent{i, sent};
      }
      next += interval;
    }
    collector->publisher_done();
    await_receipts(pub, result.lat_receipts, result.total, result.problems);
    thread.join();
    if (collector->failure) result.problems.push_back("subscriber: " + *collector->failure);
    result.max_lag_us = static_cast<double>(max_lag_ns) / 1000.0;
    result.latency = bench::summarize(collector->latency_ns);
    result.receipt = bench::summarize(result.lat_receipts.latency_ns);
  }

  // Anything a service promised and did not do.
  for (const Collector* c : {result.thr.get(), result.lat.get()}) {
    const bool thr = c == result.thr.get();
    const char* phase = thr ? "throughput" : "latency";
    const std::uint64_t lost = thr ? result.thr_lost() : result.lat_lost();
    if (!result.may_lose && lost > 0) {
      result.problems.push_back(std::string(phase) + ": " + std::to_string(lost) +
                                " accepted messages never delivered by a service that must not "
                                "lose them");
    }
    if (c->duplicates) result.problems.push_back(std::string(phase) + ": duplicates delivered");
    if (c->client_drops) {
      result.problems.push_back(std::string(phase) + ": the daemon dropped " +
                                std::to_string(c->client_drops) + " deliveries to the subscriber");
    }
    if (order != Order::kNone && c->reordered) {
      result.problems.push_back(std::string(phase) + ": delivered out of publish order");
    }
    if (result.total && (c->gseq_missing || c->gseq_backwards)) {
      result.problems.push_back(std::string(phase) + ": deliveries without increasing gseq");
    }
  }
  for (const Receipts* r : {&result.thr_receipts, &result.lat_receipts}) {
    if (r->refused + r->refused_local > 0 || !r->first_refusal.empty()) {
      result.problems.push_back(std::to_string(r->refused + r->refused_local) +
                                " publishes refused, first: " + r->first_refusal);
    }
    if (result.total && r->gseq_missing) result.problems.push_back("total receipts without gseq");
  }
  return result;
}

std::string us(double value) {
  char text[32];
  std::snprintf(text, sizeof text, value >= 100 ? "%.0f" : "%.1f", value);
  return text;
}

std::string ratio(double value, double baseline) {
  if (baseline <= 0) return "-";
  char text[32];
  const double r = value / baseline;
  std::snprintf(text, sizeof text, r < 10 ? "%.2fx" : "%.0fx", r);
  return text;
}

std::string count_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.0f", value);
  return text;
}

struct Row {
  std::string name;
  double msgs_per_s = 0, mb_per_s = 0;
  std::string lost;
  bench::Summary latency, saturated;
  std::string receipt = "-";
};

void print_table(const Config& config, const std::vector<CellResult>& cells,
                 const std::optional<bench::Results>& baseline) {
  std::vector<Row> rows;
  Row zmq;
  auto baseline_row = [&](const std::string& name, const std::string& prefix) {
    Row row;
    row.name = name;
    row.msgs_per_s = baseline->at(prefix + "throughput.msgs_per_s");
    row.mb_per_s = baseline->at(prefix + "throughput.mb_per_s");
    row.lost = count_text(baseline->at(prefix + "lost"));
    row.latency = bench::get_summary(*baseline, prefix + "latency").value_or(bench::Summary{});
    row.saturated = bench::get_summary(*baseline, prefix + "saturated").value_or(bench::Summary{});
    return row;
  };
  if (baseline) {
    zmq = baseline_row("raw ZeroMQ fan-out (the baseline)", "");
    rows.push_back(zmq);
    if (baseline->contains("path.throughput.msgs_per_s")) {
      rows.push_back(baseline_row("raw ZeroMQ along bcastd's hops (no bcastd work)", "path."));
    }
  }
  for (const CellResult& c : cells) {
    Row row;
    row.name = c.name;
    row.msgs_per_s = c.msgs_per_s;
    row.mb_per_s = c.mb_per_s;
    row.lost = std::to_string(c.thr_lost() + c.lat_lost());
    row.latency = c.latency;
    row.saturated = c.saturated;
    row.receipt = us(c.receipt.p50_us) + " / " + us(c.receipt.p99_us) + " / " +
                  us(c.receipt.p999_us) + " / " + us(c.receipt.max_us);
    rows.push_back(row);
  }

  std::printf(
      "\n%zu-byte messages; throughput: %llu messages pipelined (window %zu); latency: "
      "%llu messages at %llu msg/s after %llu warm-up; times in microseconds; ratios are "
      "to the raw ZeroMQ fan-out of the same run\n\n",
      config.size, static_cast<unsigned long long>(config.count), config.window,
      static_cast<unsigned long long>(config.latency_count),
      static_cast<unsigned long long>(config.rate), static_cast<unsigned long long>(config.warmup));
  std::printf(
      "| service | msg/s | MB/s | x zmq | lost | p50 | p99 | p99.9 | max | p50 x zmq | p99 x zmq "
      "| p99.9 x zmq | max x zmq | publish->receipt p50 / p99 / p99.9 / max |\n");
  std::printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
  for (const Row& r : rows) {
    std::printf("| %s | %s | %.1f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                r.name.c_str(), count_text(r.msgs_per_s).c_str(), r.mb_per_s,
                ratio(r.msgs_per_s, zmq.msgs_per_s).c_str(), r.lost.c_str(),
                us(r.latency.p50_us).c_str(), us(r.latency.p99_us).c_str(),
                us(r.latency.p999_us).c_str(), us(r.latency.max_us).c_str(),
                ratio(r.latency.p50_us, zmq.latency.p50_us).c_str(),
                ratio(r.latency.p99_us, zmq.latency.p99_us).c_str(),
                ratio(r.latency.p999_us, zmq.latency.p999_us).c_str(),
                ratio(r.latency.max_us, zmq.latency.max_us).c_str(), r.receipt.c_str());
  }

  // Not compared: under saturation a latency is mostly the depth of the queues it waited in
  // (the ZeroMQ high-water marks there, the client's window here), not a cost per message.
  std::printf(
      "\nUnder saturation (the throughput runs; send or publish call -> delivery): mostly time "
      "spent queued, so it depends on queue depths and is not compared:\n\n");
  std::printf("| service | p50 | p99 | p99.9 | max |\n");
  std::printf("|---|--:|--:|--:|--:|\n");
  for (const Row& r : rows) {
    std::printf("| %s | %s | %s | %s | %s |\n", r.name.c_str(), us(r.saturated.p50_us).c_str(),
                us(r.saturated.p99_us).c_str(), us(r.saturated.p999_us).c_str(),
                us(r.saturated.max_us).c_str());
  }

  std::printf("\nPer cell:\n");
  for (const CellResult& c : cells) {
    std::printf("  %s: %s\n", c.name.c_str(), c.placement.c_str());
    std::printf(
        "    throughput: %llu/%llu delivered, publishing took %.2f s; latency: %llu/%llu "
        "delivered, publisher at most %.0f us late\n",
        static_cast<unsigned long long>(c.thr->delivered),
        static_cast<unsigned long long>(config.count), c.publish_seconds,
        static_cast<unsigned long long>(c.lat->delivered),
        static_cast<unsigned long long>(config.warmup + config.latency_count), c.max_lag_us);
    if (c.may_lose) {
      auto percent = [](std::uint64_t part, std::uint64_t whole) {
        return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
      };
      std::printf(
          "    best-effort losses: %llu of %llu accepted (%.2f%%) saturated, %llu of %llu "
          "(%.2f%%) at %llu msg/s\n",
          static_cast<unsigned long long>(c.thr_lost()),
          static_cast<unsigned long long>(c.thr_accepted()),
          percent(c.thr_lost(), c.thr_accepted()), static_cast<unsigned long long>(c.lat_lost()),
          static_cast<unsigned long long>(c.lat_accepted()),
          percent(c.lat_lost(), c.lat_accepted()), static_cast<unsigned long long>(config.rate));
    }
    for (const std::string& problem : c.problems) std::printf("    PROBLEM: %s\n", problem.c_str());
  }
}

void write_out(const std::string& path, const Config& config,
               const std::vector<CellResult>& cells) {
  bench::Results results;
  results["size"] = static_cast<double>(config.size);
  results["count"] = static_cast<double>(config.count);
  for (const CellResult& c : cells) {
    const std::string key = c.name;
    results[key + ".throughput.msgs_per_s"] = c.msgs_per_s;
    results[key + ".throughput.mb_per_s"] = c.mb_per_s;
    results[key + ".throughput.delivered"] = static_cast<double>(c.thr->delivered);
    results[key + ".latency.delivered"] = static_cast<double>(c.lat->delivered);
    results[key + ".lost"] = static_cast<double>(c.thr_lost() + c.lat_lost());
    results[key + ".problems"] = static_cast<double>(c.problems.size());
    bench::put_summary(results, key + ".saturated", c.saturated);
    bench::put_summary(results, key + ".latency", c.latency);
    bench::put_summary(results, key + ".receipt", c.receipt);
  }
  if (!bench::write_results(path, results)) die("cannot write " + path);
}

void write_samples(const std::string& path, const std::vector<CellResult>& cells) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) die("cannot write " + path);
  std::fprintf(file, "cell phase index gseq sent_ns latency_ns\n");
  for (const CellResult& c : cells) {
    for (const auto& [phase, collector] : {std::pair{1, c.thr.get()}, std::pair{2, c.lat.get()}}) {
      for (const Collector::Sample& s : collector->samples) {
        std::fprintf(file, "%s %d %llu %llu %lld %lld\n", c.name.c_str(), phase,
                     static_cast<unsigned long long>(s.index),
                     static_cast<unsigned long long>(s.gseq), static_cast<long long>(s.sent_ns),
                     static_cast<long long>(s.latency_ns));
      }
    }
  }
  if (std::fclose(file) != 0) die("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Args args(argc, argv, kUsage,
                         {{"pub", "client socket of the publishing daemon (required)"},
                          {"sub", "client socket of the subscribing daemon (required)"},
                          {"cells", "MODE/ORDER list"},
                          {"size", "message bytes"},
                          {"count", "messages per throughput phase"},
                          {"rate", "messages per second in the latency phase"},
                          {"latency-count", "messages in the latency phase"},
                          {"warmup", "messages not timed at the start of a phase"},
                          {"window", "publishes in flight"},
                          {"idle-ms", "a phase ends after this long without a delivery"},
                          {"settle-ms", "pause between cells"},
                          {"prime", "reliable/none messages sent first, not reported"},
                          {"baseline", "bcast_bench_zmq --out FILE of the same run"},
                          {"out", "write every figure as key=value lines"},
                          {"samples", "write every delivery's latency"}});
  Config config;
  config.pub_socket = args.text("pub", "");
  config.sub_socket = args.text("sub", "");
  const std::string cells_text = args.text("cells", kDefaultCells);
  config.size = args.number("size", config.size);
  config.count = args.number("count", config.count);
  config.rate = args.number("rate", config.rate);
  config.latency_count = args.number("latency-count", config.latency_count);
  config.warmup = args.number("warmup", config.warmup);
  config.window = args.number("window", config.window);
  config.idle = std::chrono::milliseconds(args.number("idle-ms", 2000));
  config.settle = std::chrono::milliseconds(args.number("settle-ms", 500));
  config.prime = args.number("prime", config.prime);
  config.samples = args.text("samples", "");
  const std::string baseline_path = args.text("baseline", "");
  const std::string out = args.text("out", "");
  if (config.pub_socket.empty() || config.sub_socket.empty())
    args.fail("--pub and --sub are required");
  if (config.size < bench::kStampBytes) args.fail("--size must be at least 24 (the timestamp)");
  if (config.count == 0 || config.rate == 0 || config.latency_count == 0 || config.window == 0) {
    args.fail("--count, --rate, --latency-count and --window must be positive");
  }

  std::vector<std::pair<Mode, Order>> cells;
  for (std::size_t start = 0; start <= cells_text.size();) {
    std::size_t end = cells_text.find(',', start);
    if (end == std::string::npos) end = cells_text.size();
    const std::string cell = cells_text.substr(start, end - start);
    const auto slash = cell.find('/');
    const auto mode = bcast::parse_mode(cell.substr(0, slash));
    const auto order =
        slash == std::string::npos ? std::nullopt : bcast::parse_order(cell.substr(slash + 1));
    if (!mode || !order) args.fail("--cells: '" + cell + "' is not MODE/ORDER");
    cells.emplace_back(*mode, *order);
    start = end + 1;
  }
  std::optional<bench::Results> baseline;
  if (!baseline_path.empty()) {
    baseline = bench::read_results(baseline_path);
    if (!baseline || !baseline->contains("throughput.msgs_per_s")) {
      die("--baseline " + baseline_path + ": not a bcast_bench_zmq --out file");
    }
    if (baseline->at("size") != static_cast<double>(config.size)) {
      die("--baseline was measured with another message size");
    }
  }

  // A fresh cluster is slower at first (its daemons' memory grows, caches fill): prime it with
  // a reliable/none cell that is not reported.
  int number = 0;
  if (config.prime > 0) {
    std::printf("priming the cluster: %llu reliable/none messages (not reported)\n",
                static_cast<unsigned long long>(config.prime));
    std::fflush(stdout);
    Config prime = config;
    prime.count = config.prime;
    prime.latency_count = 100;
    prime.warmup = 0;
    (void)run_cell(prime, Mode::kReliable, Order::kNone, ++number);
    std::this_thread::sleep_for(config.settle);
  }
  std::vector<CellResult> results;
  for (const auto& [mode, order] : cells) {
    std::printf("%s/%s ...\n", bcast::mode_name(mode), bcast::order_name(order));
    std::fflush(stdout);
    results.push_back(run_cell(config, mode, order, ++number));
    const CellResult& c = results.back();
    std::printf("  %.0f msg/s delivered; latency %s; receipt %s\n", c.msgs_per_s,
                bench::format_summary(c.latency).c_str(), bench::format_summary(c.receipt).c_str());
    std::fflush(stdout);
    std::this_thread::sleep_for(config.settle);
  }
  print_table(config, results, baseline);
  if (!out.empty()) write_out(out, config, results);
  if (!config.samples.empty()) write_samples(config.samples, results);
  bool problems = false;
  for (const CellResult& c : results) problems = problems || !c.problems.empty();
  return problems ? 1 : 0;
}
