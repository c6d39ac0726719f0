#include "process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace bcast::integration {
namespace {

// A write to a child that died must be an error value, not a SIGPIPE that kills the test.
const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

int decode_status(int raw) {
  if (WIFEXITED(raw)) return WEXITSTATUS(raw);
  if (WIFSIGNALED(raw)) return 128 + WTERMSIG(raw);
  return -1;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

void fail(const std::string& what) { throw std::runtime_error(what); }

std::string describe_status(int status) {
  if (status > 128) return "signal " + std::to_string(status - 128);
  return "exit " + std::to_string(status);
}

Process::Process(std::vector<std::string> argv, const SpawnOptions& options) {
  (void)kSigpipeIgnored;
  for (const std::string& a : argv) name_ += (name_.empty() ? "" : " ") + a;
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string key = entry.substr(0, entry.find('='));
    if (!options.env.contains(key)) env_strings.push_back(entry);
  }
  for (const auto& [key, value] : options.env) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int in_pipe[2] = {-1, -1};
  int out_pipe[2] = {-1, -1};
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) fail("pipe2: " + std::string(std::strerror(errno)));
  if (options.pipe_stdin && ::pipe2(in_pipe, O_CLOEXEC) != 0) {
    fail("pipe2: " + std::string(std::strerror(errno)));
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int err_fd = -1;
  if (!options.stderr_path.empty()) {
    err_fd = ::open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (err_fd < 0) fail("open " + options.stderr_path + ": " + std::strerror(errno));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) fail("fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the test died before prctl took effect
    ::dup2(options.pipe_stdin ? in_pipe[0] : null_fd, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_fd >= 0 ? err_fd : out_pipe[1], 2);
    if (options.gid && (::setgroups(0, nullptr) != 0 || ::setgid(*options.gid) != 0)) ::_exit(126);
    if (options.uid && ::setuid(*options.uid) != 0) ::_exit(126);
    ::execve(args[0], args.data(), envp.data());
    const char msg[] = "exec failed\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  pid_ = pid;
  ::close(out_pipe[1]);
  out_fd_ = out_pipe[0];
  if (options.pipe_stdin) {
    ::close(in_pipe[0]);
    in_fd_ = in_pipe[1];
  }
  ::close(null_fd);
  if (err_fd >= 0) ::close(err_fd);
  ::fcntl(out_fd_, F_SETFL, ::fcntl(out_fd_, F_GETFL) | O_NONBLOCK);
}

Process::~Process() {
  if (!status_) terminate(2000ms);
  close_fd(in_fd_);
  close_fd(out_fd_);
}

bool Process::write(std::string_view data) {
  if (in_fd_ < 0) return false;
  while (!data.empty()) {
    const ssize_t n = ::write(in_fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void Process::close_stdin() { close_fd(in_fd_); }

void Process::read_available() {
  char buffer[65536];
  bool eof = false;
  for (;;) {
    const ssize_t n = ::read(out_fd_, buffer, sizeof buffer);
    if (n > 0) {
      partial_.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    eof = n == 0;
    break;  // EAGAIN or end of file
  }
  std::size_t start = 0;
  for (std::size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines_.push_back(partial_.substr(start, nl - start));
  }
  partial_.erase(0, start);
  if (eof) {
    if (!partial_.empty()) lines_.push_back(std::move(partial_));  // a last line without newline
    partial_.clear();
    close_fd(out_fd_);
  }
}

bool Process::pump(std::chrono::milliseconds timeout) {
  if (out_fd_ < 0) return false;
  pollfd p{out_fd_, POLLIN, 0};
  const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (ready > 0) read_available();
  return true;
}

void Process::pump_all(const std::vector<Process*>& processes, std::chrono::milliseconds timeout) {
  std::vector<pollfd> fds;
  std::vector<Process*> owners;
  for (Process* p : processes) {
    if (p->out_fd_ < 0) continue;
    fds.push_back({p->out_fd_, POLLIN, 0});
    owners.push_back(p);
  }
  if (fds.empty()) {
    std::this_thread::sleep_for(timeout);  // nothing to read: only time can change anything
    return;
  }
  if (::poll(fds.data(), fds.size(), static_cast<int>(timeout.count())) <= 0) return;
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].revents != 0) owners[i]->read_available();
  }
}

std::optional<std::string> Process::read_line(Clock::time_point deadline) {
  for (;;) {
    if (!lines_.empty()) {
      std::string line = std::move(lines_.front());
      lines_.pop_front();
      return line;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= 0ms || out_fd_ < 0) return std::nullopt;
    pump(std::min<std::chrono::milliseconds>(left, 100ms));
  }
}

std::string Process::transcript() const {
  std::string text;
  for (const std::string& l : lines_) text += l + "\n";
  return text + partial_;
}

bool Process::running() {
  if (status_) return false;
  int raw = 0;
  const pid_t r = ::waitpid(pid_, &raw, WNOHANG);
  if (r == pid_) {
    status_ = decode_status(raw);
    return false;
  }
  return true;
}

std::optional<int> Process::wait(Clock::time_point deadline) {
  // Keep draining stdout meanwhile so a chatty child never blocks on a full pipe.
  while (running()) {
    if (Clock::now() >= deadline) return std::nullopt;
    if (out_fd_ >= 0) {
      pump(10ms);
    } else {
      std::this_thread::sleep_for(5ms);  // polling the child's state: there is no fd for it
    }
  }
  if (out_fd_ >= 0) {
    // The child is gone; whatever it wrote is in the pipe (unless a grandchild holds it open).
    pump(0ms);
  }
  return status_;
}

void Process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

int Process::terminate(std::chrono::milliseconds grace) {
  if (running()) {
    ::kill(pid_, SIGTERM);
    if (!wait(Clock::now() + grace)) {
      ::kill(pid_, SIGKILL);
      int raw = 0;
      while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
      }
      status_ = decode_status(raw);
    }
  }
  return *status_;
}

CommandResult run_command(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                          const SpawnOptions& options) {
  SpawnOptions merged = options;
  merged.stderr_path.clear();
  Process process(std::move(argv), merged);
  const auto deadline = Clock::now() + timeout;
  CommandResult result;
  while (process.pump(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::max(deadline - Clock::now(), Clock::duration::zero())))) {
    if (Clock::now() >= deadline) break;
  }
  auto status = process.wait(deadline);
  result.output = process.transcript();
  if (!status) {
    process.terminate(500ms);
    fail("`" + process.name() + "` did not finish within " + std::to_string(timeout.count()) +
         " ms; output so far:\n" + result.output);
  }
  result.status = *status;
  return result;
}

}  // namespace bcast::integration
