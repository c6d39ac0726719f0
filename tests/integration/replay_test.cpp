// [replay] A subscriber joins a group from a gseq (`bcastctl sub GROUP --from GSEQ`): it receives
// the group's total-order messages from there out of the daemon's history, then the live ones,
// with no gap and no duplicate at the switch, while a publisher keeps publishing through it.
#include <algorithm>
#include <csignal>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration_test.hpp"

namespace bcast::integration {
namespace {

class Replay : public IntegrationTest {};

// Payloads of `pub`'s messages from the one with gseq `from_gseq` on, in gseq order.
std::vector<std::pair<std::uint64_t, std::string>> expected_from(
    const std::vector<const Publisher*>& pubs, std::uint64_t from_gseq) {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  for (const Publisher* pub : pubs) {
    for (std::size_t i = 0; i < pub->receipts().size(); ++i) {
      const auto& gseq = pub->receipts()[i].gseq;
      if (gseq && *gseq >= from_gseq) out.emplace_back(*gseq, pub->payloads()[i]);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::pair<std::uint64_t, std::string>> delivered(const Subscriber& sub) {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  for (const Delivery& d : sub.deliveries()) out.emplace_back(d.gseq.value_or(0), d.payload);
  return out;
}

TEST_F(Replay, FromAPositionThenLiveWithNoGapAndNoDuplicate) {
  constexpr std::size_t kBefore = 60;
  constexpr std::size_t kDuring = 60;
  const std::string group = "replayed";
  LocalCluster cluster(path("cluster"), 3);
  cluster.wait_leader();

  // History first: messages published before any subscriber exists.
  Publisher before("B", cluster.socket(1), group, "reliable", "total", path("before.err"));
  before.write_until(kBefore);
  std::vector<Process*> procs = {&before.process()};
  ASSERT_TRUE(pump_until(
      procs, Clock::now() + 30s, [&] { return before.receipts().size() == kBefore; },
      [&] { before.consume(); }))
      << diagnostics(&cluster, {}, {&before});
  const std::uint64_t middle_gseq = *before.receipts()[kBefore / 2].gseq;

  // Subscribers from the start and from the middle, on another daemon, while a second
  // publisher goes on: the switch from history to live happens with messages in flight.
  Subscriber from_start("from-1", cluster.socket(2), group, path("from1.err"), {"--from", "1"});
  Subscriber from_middle("from-middle", cluster.socket(3), group, path("frommid.err"),
                         {"--from", std::to_string(middle_gseq)});
  Publisher during("D", cluster.socket(1), group, "reliable", "total", path("during.err"));
  during.write_until(kDuring);
  procs = {&during.process(), &from_start.process(), &from_middle.process()};
  auto on_read = [&] {
    during.consume();
    from_start.consume();
    from_middle.consume();
  };
  ASSERT_TRUE(pump_until(
      procs, Clock::now() + 30s, [&] { return during.receipts().size() == kDuring; }, on_read))
      << diagnostics(&cluster, {&from_start, &from_middle}, {&during});

  const auto want_all = expected_from({&before, &during}, 1);
  const auto want_middle = expected_from({&before, &during}, middle_gseq);
  ASSERT_EQ(want_all.size(), kBefore + kDuring);
  const bool all = pump_until(
      procs, Clock::now() + 20s,
      [&] {
        return from_start.deliveries().size() >= want_all.size() &&
               from_middle.deliveries().size() >= want_middle.size();
      },
      on_read);
  EXPECT_TRUE(all) << diagnostics(&cluster, {&from_start, &from_middle}, {&during});
  // Exactly the group's total order from the position: every message once, in gseq order.
  EXPECT_EQ(delivered(from_start), want_all);
  EXPECT_EQ(delivered(from_middle), want_middle);
  for (const Subscriber* sub : {&from_start, &from_middle}) {
    EXPECT_TRUE(sub->gaps().empty()) << sub->gaps().front().reason;
    EXPECT_TRUE(sub->bad_lines().empty()) << sub->bad_lines().front();
  }
}

// [replay] item 3: a subscriber whose daemon is killed and restarted while a publisher streams
// total-order messages through another daemon reconnects (`bcastctl sub --resume`, the client
// library's ClientOptions::resume) and resumes where it stopped: from its first delivery on,
// every acknowledged message exactly once, in gseq order, including those committed while its
// daemon was down.
TEST_F(Replay, ASubscriberResumesAcrossItsDaemonsRestartWithNoGapAndNoDuplicate) {
  constexpr std::size_t kFirst = 40;
  constexpr std::size_t kTotal = 160;
  const std::string group = "resumed";
  LocalCluster cluster(path("cluster"), 3);
  const int leader = cluster.wait_leader();
  const int sub_node = leader == 2 ? 3 : 2;
  const int pub_node = leader;  // never the one killed
  Subscriber sub("resumer", cluster.socket(sub_node), group, path("sub.err"), {"--resume"});
  wait_joined({&sub}, &cluster);
  Publisher pub("R", cluster.socket(pub_node), group, "reliable", "total", path("pub.err"));
  std::vector<Process*> procs = {&pub.process(), &sub.process()};
  auto on_read = [&] {
    pub.consume();
    sub.consume();
  };
  pub.write_until(kFirst);
  ASSERT_TRUE(pump_until(
      procs, Clock::now() + 30s, [&] { return sub.deliveries().size() >= kFirst; }, on_read))
      << diagnostics(&cluster, {&sub}, {&pub});

  // Its daemon dies while the stream goes on, and comes back from its data directory.
  cluster.kill(sub_node);
  pub.write_until(kFirst + kTotal / 2);
  ASSERT_TRUE(pump_until(
      procs, Clock::now() + 30s, [&] { return pub.receipts().size() == kFirst + kTotal / 2; },
      on_read))
      << diagnostics(&cluster, {&sub}, {&pub});
  cluster.restart(sub_node);
  pub.write_until(kFirst + kTotal);
  ASSERT_TRUE(pump_until(
      procs, Clock::now() + 30s, [&] { return pub.receipts().size() == kFirst + kTotal; }, on_read))
      << diagnostics(&cluster, {&sub}, {&pub});

  const auto want = expected_from({&pub}, *pub.receipts().front().gseq);
  const bool all = pump_until(
      procs, Clock::now() + 30s, [&] { return sub.deliveries().size() >= want.size(); }, on_read);
  EXPECT_TRUE(all) << diagnostics(&cluster, {&sub}, {&pub});
  EXPECT_EQ(delivered(sub), want);
  EXPECT_TRUE(sub.process().running()) << sub.stderr_text();
  // What the other orders may have missed while it was disconnected is announced.
  EXPECT_TRUE(std::any_of(sub.gaps().begin(), sub.gaps().end(),
                          [](const GapEvent& gap) { return gap.reason == "disconnected"; }));
}

// [replay] acceptance: every daemon killed with -9 in the middle of a total-order stream from two
// publishers, then restarted. Before the history, the messages committed while the daemons
// recovered reached no subscriber (19 in the issue's run). Now a subscriber with `--from 0`
// receives every acknowledged message, in gseq order, each once, and no gap; and one started
// with `--from` the gseq after a given delivery receives exactly the rest.
TEST_F(Replay, AfterEveryDaemonIsKilledASubscriberFromZeroHasTheWholeAcknowledgedSequence) {
  constexpr std::size_t kEach = 80;
  const std::string group = "survivor";
  LocalCluster cluster(path("cluster"), 3);
  cluster.wait_leader();
  std::vector<std::unique_ptr<Publisher>> pubs;
  const auto start_pubs = [&](const std::string& round) {
    for (int node : {1, 2}) {
      pubs.push_back(std::make_unique<Publisher>(round + std::to_string(node), cluster.socket(node),
                                                 group, "reliable", "total",
                                                 path(round + std::to_string(node) + ".err")));
      pubs.back()->write_until(kEach);
    }
  };
  const auto consume_pubs = [&] {
    for (auto& pub : pubs) pub->consume();
  };
  const auto pub_procs = [&] {
    std::vector<Process*> procs;
    for (auto& pub : pubs) procs.push_back(&pub->process());
    return procs;
  };
  start_pubs("A");
  // Mid-stream: once some receipts are in, every daemon dies at once.
  ASSERT_TRUE(pump_until(
      pub_procs(), Clock::now() + 30s,
      [&] { return pubs[0]->receipts().size() >= kEach / 4 && pubs[1]->receipts().size() >= 1; },
      consume_pubs))
      << diagnostics(&cluster, {}, {pubs[0].get(), pubs[1].get()});
  for (int node : {1, 2, 3}) cluster.kill(node);
  Process::pump_all(pub_procs(), 200ms);
  consume_pubs();
  for (int node : {1, 2, 3}) cluster.restart(node);
  cluster.wait_leader();
  start_pubs("B");
  ASSERT_TRUE(pump_until(
      pub_procs(), Clock::now() + 60s,
      [&] { return pubs[2]->receipts().size() == kEach && pubs[3]->receipts().size() == kEach; },
      consume_pubs))
      << diagnostics(&cluster, {}, {pubs[2].get(), pubs[3].get()});

  std::vector<const Publisher*> all;
  for (auto& pub : pubs) all.push_back(pub.get());
  const auto acknowledged = expected_from(all, 1);
  ASSERT_GT(acknowledged.size(), 2 * kEach);
  Subscriber from_zero("from-0", cluster.socket(3), group, path("from0.err"), {"--from", "0"});
  const std::uint64_t cut = acknowledged[acknowledged.size() / 3].first;
  Subscriber from_cut("from-cut", cluster.socket(1), group, path("fromcut.err"),
                      {"--from", std::to_string(cut)});
  const std::vector<Process*> sub_procs = {&from_zero.process(), &from_cut.process()};
  const auto has_all = [&](const Subscriber& sub, std::uint64_t from_gseq) {
    const auto got = delivered(sub);
    return std::all_of(acknowledged.begin(), acknowledged.end(), [&](const auto& item) {
      return item.first < from_gseq || std::find(got.begin(), got.end(), item) != got.end();
    });
  };
  const bool complete = pump_until(
      sub_procs, Clock::now() + 30s,
      [&] { return has_all(from_zero, 1) && has_all(from_cut, cut); },
      [&] {
        from_zero.consume();
        from_cut.consume();
      });
  EXPECT_TRUE(complete) << diagnostics(&cluster, {&from_zero, &from_cut}, {});
  for (const Subscriber* sub : {&from_zero, &from_cut}) {
    const auto got = delivered(*sub);
    // In gseq order, each once (plus whatever else was committed: receipts lost in the kill).
    EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
    EXPECT_EQ(std::adjacent_find(got.begin(), got.end(),
                                 [](const auto& a, const auto& b) { return a.first == b.first; }),
              got.end());
    EXPECT_TRUE(sub->gaps().empty()) << sub->gaps().front().reason;
    EXPECT_TRUE(sub->bad_lines().empty()) << sub->bad_lines().front();
  }
  ASSERT_FALSE(delivered(from_cut).empty());
  EXPECT_EQ(delivered(from_cut).front().first, cut);
}

// A subscriber killed (kill -9) in the middle of a total-order stream and started again with
// `--from` the gseq after the last one it printed ends with the full sequence: what it printed
// before and after the restart is every acknowledged message, once, in gseq order.
TEST_F(Replay, ASubscriberKilledAndRestartedFromItsLastGseqEndsWithTheFullSequence) {
  constexpr std::size_t kCount = 120;
  const std::string group = "restarted-subscriber";
  LocalCluster cluster(path("cluster"), 3);
  cluster.wait_leader();
  auto first = std::make_unique<Subscriber>("first", cluster.socket(2), group, path("first.err"));
  wait_joined({first.get()}, &cluster);
  Publisher pub("K", cluster.socket(1), group, "reliable", "total", path("pub.err"));
  pub.write_until(kCount / 2);
  ASSERT_TRUE(pump_until(
      {&pub.process(), &first->process()}, Clock::now() + 30s,
      [&] { return first->deliveries().size() >= kCount / 4; },
      [&] {
        pub.consume();
        first->consume();
      }))
      << diagnostics(&cluster, {first.get()}, {&pub});
  first->process().signal(SIGKILL);
  (void)first->process().wait(Clock::now() + 5s);
  Process::pump_all({&first->process()}, 200ms);
  first->consume();  // what it printed before it died
  const auto before = delivered(*first);
  ASSERT_FALSE(before.empty());

  // The stream goes on while no subscriber runs; the new one starts after the last printed.
  pub.write_until(kCount);
  Subscriber second("second", cluster.socket(2), group, path("second.err"),
                    {"--from", std::to_string(before.back().first + 1)});
  const std::vector<Process*> procs = {&pub.process(), &second.process()};
  auto on_read = [&] {
    pub.consume();
    second.consume();
  };
  ASSERT_TRUE(pump_until(
      procs, Clock::now() + 30s, [&] { return pub.receipts().size() == kCount; }, on_read))
      << diagnostics(&cluster, {&second}, {&pub});
  const auto want = expected_from({&pub}, before.front().first);
  const bool all = pump_until(
      procs, Clock::now() + 20s,
      [&] { return before.size() + second.deliveries().size() >= want.size(); }, on_read);
  EXPECT_TRUE(all) << diagnostics(&cluster, {&second}, {&pub});
  auto joined = before;
  const auto after = delivered(second);
  joined.insert(joined.end(), after.begin(), after.end());
  EXPECT_EQ(joined, want);
  EXPECT_TRUE(second.gaps().empty());
}

// A position older than what the history still holds (retention deleted it) yields a gap event
// naming the oldest gseq held, then the messages from there.
TEST_F(Replay, APositionOlderThanTheHistoryGetsAGapEventNamingTheOldestHeld) {
  constexpr int kMessages = 1600;  // 1 KiB each: beyond the 1 MiB bound and its 128 KiB segments
  LocalCluster cluster(path("cluster"), 1, {"--history-max-bytes", "1048576"});
  cluster.wait_leader();
  SpawnOptions stdin_pipe;
  stdin_pipe.pipe_stdin = true;
  stdin_pipe.stderr_path = path("pub.err");
  Process pub({bcastctl_path(), "--socket", cluster.socket(1), "pub", "old", "--order", "total"},
              stdin_pipe);
  const std::string filler(1000, 'h');
  for (int i = 1; i <= kMessages; ++i) {
    ASSERT_TRUE(pub.write("m" + std::to_string(i) + filler + "\n"));
  }
  pub.close_stdin();
  const auto published = pub.wait(Clock::now() + 60s);
  ASSERT_TRUE(published && *published == 0) << read_file(path("pub.err"), 4000);
  // Retention runs once a second: wait until the oldest segment is gone.
  const auto replay = [&] {
    return run_command({bcastctl_path(), "--socket", cluster.socket(1), "sub", "old", "--from", "1",
                        "--json", "--count", "1"},
                       20s);
  };
  std::optional<nlohmann::json> gap;
  std::optional<nlohmann::json> first;
  for (const auto deadline = Clock::now() + 10s; !gap && Clock::now() < deadline;) {
    const CommandResult sub = replay();
    ASSERT_EQ(sub.status, 0) << sub.output;
    std::istringstream lines(sub.output);
    for (std::string line; std::getline(lines, line);) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) continue;
      if (j.value("type", "") == "gap") gap = j;
      if (j.value("type", "") == "message") first = j;
    }
    if (!gap) std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(gap) << "no gap event: the history was never trimmed";
  EXPECT_EQ(gap->at("from_gseq").get<std::uint64_t>(), 1u);
  EXPECT_EQ(gap->at("reason").get<std::string>(), "history-trimmed");
  EXPECT_EQ(gap->at("group").get<std::string>(), "old");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->at("gseq").get<std::uint64_t>(), gap->at("to_gseq").get<std::uint64_t>() + 1);
}

// Without a history there is nothing to replay: the join is refused with a clear error.
TEST_F(Replay, ADaemonWithoutHistoryRefusesAReplayingJoin) {
  LocalCluster cluster(path("cluster"), 1, {"--history-max-bytes", "0"});
  cluster.wait_leader();
  const CommandResult sub =
      run_command({bcastctl_path(), "--socket", cluster.socket(1), "sub", "g", "--from", "1"}, 10s);
  EXPECT_NE(sub.status, 0);
  EXPECT_NE(sub.output.find("keeps no total-order history"), std::string::npos) << sub.output;
}

}  // namespace
}  // namespace bcast::integration
