// `bcastctl bench` (bench.hpp). All clients are threads of this process and stamp and read one
// steady_clock, so a latency is a plain difference (bench_common.hpp, shared with bcast_bench).
//
// A payload's stamp (bench::Stamp) carries the publisher's index in `phase`, its 0-based
// sequence in `index` and the steady_clock time just before the publish call in `sent_ns`.
// Subscribers only count deliveries from the senders of this run's publishers, so other traffic
// on GROUP (or an earlier run's stragglers) does not disturb the figures.
#include "bench.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "bcast/client.hpp"
#include "bench_common.hpp"

namespace bcast::ctl {
namespace {

namespace po = boost::program_options;
using namespace std::chrono_literals;

[[noreturn]] void bench_usage_error(const std::string& message) {
  std::fprintf(stderr, "bcastctl: bench: %s (bcastctl --help lists the options)\n",
               message.c_str());
  std::exit(2);
}

[[noreturn]] void bench_fail(const std::string& message) {
  std::fprintf(stderr, "bcastctl: bench: %s\n", message.c_str());
  std::exit(1);
}

std::string describe(const Error& error) {
  return std::string(error_code_name(error.code)) + ": " + error.message;
}

struct BenchConfig {
  std::string group;
  std::vector<std::string> sockets;
  std::size_t publishers = 1;
  std::size_t subscribers = 1;
  std::size_t size_bytes = 128;
  std::optional<std::uint64_t> count;  // per publisher; else duration
  std::chrono::seconds duration{0};
  double rate = 0;  // messages per second over all publishers; 0: flat out
  Mode mode = Mode::kReliable;
  Order order = Order::kNone;
  bool json = false;
  std::string html_path;
  std::chrono::milliseconds timeout{15000};
};

std::uint64_t option_number(const BenchRequest& request, const std::string& name,
                            std::uint64_t fallback) {
  const auto it = request.options.find(name);
  if (it == request.options.end()) return fallback;
  const std::string& text = it->second;
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    bench_usage_error("--" + name + " '" + text + "': expected a non-negative integer");
  }
  return value;
}

BenchConfig make_config(const BenchRequest& request) {
  if (request.positional.size() != 1) bench_usage_error("bench needs exactly one GROUP");
  BenchConfig config;
  config.group = request.positional[0];
  config.publishers = option_number(request, "pub", 1);
  config.subscribers = option_number(request, "sub", 1);
  config.size_bytes = option_number(request, "size", 128);
  config.rate = static_cast<double>(option_number(request, "rate", 0));
  config.mode = request.mode.value_or(Mode::kReliable);
  config.order = request.order.value_or(Order::kNone);
  config.json = request.json;
  config.timeout = request.timeout.value_or(15000ms);
  if (request.options.contains("html")) config.html_path = request.options.at("html");
  if (config.mode == Mode::kBestEffort &&
      (config.order == Order::kCausal || config.order == Order::kTotal)) {
    // The daemon refuses every such publish (invalid_argument): a run of them proves nothing.
    bench_usage_error("--mode best-effort takes --order none or fifo, not " +
                      std::string(order_name(config.order)));
  }
  if (config.publishers == 0) bench_usage_error("--pub needs at least 1 publisher");
  if (config.publishers > 1000 || config.subscribers > 1000) {
    bench_usage_error("--pub and --sub take at most 1000 clients each");
  }
  if (config.size_bytes < bench::kStampBytes) {
    bench_usage_error("--size must be at least " + std::to_string(bench::kStampBytes) +
                      " bytes (the stamp: publisher, sequence, send time)");
  }
  const bool has_duration = request.options.contains("duration");
  if (request.count && has_duration) bench_usage_error("give --count or --duration, not both");
  if (has_duration) {
    const std::uint64_t seconds = option_number(request, "duration", 0);
    if (seconds == 0) bench_usage_error("--duration needs a positive number of seconds");
    // Bounded well below where the deadline in nanoseconds would overflow.
    if (seconds > 365ull * 24 * 3600) bench_usage_error("--duration takes at most a year");
    config.duration = std::chrono::seconds(seconds);
  } else {
    config.count = request.count.value_or(10000);
  }
  std::string sockets = request.socket_path;
  if (request.options.contains("sockets")) sockets = request.options.at("sockets");
  for (std::size_t start = 0; start <= sockets.size();) {
    std::size_t end = sockets.find(',', start);
    if (end == std::string::npos) end = sockets.size();
    if (end > start) config.sockets.push_back(sockets.substr(start, end - start));
    start = end + 1;
  }
  if (config.sockets.empty()) bench_usage_error("no daemon socket: pass --sockets or --socket");
  return config;
}

// Messages an order promises to deliver to every subscriber.
bool must_deliver_all(const BenchConfig& config) {
  return config.mode != Mode::kBestEffort || config.order == Order::kTotal;
}
bool promises_fifo(const BenchConfig& config) { return config.order != Order::kNone; }

Client connect_client(const BenchConfig& config, const std::string& socket,
                      const std::string& name) {
  ClientOptions options;
  options.socket_path = socket;
  options.client_name = name;
  options.request_timeout = config.timeout;
  auto client = Client::connect(options);
  if (!client) bench_fail("connect " + socket + ": " + client.error().message);
  return std::move(client).value();
}

// Counters the progress line reads while the run goes on.
struct Progress {
  std::atomic<std::uint64_t> published{0};
  std::atomic<std::uint64_t> delivered{0};
};

struct PublisherResult {
  std::uint64_t published = 0;      // publish() sent it
  std::uint64_t refused = 0;        // by the daemon, after publish() sent them
  std::uint64_t refused_local = 0;  // publish() itself failed (not sent)
  std::string first_refusal;
  std::int64_t last_publish_ns = 0;
  std::optional<std::string> failure;
};

class PublisherThread {
 public:
  PublisherThread(const BenchConfig& config, Client client, std::uint32_t index, Progress& progress)
      : config_(config), client_(std::move(client)), index_(index), progress_(progress) {}

