// Scenario 2: kill -9 the Raft leader (the sequencer) in the middle of a total-order stream from
// two publishers on the other daemons, then restart it. Every acknowledged message is delivered
// exactly once on the survivors, in one order, and publishing resumes (a message written after
// the crash is acknowledged) within a few election timeouts.
#include "integration_test.hpp"

namespace bcast::integration {
namespace {

constexpr std::size_t kMessages = 300;  // per publisher
constexpr std::size_t kWindow = 10;     // messages written ahead of their receipts
constexpr std::size_t kKillAfter = 80;  // receipts per publisher before the crash
constexpr auto kResumeLimit = 5s;       // "a few election timeouts" (200..400 ms each)

class LeaderCrash : public IntegrationTest {};

TEST_F(LeaderCrash, TotalOrderSurvivesSequencerCrash) {
  const std::string group = "crash";
  LocalCluster cluster(path("cluster"), 3);
  const int leader = cluster.wait_leader();
  const auto status = wait_status(
      cluster.socket(1), [](const nlohmann::json& s) { return s.contains("leader"); }, 10s,
      "a \"leader\" key");
  ASSERT_EQ(status.at("leader").get<int>(), leader)
      << "status --json and local-cluster disagree on the leader: " << status.dump();
  std::vector<int> others;
  for (int i = 1; i <= 3; ++i) {
    if (i != leader) others.push_back(i);
  }

  // Subscribers on every daemon; the one on the leader dies with it (its lines are still
  // checked for agreement), the survivors' must be complete.
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (int i = 1; i <= 3; ++i) {
    subs.push_back(std::make_unique<Subscriber>(
        "sub" + std::to_string(i) + (i == leader ? "(leader)" : ""), cluster.socket(i), group,
        path("sub" + std::to_string(i) + ".err")));
  }
  std::vector<Subscriber*> sub_ptrs;
  for (auto& s : subs) sub_ptrs.push_back(s.get());
  wait_joined(sub_ptrs, &cluster);

  Publisher a("A", cluster.socket(others[0]), group, "reliable", "total", path("pubA.err"));
  Publisher b("B", cluster.socket(others[1]), group, "reliable", "total", path("pubB.err"));
  std::vector<Publisher*> pubs = {&a, &b};
  std::vector<Process*> procs = {&a.process(), &b.process()};
  for (auto& s : subs) procs.push_back(&s->process());

  // Feeds each publisher as its receipts come back, so the stream spans the crash.
  auto on_read = [&] {
    for (auto& s : subs) s->consume();
    for (Publisher* p : pubs) {
      p->consume();
      const std::size_t target = std::min(kMessages, p->receipts().size() + kWindow);
      if (p->process().running() && p->payloads().size() < target) p->write_until(target);
    }
  };
  auto enough = [&](std::size_t n) {
    return [&, n] { return a.receipts().size() >= n && b.receipts().size() >= n; };
  };
  ASSERT_TRUE(pump_until(procs, Clock::now() + 20s, enough(kKillAfter), on_read))
      << "the stream did not reach " << kKillAfter << " receipts per publisher before the crash\n"
      << diagnostics(&cluster, sub_ptrs, pubs);

  const auto killed_at = Clock::now();  // counted from before the kill command
  cluster.kill(leader);
  const std::size_t a_written = a.payloads().size();
  const std::size_t b_written = b.payloads().size();
  Subscriber& leader_sub = *subs[leader - 1];
  leader_sub.process().terminate(2000ms);
  leader_sub.consume();
  std::vector<Process*> live = {&a.process(), &b.process()};
  for (int i : others) live.push_back(&subs[i - 1]->process());

  // Resumed: both publishers got a receipt for a message written after the crash.
  const bool resumed = pump_until(
      live, Clock::now() + 20s,
      [&] { return a.receipts().size() > a_written && b.receipts().size() > b_written; }, on_read);
  const auto resume_time =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed_at);
  ASSERT_TRUE(resumed) << "no acknowledgment for a message published after the leader crash "
                          "within 20 s; receipts A "
                       << a.receipts().size() << "/" << a.payloads().size() << ", B "
                       << b.receipts().size() << "/" << b.payloads().size() << "\n"
                       << diagnostics(&cluster, sub_ptrs, pubs);
  EXPECT_LE(resume_time, kResumeLimit)
      << "publishing resumed only after " << resume_time.count() << " ms";
  RecordProperty("resume_ms", static_cast<int>(resume_time.count()));
  std::cout << "[   INFO   ] publishing resumed " << resume_time.count()
            << " ms after the leader was killed\n";

  const int new_leader = cluster.wait_leader();
  EXPECT_NE(new_leader, leader);
  cluster.restart(leader);

  ASSERT_TRUE(pump_until(
      live, Clock::now() + 30s,
      [&] { return a.payloads().size() == kMessages && b.payloads().size() == kMessages; },
      on_read))
      << "the stream did not finish after the restart\n"
      << diagnostics(&cluster, sub_ptrs, pubs);
  a.finish();
  b.finish();
  ASSERT_TRUE(pump_until(
      live, Clock::now() + 20s,
      [&] {
        return !a.process().running() && !b.process().running() && a.process().stdout_closed() &&
               b.process().stdout_closed();
      },
      on_read))
      << "the publishers did not exit\n"
      << diagnostics(&cluster, sub_ptrs, pubs);
  for (Publisher* p : pubs) {
    EXPECT_EQ(*p->process().exit_status(), 0)
        << "bcastctl pub " << p->tag()
        << " (total order, across a leader crash) failed: " << p->stderr_text();
    EXPECT_EQ(p->receipts().size(), kMessages) << "receipts of publisher " << p->tag();
    EXPECT_TRUE(p->bad_lines().empty()) << p->bad_lines().front();
  }

  DeliveryCheck check(expectation_for(group, "reliable", "total"),
                      {{"A", a.payloads(), a.receipts()}, {"B", b.payloads(), b.receipts()}});
  const bool complete = pump_until(
      live, Clock::now() + 20s,
      [&] {
        for (int i : others) {
          if (check.missing(subs[i - 1]->deliveries()) > 0) return false;
        }
        return true;
      },
      on_read);
  EXPECT_TRUE(complete) << "the survivors did not deliver every acknowledged message in 20 s\n"
                        << diagnostics(&cluster, sub_ptrs, pubs);
  for (int i : others) {
    Subscriber& s = *subs[i - 1];
    EXPECT_EQ(s.process().terminate(5000ms), 0) << s.name() << " did not exit cleanly";
    s.consume();
    check.check_subscriber(s.name(), s.deliveries(), true, true);
    EXPECT_TRUE(s.bad_lines().empty()) << s.bad_lines().front();
  }
  // What the crashed leader delivered before dying agrees with everyone else.
  check.check_subscriber(leader_sub.name(), leader_sub.deliveries(), false, true);
  EXPECT_TRUE(check.violations().empty()) << check.report() << diagnostics(&cluster, {}, {});
}

}  // namespace
}  // namespace bcast::integration
