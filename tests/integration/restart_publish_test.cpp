// Found by the chaos runs: a daemon restarted after kill -9 acknowledges reliable and gossip
// publishes at once, but its peers took its new incarnation's stream only from the cut of their
// welcome, some 0.1-0.7 s later; what it acknowledged before reached no other daemon, silently,
// although the origin is alive. The promise (docs/guarantees.md): an acknowledged reliable
// message of a live origin reaches every live member. Now a first welcome's cuts are at the
// incarnation's start while it still stores its whole stream (Node::welcome).
#include <optional>
#include <set>

#include "integration_test.hpp"

namespace bcast::integration {
namespace {

class RestartPublish : public IntegrationTest {};

TEST_F(RestartPublish, MessagesAcknowledgedRightAfterARestartReachEveryMember) {
  constexpr std::size_t kCount = 20;
  const std::string group = "restart-publish";
  LocalCluster cluster(path("cluster"), 3);
  const int leader = cluster.wait_leader();
  const int victim = leader == 3 ? 2 : 3;
  const int witness = 6 - leader - victim;
  Subscriber sub("sub", cluster.socket(witness), group, path("sub.err"));
  wait_joined({&sub}, &cluster);

  cluster.kill(victim);
  cluster.restart(victim);  // returns once its client socket exists
  Publisher pub("R", cluster.socket(victim), group, "reliable", "none", path("pub.err"));
  pub.write_until(kCount);
  pub.finish();
  std::vector<Process*> procs = {&pub.process(), &sub.process()};
  auto on_read = [&] {
    pub.consume();
    sub.consume();
  };
  ASSERT_TRUE(pump_until(
      procs, Clock::now() + 20s, [&] { return pub.receipts().size() == kCount; }, on_read))
      << diagnostics(&cluster, {&sub}, {&pub});

  DeliveryCheck check(expectation_for(group, "reliable", "none"),
                      {{"R", pub.payloads(), pub.receipts()}});
  const bool all = pump_until(
      procs, Clock::now() + 10s, [&] { return check.missing(sub.deliveries()) == 0; }, on_read);
  EXPECT_TRUE(all) << check.missing(sub.deliveries()) << " of " << kCount
                   << " acknowledged messages never reached daemon " << witness << "\n"
                   << diagnostics(&cluster, {&sub}, {&pub});
}

// The other direction, found by the 30-minute chaos run with clients started at once after a
// restart: what another daemon published between a daemon's restart and its first welcome of
// the new incarnation was not the new incarnation's to deliver (the welcome's cut was where the
// welcomer stood), so a subscriber that had joined the restarted daemon missed it silently. Now
// a welcomer that counted the previous incarnation starts its streams for the new one where the
// previous one had got to (core/bcast/resume_cut.hpp).
// To hold the welcome back: the welcomer is stopped while the victim restarts and the subscriber
// joins there; then the victim is stopped, so the welcomer, continued, cannot finish the
// handshake of the victim's new connection (nor hear its hello) while it takes the publishes.
TEST_F(RestartPublish, MessagesPublishedElsewhereDuringARestartReachItsNewSubscribers) {
  constexpr std::size_t kCount = 20;
  const std::string group = "restart-window";
  LocalCluster cluster(path("cluster"), 3);
  const int leader = cluster.wait_leader();
  const int victim = leader == 3 ? 2 : 3;
  const int welcomer = 6 - leader - victim;
  Publisher pub("W", cluster.socket(welcomer), group, "reliable", "fifo", path("pub.err"));
  pub.write_until(1);  // connected, and the victim's predecessor met the welcomer's stream
  std::vector<Process*> procs = {&pub.process()};
  ASSERT_TRUE(pump_until(procs, Clock::now() + 10s, [&] {
    pub.consume();
    return pub.receipts().size() == 1;
  })) << diagnostics(&cluster, {}, {&pub});
  // Once every member reported it (digests every 50 ms) the welcomer collects it, and its
  // stream is no longer whole: a first welcome then cuts where it stands (where a stream still
  // whole would start from its beginning and pass this test however it cut). Not observable from
  // outside; this wait only keeps the test able to catch the loss, never makes it fail.
  pump_until(
      procs, Clock::now() + 1s, [] { return false; }, [&] { pub.consume(); });

  cluster.kill(victim);
  std::optional<Subscriber> sub;
  {
    StoppedDaemon welcomer_stopped(cluster, welcomer);
    ASSERT_TRUE(welcomer_stopped.stopped());
    cluster.restart(victim);
    sub.emplace("sub", cluster.socket(victim), group, path("sub.err"));
    wait_joined({&*sub}, &cluster);
    StoppedDaemon victim_stopped(cluster, victim);
    ASSERT_TRUE(victim_stopped.stopped());
    welcomer_stopped.resume();
    // Published after the subscriber joined, acknowledged while the victim is stopped.
    pub.write_until(kCount);
    ASSERT_TRUE(pump_until(procs, Clock::now() + 10s, [&] {
      pub.consume();
      return pub.receipts().size() == kCount;
    })) << diagnostics(&cluster, {&*sub}, {&pub});
  }
  pub.finish();
  procs = {&pub.process(), &sub->process()};
  auto on_read = [&] {
    pub.consume();
    sub->consume();
  };
  std::vector<std::string> owed(pub.payloads().begin() + 1, pub.payloads().end());
  auto delivered = [&] {
    std::set<std::string> payloads;
    for (const Delivery& d : sub->deliveries()) payloads.insert(d.payload);
    return payloads;
  };
  auto missing = [&] {
    std::size_t count = 0;
    for (const std::string& payload : owed) count += delivered().contains(payload) ? 0 : 1;
    return count;
  };
  const bool all = pump_until(
      procs, Clock::now() + 10s, [&] { return missing() == 0; }, on_read);
  EXPECT_TRUE(all) << missing() << " of " << owed.size() << " messages published after the "
                   << "subscriber joined the restarted daemon never reached it (gaps: "
                   << sub->gaps().size() << ")\n"
                   << diagnostics(&cluster, {&*sub}, {&pub});
}

}  // namespace
}  // namespace bcast::integration
