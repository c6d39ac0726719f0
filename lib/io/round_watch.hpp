// Times the event loop's rounds and says where a slow one spent its time.
//
// The daemon is one loop: while a round runs, no heartbeat leaves and none is answered. A round
// longer than a good part of the election timeout therefore risks an election, and an operator
// who sees "leader of term 7" in the log wants to know why. Rounds over `slow` are logged with
// their phases (reading peers, clients, the tick, applying the round, completed writes, the
// history's upkeep); the first at once, then at most one report per `report_interval` that also
// counts the slow rounds it summarizes. Every round's duration goes to a histogram
// (bcast_loop_round_seconds).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "io/metrics.hpp"

namespace bcast::io {

class RoundWatch {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Phase : std::uint8_t { kWrites, kPeers, kClients, kTick, kApply, kHistory, kCount };

  RoundWatch(Histogram& rounds, std::chrono::milliseconds slow,
             std::chrono::milliseconds report_interval = std::chrono::seconds(10));

  void begin(Clock::time_point now);
  // The time since the previous lap (or begin) was spent in `phase`.
  void lap(Phase phase, Clock::time_point now);
  // Ends the round; a report to log when it was slow and one is due.
  std::optional<std::string> end(Clock::time_point now);

 private:
  Histogram& rounds_;
  std::chrono::milliseconds slow_;
  std::chrono::milliseconds report_interval_;
  Clock::time_point start_;
  Clock::time_point last_lap_;
  std::array<Clock::duration, static_cast<std::size_t>(Phase::kCount)> phases_{};
  std::optional<Clock::time_point> last_report_;
  std::uint64_t slow_unreported_ = 0;  // slow rounds since the last report (not counting it)
  Clock::duration longest_unreported_{};
};

}  // namespace bcast::io
