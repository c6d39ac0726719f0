// A small metrics registry rendered as Prometheus text (exposition format 0.0.4), served by
// bcastd at /metrics (lib/io/http_server.hpp).
//
//   MetricsRegistry registry;
//   Counter& sent = registry.counter("bcast_things_sent_total", "Things sent.", {{"kind", "a"}});
//   Histogram& wait = registry.histogram("bcast_wait_seconds", "Time waited.",
//                                        latency_buckets_seconds());
//   sent.increment();                      // lock-free: the hot path pays one atomic add
//   wait.observe(0.0042);
//   std::string text = registry.render(); // any thread
//
// Adding a metric is one call, at start or later: asking again for the same name and labels
// returns the same instrument, so code may look instruments up where it needs them (cheaper to
// keep the reference). Instruments live as long as the registry and never move.
//
// Threading: updates are relaxed atomics, safe from any thread; registration and render() take
// the registry's mutex. A render may see one update of a histogram in its buckets but not yet in
// its sum: Prometheus tolerates that, and the count is computed from the buckets so buckets,
// +Inf and _count always agree.
//
// Naming rules, checked at registration (a violation is a programming error and aborts):
// names match [a-zA-Z_:][a-zA-Z0-9_:]*, counters end in `_total`, units are spelled out last
// before `_total` (`_bytes`, `_seconds`), label names match [a-zA-Z_][a-zA-Z0-9_]* and are not
// `le`; one name has one type and one help text.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bcast::io {

// Label name -> value pairs; order does not matter (they are kept sorted by name).
using Labels = std::vector<std::pair<std::string, std::string>>;

// Only goes up (a process restart resets it; Prometheus' rate() handles that).
class Counter {
 public:
  void increment(std::uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down (a depth, an index, a flag).
class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into buckets by upper bound (le), plus their sum and count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  void observe(std::chrono::nanoseconds duration) {
    observe(std::chrono::duration<double>(duration).count());
  }

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Cumulative counts per bound, then +Inf (so the last is the total count).
  std::vector<std::uint64_t> cumulative_counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, the last is +Inf
  std::atomic<double> sum_{0};
};

// 50 us .. 10 s, roughly 1-2.5-5 per decade: fsyncs, round trips, commits.
std::vector<double> latency_buckets_seconds();

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter& counter(std::string_view name, std::string_view help, Labels labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, Labels labels = {});
  // `upper_bounds` strictly increasing and finite (+Inf is implied). Every series of one name
  // must use the same bounds.
  Histogram& histogram(std::string_view name, std::string_view help,
                       std::vector<double> upper_bounds, Labels labels = {});

  // Every metric, families sorted by name and series by labels.
  std::string render() const;

 private:
  enum class Type : std::uint8_t { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> upper_bounds;  // histograms
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };

  Family& family(std::string_view name, std::string_view help, Type type, Labels& labels);

  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
};

// The text format's escaping: label values escape backslash, double quote and newline; help
// texts escape backslash and newline.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);

}  // namespace bcast::io
