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
      "  --scenario chaos|leader-crash|throughput   (default chaos)\n"
      "  --voters N --learners N                    cluster shape (default 5 voters)\n"
      "  --fault-ms MS --heal-ms MS                 phase lengths (default 10000 each)\n"
      "  --tick-us US --election-ticks N --heartbeat-ticks N\n"
      "  --snapshot-entries N --retained-entries N --clients N --max-inflight N\n"
      "  --storage file|memory                      simulated disk (default file)\n"
      "  --bug NAME                                 enable a deliberate bug:");
  for (const auto& name : bcast::sim::bug_names()) std::printf(" %s", name.c_str());
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
  std::uint64_t acked = 0;
  std::uint64_t acked_in_fault_phase = 0;
  std::uint64_t messages = 0;
  std::uint64_t measured_us = 0;
  std::uint64_t elections = 0;
  std::uint64_t crashes = 0;
  std::uint64_t snapshots = 0;
  std::vector<std::uint64_t> recovery_us;
  std::vector<std::uint64_t> latency_us;
  for (std::uint64_t seed = first_seed; seed <= last_seed; ++seed) {
    options.seed = seed;
    const SimResult r = bcast::sim::run_simulation(options);
    acked += r.proposals_acked;
    acked_in_fault_phase += r.proposals_acked_in_fault_phase;
    messages += r.messages_sent;
    measured_us += r.measured_us;
    elections += r.elections_won;
    crashes += r.crashes;
    snapshots += r.snapshots_installed;
    recovery_us.insert(recovery_us.end(), r.leader_recovery_us.begin(), r.leader_recovery_us.end());
    latency_us.insert(latency_us.end(), r.commit_latency_us.begin(), r.commit_latency_us.end());
    if (!r.ok) {
      ++failures;
      std::printf("FAIL seed %" PRIu64 ": %s\n  replay: %s\n", seed, r.failure.c_str(),
                  r.replay.c_str());
      if (!quiet || first_seed == last_seed)
        std::printf("--- last events ---\n%s", r.trace_tail.c_str());
    } else if (!quiet && first_seed == last_seed) {
      std::printf("ok seed %" PRIu64 "\n", seed);
    }
  }

  const std::uint64_t runs = last_seed - first_seed + 1;
  const double tick_ms = static_cast<double>(options.tick_us) / 1000.0;
  std::printf("runs %" PRIu64 ", failures %" PRIu64 "\n", runs, failures);
  std::printf("acknowledged proposals %" PRIu64 ", messages per acknowledged proposal %.2f\n",
              acked, acked ? static_cast<double>(messages) / static_cast<double>(acked) : 0.0);
  std::printf("elections won %" PRIu64 ", crashes %" PRIu64 ", snapshots installed %" PRIu64 "\n",
              elections, crashes, snapshots);
  if (measured_us > 0) {
    std::printf("commits per virtual second (fault phase) %.1f\n",
                static_cast<double>(acked_in_fault_phase) * 1e6 / static_cast<double>(measured_us));
  }
  if (!latency_us.empty()) {
    std::printf("commit latency ms: p50 %.2f p99 %.2f p99.9 %.2f max %.2f\n",
                percentile(latency_us, 50) / 1000.0, percentile(latency_us, 99) / 1000.0,
                percentile(latency_us, 99.9) / 1000.0, percentile(latency_us, 100) / 1000.0);
  }
  if (!recovery_us.empty()) {
    const double p50 = percentile(recovery_us, 50) / 1000.0;
    const double p99 = percentile(recovery_us, 99) / 1000.0;
    std::printf(
        "leader crash -> new leader (%zu samples): p50 %.1f ms (%.1f ticks), p99 %.1f ms (%.1f "
        "ticks), max %.1f ms\n",
        recovery_us.size(), p50, p50 / tick_ms, p99, p99 / tick_ms,
        percentile(recovery_us, 100) / 1000.0);
  }
  return failures == 0 ? 0 : 1;
}
