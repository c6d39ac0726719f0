// What bcastd tells systemd when it runs as a Type=notify service (packaging/bcastd.service):
//
//   READY=1      once storage is recovered and the peer, client and HTTP sockets are bound, so
//                `systemctl start` returns when the daemon serves (not when it was forked);
//   STATUS=...   a one-line summary shown by `systemctl status`;
//   WATCHDOG=1   from the event loop, every half WatchdogSec, so a loop that hangs (a stuck disk,
//                a livelock) gets the service restarted instead of lingering;
//   STOPPING=1   when shutdown begins.
//
// Outside systemd (no NOTIFY_SOCKET in the environment) every call does nothing. The messages
// go through libsystemd's sd_notify(3), which handles the socket types and abstract addresses.
#pragma once

#include <chrono>
#include <string_view>

namespace bcast::io {

class SystemdNotifier {
 public:
  using Clock = std::chrono::steady_clock;

  // Reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID once.
  SystemdNotifier();

  void ready(std::string_view status);
  void status(std::string_view status);
  void stopping();
  // Sends WATCHDOG=1 if half the watchdog interval has passed since the last one; cheap to call
  // every event-loop round.
  void keep_alive(Clock::time_point now);

  bool watchdog_enabled() const { return watchdog_interval_.count() > 0; }
  std::chrono::microseconds watchdog_interval() const { return watchdog_interval_; }

 private:
  void send(std::string_view state);

  bool enabled_ = false;
  std::chrono::microseconds watchdog_interval_{0};
  Clock::time_point next_keep_alive_{};
};

}  // namespace bcast::io