  SenderId sender() const { return client_.sender(); }

  void run(std::int64_t start_ns) {
    std::string payload = bench::make_payload(config_.size_bytes);
    const double per_publisher_rate = config_.rate / static_cast<double>(config_.publishers);
    const std::int64_t end_ns =
        config_.count
            ? 0
            : start_ns +
                  std::chrono::duration_cast<std::chrono::nanoseconds>(config_.duration).count();
    for (std::uint64_t seq = 0;; ++seq) {
      if (config_.count ? seq >= *config_.count : bench::now_ns() >= end_ns) break;
      if (per_publisher_rate > 0) {
        const auto due = start_ns + static_cast<std::int64_t>(static_cast<double>(seq) * 1e9 /
                                                              per_publisher_rate);
        if (!config_.count && due >= end_ns) break;
        if (!wait_until(due)) return;
      }
      const std::int64_t sent_ns = bench::now_ns();
      bench::write_stamp(payload, bench::Stamp{bench::Stamp::kMagic, index_, seq, sent_ns});
      auto id = client_.publish(config_.group, config_.mode, config_.order, payload);
      if (!id) {
        ++result.refused_local;
        note_refusal("publish: " + describe(id.error()));
      } else {
        ++result.published;
        progress_.published.fetch_add(1, std::memory_order_relaxed);
      }
      result.last_publish_ns = bench::now_ns();
      if (!drain()) return;
    }
    // Every publish ends in a receipt or a refusal: wait for them all. in_flight() drops when
    // the client reads one, which may be before next_event() hands it over: read the queue too.
    const auto give_up =
        bench::Clock::now() + std::max<std::chrono::milliseconds>(config_.timeout, 60s);
    while (client_.in_flight() > 0 || client_.has_queued_events()) {
      auto event = client_.next_event(50ms);
      if (!event) {
        result.failure = "publisher " + std::to_string(index_) + ": " + describe(event.error());
        return;
      }
      if (event.value()) on_event(*event.value());
      if (bench::Clock::now() > give_up) {
        result.failure = "publisher " + std::to_string(index_) + ": " +
                         std::to_string(client_.in_flight()) + " receipts still missing";
        return;
      }
    }
  }

  PublisherResult result;

 private:
  void note_refusal(const std::string& reason) {
    if (result.first_refusal.empty()) result.first_refusal = reason;
  }

  void on_event(const Event& event) {
    if (const auto* error = std::get_if<RequestError>(&event)) {
      if (error->request_id != 0) {
        ++result.refused;
        note_refusal(describe(error->error));
      } else {
        // Not tied to a publish: the daemon closed this client, or sent a frame it could not
        // decode (docs/protocol.md). Either is a fault the run must report.
        result.failure = "publisher " + std::to_string(index_) + ": " + describe(error->error);
      }
    }
  }

