// Everything that defines one simulated run. A run is fully determined by these options: the
// seed drives every random choice (fault rates, timings, message fates), so printing the
// options as a command line is enough to replay a failure exactly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bcast/types.hpp"
#include "core/bcast/engine_options.hpp"
#include "core/raft/raft.hpp"

namespace bcast::sim {

enum class Scenario : std::uint8_t {
  kChaos,        // random faults of every kind, then healing; all checkers on
  kLeaderCrash,  // a clean network where the leader is crashed again and again
  kThroughput,   // a clean network and closed-loop clients, for commit rates
  kBroadcast,    // single broadcasts over one-round (1 ms) links, for dissemination costs
  // Failure detection: `loss_percent` on every link; a third into the fault phase the highest
  // node fails as `detection_fault` says; time to exclusion and false suspicions are measured.
  kDetection,
};

struct SimOptions {
  std::uint64_t seed = 1;
  Scenario scenario = Scenario::kChaos;
  std::uint32_t voters = 5;
  std::uint32_t learners = 0;
  std::uint64_t fault_ms = 10000;  // virtual length of the fault phase
  std::uint64_t heal_ms = 10000;   // after healing, everything must converge within this
  std::uint64_t tick_us = 10000;   // the daemon's default tick
  std::uint32_t election_timeout_ticks = 20;
  std::uint32_t heartbeat_interval_ticks = 2;
  std::uint64_t snapshot_interval_entries = 64;  // small, so snapshots happen often
  std::uint64_t retained_entries = 16;           // small, so InstallSnapshot happens often
  // The workload: every daemon has `clients_per_node` clients, each publishing about every
  // `publish_interval_us` in a random cell (mode, order) of `cells` to one of three groups.
  // Causal messages get causal replies from their readers (`reply_percent` replies per hundred
  // messages, spread over the cluster), so happened-before is real.
  std::uint32_t clients_per_node = 2;
  std::uint64_t publish_interval_us = 20000;
  std::string cells = "all";  // "all", or e.g. "reliable/fifo,gossip/total"
  std::uint32_t reply_percent = 30;
  std::uint32_t gossip_fanout = 3;
  std::uint32_t repair_interval_ticks = 5;  // digests (anti-entropy, stability) this often
  // A member silent this long is excluded (and welcomed anew if it speaks again). The default
  // never excludes within a run; small values exercise exclusion and rejoin.
  std::uint64_t peer_timeout_ticks = 1000000;
  // Broadcast scenario: how many broadcasts are measured, and the loss on every link.
  std::uint32_t broadcasts = 20;
  std::uint32_t loss_percent = 0;
  std::uint32_t max_inflight_appends = 64;
  bool use_file_storage = true;  // the real lib/io storage over a fault-injecting file system
  // Run-time membership in the chaos scenario: nodes beyond the initial configuration (spares)
  // join through a member after `cluster add`, members are removed (and come back later as new
  // data directories), learners are promoted once caught up, and the leadership is moved, all
  // through the same requests bcastctl sends (Node::admin) and mixed into the faults.
  std::uint32_t spares = 0;
  bool membership_changes = false;
  // Round mode: what a node receives within this long goes through one Outbox, applied once, as
  // the daemon's event loop batches a poll round (0: one Outbox per input).
  std::uint64_t round_us = 0;
  // Writes complete this long after they start (the daemon's storage thread); what waits for
  // them waits in the Driver meanwhile. A crash loses writes still in flight (0: at once).
  std::uint64_t disk_latency_us = 0;
  // Agreed group views: every client joins a group when it starts and now and then joins or
  // leaves one, and the view-agreement checker (view_checker.hpp) runs.
  bool group_views = false;
  // Flow control: every node has one subscriber of every group, reading what it delivers into
  // a queue of `subscriber_queue_bytes` (the daemon's client queue). On the first
  // `slow_subscribers` nodes it reads only `slow_read_bytes_per_ms` and now and then pauses; the
  // others read at once. A reliable, gossip or total-order delivery that does not fit is a
  // failure: flow control must have paced the publishers. 0: no subscriber model.
  std::uint32_t slow_subscribers = 0;
  std::uint64_t subscriber_queue_bytes = 4096;
  std::uint64_t slow_read_bytes_per_ms = 4;
  // Detection scenario: "crash" (the node stops), "mute" (its outgoing links drop everything) or
  // "deaf" (its incoming links do).
  std::string detection_fault = "crash";
  raft::DeliberateBugs bugs;
  DeliveryBugs delivery_bugs;
  // A deliberate bug of the simulated daemon shell: the total-order history is not synced before
  // a compaction is stored, so a crash can lose what the log no longer has (the history checker
  // must catch it).
  bool history_not_synced_bug = false;
  bool trace = false;  // print every event, not just the tail on failure

  // The exact bcast-sim command that replays this run.
  std::string command_line() const;
};

// The (mode, order) cells a --cells value names; nullopt if it names an invalid one.
std::optional<std::vector<std::pair<Mode, Order>>> parse_cells(const std::string& cells);

// Parses bcast-sim's flags (the inverse of command_line()). On a bad flag returns an error text.
std::optional<std::string> parse_flag(SimOptions& options, const std::string& flag,
                                      const std::string& value);
// Names of the deliberate bugs, for --bug.
std::vector<std::string> bug_names();
std::vector<std::string> delivery_bug_names();
std::vector<std::string> view_bug_names();  // caught by the view checker (--group-views 1)
bool set_bug(SimOptions& options, const std::string& name);

}  // namespace bcast::sim
