#include "io/round_watch.hpp"

#include <fmt/format.h>

namespace bcast::io {
namespace {

constexpr std::array<const char*, static_cast<std::size_t>(RoundWatch::Phase::kCount)> kPhaseNames =
    {"completed writes", "peers", "clients", "tick", "apply", "history"};

long long whole_ms(RoundWatch::Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

RoundWatch::RoundWatch(Histogram& rounds, std::chrono::milliseconds slow,
                       std::chrono::milliseconds report_interval)
    : rounds_(rounds), slow_(slow), report_interval_(report_interval) {}

void RoundWatch::begin(Clock::time_point now) {
  start_ = now;
  last_lap_ = now;
  phases_.fill(Clock::duration::zero());
}

void RoundWatch::lap(Phase phase, Clock::time_point now) {
  phases_[static_cast<std::size_t>(phase)] += now - last_lap_;
  last_lap_ = now;
}

std::optional<std::string> RoundWatch::end(Clock::time_point now) {
  const Clock::duration took = now - start_;
  rounds_.observe(took);
  if (took < slow_) return std::nullopt;
  if (last_report_ && now - *last_report_ < report_interval_) {
    ++slow_unreported_;
    if (took > longest_unreported_) longest_unreported_ = took;
    return std::nullopt;
  }
  std::string report = fmt::format("slow event-loop round: {} ms (", whole_ms(took));
  const char* separator = "";
  for (std::size_t i = 0; i < phases_.size(); ++i) {
    if (whole_ms(phases_[i]) == 0) continue;
    report += fmt::format("{}{} {} ms", separator, kPhaseNames[i], whole_ms(phases_[i]));
    separator = ", ";
  }
  report += "); heartbeats wait while a round runs";
  if (slow_unreported_ > 0) {
    report += fmt::format("; {} more slow rounds since the last report, the longest {} ms",
                          slow_unreported_, whole_ms(longest_unreported_));
  }
  last_report_ = now;
  slow_unreported_ = 0;
  longest_unreported_ = Clock::duration::zero();
  return report;
}

}  // namespace bcast::io
