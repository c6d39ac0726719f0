// A whole cluster in one process: real Nodes and the real driver over a simulated network and
// simulated disks, on a virtual clock, with every random choice drawn from one seed.
//
// A chaos run has two phases. In the fault phase the network loses, duplicates, delays and
// reorders messages, partitions the nodes (halves, majority/minority, one node, one-way links)
// and clogs links, while nodes crash (losing unsynced writes), restart from their disks, and
// pause. Fault rates themselves are drawn per seed. In the heal phase every fault stops and the
// cluster must converge (one leader; every acknowledged proposal applied everywhere) within a
// bounded virtual time. The Raft checkers run after every step of both phases.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim_options.hpp"

namespace bcast::sim {

// Broadcast scenario: what one measured broadcast cost and how far it had to travel.
struct BroadcastStats {
  Mode mode = Mode::kReliable;
  std::uint64_t pushes = 0;         // payload messages sent for it: first sends, relays, repairs
  std::uint64_t repairs = 0;        // of which repairs (answers to digests)
  std::uint64_t rounds = 0;         // link delays until the last daemon had it
  bool reached_all_by_push = true;  // every daemon got it before any repair (anti-entropy)
};

struct SimResult {
  bool ok = true;
  std::string failure;     // the first violated property
  std::string trace_tail;  // the events leading up to it
  std::string replay;      // the command that replays this run

  std::uint64_t virtual_us = 0;
  std::uint64_t published = 0;
  std::uint64_t delivered = 0;                   // deliveries summed over daemons
  std::uint64_t total_acked = 0;                 // total-order messages that received their gseq
  std::uint64_t total_acked_in_fault_phase = 0;  // the measured window
  std::uint64_t messages_sent = 0;               // every message between daemons
  std::uint64_t data_messages_sent = 0;  // broadcast payload pushes (first sends, relays, repairs)
  std::uint64_t elections_won = 0;
  std::uint64_t crashes = 0;
  std::uint64_t snapshots_installed = 0;
  std::uint64_t exclusions = 0;       // a daemon stopped counting a member (silent too long)
  std::uint64_t views_announced = 0;  // agreed group views, summed over daemons (group_views)
  // Detection scenario: from the fault to each daemon's exclusion of the failed node; exclusions
  // of nodes that did not fail (false suspicions) and the member time they are counted over;
  // views at node 1 with cause daemon-failed or daemon-returned (flaps, with group_views).
  std::vector<std::uint64_t> exclusion_latency_us;
  std::uint64_t false_suspicions = 0;
  std::uint64_t member_us = 0;
  std::uint64_t daemon_view_changes = 0;
  // Gap notices announced, by Gap::Reason (excluded, origin-lost, snapshot, best-effort-hold).
  std::uint64_t gaps_by_reason[4] = {0, 0, 0, 0};
  // Flow control (--slow-subscribers): bytes the subscribers read, best-effort deliveries their
  // full queues dropped, and publishes refused for want of credit.
  std::uint64_t subscriber_read_bytes = 0;
  std::uint64_t best_effort_dropped = 0;
  std::uint64_t publishes_without_credit = 0;
  std::uint64_t published_flow_bytes = 0;  // payload bytes of reliable, gossip, total publishes
  std::uint64_t measured_us = 0;           // throughput: length of the measured window
  // leader-crash: virtual time from crashing a leader to the next leader's election.
  std::vector<std::uint64_t> leader_recovery_us;
  // leader-crash: virtual time from crashing a leader to the first delivery (anywhere) of a
  // total-order message published after the crash: when the service is back.
  std::vector<std::uint64_t> total_resume_us;
  // total order: publish -> receipt with its gseq.
  std::vector<std::uint64_t> commit_latency_us;
  std::vector<BroadcastStats> broadcasts;
};

SimResult run_simulation(const SimOptions& options);

}  // namespace bcast::sim
