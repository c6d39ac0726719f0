// The CRDT replica over real daemons: three daemons of tools/local-cluster, a replica on each,
// random operations of every type written at every daemon, all in flight together; every
// replica must end with the same state, with counter values that count every increment; and a
// replica started afterwards catches up through a sync request (state transfer over gossip).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"
#include "process.hpp"
#include "replica.hpp"

namespace bcast::crdt {
namespace {

using integration::LocalCluster;
using integration::TempDir;
using namespace std::chrono_literals;

Replica start_replica(const std::string& socket) {
  auto client = Client::connect({.socket_path = socket, .client_name = "crdt-test"});
  EXPECT_TRUE(client.ok()) << client.error().message;
  auto replica = Replica::start(std::move(client).value(), "crdt-test");
  EXPECT_TRUE(replica.ok()) << replica.error().message;
  return std::move(replica).value();
}

// Handles what every replica has received, without waiting.
void drain(std::vector<Replica*>& replicas) {
  for (Replica* replica : replicas) {
    while (true) {
      auto handled = replica->poll(0ms);
      ASSERT_TRUE(handled.ok()) << handled.error().message;
      if (!handled.value() && !replica->client().has_queued_events()) break;
    }
  }
}

bool converged(const std::vector<Replica*>& replicas) {
  for (const Replica* replica : replicas) {
    if (!(replica->store() == replicas[0]->store())) return false;
  }
  return true;
}

// Polls every replica until they hold the same state and `done` holds, or 20 s pass.
bool wait_converged(std::vector<Replica*> replicas, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    drain(replicas);
    if (converged(replicas) && done()) return true;
    (void)replicas[0]->poll(20ms);  // a short wait instead of a busy loop
  }
  return false;
}

TEST(CrdtCluster, WritesAtEveryDaemonConvergeAndALateReplicaCatchesUp) {
  TempDir dir;
  LocalCluster cluster(dir.path() + "/cluster", 3);
  cluster.wait_leader();
  std::vector<Replica> owned;
  for (int node = 1; node <= 3; ++node) owned.push_back(start_replica(cluster.socket(node)));
  std::vector<Replica*> replicas;
  for (Replica& replica : owned) replicas.push_back(&replica);

  // Every replica writes every type, concurrently with the others (nothing is waited for).
  std::uint64_t increments = 0;
  std::int64_t sum = 0;
  const std::vector<std::string> values = {"a", "b", "c"};
  for (int round = 0; round < 20; ++round) {
    for (std::size_t i = 0; i < replicas.size(); ++i) {
      Store& store = replicas[i]->store();
      const std::string& value = values[(round + i) % values.size()];
      const std::int64_t change = (round % 2 == 0 ? 1 : -2) * static_cast<std::int64_t>(i + 1);
      increments += i + 1;
      sum += change;
      for (const Update& update :
           {store.gcounter_increment("hits", i + 1).value(),
            store.pncounter_add("stock", change).value(), store.max_propose("top", round * 10),
            store.mvregister_write("color", value), store.gset_add("tags", value),
            round % 3 == 2 ? store.orset_remove("cart", value) : store.orset_add("cart", value)}) {
        ASSERT_TRUE(replicas[i]->publish(update).ok());
      }
    }
    drain(replicas);
  }
  auto counted = [&] {
    const Object* hits = replicas[0]->store().find(Type::kGCounter, "hits");
    const Object* stock = replicas[0]->store().find(Type::kPNCounter, "stock");
    return hits != nullptr && std::get<GCounter>(*hits).value() == increments && stock != nullptr &&
           std::get<PNCounter>(*stock).value() == sum;
  };
  const bool all_converged = wait_converged(replicas, counted);
  if (!all_converged) dir.keep();
  ASSERT_TRUE(all_converged) << cluster.all_logs();
  EXPECT_EQ(describe(*replicas[0]->store().find(Type::kMaxRegister, "top")), "190");
  EXPECT_EQ(describe(*replicas[0]->store().find(Type::kGSet, "tags")), "[a, b, c]");
  for (Replica* replica : replicas) EXPECT_EQ(replica->dropped(), 0u);

  // A replica that starts now asks for the state and gets it from the others.
  Replica late = start_replica(cluster.socket(2));
  replicas.push_back(&late);
  ASSERT_TRUE(wait_converged(replicas, [] { return true; })) << cluster.all_logs();
  EXPECT_FALSE(late.store().snapshot().empty());

  // The command line, one shot: it syncs from the running replicas (which the loop keeps
  // answering), increments, and prints the new value; the running replicas get it too.
  integration::Process cli({BCAST_CRDT_CLI, "--socket", cluster.socket(3), "--group", "crdt-test",
                            "gcounter", "inc", "hits", "5"});
  while (cli.running()) {
    drain(replicas);
    cli.pump(20ms);
  }
  cli.pump(0ms);
  EXPECT_EQ(cli.exit_status(), 0) << cli.transcript();
  ASSERT_FALSE(cli.lines().empty()) << cli.transcript();
  EXPECT_EQ(cli.lines().front(), "gcounter hits = " + std::to_string(increments + 5));
  increments += 5;
  ASSERT_TRUE(wait_converged(replicas, counted)) << cluster.all_logs();
}

// A daemon stopped (SIGSTOP: its peers cannot reach it, as in a partition) while every replica
// keeps writing, its own included; once it continues, gossip repairs both sides and the
// replicas converge with every increment counted.
TEST(CrdtCluster, WritesOnBothSidesOfAStoppedDaemonConvergeWhenItContinues) {
  TempDir dir;
  LocalCluster cluster(dir.path() + "/cluster", 3);
  cluster.wait_leader();
  std::vector<Replica> owned;
  for (int node = 1; node <= 3; ++node) owned.push_back(start_replica(cluster.socket(node)));
  std::vector<Replica*> replicas;
  for (Replica& replica : owned) replicas.push_back(&replica);
  std::vector<Replica*> running = {replicas[0], replicas[1]};
  integration::StoppedDaemon stopped(cluster, 3);
  ASSERT_TRUE(stopped.stopped());
  std::uint64_t increments = 0;
  for (int round = 0; round < 20; ++round) {
    for (std::size_t i = 0; i < replicas.size(); ++i) {
      Store& store = replicas[i]->store();
      const std::string element = "e" + std::to_string(round % 4);
      increments += 1;
      ASSERT_TRUE(replicas[i]->publish(store.gcounter_increment("hits", 1).value()).ok());
      ASSERT_TRUE(replicas[i]
                      ->publish(round % 2 == 0 ? store.orset_add("cart", element)
                                               : store.orset_remove("cart", element))
                      .ok());
    }
    drain(running);                     // the stopped daemon's replica reads nothing meanwhile
    std::this_thread::sleep_for(50ms);  // one second of writes on both sides
  }
  stopped.resume();
  const bool all_converged = wait_converged(replicas, [&] {
    const Object* hits = replicas[0]->store().find(Type::kGCounter, "hits");
    return hits != nullptr && std::get<GCounter>(*hits).value() == increments;
  });
  if (!all_converged) dir.keep();
  ASSERT_TRUE(all_converged) << cluster.all_logs();
}

}  // namespace
}  // namespace bcast::crdt
