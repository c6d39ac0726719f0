// What the two benchmarks share: the timestamp a publisher writes into every payload, the
// percentile summary both report, the key=value results file through which bcast_bench reads
// the ZeroMQ baseline of the same run, and their command line (Boost.Program_options).
//
// Both benchmarks stamp and read times with one steady_clock in one process (publisher and
// receivers are threads of it), so a latency is a plain difference: no clock synchronisation.
#pragma once

#include <algorithm>
#include <boost/program_options.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// The first bytes of every benchmark payload; the rest is filler up to the message size.
struct Stamp {
  std::uint32_t magic = kMagic;
  std::uint32_t phase = 0;   // which measurement the message belongs to
  std::uint64_t index = 0;   // 0, 1, 2, ... in publish order within the phase
  std::int64_t sent_ns = 0;  // steady_clock when the publisher handed it to the send call
  static constexpr std::uint32_t kMagic = 0xbe7c4a57;
};
inline constexpr std::size_t kStampBytes = sizeof(Stamp);
static_assert(kStampBytes == 24);

inline void write_stamp(std::string& payload, const Stamp& stamp) {
  std::memcpy(payload.data(), &stamp, sizeof stamp);
}

inline std::optional<Stamp> read_stamp(std::string_view payload) {
  if (payload.size() < sizeof(Stamp)) return std::nullopt;
  Stamp stamp;
  std::memcpy(&stamp, payload.data(), sizeof stamp);
  if (stamp.magic != Stamp::kMagic) return std::nullopt;
  return stamp;
}

// A payload of `size` bytes: a stamp (filled in per message) and a fixed filler.
inline std::string make_payload(std::size_t size) {
  std::string payload(std::max(size, kStampBytes), '\0');
  for (std::size_t i = kStampBytes; i < payload.size(); ++i) {
    payload[i] = static_cast<char>('a' + i % 26);
  }
  return payload;
}

// Latency percentiles by the nearest-rank method (the p-th percentile is the smallest sample
// with at least p% of the samples at or below it), in microseconds.
struct Summary {
  std::size_t samples = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

inline Summary summarize(std::vector<std::int64_t> ns) {
  Summary s;
  s.samples = ns.size();
  if (ns.empty()) return s;
  std::sort(ns.begin(), ns.end());
  auto rank = [&](double p) {
    const auto r = static_cast<std::size_t>(std::ceil(p * static_cast<double>(ns.size())));
    return static_cast<double>(ns[std::clamp<std::size_t>(r, 1, ns.size()) - 1]) / 1000.0;
  };
  s.p50_us = rank(0.50);
  s.p99_us = rank(0.99);
  s.p999_us = rank(0.999);
  s.max_us = static_cast<double>(ns.back()) / 1000.0;
  return s;
}

inline std::string format_summary(const Summary& s) {
  char line[160];
  std::snprintf(line, sizeof line,
                "p50 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us  (%zu samples)", s.p50_us,
                s.p99_us, s.p999_us, s.max_us, s.samples);
  return line;
}

// Results as `key=value` lines, e.g. "throughput.msgs_per_s=123456.7".
using Results = std::map<std::string, double>;

inline void put_summary(Results& results, const std::string& prefix, const Summary& s) {
  results[prefix + ".samples"] = static_cast<double>(s.samples);
  results[prefix + ".p50_us"] = s.p50_us;
  results[prefix + ".p99_us"] = s.p99_us;
  results[prefix + ".p999_us"] = s.p999_us;
  results[prefix + ".max_us"] = s.max_us;
}

inline std::optional<Summary> get_summary(const Results& results, const std::string& prefix) {
  auto find = [&](const std::string& key) -> std::optional<double> {
    auto it = results.find(prefix + "." + key);
    if (it == results.end()) return std::nullopt;
    return it->second;
  };
  auto samples = find("samples"), p50 = find("p50_us"), p99 = find("p99_us"),
       p999 = find("p999_us"), max = find("max_us");
  if (!samples || !p50 || !p99 || !p999 || !max) return std::nullopt;
  return Summary{static_cast<std::size_t>(*samples), *p50, *p99, *p999, *max};
}

inline bool write_results(const std::string& path, const Results& results) {
  std::ofstream out(path);
  for (const auto& [key, value] : results) out << key << '=' << value << '\n';
  return static_cast<bool>(out);
}

inline std::optional<Results> read_results(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  Results results;
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    results[line.substr(0, eq)] = std::strtod(line.c_str() + eq + 1, nullptr);
  }
  return results;
}

// The benchmarks' command lines, parsed by Boost.Program_options like every bcast tool. Each
// main declares its options (every one takes a value: text or a non-negative integer), then
// reads them with text() and number(). Unknown options, missing values and bad numbers exit 2
// with the message and the usage; --help prints the usage and the options, exit 0.
class Args {
 public:
  Args(int argc, char** argv, const char* usage,
       const std::vector<std::pair<const char*, const char*>>& options)
      : usage_(usage), description_("options") {
    description_.add_options()("help,h", "print this help and exit");
    for (const auto& [name, help] : options) {
      description_.add_options()(
          name, boost::program_options::value<std::string>()->value_name("VALUE"), help);
    }
    try {
      namespace style = boost::program_options::command_line_style;
      boost::program_options::store(boost::program_options::command_line_parser(argc, argv)
                                        .options(description_)
                                        .style(style::unix_style ^ style::allow_guessing)
                                        .run(),
                                    values_);
      boost::program_options::notify(values_);
    } catch (const boost::program_options::error& e) {
      fail(e.what());
    }
    if (values_.count("help")) {
      std::ostringstream help;
      help << usage_ << description_;
      std::fputs(help.str().c_str(), stdout);
      std::exit(0);
    }
  }

  std::string text(const std::string& name, const std::string& fallback) const {
    return values_.count(name) ? values_[name].as<std::string>() : fallback;
  }

  std::uint64_t number(const std::string& name, std::uint64_t fallback) const {
    if (!values_.count(name)) return fallback;
    const std::string value = values_[name].as<std::string>();
    std::uint64_t n = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (error != std::errc() || end != value.data() + value.size() || value.empty()) {
      fail("--" + name + " '" + value + "': expected a non-negative integer");
    }
    return n;
  }

  [[noreturn]] void fail(const std::string& message) const {
    std::fprintf(stderr, "%s\n%s", message.c_str(), usage_);
    std::exit(2);
  }

 private:
  const char* usage_;
  boost::program_options::options_description description_;
  boost::program_options::variables_map values_;
};

}  // namespace bench
