// `bcastctl bench` against a real 3-daemon cluster: publishers and subscribers spread over the
// daemons, total order checked by the tool itself; its JSON line must add up. No timing is
// asserted (the machine may be busy), only counts, checks and the percentiles' order.
#include <sstream>

#include "integration_test.hpp"

namespace bcast::integration {
namespace {

class BcastctlBench : public IntegrationTest {};

// The one line of `bcastctl bench --json` output that is a JSON object.
std::optional<nlohmann::json> bench_json(const std::string& output) {
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.front() != '{') continue;
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    if (!parsed.is_discarded()) return parsed;
  }
  return std::nullopt;
}

TEST_F(BcastctlBench, ReliableTotalOrderAcrossThreeDaemonsAddsUp) {
  LocalCluster cluster(path("cluster"), 3);
  cluster.wait_leader();
  const std::string sockets = cluster.socket(1) + "," + cluster.socket(2) + "," + cluster.socket(3);
  const CommandResult run = run_command(
      {bcastctl_path(), "bench", "g", "--pub", "2", "--sub", "2", "--count", "2000", "--size",
       "256", "--mode", "reliable", "--order", "total", "--json", "--sockets", sockets},
      90s);
  EXPECT_EQ(run.status, 0) << run.output << cluster.all_logs();
  const auto json = bench_json(run.output);
  ASSERT_TRUE(json) << "no JSON line in:\n" << run.output;
  const nlohmann::json& j = *json;
  EXPECT_EQ(j.at("mode"), "reliable");
  EXPECT_EQ(j.at("order"), "total");
  EXPECT_EQ(j.at("publishers"), 2);
  EXPECT_EQ(j.at("subscribers"), 2);
  EXPECT_EQ(j.at("size_bytes"), 256);
  EXPECT_EQ(j.at("published").get<std::uint64_t>(), 4000u) << j.dump();
  EXPECT_EQ(j.at("refused").get<std::uint64_t>(), 0u) << j.dump();
  EXPECT_EQ(j.at("expected_deliveries").get<std::uint64_t>(), 8000u) << j.dump();
  EXPECT_EQ(j.at("delivered").get<std::uint64_t>(), 8000u) << j.dump();
  EXPECT_TRUE(j.at("problems").empty()) << j.dump();
  EXPECT_EQ(j.at("ok"), true) << j.dump();

  const nlohmann::json& latency = j.at("latency_us");
  EXPECT_EQ(latency.at("samples").get<std::uint64_t>(), 8000u) << j.dump();
  const double p50 = latency.at("p50"), p90 = latency.at("p90"), p99 = latency.at("p99"),
               p999 = latency.at("p99_9"), max = latency.at("max");
  EXPECT_GT(p50, 0.0) << j.dump();
  EXPECT_LE(p50, p90) << j.dump();
  EXPECT_LE(p90, p99) << j.dump();
  EXPECT_LE(p99, p999) << j.dump();
  EXPECT_LE(p999, max) << j.dump();
  EXPECT_GT(j.at("publish").at("msgs_per_s").get<double>(), 0.0) << j.dump();
  EXPECT_GT(j.at("deliver").at("msgs_per_s").get<double>(), 0.0) << j.dump();
  std::uint64_t per_second_total = 0;
  for (const auto& n : j.at("delivered_per_second")) per_second_total += n.get<std::uint64_t>();
  EXPECT_EQ(per_second_total, 8000u) << j.dump();
}

// Bad input is refused before any daemon is contacted: exit 2 with the reason.
TEST_F(BcastctlBench, BadInputExitsTwo) {
  const std::string socket = path("nobody.sock");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"bench", "g", "--mode", "loud"}, "--mode"},
      {{"bench", "g", "--order", "random"}, "--order"},
      {{"bench", "g", "--count", "5", "--duration", "2"}, "not both"},
      {{"bench", "g", "--size", "8"}, "--size"},
      {{"bench", "g", "--pub", "0"}, "--pub"},
      {{"bench", "g", "--mode", "best-effort", "--order", "total"}, "best-effort"},
      {{"bench", "g", "--duration", "99999999999"}, "--duration"},
      {{"bench"}, "GROUP"},
  };
  for (const auto& [args, reason] : cases) {
    const CommandResult run = ctl(socket, args, 10s);
    EXPECT_EQ(run.status, 2) << run.output;
    EXPECT_NE(run.output.find(reason), std::string::npos) << run.output;
  }
}

}  // namespace
}  // namespace bcast::integration
