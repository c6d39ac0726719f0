#include "io/systemd_notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace bcast::io {

SystemdNotifier::SystemdNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && socket[0] != '\0';
  std::uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) names this process.
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_interval_ = std::chrono::microseconds(usec);
  }
}

void SystemdNotifier::ready(std::string_view status) {
  send("READY=1\nSTATUS=" + std::string(status));
}

void SystemdNotifier::status(std::string_view status) { send("STATUS=" + std::string(status)); }

void SystemdNotifier::stopping() { send("STOPPING=1\nSTATUS=stopping"); }

void SystemdNotifier::keep_alive(Clock::time_point now) {
  if (!watchdog_enabled() || now < next_keep_alive_) return;
  next_keep_alive_ = now + watchdog_interval_ / 2;
  send("WATCHDOG=1");
}

void SystemdNotifier::send(std::string_view state) {
  if (!enabled_) return;
  // Failure is not actionable here (systemd gone, socket full): the service manager notices
  // the missing READY or WATCHDOG itself.
  (void)sd_notify(0, std::string(state).c_str());
}

}  // namespace bcast::io
