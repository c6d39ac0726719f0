// What every integration test needs around the real binaries: a temporary directory, free
// loopback ports, a tools/local-cluster wrapper that always stops its daemons, and bcastctl
// subscribers and publishers whose JSON lines are parsed as they arrive.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "process.hpp"

namespace bcast::integration {

// Paths baked in by tests/integration/CMakeLists.txt.
std::string bcastd_path();
std::string bcastctl_path();
std::string build_dir();           // holds daemon/bcastd and tools/bcastctl (local-cluster layout)
std::string local_cluster_path();  // tools/local-cluster in the source tree

// mkdtemp under /tmp (short, so ipc:// socket paths stay under the 107-byte limit). Removed by
// the destructor unless keep() was called (tests call it on failure, to leave the logs).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  void keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// A base port P such that P+1..P+count are free on 127.0.0.1, in 20000..60000, derived from the
// pid and a per-process counter so concurrent test processes start at different places.
int pick_base_port(int count);

// The daemons of tools/local-cluster under one directory. The destructor runs `local-cluster
// stop` (SIGTERM, then SIGKILL) whatever happened before.
class LocalCluster {
 public:
  // kCurve (local-cluster's default): CURVE keys on every peer link; kNone: plain TCP, for tests
  // of what the daemons check beside the keys (and of attacks a key would stop at the door).
  enum class Keys : std::uint8_t { kCurve, kNone };
  // `spare_keys`: keys made (and given to every daemon as --peer-key) for daemons added later;
  // nullopt keeps local-cluster's default.
  LocalCluster(std::string dir, int size, std::vector<std::string> bcastd_args = {},
               Keys keys = Keys::kCurve, std::optional<int> spare_keys = std::nullopt);
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  int size() const { return size_; }
  const std::string& dir() const { return dir_; }
  std::string socket(int node) const;
  std::string endpoint(int node) const;  // its peer address, tcp://127.0.0.1:PORT
  std::string log_path(int node) const;
  std::string log_tail(int node, std::size_t max_bytes = 4000) const;
  std::string all_logs() const;  // the tail of every daemon's log, for failure messages

  void kill(int node);     // kill -9
  void restart(int node);  // from its data dir; returns once its client socket exists
  void stop();
  // Waits (`local-cluster wait-leader`) until the live daemons agree; returns the leader.
  int wait_leader();
  // `local-cluster key-args I`: the options a daemon started by hand as node I needs to talk to
  // this cluster (CURVE keys; empty for a cluster started with --no-keys).
  std::vector<std::string> key_args(int node);

 private:
  CommandResult run(const std::vector<std::string>& args, std::chrono::milliseconds timeout);

  std::string dir_;
  int size_;
  int base_port_ = 0;
  bool stopped_ = false;
};

// `bcastctl --socket S status --json`, parsed; nullopt if it failed.
std::optional<nlohmann::json> status_json(const std::string& socket);
// Polls status until `accept` returns true for it, or fails at the deadline.
nlohmann::json wait_status(const std::string& socket,
                           const std::function<bool(const nlohmann::json&)>& accept,
                           std::chrono::milliseconds timeout, const std::string& what);

// One line of `bcastctl sub --json` of type "message".
struct Delivery {
  std::string group;
  std::string sender;  // as printed (a JSON number or string), compared as text
  std::uint64_t seq = 0;
  std::optional<std::uint64_t> gseq;
  std::string mode;
  std::string order;
  std::string payload;
  std::optional<std::uint64_t> stream_seq;  // not for total order
  std::size_t line = 0;                     // its place among the subscriber's lines
};

// One line of `bcastctl sub --json` of type "gap": what the daemon will never deliver.
struct GapEvent {
  std::string group;                    // "": any group
  std::optional<std::uint64_t> origin;  // a stream gap: the origin's positions from..to
  std::string mode;
  std::uint64_t from = 0;
  std::optional<std::uint64_t> to;  // nullopt: no end
  bool total = false;               // a total-order gap: gseq from..to
  std::string reason;
  std::size_t line = 0;
};

// SIGSTOP of one daemon of a LocalCluster, continued (SIGCONT) by resume() or, whatever happens,
// by the destructor, so the cluster's stop can end it.
class StoppedDaemon {
 public:
  StoppedDaemon(const LocalCluster& cluster, int node);
  ~StoppedDaemon() { resume(); }
  StoppedDaemon(const StoppedDaemon&) = delete;
  StoppedDaemon& operator=(const StoppedDaemon&) = delete;
  bool stopped() const { return pid_ > 0; }
  void resume();

 private:
  int pid_ = 0;
};

// `bcastctl --socket S sub GROUP --json`: every line parsed as it is read.
class Subscriber {
 public:
  Subscriber(std::string name, const std::string& socket, const std::string& group,
             const std::string& stderr_path, std::vector<std::string> extra_args = {});
  const std::string& name() const { return name_; }
  Process& process() { return process_; }
  // Parses the lines read so far.
  void consume();
  bool joined() const { return views_ > 0; }
  const std::vector<Delivery>& deliveries() const { return deliveries_; }
  const std::vector<GapEvent>& gaps() const { return gaps_; }
  // Lines that were not valid JSON of a known type: a contract violation.
  const std::vector<std::string>& bad_lines() const { return bad_lines_; }
  std::string stderr_text() const;

 private:
  std::string name_;
  std::string stderr_path_;
  Process process_;
  int views_ = 0;
  std::size_t lines_ = 0;
  std::vector<Delivery> deliveries_;
  std::vector<GapEvent> gaps_;
  std::vector<std::string> bad_lines_;
};

struct PubReceipt {
  std::uint64_t seq = 0;
  std::optional<std::uint64_t> gseq;
};

// `bcastctl --socket S pub GROUP --mode M --order O --json`, either fed on stdin (when `args` is
// empty) or given every message as an argument. Payloads are "TAG-N" (N = 1, 2, ...).
class Publisher {
 public:
  Publisher(std::string tag, const std::string& socket, const std::string& group,
            const std::string& mode, const std::string& order, const std::string& stderr_path,
            const std::vector<std::string>& args = {});
  const std::string& tag() const { return tag_; }
  Process& process() { return process_; }
  // Writes the next message on stdin and returns its payload ("TAG-N", or "TAG-N:SUFFIX").
  std::string write_next(const std::string& suffix = "");
  void write_until(std::size_t total);
  void finish() { process_.close_stdin(); }
  void consume();
  const std::vector<std::string>& payloads() const { return payloads_; }  // written/given
  const std::vector<PubReceipt>& receipts() const { return receipts_; }   // in publish order
  const std::vector<std::string>& bad_lines() const { return bad_lines_; }
  std::string stderr_text() const;

 private:
  std::string tag_;
  std::string stderr_path_;
  Process process_;
  std::vector<std::string> payloads_;
  std::vector<PubReceipt> receipts_;
  std::vector<std::string> bad_lines_;
};

// "TAG-N" or "TAG-N:anything": the tag and N.
struct PayloadId {
  std::string tag;
  std::uint64_t n = 0;
};
std::optional<PayloadId> parse_payload(const std::string& payload);

// Reads from every process until `done()` holds (true) or the deadline passes (false); calls
// `on_read` after every read so callers can parse and react.
// `slice` bounds each wait, for callers that also poll something that is not a process.
bool pump_until(const std::vector<Process*>& processes, Clock::time_point deadline,
                const std::function<bool()>& done, const std::function<void()>& on_read = {},
                std::chrono::milliseconds slice = 50ms);

std::string read_file(const std::string& path, std::size_t max_tail = 1 << 20);

}  // namespace bcast::integration
