// [cluster] findings on identity (83aa5b9): a daemon whose data directory was wiped rejoined as
// the same node with term 0 (it could vote twice in a term); a duplicate node id, a node id
// missing from --peer and mismatched --peer lists all started without a word, and some of them
// acknowledged messages that were never delivered. Now the cluster refuses such a daemon (it
// says why in its log and status, and refuses publishes), and a daemon whose own options
// contradict themselves does not start.
#include <filesystem>

#include "integration_test.hpp"

namespace bcast::integration {
namespace {

class ClusterIdentity : public IntegrationTest {
 protected:
  // Waits until `socket`'s status lists a problem containing `text`.
  nlohmann::json wait_problem(const std::string& socket, const std::string& text) {
    return wait_status(
        socket,
        [&](const nlohmann::json& s) {
          for (const auto& p : s.value("problems", nlohmann::json::array())) {
            if (p.get<std::string>().find(text) != std::string::npos) return true;
          }
          return false;
        },
        15s, "a problem mentioning '" + text + "'");
  }
  std::vector<std::string> peer_args(const LocalCluster& cluster, int size) {
    std::vector<std::string> args;
    for (int i = 1; i <= size; ++i) {
      args.insert(args.end(), {"--peer", std::to_string(i) + "=" + cluster.endpoint(i)});
    }
    return args;
  }
};

TEST_F(ClusterIdentity, AWipedDataDirectoryCannotPassForTheMember) {
  LocalCluster cluster(path("cluster"), 3);
  const int leader = cluster.wait_leader();
  const int wiped = leader % 3 + 1;
  const int other = 6 - leader - wiped;
  ASSERT_EQ(ctl(cluster.socket(leader), {"pub", "g", "--order", "total", "before"}).status, 0);
  // Give the leader time to record every member's identity (it does on first contact).
  wait_status(
      cluster.socket(leader), [](const nlohmann::json&) { return true; }, 5s, "status");
  ASSERT_TRUE(pump_until({}, Clock::now() + 10s, [&] {
    auto list = ctl(cluster.socket(leader), {"cluster", "list", "--json"});
    if (list.status != 0) return false;
    for (const auto& m : nlohmann::json::parse(list.output).at("members")) {
      if (!m.at("identity_bound").get<bool>()) return false;
    }
    return true;
  }));

  cluster.kill(wiped);
  std::filesystem::remove_all(cluster.dir() + "/n" + std::to_string(wiped) + "/data");
  cluster.restart(wiped);  // same options: it bootstraps a fresh data directory
  wait_problem(cluster.socket(wiped), "another data directory");
  wait_problem(cluster.socket(leader), "refusing node " + std::to_string(wiped));
  EXPECT_NE(read_file(cluster.log_path(wiped)).find("refuses this daemon"), std::string::npos);
  // It cannot publish: nobody would ever receive it.
  auto refused = ctl(cluster.socket(wiped), {"pub", "g", "--mode", "reliable", "lost?"});
  EXPECT_NE(refused.status, 0) << refused.output;
  EXPECT_NE(refused.output.find("refused by node"), std::string::npos) << refused.output;

  // Its votes and acknowledgements count for nothing: with the third member gone, the leader
  // has no quorum although the wiped daemon answers everything.
  cluster.kill(other);
  auto stalled =
      ctl(cluster.socket(leader), {"--timeout", "3000", "pub", "g", "--order", "total", "after"});
  EXPECT_NE(stalled.status, 0) << "a quorum counted the wiped daemon: " << stalled.output;
}

TEST_F(ClusterIdentity, ADaemonWhoseOwnPeerEntryContradictsItsListenAddressDoesNotStart) {
  LocalCluster cluster(path("cluster"), 3, {}, LocalCluster::Keys::kNone);
  cluster.wait_leader();
  // A second daemon given node id 2 and the cluster's --peer list, on another port.
  const std::string port = std::to_string(pick_base_port(1) + 1);
  std::vector<std::string> argv = {bcastd_path(),
                                   "--node-id",
                                   "2",
                                   "--listen",
                                   "tcp://127.0.0.1:" + port,
                                   "--data-dir",
                                   path("dup"),
                                   "--client-socket",
                                   path("dup.sock")};
  const auto peers = peer_args(cluster, 3);
  argv.insert(argv.end(), peers.begin(), peers.end());
  auto started = run_command(argv, 10s);
  EXPECT_EQ(started.status, 2) << started.output;
  EXPECT_NE(started.output.find("another daemon using this node id"), std::string::npos)
      << started.output;
}

// Without keys (with them, the impostor's handshake is refused before any of this: see
// peer_security_test.cpp).
TEST_F(ClusterIdentity, ADuplicateNodeIdOrADifferentPeerListIsRefusedByTheCluster) {
  LocalCluster cluster(path("cluster"), 3, {}, LocalCluster::Keys::kNone);
  const int leader = cluster.wait_leader();
  // An impostor calling itself node 2, consistent with itself: its own address for node 2.
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(pick_base_port(1) + 1);
  std::vector<std::string> argv = {bcastd_path(),
                                   "--node-id",
                                   "2",
                                   "--listen",
                                   endpoint,
                                   "--data-dir",
                                   path("imp"),
                                   "--client-socket",
                                   path("imp.sock"),
                                   "--peer",
                                   "1=" + cluster.endpoint(1),
                                   "--peer",
                                   "2=" + endpoint,
                                   "--peer",
                                   "3=" + cluster.endpoint(3)};
  Process impostor(argv, SpawnOptions{.stderr_path = path("imp.log")});
  // Its peer list differs from the cluster's, so it made another cluster id: refused.
  wait_problem(path("imp.sock"), "another cluster");
  wait_problem(cluster.socket(1), "refusing node 2");
  auto refused = ctl(path("imp.sock"), {"pub", "g", "--mode", "reliable", "x"});
  EXPECT_NE(refused.status, 0) << refused.output;
  // The cluster never noticed: it keeps its leader and commits.
  EXPECT_EQ(cluster.wait_leader(), leader);
  auto committed = ctl(cluster.socket(leader), {"pub", "g", "--order", "total", "--json", "y"});
  EXPECT_EQ(committed.status, 0) << committed.output;
  impostor.terminate();
}

}  // namespace
}  // namespace bcast::integration
