// [security] issue item 1: keys for members added at run time. `cluster add 4=ADDR --key K4`
// carries K4 in the committed configuration; every member then lets K4 in as node 4 (without a
// --peer-key line for it, even after a restart), and refuses it once node 4 is removed.
#include <zmq.h>

#include <cstring>
#include <optional>
#include <zmq.hpp>

#include "integration_test.hpp"
#include "io/curve_keys.hpp"

namespace bcast::integration {
namespace {

// Whether a CURVE handshake with `own` to `endpoint` (the server's key `server_key`) passes the
// daemon's allow-list: true once it succeeds, false once the daemon refuses the key, nullopt if
// neither happens within `timeout`.
std::optional<bool> handshake_accepted(const std::string& endpoint, const io::CurveKeyPair& own,
                                       const std::string& server_key,
                                       std::chrono::milliseconds timeout) {
  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::curve_serverkey, server_key);
  socket.set(zmq::sockopt::curve_publickey, own.public_key);
  socket.set(zmq::sockopt::curve_secretkey, own.secret_key);
  const std::string monitor = "inproc://member-keys-handshake";
  if (zmq_socket_monitor(socket.handle(), monitor.c_str(),
                         ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0) {
    throw zmq::error_t();
  }
  zmq::socket_t events(context, zmq::socket_type::pair);
  events.set(zmq::sockopt::linger, 0);
  events.set(zmq::sockopt::rcvtimeo, static_cast<int>(timeout.count()));
  events.connect(monitor);
  socket.connect(endpoint);
  zmq::message_t event;
  if (!events.recv(event)) return std::nullopt;
  std::uint16_t id = 0;
  std::memcpy(&id, event.data(), sizeof id);
  return id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
}

class MemberKeys : public IntegrationTest {
 protected:
  static io::CurveKeyPair key_pair(const std::string& key_file) {
    auto pair = io::read_secret_key_file(key_file);
    if (!pair) fail(pair.error().message);
    return pair.value();
  }
  // Polls the handshake until it gives `wanted` (a daemon applies the committed change a moment
  // after `cluster add/remove` returns on another); true if it did within 10 s.
  static bool handshake_becomes(bool wanted, const std::string& endpoint,
                                const io::CurveKeyPair& own, const std::string& server_key) {
    const auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
      if (handshake_accepted(endpoint, own, server_key, 2s) == wanted) return true;
    }
    return false;
  }
};

TEST_F(MemberKeys, AMemberAddedWithAKeyJoinsWithoutPeerKeyLinesAndIsRefusedOnceRemoved) {
  // No spare keys: the members know nothing of node 4's key but what `cluster add` carries.
  LocalCluster cluster(path("c"), 3, {}, LocalCluster::Keys::kCurve, 0);
  const int leader = cluster.wait_leader();
  const auto key_of = [&](int node) {
    return key_pair(cluster.dir() + "/keys/n" + std::to_string(node) + ".key");
  };
  auto made = run_command({bcastctl_path(), "keygen", "--out", path("n4")}, 10s);
  ASSERT_EQ(made.status, 0) << made.output;
  const io::CurveKeyPair key4 = key_pair(path("n4.key"));

  // Before the add, node 4's key is a stranger's.
  EXPECT_EQ(handshake_accepted(cluster.endpoint(1), key4, key_of(1).public_key, 5s),
            std::optional<bool>(false));
  const std::string endpoint4 = "tcp://127.0.0.1:" + std::to_string(pick_base_port(1) + 1);
  const int asker = leader == 2 ? 3 : 2;
  auto added =
      ctl(cluster.socket(asker), {"cluster", "add", "4=" + endpoint4, "--key", key4.public_key});
  ASSERT_EQ(added.status, 0) << added.output << cluster.all_logs();
  auto list = ctl(cluster.socket(1), {"cluster", "list", "--json"});
  ASSERT_EQ(list.status, 0) << list.output;
  bool listed = false;
  const nlohmann::json members = nlohmann::json::parse(list.output).at("members");
  for (const auto& m : members) {
    if (m.at("node") == 4) listed = m.at("public_key").get<std::string>() == key4.public_key;
    if (m.at("node") == 1) {
      EXPECT_EQ(m.at("public_key").get<std::string>(), key_of(1).public_key) << list.output;
    }
  }
  EXPECT_TRUE(listed) << key4.public_key << " not in " << list.output;

  // Node 4 starts with its own secret key and the members' keys and addresses only.
  const std::string socket4 = path("n4.sock");
  std::vector<std::string> argv4 = {bcastd_path(),
                                    "--node-id",
                                    "4",
                                    "--listen",
                                    endpoint4,
                                    "--data-dir",
                                    path("n4data"),
                                    "--client-socket",
                                    socket4,
                                    "--join",
                                    cluster.endpoint(leader),
                                    "--secret-key",
                                    path("n4.key")};
  for (int node = 1; node <= 3; ++node) {
    argv4.insert(argv4.end(), {"--peer-key", std::to_string(node) + "=" + key_of(node).public_key,
                               "--peer", std::to_string(node) + "=" + cluster.endpoint(node)});
  }
  Process daemon4(argv4, SpawnOptions{.stderr_path = path("n4.log")});
  wait_status(
      socket4, [](const nlohmann::json& s) { return s.value("role", "") == "follower"; }, 30s,
      "node 4 a follower");
  Subscriber sub4("sub@4", socket4, "g", path("sub4.err"));
  wait_joined({&sub4}, &cluster);
  auto pub = run_command(
      {bcastctl_path(), "--socket", cluster.socket(1), "pub", "g", "--order", "total", "hello-4"},
      10s);
  ASSERT_EQ(pub.status, 0) << pub.output;
  ASSERT_TRUE(pump_until(
      {&sub4.process()}, Clock::now() + 10s, [&] { return !sub4.deliveries().empty(); },
      [&] { sub4.consume(); }))
      << sub4.stderr_text() << read_file(path("n4.log")) << cluster.all_logs();
  EXPECT_EQ(sub4.deliveries().front().payload, "hello-4");

  // A member restarted later (with the same command line: no --peer-key for node 4) still lets
  // node 4 in: the key comes from the committed configuration it recovers.
  cluster.kill(1);
  cluster.restart(1);
  EXPECT_TRUE(handshake_becomes(true, cluster.endpoint(1), key4, key_of(1).public_key))
      << cluster.log_tail(1);

  // Removed, node 4's key is refused at the handshake by every member.
  auto removed = ctl(cluster.socket(asker), {"cluster", "remove", "4"});
  ASSERT_EQ(removed.status, 0) << removed.output << cluster.all_logs();
  daemon4.terminate();
  for (int node = 1; node <= 3; ++node) {
    EXPECT_TRUE(handshake_becomes(false, cluster.endpoint(node), key4, key_of(node).public_key))
        << "node " << node << " still admits the removed node's key\n"
        << cluster.log_tail(node);
  }
  EXPECT_NE(read_file(cluster.log_path(1)).find("node 4's key " + key4.public_key + " refused"),
            std::string::npos)
      << cluster.log_tail(1);
}

}  // namespace
}  // namespace bcast::integration