  // Reads every event already there (receipts); false once the connection is lost.
  bool drain() {
    for (;;) {
      auto event = client_.next_event(0ms);
      if (!event) {
        result.failure = "publisher " + std::to_string(index_) + ": " + describe(event.error());
        return false;
      }
      if (!event.value()) return true;
      on_event(*event.value());
    }
  }

  // Reads receipts until steady_clock reaches `due_ns` (ZMQ_FD is edge-triggered: it is only
  // waited on after the socket was read empty).
  bool wait_until(std::int64_t due_ns) {
    for (;;) {
      if (!drain()) return false;
      const std::int64_t left = due_ns - bench::now_ns();
      if (left <= 0) return true;
      timespec timeout{static_cast<time_t>(left / 1'000'000'000),
                       static_cast<long>(left % 1'000'000'000)};
      pollfd item{client_.fd(), POLLIN, 0};
      (void)::ppoll(&item, 1, &timeout, nullptr);
    }
  }

  const BenchConfig& config_;
  Client client_;
  std::uint32_t index_;
  Progress& progress_;
};

// How publishing ended, for the subscribers' stop condition.
struct PublishingEnd {
  std::atomic<std::int64_t> done_ns{0};    // set once every publisher finished
  std::atomic<std::uint64_t> accepted{0};  // messages the daemons acknowledged
};

class SubscriberThread {
 public:
  SubscriberThread(const BenchConfig& config, Client client, std::size_t index, Progress& progress)
      : config_(config), client_(std::move(client)), index_(index), progress_(progress) {}

  void set_publishers(const std::vector<SenderId>& senders) {
    for (std::size_t i = 0; i < senders.size(); ++i) publisher_of_[senders[i]] = i;
    seen_.resize(senders.size());
    last_index_.assign(senders.size(), std::nullopt);
  }

  void run(std::int64_t start_ns, const PublishingEnd& end) {
    // A must-deliver service that stays silent this long after publishing ended has lost
    // something (the check reports it); best-effort losses are only counted.
    const std::int64_t idle_ns = must_deliver_all(config_) ? 5'000'000'000 : 2'000'000'000;
    std::int64_t last_progress_ns = start_ns;
    for (;;) {
      auto event = client_.next_event(100ms);
      const std::int64_t now = bench::now_ns();
      if (!event) {
        failure = "subscriber " + std::to_string(index_) + ": " + describe(event.error());
        return;
      }
      if (event.value() && on_event(*event.value(), now, start_ns)) last_progress_ns = now;
      const std::int64_t done = end.done_ns.load(std::memory_order_acquire);
      if (done == 0) continue;
      if (delivered >= end.accepted.load(std::memory_order_acquire)) return;
      if (now - std::max(done, last_progress_ns) > idle_ns) return;
    }
  }

  // Results, read after the thread is joined.
  std::uint64_t delivered = 0;  // distinct messages of this run
  std::uint64_t duplicates = 0;
  std::uint64_t reordered = 0;  // delivered after a later message of the same publisher
  std::uint64_t dropped_for_slowness = 0;
  std::int64_t last_delivery_ns = 0;
  std::vector<std::int64_t> latency_ns;
  std::vector<std::uint64_t> per_second;  // deliveries in each second since the start
  std::vector<std::uint64_t> sequence;    // (publisher << 44 | index), total order only
  std::optional<std::string> failure;

 private:
  // True for a new delivery of this run.
  bool on_event(const Event& event, std::int64_t now, std::int64_t start_ns) {
    if (const auto* gap = std::get_if<Gap>(&event)) {
      if (gap->reason == "slow-subscriber" && gap->to) {
        dropped_for_slowness += *gap->to - gap->from + 1;
      }
      return false;
    }
    if (const auto* error = std::get_if<RequestError>(&event)) {
      // A subscriber sends no request: this is the daemon closing it, or an undecodable frame.
      failure = "subscriber " + std::to_string(index_) + ": " + describe(error->error);
      return false;
    }
    const auto* delivery = std::get_if<Delivery>(&event);
    if (delivery == nullptr || delivery->group != config_.group) return false;
    const auto publisher = publisher_of_.find(delivery->sender);
    if (publisher == publisher_of_.end()) return false;
    const auto stamp = bench::read_stamp(delivery->payload);
    if (!stamp || stamp->phase != publisher->second) return false;
    const std::size_t p = publisher->second;
    std::vector<bool>& seen = seen_[p];
    if (stamp->index >= seen.size())
      seen.resize(std::max<std::size_t>(stamp->index + 1, seen.size() * 2));
    if (seen[stamp->index]) {
      ++duplicates;
      return false;
    }
    seen[stamp->index] = true;
    if (last_index_[p] && stamp->index < *last_index_[p]) ++reordered;
    last_index_[p] = std::max(last_index_[p].value_or(0), stamp->index);
    ++delivered;
    progress_.delivered.fetch_add(1, std::memory_order_relaxed);
    last_delivery_ns = now;
    latency_ns.push_back(now - stamp->sent_ns);
    const auto second =
        static_cast<std::size_t>(std::max<std::int64_t>(0, now - start_ns) / 1'000'000'000);
    if (second >= per_second.size()) per_second.resize(second + 1, 0);
    ++per_second[second];
    if (config_.order == Order::kTotal) {
      sequence.push_back((static_cast<std::uint64_t>(p) << 44) | stamp->index);
    }
    return true;
  }

  const BenchConfig& config_;
  Client client_;
  std::size_t index_;
  Progress& progress_;
  std::unordered_map<SenderId, std::size_t> publisher_of_;
  std::vector<std::vector<bool>> seen_;
  std::vector<std::optional<std::uint64_t>> last_index_;
};

// Nearest-rank percentile of sorted samples, in microseconds (as bench::summarize).
double percentile_us(const std::vector<std::int64_t>& sorted_ns, double p) {
  if (sorted_ns.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted_ns.size())));
  return static_cast<double>(sorted_ns[std::clamp<std::size_t>(rank, 1, sorted_ns.size()) - 1]) /
         1000.0;
}

struct Figures {
  std::uint64_t published = 0, refused = 0, accepted = 0, delivered = 0, expected = 0;
  double publish_seconds = 0, publish_msgs_per_s = 0, publish_mb_per_s = 0;
  double deliver_seconds = 0, deliver_msgs_per_s = 0, deliver_mb_per_s = 0;
  bench::Summary latency;
  double p90_us = 0;
  std::uint64_t dropped_for_slowness = 0;
  std::vector<std::uint64_t> per_second;  // deliveries over all subscribers
  std::vector<std::string> problems;
};

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

// "1 publisher", "2 publishers".
std::string count_text(std::size_t count, const std::string& noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

std::string order_checks_text(const BenchConfig& config) {
  std::string text;
  if (must_deliver_all(config)) text += "every message at every subscriber";
  if (promises_fifo(config)) text += std::string(text.empty() ? "" : ", ") + "FIFO per publisher";
  if (config.order == Order::kTotal) text += ", the same sequence at every subscriber";
  return text.empty() ? "none (best-effort without order promises nothing)" : text;
}

void print_text(const BenchConfig& config, const Figures& f) {
  std::string sockets;
  for (const std::string& s : config.sockets) sockets += (sockets.empty() ? "" : ",") + s;
  std::printf("bench %s: %s, %s, %zu-byte messages, %s/%s, on %s\n", config.group.c_str(),
              count_text(config.publishers, "publisher").c_str(),
              count_text(config.subscribers, "subscriber").c_str(), config.size_bytes,
              mode_name(config.mode), order_name(config.order), sockets.c_str());
  std::printf("publish:  %llu msgs in %s s: %s msgs/s, %s MB/s",
              static_cast<unsigned long long>(f.published), fixed(f.publish_seconds, 2).c_str(),
              fixed(f.publish_msgs_per_s, 0).c_str(), fixed(f.publish_mb_per_s, 2).c_str());
  if (f.refused > 0) std::printf(" (%llu refused)", static_cast<unsigned long long>(f.refused));
  std::printf("\n");
  std::printf("deliver:  %llu of %llu msgs in %s s: %s msgs/s, %s MB/s (all subscribers)\n",
              static_cast<unsigned long long>(f.delivered),
              static_cast<unsigned long long>(f.expected), fixed(f.deliver_seconds, 2).c_str(),
              fixed(f.deliver_msgs_per_s, 0).c_str(), fixed(f.deliver_mb_per_s, 2).c_str());
  std::printf(
      "latency (publish call -> delivery, us): p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (%zu "
      "samples)\n",
      fixed(f.latency.p50_us, 1).c_str(), fixed(f.p90_us, 1).c_str(),
      fixed(f.latency.p99_us, 1).c_str(), fixed(f.latency.p999_us, 1).c_str(),
      fixed(f.latency.max_us, 1).c_str(), f.latency.samples);
  std::printf("checked:  %s: %s\n", order_checks_text(config).c_str(),
              f.problems.empty() ? "ok" : "FAILED");
  for (const std::string& problem : f.problems) std::printf("PROBLEM: %s\n", problem.c_str());
  std::fflush(stdout);
}

void print_json(const BenchConfig& config, const Figures& f) {
  nlohmann::json j;
  j["group"] = config.group;
  j["mode"] = mode_name(config.mode);
  j["order"] = order_name(config.order);
  j["publishers"] = config.publishers;
  j["subscribers"] = config.subscribers;
  j["size_bytes"] = config.size_bytes;
  j["sockets"] = config.sockets;
  j["rate"] = config.rate;
  j["published"] = f.published;
  j["refused"] = f.refused;
  j["delivered"] = f.delivered;
  j["expected_deliveries"] = f.expected;
  j["dropped_for_slowness"] = f.dropped_for_slowness;
  j["publish"] = {{"seconds", f.publish_seconds},
                  {"msgs_per_s", f.publish_msgs_per_s},
                  {"mb_per_s", f.publish_mb_per_s}};
  j["deliver"] = {{"seconds", f.deliver_seconds},
                  {"msgs_per_s", f.deliver_msgs_per_s},
                  {"mb_per_s", f.deliver_mb_per_s}};
  j["latency_us"] = {
      {"samples", f.latency.samples}, {"p50", f.latency.p50_us},    {"p90", f.p90_us},
      {"p99", f.latency.p99_us},      {"p99_9", f.latency.p999_us}, {"max", f.latency.max_us}};
  j["delivered_per_second"] = f.per_second;
  j["problems"] = f.problems;
  j["ok"] = f.problems.empty();
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '&') {
      out += "&amp;";
    } else if (c == '"') {
      out += "&quot;";
    } else {
      out += c;
    }
  }
  return out;
}

// A self-contained page: two inline SVG bar charts, no scripts, no external resources.
std::string svg_bars(const std::string& title, const std::vector<double>& values,
                     const std::vector<std::string>& labels, const std::string& y_unit) {
  constexpr int kWidth = 800, kHeight = 300, kLeft = 70, kBottom = 60, kTop = 30;
  const double top_value =
      values.empty() ? 1 : std::max(1.0, *std::max_element(values.begin(), values.end()));
  std::ostringstream svg;
  svg << "<h2>" << title << "</h2>\n<svg width=\"" << kWidth << "\" height=\"" << kHeight
      << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  const int plot_width = kWidth - kLeft - 10, plot_height = kHeight - kTop - kBottom;
  svg << "<line x1=\"" << kLeft << "\" y1=\"" << kTop + plot_height << "\" x2=\""
      << kLeft + plot_width << "\" y2=\"" << kTop + plot_height << "\" stroke=\"black\"/>\n";
  svg << "<line x1=\"" << kLeft << "\" y1=\"" << kTop << "\" x2=\"" << kLeft << "\" y2=\""
      << kTop + plot_height << "\" stroke=\"black\"/>\n";
  svg << "<text x=\"" << kLeft - 5 << "\" y=\"" << kTop + 4 << "\" text-anchor=\"end\">"
      << fixed(top_value, 0) << "</text>\n";
  svg << "<text x=\"" << kLeft - 5 << "\" y=\"" << kTop + plot_height
      << "\" text-anchor=\"end\">0</text>\n";
  svg << "<text x=\"10\" y=\"" << kTop - 10 << "\">" << y_unit << "</text>\n";
  const double bar =
      values.empty() ? 0 : static_cast<double>(plot_width) / static_cast<double>(values.size());
  const std::size_t label_every = std::max<std::size_t>(1, values.size() / 10);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double h = values[i] / top_value * plot_height;
    const double x = kLeft + bar * static_cast<double>(i);
    svg << "<rect x=\"" << fixed(x + 1, 1) << "\" y=\"" << fixed(kTop + plot_height - h, 1)
        << "\" width=\"" << fixed(std::max(1.0, bar - 2), 1) << "\" height=\"" << fixed(h, 1)
        << "\" fill=\"steelblue\"><title>" << labels[i] << ": " << fixed(values[i], 0)
        << "</title></rect>\n";
    if (i % label_every == 0) {
      svg << "<text x=\"" << fixed(x + bar / 2, 1) << "\" y=\"" << kTop + plot_height + 15
          << "\" text-anchor=\"middle\">" << labels[i] << "</text>\n";
    }
  }
  svg << "</svg>\n";
  return svg.str();
}

void write_html(const BenchConfig& config, const Figures& f,
                const std::vector<std::int64_t>& sorted_ns) {
  // Latency histogram: logarithmic buckets from the fastest to the slowest delivery, since a
  // latency distribution's tail spans orders of magnitude.
  constexpr int kBuckets = 40;
  std::vector<double> counts(kBuckets, 0);
  std::vector<std::string> labels(kBuckets);
  if (!sorted_ns.empty()) {
    const double low = std::max<double>(1000.0, static_cast<double>(sorted_ns.front()));
    const double high = std::max<double>(low * 1.01, static_cast<double>(sorted_ns.back()));
    const double step = std::log(high / low) / kBuckets;
    for (int b = 0; b < kBuckets; ++b) {
      labels[static_cast<std::size_t>(b)] = fixed(low * std::exp(step * b) / 1000.0, 0) + " us";
    }
    for (const std::int64_t ns : sorted_ns) {
      const double v = std::max(low, static_cast<double>(ns));
      const int b = std::clamp(static_cast<int>(std::log(v / low) / step), 0, kBuckets - 1);
      counts[static_cast<std::size_t>(b)] += 1;
    }
  }
  std::vector<double> rates(f.per_second.begin(), f.per_second.end());
  std::vector<std::string> seconds;
  for (std::size_t s = 0; s < rates.size(); ++s) seconds.push_back(std::to_string(s) + " s");

  std::ofstream out(config.html_path);
  out << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>bcastctl bench "
      << html_escape(config.group) << "</title></head>\n<body style=\"font-family:sans-serif\">\n";
  out << "<h1>bcastctl bench " << html_escape(config.group) << "</h1>\n<p>"
      << count_text(config.publishers, "publisher") << ", "
      << count_text(config.subscribers, "subscriber") << ", " << config.size_bytes
      << "-byte messages, " << mode_name(config.mode) << "/" << order_name(config.order)
      << "</p>\n<p>publish " << fixed(f.publish_msgs_per_s, 0) << " msgs/s, "
      << fixed(f.publish_mb_per_s, 2) << " MB/s; deliver " << fixed(f.deliver_msgs_per_s, 0)
      << " msgs/s, " << fixed(f.deliver_mb_per_s, 2) << " MB/s</p>\n<p>latency p50 "
      << fixed(f.latency.p50_us, 1) << " us, p90 " << fixed(f.p90_us, 1) << " us, p99 "
      << fixed(f.latency.p99_us, 1) << " us, p99.9 " << fixed(f.latency.p999_us, 1) << " us, max "
      << fixed(f.latency.max_us, 1) << " us</p>\n";
  for (const std::string& problem : f.problems)
    out << "<p><b>PROBLEM:</b> " << html_escape(problem) << "</p>\n";
  out << svg_bars("Latency, publish call to delivery (log buckets)", counts, labels, "deliveries");
  out << svg_bars("Delivered per second (all subscribers)", rates, seconds, "msgs/s");
  out << "</body></html>\n";
  if (!out) bench_fail("cannot write " + config.html_path);
}

}  // namespace

