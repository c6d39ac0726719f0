#include "cluster.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace bcast::integration {
namespace fs = std::filesystem;

std::string bcastd_path() { return BCAST_BCASTD_PATH; }
std::string bcastctl_path() { return BCAST_BCASTCTL_PATH; }
std::string build_dir() { return BCAST_BUILD_DIR; }
std::string local_cluster_path() { return std::string(BCAST_SOURCE_DIR) + "/tools/local-cluster"; }

std::string read_file(const std::string& path, std::size_t max_tail) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  if (s.size() > max_tail) s = "..." + s.substr(s.size() - max_tail);
  return s;
}

// ---- TempDir ----

TempDir::TempDir() {
  std::string pattern = "/tmp/bcast-it-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) fail("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  if (keep_) return;
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

// ---- ports ----

namespace {

bool port_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  // ZeroMQ listens with SO_REUSEADDR, so a port in TIME_WAIT is usable: check the same way.
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::atomic<int> g_port_index{0};

}  // namespace

int pick_base_port(int count) {
  constexpr int kLow = 20000;
  constexpr int kSlots = 3990;  // bases kLow, kLow+10, ...; each slot holds up to 9 daemons
  const int index = g_port_index.fetch_add(1);
  const std::uint64_t mix = static_cast<std::uint64_t>(::getpid()) * 7919u + index * 104729u;
  for (int attempt = 0; attempt < kSlots; ++attempt) {
    const int base = kLow + static_cast<int>((mix + attempt) % kSlots) * 10;
    bool free = true;
    for (int p = base + 1; p <= base + count && free; ++p) free = port_free(p);
    if (free) return base;
  }
  fail("no free loopback ports in 20000..60000");
}

// ---- LocalCluster ----

LocalCluster::LocalCluster(std::string dir, int size, std::vector<std::string> bcastd_args,
                           Keys keys, std::optional<int> spare_keys)
    : dir_(std::move(dir)), size_(size) {
  // A daemon that cannot bind (a port taken between the check and its start) fails the start;
  // another base port in a fresh directory is then tried.
  std::string failures;
  const std::string base_dir = dir_;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    dir_ = attempt == 1 ? base_dir : base_dir + "-retry" + std::to_string(attempt);
    base_port_ = pick_base_port(size);
    std::vector<std::string> args = {"start",   std::to_string(size), "--dir",
                                     dir_,      "--base-port",        std::to_string(base_port_),
                                     "--build", build_dir()};
    if (keys == Keys::kNone) args.push_back("--no-keys");
    if (spare_keys) {
      args.push_back("--spare-keys");
      args.push_back(std::to_string(*spare_keys));
    }
    if (!bcastd_args.empty()) {
      args.push_back("--");
      args.insert(args.end(), bcastd_args.begin(), bcastd_args.end());
    }
    CommandResult started;
    try {
      started = run(args, std::chrono::seconds(30));
    } catch (const std::exception& e) {
      started.status = -1;
      started.output = e.what();
    }
    if (started.status == 0) return;
    failures += "attempt " + std::to_string(attempt) + " (base port " + std::to_string(base_port_) +
                "): " + describe_status(started.status) + ": " + started.output + "\n" + all_logs();
    stop();
    stopped_ = false;
  }
  stopped_ = true;
  fail("local-cluster start " + std::to_string(size) + " failed:\n" + failures);
}

LocalCluster::~LocalCluster() {
  try {
    stop();
  } catch (...) {
  }
}

CommandResult LocalCluster::run(const std::vector<std::string>& args,
                                std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {"/bin/bash", local_cluster_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, timeout);
}

std::string LocalCluster::socket(int node) const {
  return dir_ + "/n" + std::to_string(node) + "/bcastd.sock";
}

std::string LocalCluster::endpoint(int node) const {
  return "tcp://127.0.0.1:" + std::to_string(base_port_ + node);
}

std::string LocalCluster::log_path(int node) const {
  return dir_ + "/n" + std::to_string(node) + "/bcastd.log";
}

std::string LocalCluster::log_tail(int node, std::size_t max_bytes) const {
  return read_file(log_path(node), max_bytes);
}

std::string LocalCluster::all_logs() const {
  std::string text;
  for (int i = 1; i <= size_; ++i) {
    text += "--- " + log_path(i) + ":\n" + log_tail(i) + "\n";
  }
  return text;
}

void LocalCluster::kill(int node) {
  auto r = run({"kill", std::to_string(node), "--dir", dir_}, std::chrono::seconds(10));
  if (r.status != 0) fail("local-cluster kill " + std::to_string(node) + ": " + r.output);
}

