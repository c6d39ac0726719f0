// bcast-sim: runs the deterministic cluster simulator over one seed or a range of seeds.
//
//   bcast-sim --seed 42                      one run; on failure the trace and a replay command
//   bcast-sim --seeds 1-20000                a sweep; prints every failing seed and a summary
//   bcast-sim --seed 42 --trace              every event of the run
//   bcast-sim --scenario leader-crash ...    figures for docs/raft.md
//
// Any other flag (--voters, --learners, --bug, ...) is a SimOptions field; see --help. Parsed
// by Boost.Program_options, like every bcast tool; values are checked by sim::parse_flag.
#include <algorithm>
#include <boost/program_options.hpp>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "sim_cluster.hpp"
#include "sim_options.hpp"

namespace {

using bcast::sim::SimOptions;
using bcast::sim::SimResult;

namespace po = boost::program_options;

// Every SimOptions flag takes a value and is handed, as text, to sim::parse_flag, the one place
// that validates it (and the inverse of SimOptions::command_line(), which replays a run).
po::options_description describe_options() {
  const SimOptions d;
  std::string bugs;
  for (const auto& name : bcast::sim::bug_names()) bugs += " " + name;
  for (const auto& name : bcast::sim::delivery_bug_names()) bugs += " " + name;
  for (const auto& name : bcast::sim::view_bug_names()) bugs += " " + name;
  bugs += " ignore-credit";
  auto text = [](const char* name) { return po::value<std::string>()->value_name(name); };
  auto with_default = [](const std::string& help, auto value) {
    return help + " (default " + std::to_string(value) + ")";
  };
  po::options_description o("bcast-sim options");
  // clang-format off
  o.add_options()
      ("help,h", "print this help and exit")
      ("seed", text("N"), "one run with this seed (default 1)")
      ("seeds", text("A-B"), "a sweep over seeds A..B")
      ("trace", po::bool_switch(), "print every event")
      ("quiet", po::bool_switch(), "print only failures and the summary")
      ("scenario", text("NAME"), "chaos (default) | leader-crash | throughput | broadcast | detection")
      ("voters", text("N"), with_default("voters", d.voters).c_str())
      ("learners", text("N"), with_default("learners", d.learners).c_str())
      ("fault-ms", text("MS"), with_default("virtual length of the fault phase", d.fault_ms).c_str())
      ("heal-ms", text("MS"), with_default("time to converge after healing", d.heal_ms).c_str())
      ("tick-us", text("US"), with_default("the daemon's tick", d.tick_us).c_str())
      ("election-ticks", text("N"), with_default("election timeout", d.election_timeout_ticks).c_str())
      ("heartbeat-ticks", text("N"), with_default("heartbeat interval", d.heartbeat_interval_ticks).c_str())
      ("snapshot-entries", text("N"), with_default("snapshot interval", d.snapshot_interval_entries).c_str())
      ("retained-entries", text("N"), with_default("entries kept behind a snapshot", d.retained_entries).c_str())
      ("max-inflight", text("N"), with_default("Appends in flight per follower", d.max_inflight_appends).c_str())
      ("cells", text("LIST"), "all (default) or MODE/ORDER,... : what the clients publish")
      ("clients", text("N"), with_default("clients per daemon", d.clients_per_node).c_str())
      ("publish-interval-us", text("US"), with_default("per client", d.publish_interval_us).c_str())
      ("reply-percent", text("P"), with_default("causal replies per hundred messages", d.reply_percent).c_str())
      ("fanout", text("N"), with_default("gossip fanout", d.gossip_fanout).c_str())
      ("repair-ticks", text("N"), with_default("digest interval", d.repair_interval_ticks).c_str())
      ("peer-timeout-ticks", text("N"), "exclude members silent this long (default: never)")
      ("broadcasts", text("N"), with_default("broadcast scenario: measured broadcasts", d.broadcasts).c_str())
      ("loss-percent", text("P"), with_default("broadcast scenario: loss on every link", d.loss_percent).c_str())
      ("storage", text("KIND"), "file (default) | memory: the simulated disk")
      ("spares", text("N"), "nodes beyond the initial configuration, that can be added")
      ("membership", text("0|1"), "chaos: add, remove and replace members and move the "
                                  "leadership, mixed into the faults")
      ("round-us", text("US"), "batch what a node receives within US into one Outbox, as the "
                               "daemon batches a poll round (default 0: one per input)")
      ("disk-latency-us", text("US"), "writes complete US after they start (default 0)")
      ("slow-subscribers", text("N"), "flow control: a subscriber of every group on every node, "
                                      "slow (and pausing) on the first N (default 0: none)")
      ("subscriber-queue-bytes", text("B"), "each subscriber's queue (default 4096)")
      ("slow-read-bytes-per-ms", text("R"), "what a slow subscriber reads (default 4)")
      ("group-views", text("0|1"), "clients join and leave groups; the view-agreement checker runs")
      ("detection-fault", text("KIND"), "detection scenario: crash (default) | mute | deaf")
      ("bug", po::value<std::vector<std::string>>()->value_name("NAME"),
       ("enable a deliberate bug (repeatable):" + bugs).c_str());
  // clang-format on
  return o;
}

std::uint64_t percentile(std::vector<std::uint64_t> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1));
  return values[rank];
}

