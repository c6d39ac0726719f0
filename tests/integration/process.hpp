// A child process for the integration tests: fork + exec with pipes, read stdout line by line
// with deadlines, write stdin, signal, wait. The destructor always ends the child (SIGTERM, then
// SIGKILL) and reaps it, so a failing or throwing test leaves no process behind; children also
// get PR_SET_PDEATHSIG so that they die with the test process if it is killed outright.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bcast::integration {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Throws std::runtime_error: helpers fail this way so that gtest reports the reason and every
// RAII guard on the way up still runs.
[[noreturn]] void fail(const std::string& what);

struct SpawnOptions {
  bool pipe_stdin = false;                 // else /dev/null
  std::string stderr_path;                 // appended to; empty: merged into stdout
  std::map<std::string, std::string> env;  // set (added to / replacing) in the child
  // Run the child as this user and group (no supplementary groups); needs root.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

class Process {
 public:
  Process(std::vector<std::string> argv, const SpawnOptions& options = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }  // argv joined, for messages

  // --- stdin
  // Writes everything (blocking); false if the child closed its end.
  bool write(std::string_view data);
  void close_stdin();

  // --- stdout
  // Reads whatever is available, waiting at most `timeout` for the first byte; returns false
  // once stdout reached end of file and nothing was read.
  bool pump(std::chrono::milliseconds timeout);
  // Complete lines read so far and not yet taken.
  std::deque<std::string>& lines() { return lines_; }
  bool stdout_closed() const { return out_fd_ < 0; }
  int stdout_fd() const { return out_fd_; }
  // The next line, waiting until `deadline`; nullopt on timeout or end of file.
  std::optional<std::string> read_line(Clock::time_point deadline);
  // Everything printed so far that was not taken as a line (for failure messages).
  std::string transcript() const;

  // --- lifetime
  bool running();  // reaps the child if it exited
  // The exit code (or 128 + signal), waiting until `deadline`; nullopt if still running.
  std::optional<int> wait(Clock::time_point deadline);
  void signal(int sig);
  // SIGTERM, up to `grace` to exit, then SIGKILL; returns the exit status.
  int terminate(std::chrono::milliseconds grace = 3000ms);
  std::optional<int> exit_status() const { return status_; }

  // Reads from every process's stdout that has data, waiting at most `timeout` for any.
  static void pump_all(const std::vector<Process*>& processes, std::chrono::milliseconds timeout);

 private:
  void read_available();

  std::string name_;
  pid_t pid_ = -1;
  int in_fd_ = -1;
  int out_fd_ = -1;
  std::string partial_;
  std::deque<std::string> lines_;
  std::optional<int> status_;
};

// Runs a command to completion (stdout and stderr merged), killing it at `timeout`.
struct CommandResult {
  int status = -1;  // exit code, or 128 + signal
  std::string output;
};
CommandResult run_command(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                          const SpawnOptions& options = {});

// "exit 3" / "signal 9" for a status from Process (128 + signal for signals).
std::string describe_status(int status);

}  // namespace bcast::integration