void add_bench_options(po::options_description& o) {
  o.add_options()("pub", po::value<std::string>()->value_name("N"),
                  "bench: publisher clients (default 1)")(
      "sub", po::value<std::string>()->value_name("N"), "bench: subscriber clients (default 1)")(
      "size", po::value<std::string>()->value_name("BYTES"),
      "bench: message size, at least 24 (default 128)")(
      "duration", po::value<std::string>()->value_name("SECONDS"),
      "bench: publish for this long instead of --count (10000 per publisher by default)")(
      "rate", po::value<std::string>()->value_name("MSGS_PER_S"),
      "bench: total publish rate, split among publishers (default 0: flat out)")(
      "sockets", po::value<std::string>()->value_name("PATH,PATH,..."),
      "bench: daemon sockets the clients are spread over, round-robin (default: --socket)")(
      "html", po::value<std::string>()->value_name("FILE"),
      "bench: also write a self-contained HTML report");
}

const std::vector<std::string>& bench_option_names() {
  static const std::vector<std::string> names = {"pub",  "sub",     "size", "duration",
                                                 "rate", "sockets", "html"};
  return names;
}

int run_bench(const BenchRequest& request) {
  const BenchConfig config = make_config(request);
  Progress progress;
  PublishingEnd end;

  // Subscribers first, each on the next socket, then publishers on the ones after: with as many
  // sockets as clients every client has a daemon of its own.
  std::size_t next_socket = 0;
  auto socket_for = [&]() -> const std::string& {
    return config.sockets[next_socket++ % config.sockets.size()];
  };
  std::vector<std::unique_ptr<SubscriberThread>> subscribers;
  for (std::size_t i = 0; i < config.subscribers; ++i) {
    Client client = connect_client(config, socket_for(), "bcastctl bench sub " + std::to_string(i));
    // From the daemon's ok on, every message of the group reaches this client.
    if (auto joined = client.join(config.group); !joined) {
      bench_fail("cannot join " + config.group + ": " + describe(joined.error()));
    }
    subscribers.push_back(
        std::make_unique<SubscriberThread>(config, std::move(client), i, progress));
  }
  std::vector<std::unique_ptr<PublisherThread>> publishers;
  std::vector<SenderId> senders;
  for (std::size_t i = 0; i < config.publishers; ++i) {
    Client client = connect_client(config, socket_for(), "bcastctl bench pub " + std::to_string(i));
    if (client.max_message_bytes() < config.size_bytes) {
      bench_usage_error("--size " + std::to_string(config.size_bytes) +
                        " exceeds the daemon's limit of " +
                        std::to_string(client.max_message_bytes()) + " bytes");
    }
    senders.push_back(client.sender());
    publishers.push_back(std::make_unique<PublisherThread>(
        config, std::move(client), static_cast<std::uint32_t>(i), progress));
  }
  for (auto& s : subscribers) s->set_publishers(senders);

  const std::int64_t start_ns = bench::now_ns();
  std::vector<std::thread> sub_threads, pub_threads;
  for (auto& s : subscribers) {
    sub_threads.emplace_back([&s, &end, start_ns] { s->run(start_ns, end); });
  }
  for (auto& p : publishers) pub_threads.emplace_back([&p, start_ns] { p->run(start_ns); });

  // The progress line, once a second, for a person watching (not for a pipe or a log).
  std::atomic<bool> finished{false};
  std::thread progress_thread;
  if (::isatty(STDERR_FILENO) == 1) {
    progress_thread = std::thread([&] {
      std::uint64_t last_delivered = 0;
      auto next = bench::Clock::now() + 1s;
      while (!finished.load()) {
        std::this_thread::sleep_for(50ms);
        if (bench::Clock::now() < next) continue;
        next += 1s;
        const std::uint64_t delivered = progress.delivered.load();
        std::fprintf(stderr, "\r\033[Kpublished %llu  delivered %llu  %llu msgs/s delivered",
                     static_cast<unsigned long long>(progress.published.load()),
                     static_cast<unsigned long long>(delivered),
                     static_cast<unsigned long long>(delivered - last_delivered));
        last_delivered = delivered;
      }
      std::fprintf(stderr, "\r\033[K");
    });
  }

  for (auto& t : pub_threads) t.join();
  Figures f;
  std::int64_t last_publish_ns = start_ns;
  std::uint64_t daemon_refused = 0;
  for (std::size_t i = 0; i < publishers.size(); ++i) {
    const PublisherResult& r = publishers[i]->result;
    f.published += r.published;
    f.refused += r.refused + r.refused_local;
    daemon_refused += r.refused;
    last_publish_ns = std::max(last_publish_ns, r.last_publish_ns);
    if (r.failure) f.problems.push_back(*r.failure);
    if (r.refused + r.refused_local > 0) {
      f.problems.push_back("publisher " + std::to_string(i) + ": " +
                           std::to_string(r.refused + r.refused_local) +
                           " publishes refused, first: " + r.first_refusal);
    }
  }
  // What the daemons refused was sent (counted in published) but will never be delivered.
  f.accepted = f.published - std::min(f.published, daemon_refused);
  end.accepted.store(f.accepted, std::memory_order_release);
  end.done_ns.store(bench::now_ns(), std::memory_order_release);
  for (auto& t : sub_threads) t.join();
  finished.store(true);
  if (progress_thread.joinable()) progress_thread.join();

  f.expected = f.accepted * config.subscribers;
  // Every sample is kept (8 bytes a delivery) for exact percentiles; each subscriber's are freed
  // once merged, and the percentiles read the one sorted copy, so the peak stays near 2x that.
  std::vector<std::int64_t> latency_ns;
  std::size_t samples = 0;
  for (const auto& s : subscribers) samples += s->latency_ns.size();
  latency_ns.reserve(samples);
  std::int64_t last_delivery_ns = start_ns;
  for (auto& s : subscribers) {
    f.delivered += s->delivered;
    f.dropped_for_slowness += s->dropped_for_slowness;
    last_delivery_ns = std::max(last_delivery_ns, s->last_delivery_ns);
    latency_ns.insert(latency_ns.end(), s->latency_ns.begin(), s->latency_ns.end());
    std::vector<std::int64_t>().swap(s->latency_ns);
    if (s->per_second.size() > f.per_second.size()) f.per_second.resize(s->per_second.size(), 0);
    for (std::size_t i = 0; i < s->per_second.size(); ++i) f.per_second[i] += s->per_second[i];
  }
  std::sort(latency_ns.begin(), latency_ns.end());
  // As bench::summarize (nearest rank), without its copy of every sample.
  f.latency.samples = latency_ns.size();
  f.latency.p50_us = percentile_us(latency_ns, 0.50);
  f.p90_us = percentile_us(latency_ns, 0.90);
  f.latency.p99_us = percentile_us(latency_ns, 0.99);
  f.latency.p999_us = percentile_us(latency_ns, 0.999);
  f.latency.max_us = percentile_us(latency_ns, 1.0);
  const double mb_per_msg = static_cast<double>(config.size_bytes) / 1e6;
  f.publish_seconds = static_cast<double>(last_publish_ns - start_ns) / 1e9;
  if (f.publish_seconds > 0) {
    f.publish_msgs_per_s = static_cast<double>(f.published) / f.publish_seconds;
    f.publish_mb_per_s = f.publish_msgs_per_s * mb_per_msg;
  }
  f.deliver_seconds = static_cast<double>(last_delivery_ns - start_ns) / 1e9;
  if (f.deliver_seconds > 0) {
    f.deliver_msgs_per_s = static_cast<double>(f.delivered) / f.deliver_seconds;
    f.deliver_mb_per_s = f.deliver_msgs_per_s * mb_per_msg;
  }

  // The checks the service promises.
  for (std::size_t i = 0; i < subscribers.size(); ++i) {
    const SubscriberThread& s = *subscribers[i];
    const std::string who = "subscriber " + std::to_string(i) + ": ";
    if (s.failure) f.problems.push_back(*s.failure);
    if (must_deliver_all(config) && s.delivered < f.accepted) {
      f.problems.push_back(who + "got " + std::to_string(s.delivered) + " of " +
                           std::to_string(f.accepted) + " messages");
    }
    if (s.duplicates > 0) {
      f.problems.push_back(who + std::to_string(s.duplicates) + " duplicate deliveries");
    }
    if (promises_fifo(config) && s.reordered > 0) {
      f.problems.push_back(who + std::to_string(s.reordered) +
                           " messages delivered after a later one of the same publisher");
    }
    if (must_deliver_all(config) && s.dropped_for_slowness > 0) {
      f.problems.push_back(who + "the daemon dropped " + std::to_string(s.dropped_for_slowness) +
                           " deliveries (slow subscriber)");
    }
    if (config.order == Order::kTotal && i > 0) {
      const auto& a = subscribers[0]->sequence;
      const auto& b = s.sequence;
      const std::size_t common = std::min(a.size(), b.size());
      const auto diverge =
          std::mismatch(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(common), b.begin());
      if (diverge.first != a.begin() + static_cast<std::ptrdiff_t>(common)) {
        f.problems.push_back(who + "total order differs from subscriber 0 at delivery " +
                             std::to_string(diverge.first - a.begin()));
      }
    }
  }
  if (config.json) {
    print_json(config, f);
  } else {
    print_text(config, f);
  }
  if (!config.html_path.empty()) write_html(config, f, latency_ns);
  return f.problems.empty() ? 0 : 1;
}

}  // namespace bcast::ctl