// Broadcast scenario: per mode, payload messages per broadcast, rounds until every daemon had it,
// and how often pushes alone (before any anti-entropy repair) reached every daemon.
void print_broadcasts(const std::vector<bcast::sim::BroadcastStats>& broadcasts,
                      std::uint32_t daemons) {
  for (bcast::Mode mode :
       {bcast::Mode::kBestEffort, bcast::Mode::kReliable, bcast::Mode::kGossip}) {
    std::vector<std::uint64_t> rounds;
    std::uint64_t pushes = 0;
    std::uint64_t repairs = 0;
    std::uint64_t by_push = 0;
    for (const auto& b : broadcasts) {
      if (b.mode != mode) continue;
      rounds.push_back(b.rounds);
      pushes += b.pushes;
      repairs += b.repairs;
      by_push += b.reached_all_by_push ? 1 : 0;
    }
    if (rounds.empty()) continue;
    const double count = static_cast<double>(rounds.size());
    std::printf(
        "broadcast %s n=%u: %zu broadcasts, %.1f messages each (%.2f n; repairs %.1f), "
        "rounds until all have it p50 %" PRIu64 " p99 %" PRIu64 " max %" PRIu64
        ", all reached before anti-entropy %.1f%%\n",
        bcast::mode_name(mode), daemons, rounds.size(), static_cast<double>(pushes) / count,
        static_cast<double>(pushes) / count / daemons, static_cast<double>(repairs) / count,
        percentile(rounds, 50), percentile(rounds, 99), percentile(rounds, 100),
        100.0 * static_cast<double>(by_push) / count);
  }
}

}  // namespace

