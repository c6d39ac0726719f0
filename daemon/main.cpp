// bcastd: the ordered-broadcast daemon. Options: daemon/options.hpp or `bcastd --help`.
//
// Exit status: 0 after a clean stop (SIGINT, SIGTERM), 1 when the daemon cannot start or its
// loop fails, 2 for a bad command line or config file, 70 when storage fails while running
// (lib/io/daemon.cpp). The systemd unit (packaging/bcastd.service) restarts on failure except
// for 2, which no restart can fix.
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include "daemon/options.hpp"
#include "io/daemon.hpp"
#include "io/log.hpp"

namespace {

std::atomic<bool> g_stop{false};

// SIGINT and SIGTERM are blocked in every thread (the mask is inherited by all the threads the
// daemon starts) and taken by one of their own, which asks the loop to stop; the loop notices
// within a tick. A handler ran on the event loop instead, interrupting whatever ZeroMQ call it
// was in: cppzmq turns that EINTR into an exception, and a daemon asked to stop aborted
// (ops_logs, ops_systemd_notify under load).
void take_stop_signals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::thread([stop_signals] {
    for (;;) {
      int signal = 0;
      if (sigwait(&stop_signals, &signal) == 0) g_stop.store(true);
    }
  }).detach();
}

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
  take_stop_signals();  // before any other thread starts
  bcast::log::configure(parsed.value().log);
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
