// bcast-sim: runs the deterministic cluster simulator over one seed or a range of seeds.
//
//   bcast-sim --seed 42                      one run; on failure the trace and a replay command
//   bcast-sim --seeds 1-20000                a sweep; prints every failing seed and a summary
//   bcast-sim --seed 42 --trace              every event of the run
//   bcast-sim --scenario leader-crash ...    figures for docs/raft.md
//
// Any other flag (--voters, --learners, --bug, ...) is a SimOptions field; see --help.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sim_cluster.hpp"
#include "sim_options.hpp"

namespace {

using bcast::sim::SimOptions;
using bcast::sim::SimResult;

void print_help() {
  std::printf(
      "usage: bcast-sim [--seed N | --seeds A-B] [options]\n"
      "  --scenario chaos|leader-crash|throughput|broadcast   (default chaos)\n"
      "  --voters N --learners N                    cluster shape (default 5 voters)\n"
      "  --fault-ms MS --heal-ms MS                 phase lengths (default 10000 each)\n"
      "  --tick-us US --election-ticks N --heartbeat-ticks N\n"
      "  --snapshot-entries N --retained-entries N --max-inflight N\n"
      "  --cells all|MODE/ORDER,...                 what the clients publish (default all)\n"
      "  --clients N --publish-interval-us US --reply-percent P --fanout N --repair-ticks N\n"
      "  --peer-timeout-ticks N                     exclude members silent this long (default: "
      "never)\n"
      "  --broadcasts N --loss-percent P          broadcast scenario: measured broadcasts, loss\n"
      "  --storage file|memory                      simulated disk (default file)\n"
      "  --bug NAME                                 enable a deliberate bug:");
  for (const auto& name : bcast::sim::bug_names()) std::printf(" %s", name.c_str());
  for (const auto& name : bcast::sim::delivery_bug_names()) std::printf(" %s", name.c_str());
  std::printf(
      "\n  --trace                                    print every event\n"
      "  --quiet                                    print only failures and the summary\n");
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
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      print_help();
      return 0;
    }
    if (flag == "--trace") {
      options.trace = true;
      continue;
    }
    if (flag == "--quiet") {
      quiet = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "bcast-sim: %s needs a value (see --help)\n", flag.c_str());
      return 2;
    }
    const std::string value = argv[++i];
    if (flag == "--seeds") {
      const auto dash = value.find('-');
      if (dash == std::string::npos ||
          std::sscanf(value.c_str(), "%" SCNu64 "-%" SCNu64, &first_seed, &last_seed) != 2 ||
          first_seed > last_seed) {
        std::fprintf(stderr, "bcast-sim: --seeds takes A-B with A <= B\n");
        return 2;
      }
      continue;
    }
    if (auto error = bcast::sim::parse_flag(options, flag, value)) {
      std::fprintf(stderr, "bcast-sim: %s (see --help)\n", error->c_str());
      return 2;
    }
    if (flag == "--seed") first_seed = last_seed = options.seed;
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
  print_broadcasts(sum.broadcasts, options.voters + options.learners);
  return failures == 0 ? 0 : 1;
}
