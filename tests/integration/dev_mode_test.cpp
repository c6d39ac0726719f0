// Scenario 5: `bcastd --dev` (a single-node cluster) with its paths and port overridden so the
// test stays isolated, plus bcastctl pub / sub / status against it.
#include <signal.h>

#include <filesystem>
#include <sstream>

#include "integration_test.hpp"

namespace bcast::integration {
namespace {

class DevMode : public IntegrationTest {};

TEST_F(DevMode, PubSubOnASingleNodeDaemon) {
  const std::string socket = path("dev.sock");
  const std::string data = path("dev-data");
  const int port = pick_base_port(1) + 1;
  Process daemon({bcastd_path(), "--dev", "--client-socket", socket, "--data-dir", data, "--listen",
                  "tcp://127.0.0.1:" + std::to_string(port)},
                 SpawnOptions{.stderr_path = path("bcastd.log")});
  auto daemon_log = [&] { return read_file(path("bcastd.log"), 4000); };

  // Up: the socket answers status, and the single node leads itself.
  const nlohmann::json status = [&] {
    try {
      return wait_status(
          socket,
          [](const nlohmann::json& s) {
            return s.value("role", "") == "leader" && s.contains("leader") &&
                   s["leader"].is_number() && s["leader"].get<int>() == s.value("node_id", -1);
          },
          10s, "a leader");
    } catch (const std::exception& e) {
      fail(std::string(e.what()) + "\nbcastd log:\n" + daemon_log());
    }
  }();
  EXPECT_EQ(status.value("node_id", 0), 1) << status.dump();
  EXPECT_EQ(status.value("term", 0) > 0, true) << status.dump();
  ASSERT_TRUE(status.contains("members") && status["members"].is_array()) << status.dump();
  EXPECT_EQ(status["members"].size(), 1u) << status.dump();
  EXPECT_TRUE(status.contains("commit_index")) << status.dump();
  EXPECT_TRUE(std::filesystem::is_directory(data)) << "--data-dir was not used";

  // A JSON subscriber that stops by itself after 4 messages.
  Subscriber sub("sub", socket, "dev", path("sub.err"), {"--count", "4"});
  wait_joined({&sub}, nullptr);

  // Arguments, default service; then stdin with total order, socket from BCAST_SOCKET.
  auto by_args =
      run_command({bcastctl_path(), "--socket", socket, "pub", "dev", "--json", "A-1", "A-2"}, 10s);
  EXPECT_EQ(by_args.status, 0) << by_args.output;
  std::vector<std::string> receipts;
  {
    std::istringstream lines(by_args.output);
    for (std::string line; std::getline(lines, line);) receipts.push_back(line);
  }
  ASSERT_EQ(receipts.size(), 2u) << "pub --json with two messages printed:\n" << by_args.output;
  for (std::size_t i = 0; i < receipts.size(); ++i) {
    const auto r = nlohmann::json::parse(receipts[i], nullptr, false);
    ASSERT_FALSE(r.is_discarded()) << "not JSON: " << receipts[i];
    EXPECT_EQ(r.value("seq", 0u), i + 1) << receipts[i];
    EXPECT_TRUE(r.contains("gseq")) << receipts[i];
  }

  Process total(
      {bcastctl_path(), "pub", "dev", "--mode", "reliable", "--order", "total", "--json"},
      SpawnOptions{
          .pipe_stdin = true, .stderr_path = path("total.err"), .env = {{"BCAST_SOCKET", socket}}});
  ASSERT_TRUE(total.write("B-1\nB-2\n"));
  total.close_stdin();
  const auto total_status = total.wait(Clock::now() + 10s);
  ASSERT_TRUE(total_status.has_value()) << "pub with BCAST_SOCKET did not finish";
  EXPECT_EQ(*total_status, 0) << read_file(path("total.err"));
  std::vector<std::uint64_t> gseqs;
  for (const std::string& line : total.lines()) {
    const auto r = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(r.is_object()) << "not a receipt: " << line;
    ASSERT_TRUE(r.contains("gseq") && r["gseq"].is_number())
        << "total order without gseq: " << line;
    gseqs.push_back(r["gseq"].get<std::uint64_t>());
  }
  ASSERT_EQ(gseqs.size(), 2u);
  EXPECT_EQ(gseqs[1], gseqs[0] + 1);

  // --count 4: the subscriber exits 0 on its own once it has the four messages.
  const auto sub_status = sub.process().wait(Clock::now() + 10s);
  sub.consume();
  ASSERT_TRUE(sub_status.has_value())
      << "sub --count 4 did not exit; it has " << sub.deliveries().size() << " messages";
  EXPECT_EQ(*sub_status, 0) << sub.stderr_text();
  ASSERT_EQ(sub.deliveries().size(), 4u) << sub.process().transcript();
  const std::vector<std::string> expected = {"A-1", "A-2", "B-1", "B-2"};
  for (std::size_t i = 0; i < 4; ++i) {
    const Delivery& d = sub.deliveries()[i];
    EXPECT_EQ(d.payload, expected[i]);
    EXPECT_EQ(d.group, "dev");
    EXPECT_EQ(d.seq, i % 2 + 1);
    if (i >= 2) {
      EXPECT_EQ(d.order, "total");
      EXPECT_EQ(d.mode, "reliable");
      ASSERT_TRUE(d.gseq.has_value());
      EXPECT_EQ(*d.gseq, gseqs[i - 2]) << "the delivery's gseq differs from the receipt's";
    } else {
      EXPECT_FALSE(d.gseq.has_value()) << "gseq without total order";
    }
  }
  EXPECT_NE(sub.deliveries()[0].sender, sub.deliveries()[2].sender)
      << "two connections share a sender id";
  EXPECT_TRUE(sub.bad_lines().empty()) << sub.bad_lines().front();

  // Without --json the output format is free, but each delivery is a line showing the payload.
  // Its join cannot be observed, so publish until it has one message (--count 1) and exits.
  Process plain({bcastctl_path(), "--socket", socket, "sub", "plain", "--count", "1"},
                SpawnOptions{.stderr_path = path("plain.err")});
  std::optional<int> plain_status;
  for (const auto deadline = Clock::now() + 10s; !plain_status && Clock::now() < deadline;) {
    auto pub =
        run_command({bcastctl_path(), "--socket", socket, "pub", "plain", "plain-text"}, 10s);
    ASSERT_EQ(pub.status, 0) << pub.output;
    plain_status = plain.wait(Clock::now() + 200ms);
  }
  ASSERT_TRUE(plain_status.has_value()) << "plain sub --count 1 did not exit";
  EXPECT_EQ(*plain_status, 0) << read_file(path("plain.err"));
  EXPECT_NE(plain.transcript().find("plain-text"), std::string::npos)
      << "the plain subscriber's output does not show the payload:\n"
      << plain.transcript();

  // Services the guarantees table rejects: a clear one-line error and a non-zero exit.
  for (const char* order : {"causal", "total"}) {
    auto refused = run_command({bcastctl_path(), "--socket", socket, "pub", "dev", "--mode",
                                "best-effort", "--order", order, "x"},
                               10s);
    EXPECT_NE(refused.status, 0) << "best-effort/" << order << " was accepted";
    EXPECT_FALSE(refused.output.empty()) << "best-effort/" << order << " refused silently";
  }

  // SIGTERM stops the daemon cleanly.
  daemon.signal(SIGTERM);
  const auto daemon_status = daemon.wait(Clock::now() + 10s);
  ASSERT_TRUE(daemon_status.has_value()) << "bcastd --dev ignored SIGTERM";
  EXPECT_EQ(*daemon_status, 0) << daemon_log();
}

}  // namespace
}  // namespace bcast::integration