void LocalCluster::restart(int node) {
  auto r = run({"restart", std::to_string(node), "--dir", dir_}, std::chrono::seconds(15));
  if (r.status != 0) {
    fail("local-cluster restart " + std::to_string(node) + ": " + r.output + "\n" + log_tail(node));
  }
  // `local-cluster restart` returns as soon as the socket file exists, and a daemon killed with
  // -9 leaves its file behind: wait until the new daemon itself answers.
  const std::string pid_text = read_file(dir_ + "/n" + std::to_string(node) + "/pid");
  const pid_t pid = static_cast<pid_t>(std::atol(pid_text.c_str()));
  const auto deadline = Clock::now() + 10s;
  for (;;) {
    const auto probe = Clock::now();
    if (pid <= 0 || ::kill(pid, 0) != 0) {
      fail("daemon " + std::to_string(node) + " exited right after its restart:\n" +
           log_tail(node));
    }
    if (status_json(socket(node))) return;
    if (Clock::now() >= deadline) {
      fail("daemon " + std::to_string(node) + " does not answer status 10 s after its restart:\n" +
           log_tail(node));
    }
    std::this_thread::sleep_until(probe + 50ms);  // pace the probes (see wait_status)
  }
}

void LocalCluster::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (!fs::exists(dir_ + "/cluster.env")) return;
  run({"stop", "--dir", dir_}, std::chrono::seconds(30));
}

int LocalCluster::wait_leader() {
  auto r = run({"wait-leader", "--dir", dir_}, std::chrono::seconds(20));
  const auto at = r.output.find("leader: ");
  if (r.status != 0 || at == std::string::npos) {
    fail("local-cluster wait-leader: " + describe_status(r.status) + ": " + r.output + "\n" +
         all_logs());
  }
  return std::stoi(r.output.substr(at + 8));
}

std::vector<std::string> LocalCluster::key_args(int node) {
  auto r = run({"key-args", std::to_string(node), "--dir", dir_}, std::chrono::seconds(10));
  if (r.status != 0) fail("local-cluster key-args: " + describe_status(r.status) + ": " + r.output);
  std::vector<std::string> args;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) args.push_back(line);
  }
  return args;
}

// ---- status ----

