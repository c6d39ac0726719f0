// bcastd: the ordered-broadcast daemon. Options: daemon/options.hpp or `bcastd --help`.
#include <csignal>
#include <cstdio>

#include "daemon/options.hpp"
#include "io/daemon.hpp"

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_signal(int) { g_stop.store(true); }

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = bcast::daemon::parse_command_line(args);
  if (!parsed) {
    std::fprintf(stderr, "bcastd: %s (see bcastd --help)\n", parsed.error().message.c_str());
    return 2;
  }
  if (parsed.value().help) {
    std::fputs(parsed.value().help_text.c_str(), stdout);
    return 0;
  }
  if (parsed.value().version) {
    std::puts("bcastd 0.1.0");
    return 0;
  }
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto daemon = bcast::io::Daemon::open(parsed.value().options);
  if (!daemon) {
    std::fprintf(stderr, "bcastd: %s\n", daemon.error().message.c_str());
    return 1;
  }
  if (auto ran = daemon.value()->run(g_stop); !ran) {
    std::fprintf(stderr, "bcastd: %s\n", ran.error().message.c_str());
    return 1;
  }
  return 0;
}
