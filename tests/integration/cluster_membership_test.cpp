// [cluster] acceptance: a 4th daemon joins a running 3-daemon cluster while two publishers
// stream total-order and FIFO messages, catches up, is promoted; then the original leader is
// removed. Every subscriber ends with no gap, duplicate or reorder, and the joined daemon's
// subscribers receive each stream, without a gap, from their join on.
#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include "integration_test.hpp"

namespace bcast::integration {
namespace {

constexpr std::size_t kMessages = 1000;  // per publisher
constexpr std::size_t kWindow = 10;      // messages written ahead of their receipts

class ClusterMembership : public IntegrationTest {};

bool is_voter(const nlohmann::json& list, int node) {
  for (const auto& m : list.at("members")) {
    if (m.at("node").get<int>() == node) return m.at("role") == "voter";
  }
  return false;
}

TEST_F(ClusterMembership, AFourthDaemonJoinsWhileMessagesFlowThenTheLeaderIsRemoved) {
  LocalCluster cluster(path("cluster"), 3);
  const int leader = cluster.wait_leader();
  std::vector<int> others;
  for (int i = 1; i <= 3; ++i) {
    if (i != leader) others.push_back(i);
  }
  const std::vector<std::string> groups = {"tot", "fifo"};

  // Subscribers for both groups on every daemon.
  std::map<std::pair<int, std::string>, std::unique_ptr<Subscriber>> subs;
  std::vector<Subscriber*> sub_ptrs;
  for (int i = 1; i <= 3; ++i) {
    for (const std::string& group : groups) {
      auto& s = subs[{i, group}];
      s = std::make_unique<Subscriber>(group + "@" + std::to_string(i), cluster.socket(i), group,
                                       path(group + std::to_string(i) + ".err"));
      sub_ptrs.push_back(s.get());
    }
  }
  wait_joined(sub_ptrs, &cluster);

  // The publishers sit on the daemons that stay.
  Publisher a("A", cluster.socket(others[0]), "tot", "reliable", "total", path("pubA.err"));
  Publisher b("B", cluster.socket(others[1]), "fifo", "reliable", "fifo", path("pubB.err"));
  std::vector<Publisher*> pubs = {&a, &b};
  auto processes = [&] {
    std::vector<Process*> procs = {&a.process(), &b.process()};
    for (auto& [key, s] : subs) procs.push_back(&s->process());
    return procs;
  };
  // The streams advance in phases, so that each step happens while they flow.
  std::size_t limit = 100;
  auto on_read = [&] {
    for (auto& [key, s] : subs) s->consume();
    for (Publisher* p : pubs) {
      p->consume();
      const std::size_t target = std::min(limit, p->receipts().size() + kWindow);
      if (p->process().running() && p->payloads().size() < target) p->write_until(target);
    }
  };
  auto receipts_at_least = [&](std::size_t n) {
    return [&, n] { return a.receipts().size() >= n && b.receipts().size() >= n; };
  };
  ASSERT_TRUE(pump_until(processes(), Clock::now() + 30s, receipts_at_least(limit), on_read))
      << diagnostics(&cluster, sub_ptrs, pubs);

  // cluster add through a follower (forwarded to the leader), then the new daemon joins.
  const std::string endpoint4 = "tcp://127.0.0.1:" + std::to_string(pick_base_port(1) + 1);
  auto added = ctl(cluster.socket(others[0]), {"cluster", "add", "4=" + endpoint4});
  ASSERT_EQ(added.status, 0) << added.output << cluster.all_logs();
  limit = 600;  // flowing while the new daemon joins, catches up and is promoted
  const std::string socket4 = path("n4.sock");
  std::vector<std::string> argv4 = {bcastd_path(),
                                    "--node-id",
                                    "4",
                                    "--listen",
                                    endpoint4,
                                    "--data-dir",
                                    path("n4"),
                                    "--client-socket",
                                    socket4,
                                    "--join",
                                    cluster.endpoint(leader)};
  for (const std::string& arg : cluster.key_args(4)) argv4.push_back(arg);  // its CURVE key
  Process daemon4(argv4, SpawnOptions{.stderr_path = path("n4.log")});
  ASSERT_TRUE(pump_until(
      processes(), Clock::now() + 20s,
      [&] { return status_json(socket4).has_value() || !daemon4.running(); }, on_read))
      << "daemon 4 did not come up\n"
      << read_file(path("n4.log"));
  ASSERT_TRUE(daemon4.running()) << read_file(path("n4.log"));
  std::vector<Subscriber*> joined;
  for (const std::string& group : groups) {
    auto& s = subs[{4, group}];
    s = std::make_unique<Subscriber>(group + "@4(joined)", socket4, group, path(group + "4.err"));
    sub_ptrs.push_back(s.get());
    joined.push_back(s.get());
  }
  wait_joined(joined, &cluster);

  // It catches up and is promoted by the leader.
  ASSERT_TRUE(pump_until(
      processes(), Clock::now() + 30s,
      [&] {
        auto list = ctl(cluster.socket(others[1]), {"cluster", "list", "--json"}, 5s);
        return list.status == 0 && is_voter(nlohmann::json::parse(list.output), 4);
      },
      on_read, 200ms))
      << "daemon 4 was not promoted\n"
      << read_file(path("n4.log")) << cluster.all_logs();

  // The original leader is removed, through another daemon, while the streams flow on.
  limit = kMessages;
  auto removed = ctl(cluster.socket(others[1]), {"cluster", "remove", std::to_string(leader)});
  ASSERT_EQ(removed.status, 0) << removed.output << cluster.all_logs();
  auto list = ctl(socket4, {"cluster", "list", "--json"}, 5s);
  ASSERT_EQ(list.status, 0) << list.output;
  const auto members = nlohmann::json::parse(list.output).at("members");
  EXPECT_EQ(members.size(), 3u) << list.output;
  for (const auto& m : members) EXPECT_NE(m.at("node").get<int>(), leader) << list.output;

  // The streams finish on the new configuration.
  ASSERT_TRUE(pump_until(
      processes(), Clock::now() + 60s,
      [&] { return a.payloads().size() == kMessages && b.payloads().size() == kMessages; },
      on_read))
      << "the streams did not finish\n"
      << diagnostics(&cluster, sub_ptrs, pubs) << read_file(path("n4.log"));
  a.finish();
  b.finish();
  ASSERT_TRUE(pump_until(
      processes(), Clock::now() + 30s,
      [&] {
        return !a.process().running() && !b.process().running() && a.process().stdout_closed() &&
               b.process().stdout_closed();
      },
      on_read))
      << diagnostics(&cluster, sub_ptrs, pubs);
  for (Publisher* p : pubs) {
    EXPECT_EQ(*p->process().exit_status(), 0) << p->tag() << ": " << p->stderr_text();
    EXPECT_EQ(p->receipts().size(), kMessages) << p->tag();
  }

  std::map<std::string, std::unique_ptr<DeliveryCheck>> checks;
  checks["tot"] =
      std::make_unique<DeliveryCheck>(expectation_for("tot", "reliable", "total"),
                                      std::vector<Stream>{{"A", a.payloads(), a.receipts()}});
  checks["fifo"] =
      std::make_unique<DeliveryCheck>(expectation_for("fifo", "reliable", "fifo"),
                                      std::vector<Stream>{{"B", b.payloads(), b.receipts()}});
  // Every subscriber of the daemons that stayed (and of the joined one, whose stream starts at
  // its join) ends with the last message.
  const std::vector<int> staying = {others[0], others[1], 4};
  const bool complete = pump_until(
      processes(), Clock::now() + 30s,
      [&] {
        for (int node : staying) {
          for (const std::string& group : groups) {
            const auto& d = subs[{node, group}]->deliveries();
            if (d.empty() || d.back().seq != kMessages) return false;
          }
        }
        return true;
      },
      on_read);
  EXPECT_TRUE(complete) << "not every subscriber received the end of its stream\n"
                        << diagnostics(&cluster, sub_ptrs, pubs) << read_file(path("n4.log"));
  for (auto& [key, s] : subs) {
    s->process().terminate(5000ms);
    s->consume();
    const auto& [node, group] = key;
    const bool removed_node = node == leader;
    // The removed leader's subscribers: what they got agrees with the others, nothing more.
    checks[group]->check_subscriber(s->name(), s->deliveries(), node != 4 && !removed_node,
                                    node != 4);
    if (node == 4) {
      EXPECT_FALSE(s->deliveries().empty()) << s->name() << " received nothing";
      RecordProperty(s->name() + "_first_seq",
                     static_cast<int>(s->deliveries().empty() ? 0 : s->deliveries()[0].seq));
    }
    EXPECT_TRUE(s->bad_lines().empty()) << s->bad_lines().front();
  }
  for (const auto& [group, check] : checks) {
    EXPECT_TRUE(check->violations().empty()) << group << ": " << check->report();
  }
  daemon4.terminate();
}

}  // namespace
}  // namespace bcast::integration