int main(int argc, char** argv) {
  SimOptions options;
  std::uint64_t first_seed = 1;
  std::uint64_t last_seed = 1;
  const po::options_description description = describe_options();
  po::variables_map vm;
  try {
    po::store(
        po::command_line_parser(argc, argv)
            .options(description)
            .style(po::command_line_style::unix_style ^ po::command_line_style::allow_guessing)
            .run(),
        vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "bcast-sim: %s (see --help)\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::printf("usage: bcast-sim [--seed N | --seeds A-B] [options]\n");
    std::cout << description;
    return 0;
  }
  if (vm.count("seed") && vm.count("seeds")) {
    std::fprintf(stderr, "bcast-sim: give --seed or --seeds, not both\n");
    return 2;
  }
  options.trace = vm["trace"].as<bool>();
  const bool quiet = vm["quiet"].as<bool>();
  for (const auto& option : description.options()) {
    const std::string& name = option->long_name();
    if (!vm.count(name) || name == "seeds" || name == "help" || vm[name].defaulted()) continue;
    std::vector<std::string> values;
    if (name == "bug") {
      values = vm[name].as<std::vector<std::string>>();
    } else if (name != "trace" && name != "quiet") {
      values.push_back(vm[name].as<std::string>());
    }
    for (const std::string& value : values) {
      if (auto error = bcast::sim::parse_flag(options, "--" + name, value)) {
        std::fprintf(stderr, "bcast-sim: %s (see --help)\n", error->c_str());
        return 2;
      }
    }
  }
  first_seed = last_seed = options.seed;
  if (vm.count("seeds")) {
    const std::string value = vm["seeds"].as<std::string>();
    if (std::sscanf(value.c_str(), "%" SCNu64 "-%" SCNu64, &first_seed, &last_seed) != 2 ||
        first_seed > last_seed) {
      std::fprintf(stderr, "bcast-sim: --seeds takes A-B with A <= B\n");
      return 2;
    }
  }

  std::uint64_t failures = 0;
  SimResult sum;
  for (std::uint64_t seed = first_seed; seed <= last_seed; ++seed) {
    options.seed = seed;
    const SimResult r = bcast::sim::run_simulation(options);
    sum.published += r.published;
    sum.delivered += r.delivered;
    sum.total_acked += r.total_acked;
    sum.total_acked_in_fault_phase += r.total_acked_in_fault_phase;
    sum.messages_sent += r.messages_sent;
    sum.data_messages_sent += r.data_messages_sent;
    sum.measured_us += r.measured_us;
    sum.elections_won += r.elections_won;
    sum.crashes += r.crashes;
    sum.snapshots_installed += r.snapshots_installed;
    sum.exclusions += r.exclusions;
    for (int reason = 0; reason < 4; ++reason)
      sum.gaps_by_reason[reason] += r.gaps_by_reason[reason];
    sum.leader_recovery_us.insert(sum.leader_recovery_us.end(), r.leader_recovery_us.begin(),
                                  r.leader_recovery_us.end());
    sum.commit_latency_us.insert(sum.commit_latency_us.end(), r.commit_latency_us.begin(),
                                 r.commit_latency_us.end());
    sum.total_resume_us.insert(sum.total_resume_us.end(), r.total_resume_us.begin(),
                               r.total_resume_us.end());
    sum.broadcasts.insert(sum.broadcasts.end(), r.broadcasts.begin(), r.broadcasts.end());
    sum.exclusion_latency_us.insert(sum.exclusion_latency_us.end(), r.exclusion_latency_us.begin(),
                                    r.exclusion_latency_us.end());
    sum.false_suspicions += r.false_suspicions;
    sum.member_us += r.member_us;
    sum.daemon_view_changes += r.daemon_view_changes;
    if (!r.ok) {
      ++failures;
      std::printf("FAIL seed %" PRIu64 ": %s\n  replay: %s\n", seed, r.failure.c_str(),
                  r.replay.c_str());
      if (!quiet || first_seed == last_seed) {
        std::printf("--- last events ---\n%s", r.trace_tail.c_str());
      }
    } else if (!quiet && first_seed == last_seed) {
      std::printf("ok seed %" PRIu64 "\n", seed);
    }
  }

  const std::uint64_t runs = last_seed - first_seed + 1;
  const double tick_ms = static_cast<double>(options.tick_us) / 1000.0;
  auto per = [](std::uint64_t a, std::uint64_t b) {
    return b ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
  };
  std::printf("runs %" PRIu64 ", failures %" PRIu64 "\n", runs, failures);
  std::printf("published %" PRIu64 ", deliveries %" PRIu64 ", total order acknowledged %" PRIu64
              "\n",
              sum.published, sum.delivered, sum.total_acked);
  std::printf("messages between daemons %" PRIu64
              " (%.2f per published message; payload pushes "
              "%.2f)\n",
              sum.messages_sent, per(sum.messages_sent, sum.published),
              per(sum.data_messages_sent, sum.published));
  std::printf("elections won %" PRIu64 ", crashes %" PRIu64 ", snapshots installed %" PRIu64 "\n",
              sum.elections_won, sum.crashes, sum.snapshots_installed);
  std::printf("exclusions %" PRIu64 "; gap notices:", sum.exclusions);
  for (int reason = 0; reason < 4; ++reason) {
    std::printf(" %s %" PRIu64, bcast::gap_reason_name(static_cast<bcast::Gap::Reason>(reason)),
                sum.gaps_by_reason[reason]);
  }
  std::printf("\n");
  if (sum.measured_us > 0 && sum.total_acked_in_fault_phase > 0) {
    std::printf(
        "total-order messages acknowledged per virtual second (fault phase) %.1f; "
        "messages between daemons per acknowledged one %.2f\n",
        per(sum.total_acked_in_fault_phase * 1000000, sum.measured_us),
        per(sum.messages_sent, sum.total_acked));
  }
  if (!sum.commit_latency_us.empty()) {
    const auto& l = sum.commit_latency_us;
    std::printf(
        "total-order latency (publish -> gseq receipt) ms: p50 %.2f p99 %.2f p99.9 %.2f "
        "max %.2f\n",
        percentile(l, 50) / 1000.0, percentile(l, 99) / 1000.0, percentile(l, 99.9) / 1000.0,
        percentile(l, 100) / 1000.0);
  }
  if (!sum.leader_recovery_us.empty()) {
    const auto& r = sum.leader_recovery_us;
    const double p50 = percentile(r, 50) / 1000.0;
    const double p99 = percentile(r, 99) / 1000.0;
    std::printf(
        "leader crash -> new leader (%zu samples): p50 %.1f ms (%.1f ticks), p99 %.1f ms (%.1f "
        "ticks), max %.1f ms\n",
        r.size(), p50, p50 / tick_ms, p99, p99 / tick_ms, percentile(r, 100) / 1000.0);
  }
  if (!sum.total_resume_us.empty()) {
    const auto& r = sum.total_resume_us;
    std::printf(
        "leader crash -> first total-order delivery of a message published after it (%zu "
        "samples): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
        r.size(), percentile(r, 50) / 1000.0, percentile(r, 99) / 1000.0,
        percentile(r, 100) / 1000.0);
  }
  if (options.scenario == bcast::sim::Scenario::kDetection) {
    const auto& l = sum.exclusion_latency_us;
    std::printf(
        "detection (%s, loss %u%%): exclusions of the failed node %zu, time to exclusion p50 "
        "%.1f ms p99 %.1f ms max %.1f ms; false suspicions %" PRIu64
        " (%.2f per member-hour); daemon-failed/returned views at node 1: %.2f per run\n",
        options.detection_fault.c_str(), options.loss_percent, l.size(), percentile(l, 50) / 1000.0,
        percentile(l, 99) / 1000.0, percentile(l, 100) / 1000.0, sum.false_suspicions,
        per(sum.false_suspicions * 3600000000ULL, sum.member_us),
        per(sum.daemon_view_changes, runs));
  }
  print_broadcasts(sum.broadcasts, options.voters + options.learners);
  return failures == 0 ? 0 : 1;
}
