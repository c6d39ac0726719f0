// bcastd: the ordered-broadcast daemon. Options: daemon/options.hpp or `bcastd --help`.
//
// Exit status: 0 after a clean stop (SIGINT, SIGTERM), 1 when the daemon cannot start or its
// loop fails, 2 for a bad command line or config file, 70 when storage fails while running
// (lib/io/daemon.cpp). The systemd unit (packaging/bcastd.service) restarts on failure except
// for 2, which no restart can fix.
#include <csignal>
#include <cstdio>

#include "daemon/options.hpp"
#include "io/daemon.hpp"
#include "io/log.hpp"

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_signal(int) { g_stop.store(true); }

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = bcast::daemon::parse_command_line(args);
  if (!parsed) {
    // A usage error, answered on the terminal before any log is configured.
    std::fprintf(stderr, "bcastd: %s (see bcastd --help)\n", parsed.error().message.c_str());
    return 2;
  }
  if (parsed.value().help) {
    std::fputs(parsed.value().help_text.c_str(), stdout);
    return 0;
  }
  if (parsed.value().version) {
    std::puts("bcastd " BCAST_VERSION);
    return 0;
  }
  bcast::log::configure(parsed.value().log);
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto daemon = bcast::io::Daemon::open(parsed.value().options);
  if (!daemon) {
    bcast::log::error("cannot start: {}", daemon.error().message);
    return 1;
  }
  if (auto ran = daemon.value()->run(g_stop); !ran) {
    bcast::log::error("{}", ran.error().message);
    return 1;
  }
  return 0;
}
