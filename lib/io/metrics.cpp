#include "io/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace bcast::io {
namespace {

[[noreturn]] void misuse(std::string_view what, std::string_view name) {
  std::fprintf(stderr, "metrics: %.*s: %.*s\n", static_cast<int>(name.size()), name.data(),
               static_cast<int>(what.size()), what.data());
  std::abort();
}

bool valid_name(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!(letter || (allow_colon && c == ':') || (i > 0 && digit))) return false;
  }
  return true;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Prometheus reads Go's float syntax: integers print as integers, the rest in shortest form.
std::string number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string label_text(const Labels& labels, const std::pair<std::string, std::string>* extra) {
  if (labels.empty() && !extra) return "";
  std::string out = "{";
  bool first = true;
  auto add = [&](const std::pair<std::string, std::string>& label) {
    if (!first) out.push_back(',');
    first = false;
    out += label.first + "=\"" + escape_label_value(label.second) + "\"";
  };
  for (const auto& label : labels) add(label);
  if (extra) add(*extra);
  out.push_back('}');
  return out;
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      counts_(new std::atomic<std::uint64_t>[upper_bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::observe(double value) {
  // The first bucket whose bound is >= value (le is inclusive); past the last: +Inf.
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
  std::vector<std::uint64_t> out(upper_bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

std::vector<double> latency_buckets_seconds() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

MetricsRegistry::Family& MetricsRegistry::family(std::string_view name, std::string_view help,
                                                 Type type, Labels& labels) {
  if (!valid_name(name, true)) misuse("invalid metric name", name);
  if (type == Type::kCounter && !ends_with(name, "_total")) {
    misuse("a counter's name ends in _total", name);
  }
  std::sort(labels.begin(), labels.end());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (!valid_name(labels[i].first, false) || labels[i].first.rfind("__", 0) == 0 ||
        labels[i].first == "le") {
      misuse("invalid label name '" + labels[i].first + "'", name);
    }
    if (i > 0 && labels[i].first == labels[i - 1].first) {
      misuse("label '" + labels[i].first + "' given twice", name);
    }
  }
  auto found = families_.find(name);
  if (found == families_.end()) {
    found =
        families_.emplace(std::string(name), Family{type, std::string(help), {}, {}, {}, {}}).first;
  } else if (found->second.type != type || found->second.help != help) {
    misuse("registered again with another type or help", name);
  }
  return found->second;
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help, Labels labels) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, help, Type::kCounter, labels);
  auto& slot = f.counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help, Labels labels) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, help, Type::kGauge, labels);
  auto& slot = f.gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                      std::vector<double> upper_bounds, Labels labels) {
  for (std::size_t i = 0; i < upper_bounds.size(); ++i) {
    if (!std::isfinite(upper_bounds[i]) || (i > 0 && upper_bounds[i] <= upper_bounds[i - 1])) {
      misuse("histogram bounds must be finite and strictly increasing", name);
    }
  }
  std::lock_guard lock(mutex_);
  Family& f = family(name, help, Type::kHistogram, labels);
  if (f.histograms.empty()) {
    f.upper_bounds = upper_bounds;
  } else if (f.upper_bounds != upper_bounds) {
    misuse("every series of a histogram uses the same bounds", name);
  }
  auto& slot = f.histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(std::move(upper_bounds));
  return *slot;
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    static constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};
    out += "# HELP " + name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + name + " " + kTypeNames[static_cast<int>(f.type)] + "\n";
    for (const auto& [labels, counter] : f.counters) {
      out += name + label_text(labels, nullptr) + " " + std::to_string(counter->value()) + "\n";
    }
    for (const auto& [labels, gauge] : f.gauges) {
      out += name + label_text(labels, nullptr) + " " + number(gauge->value()) + "\n";
    }
    for (const auto& [labels, histogram] : f.histograms) {
      const std::vector<std::uint64_t> counts = histogram->cumulative_counts();
      const auto& bounds = histogram->upper_bounds();
      for (std::size_t i = 0; i < counts.size(); ++i) {
        const std::pair<std::string, std::string> le{
            "le", i < bounds.size() ? number(bounds[i]) : "+Inf"};
        out += name + "_bucket" + label_text(labels, &le) + " " + std::to_string(counts[i]) + "\n";
      }
      out += name + "_sum" + label_text(labels, nullptr) + " " + number(histogram->sum()) + "\n";
      out += name + "_count" + label_text(labels, nullptr) + " " + std::to_string(counts.back()) +
             "\n";
    }
  }
  return out;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (const char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace bcast::io
