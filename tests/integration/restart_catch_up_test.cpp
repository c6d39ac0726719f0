// Scenario 3: a daemon killed (kill -9) and restarted from its data dir catches up: its Raft log
// reaches the others' commit index, and a subscriber on it after the restart sees the later
// messages with the same gseq assignment as everyone else.
#include "integration_test.hpp"

namespace bcast::integration {
namespace {

constexpr std::size_t kBatch = 50;  // per publisher and phase

class RestartCatchUp : public IntegrationTest {};

TEST_F(RestartCatchUp, RestartedDaemonDeliversTheSameTotalOrder) {
  const std::string group = "catch-up";
  LocalCluster cluster(path("cluster"), 3);
  const int leader = cluster.wait_leader();
  // The victim is a follower (the leader's crash is scenario 2); publishers use the others.
  const int victim = leader == 3 ? 2 : 3;
  const int other = 6 - leader - victim;

  std::vector<std::unique_ptr<Subscriber>> subs;
  for (int i = 1; i <= 3; ++i) {
    subs.push_back(std::make_unique<Subscriber>("sub" + std::to_string(i), cluster.socket(i), group,
                                                path("sub" + std::to_string(i) + ".err")));
  }
  std::vector<Subscriber*> sub_ptrs;
  for (auto& s : subs) sub_ptrs.push_back(s.get());
  wait_joined(sub_ptrs, &cluster);

  Publisher a("A", cluster.socket(leader), group, "reliable", "total", path("pubA.err"));
  Publisher b("B", cluster.socket(other), group, "reliable", "total", path("pubB.err"));
  std::vector<Publisher*> pubs = {&a, &b};
  std::unique_ptr<Subscriber> late;  // on the victim, after its restart
  std::uint64_t late_from = 0;       // the first message number published after it joined
  auto first_expected = [&](Subscriber* s) -> std::uint64_t {
    return s == late.get() ? late_from : 1;
  };
  std::vector<Process*> procs = {&a.process(), &b.process()};
  for (auto& s : subs) procs.push_back(&s->process());
  auto on_read = [&] {
    for (auto& s : subs) s->consume();
    if (late) late->consume();
    a.consume();
    b.consume();
  };
  // Everything acknowledged so far, delivered by each subscriber in `who`.
  auto delivered_all = [&](const std::vector<Subscriber*>& who) {
    return [&, who] {
      DeliveryCheck check(expectation_for(group, "reliable", "total"),
                          {{"A", a.payloads(), a.receipts()}, {"B", b.payloads(), b.receipts()}});
      for (Subscriber* s : who) {
        if (check.missing(s->deliveries(), first_expected(s)) > 0) return false;
      }
      return true;
    };
  };
  auto publish_phase = [&](std::size_t total, const std::vector<Subscriber*>& who,
                           const std::string& phase) {
    a.write_until(total);
    b.write_until(total);
    const bool acknowledged = pump_until(
        procs, Clock::now() + 20s,
        [&] { return a.receipts().size() == total && b.receipts().size() == total; }, on_read);
    if (!acknowledged) {
      fail(phase + ": receipts A " + std::to_string(a.receipts().size()) + ", B " +
           std::to_string(b.receipts().size()) + " of " + std::to_string(total) + " in 20 s\n" +
           diagnostics(&cluster, sub_ptrs, pubs));
    }
    if (!pump_until(procs, Clock::now() + 20s, delivered_all(who), on_read)) {
      DeliveryCheck check(expectation_for(group, "reliable", "total"),
                          {{"A", a.payloads(), a.receipts()}, {"B", b.payloads(), b.receipts()}});
      std::string counts;
      for (Subscriber* s : who) {
        counts +=
            "  " + s->name() + ": " + std::to_string(s->deliveries().size()) + " delivered, " +
            std::to_string(check.missing(s->deliveries(), first_expected(s))) + " missing" +
            (s->deliveries().empty() ? "" : ", last " + s->deliveries().back().payload) + "\n";
      }
      fail(phase + ": not every acknowledged message was delivered in 20 s\n" + counts +
           diagnostics(&cluster, sub_ptrs, pubs));
    }
  };

  publish_phase(kBatch, sub_ptrs, "before the crash");

  cluster.kill(victim);
  Subscriber& victim_sub = *subs[victim - 1];
  victim_sub.process().terminate(2000ms);
  victim_sub.consume();
  std::erase(procs, &victim_sub.process());
  std::vector<Subscriber*> survivors = {subs[leader - 1].get(), subs[other - 1].get()};
  publish_phase(2 * kBatch, survivors, "while daemon " + std::to_string(victim) + " is down");

  cluster.restart(victim);
  // Caught up: the restarted daemon's commit index reaches what the leader had committed.
  const auto committed =
      wait_status(
          cluster.socket(leader), [](const nlohmann::json&) { return true; }, 10s, "an answer")
          .at("commit_index")
          .get<std::uint64_t>();
  wait_status(
      cluster.socket(victim),
      [&](const nlohmann::json& s) {
        return s.at("commit_index").get<std::uint64_t>() >= committed && !s.at("leader").is_null();
      },
      10s, "commit_index >= " + std::to_string(committed) + " and a known leader");

  late = std::make_unique<Subscriber>("sub" + std::to_string(victim) + "(restarted)",
                                      cluster.socket(victim), group, path("late.err"));
  sub_ptrs.push_back(late.get());
  procs.push_back(&late->process());
  wait_joined({late.get()}, &cluster);
  const std::size_t seen_before = a.receipts().size();
  late_from = seen_before + 1;
  publish_phase(3 * kBatch, {survivors[0], survivors[1], late.get()}, "after the restart");

  a.finish();
  b.finish();
  ASSERT_TRUE(pump_until(
      procs, Clock::now() + 20s, [&] { return !a.process().running() && !b.process().running(); },
      on_read));
  for (Publisher* p : pubs) {
    EXPECT_EQ(*p->process().exit_status(), 0) << p->stderr_text();
    EXPECT_TRUE(p->bad_lines().empty()) << p->bad_lines().front();
  }

  DeliveryCheck check(expectation_for(group, "reliable", "total"),
                      {{"A", a.payloads(), a.receipts()}, {"B", b.payloads(), b.receipts()}});
  for (Subscriber* s : survivors) {
    EXPECT_EQ(s->process().terminate(5000ms), 0) << s->name() << " did not exit cleanly";
    s->consume();
    check.check_subscriber(s->name(), s->deliveries(), true, true);
  }
  check.check_subscriber(victim_sub.name() + "(before the crash)", victim_sub.deliveries(), false,
                         true);
  EXPECT_EQ(late->process().terminate(5000ms), 0);
  late->consume();
  check.check_subscriber(late->name(), late->deliveries(), false, false);
  // The late subscriber has every message of the last phase, with the others' gseqs.
  for (std::size_t n = seen_before + 1; n <= 3 * kBatch; ++n) {
    for (const std::string tag : {"A", "B"}) {
      const std::string payload = tag + "-" + std::to_string(n);
      const auto it = std::find_if(late->deliveries().begin(), late->deliveries().end(),
                                   [&](const Delivery& d) { return d.payload == payload; });
      EXPECT_NE(it, late->deliveries().end()) << late->name() << " missed " << payload;
    }
  }
  for (Subscriber* s : sub_ptrs) {
    EXPECT_TRUE(s->bad_lines().empty()) << s->name() << ": " << s->bad_lines().front();
  }
  EXPECT_TRUE(check.violations().empty()) << check.report() << diagnostics(&cluster, {}, {});
  RecordProperty("late_deliveries", static_cast<int>(late->deliveries().size()));
}

}  // namespace
}  // namespace bcast::integration