std::optional<nlohmann::json> status_json(const std::string& socket) {
  auto r = run_command({bcastctl_path(), "--socket", socket, "status", "--json"},
                       std::chrono::seconds(10));
  if (r.status != 0) return std::nullopt;
  try {
    std::istringstream lines(r.output);
    std::string first;
    std::getline(lines, first);
    auto parsed = nlohmann::json::parse(first);
    if (!parsed.is_object()) return std::nullopt;
    return parsed;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

nlohmann::json wait_status(const std::string& socket,
                           const std::function<bool(const nlohmann::json&)>& accept,
                           std::chrono::milliseconds timeout, const std::string& what) {
  const auto deadline = Clock::now() + timeout;
  std::string last = "(no answer)";
  for (;;) {
    const auto started = Clock::now();
    if (auto s = status_json(socket)) {
      last = s->dump();
      if (accept(*s)) return *s;
    }
    if (Clock::now() >= deadline) break;
    // Each probe is a process start and a round trip; pace them so they do not load the
    // machine, waiting for the condition (not for time) with a deadline.
    std::this_thread::sleep_until(started + 50ms);
  }
  fail("`bcastctl --socket " + socket + " status --json` never showed " + what + " within " +
       std::to_string(timeout.count()) + " ms; last: " + last);
}

// ---- payloads ----

std::optional<PayloadId> parse_payload(const std::string& payload) {
  const std::string head = payload.substr(0, payload.find(':'));
  const auto dash = head.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == head.size()) return std::nullopt;
  PayloadId id;
  id.tag = head.substr(0, dash);
  for (std::size_t i = dash + 1; i < head.size(); ++i) {
    if (head[i] < '0' || head[i] > '9') return std::nullopt;
    id.n = id.n * 10 + static_cast<std::uint64_t>(head[i] - '0');
  }
  return id;
}

// ---- Subscriber ----

Subscriber::Subscriber(std::string name, const std::string& socket, const std::string& group,
                       const std::string& stderr_path, std::vector<std::string> extra_args)
    : name_(std::move(name)),
      stderr_path_(stderr_path),
      process_(
          [&] {
            std::vector<std::string> argv = {bcastctl_path(), "--socket", socket,
                                             "sub",           group,      "--json"};
            argv.insert(argv.end(), extra_args.begin(), extra_args.end());
            return argv;
          }(),
          SpawnOptions{.stderr_path = stderr_path}) {}

namespace {

std::optional<std::uint64_t> optional_uint(const nlohmann::json& object, const char* key) {
  const auto& value = object.at(key);
  if (value.is_null()) return std::nullopt;
  return value.get<std::uint64_t>();
}

}  // namespace

void Subscriber::consume() {
  auto& lines = process_.lines();
  while (!lines.empty()) {
    std::string line = std::move(lines.front());
    lines.pop_front();
    try {
      const auto j = nlohmann::json::parse(line);
      const std::string type = j.at("type").get<std::string>();
      ++lines_;
      if (type == "view") {
        ++views_;
      } else if (type == "gap") {
        GapEvent gap;
        gap.group = j.at("group").get<std::string>();
        gap.reason = j.at("reason").get<std::string>();
        gap.total = j.contains("from_gseq");
        if (gap.total) {
          gap.from = j.at("from_gseq").get<std::uint64_t>();
          gap.to = optional_uint(j, "to_gseq");
        } else {
          gap.origin = j.at("origin").get<std::uint64_t>();
          if (*gap.origin != 0) {  // origin 0: any origin's messages (e.g. while disconnected)
            gap.mode = j.at("mode").get<std::string>();
            gap.from = j.at("from_seq").get<std::uint64_t>();
            gap.to = optional_uint(j, "to_seq");
          }
        }
        gap.line = lines_;
        gaps_.push_back(std::move(gap));
      } else if (type == "message") {
        Delivery d;
        d.group = j.at("group").get<std::string>();
        d.sender = j.at("sender").dump();
        d.seq = j.at("seq").get<std::uint64_t>();
        d.gseq = optional_uint(j, "gseq");
        d.mode = j.at("mode").get<std::string>();
        d.order = j.at("order").get<std::string>();
        if (j.contains("stream_seq")) d.stream_seq = j.at("stream_seq").get<std::uint64_t>();
        d.line = lines_;
        if (j.contains("payload")) {
          d.payload = j.at("payload").get<std::string>();
        } else {
          d.payload = "(payload_b64) " + j.at("payload_b64").get<std::string>();
        }
        deliveries_.push_back(std::move(d));
      } else {
        bad_lines_.push_back(line);
      }
    } catch (const nlohmann::json::exception& e) {
      bad_lines_.push_back(line + "   <- " + e.what());
    }
  }
}

std::string Subscriber::stderr_text() const { return read_file(stderr_path_, 4000); }

// ---- Publisher ----

namespace {

std::vector<std::string> pub_argv(const std::string& socket, const std::string& group,
                                  const std::string& mode, const std::string& order,
                                  const std::vector<std::string>& args) {
  std::vector<std::string> argv = {bcastctl_path(), "--socket", socket,    "pub", group,
                                   "--mode",        mode,       "--order", order, "--json"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

}  // namespace

Publisher::Publisher(std::string tag, const std::string& socket, const std::string& group,
                     const std::string& mode, const std::string& order,
                     const std::string& stderr_path, const std::vector<std::string>& args)
    : tag_(std::move(tag)),
      stderr_path_(stderr_path),
      process_(pub_argv(socket, group, mode, order, args),
               SpawnOptions{.pipe_stdin = args.empty(), .stderr_path = stderr_path}),
      payloads_(args) {}

std::string Publisher::write_next(const std::string& suffix) {
  std::string payload = tag_ + "-" + std::to_string(payloads_.size() + 1);
  if (!suffix.empty()) payload += ":" + suffix;
  if (!process_.write(payload + "\n")) {
    fail("publisher " + tag_ + " closed its stdin; stderr: " + stderr_text());
  }
  payloads_.push_back(payload);
  return payload;
}

void Publisher::write_until(std::size_t total) {
  std::string batch;
  while (payloads_.size() < total) {
    std::string payload = tag_ + "-" + std::to_string(payloads_.size() + 1);
    batch += payload + "\n";
    payloads_.push_back(std::move(payload));
  }
  if (!process_.write(batch)) {
    fail("publisher " + tag_ + " closed its stdin; stderr: " + stderr_text());
  }
}

void Publisher::consume() {
  auto& lines = process_.lines();
  while (!lines.empty()) {
    std::string line = std::move(lines.front());
    lines.pop_front();
    try {
      const auto j = nlohmann::json::parse(line);
      PubReceipt r;
      r.seq = j.at("seq").get<std::uint64_t>();
      r.gseq = optional_uint(j, "gseq");
      receipts_.push_back(r);
    } catch (const nlohmann::json::exception& e) {
      bad_lines_.push_back(line + "   <- " + e.what());
    }
  }
}

std::string Publisher::stderr_text() const { return read_file(stderr_path_, 4000); }

// ---- waiting ----

bool pump_until(const std::vector<Process*>& processes, Clock::time_point deadline,
                const std::function<bool()>& done, const std::function<void()>& on_read,
                std::chrono::milliseconds slice) {
  for (;;) {
    if (on_read) on_read();
    if (done()) return true;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    Process::pump_all(processes, std::min(left + 1ms, slice));
  }
}

StoppedDaemon::StoppedDaemon(const LocalCluster& cluster, int node) {
  pid_ = std::atoi(read_file(cluster.dir() + "/n" + std::to_string(node) + "/pid").c_str());
  if (pid_ > 0 && ::kill(pid_, SIGSTOP) != 0) pid_ = 0;
}

void StoppedDaemon::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
  pid_ = 0;
}

}  // namespace bcast::integration
