// [security] acceptance, peer links: on main (83aa5b9) anything that reached a peer port could
// speak for any member; a forged best-effort message "from node 2" was delivered to
// subscribers. With CURVE keys (local-cluster's default) a peer with an unknown key is refused at
// the handshake, a member claiming another member's node id is refused, and nothing crosses the
// wire in plaintext.
#include <unistd.h>

#include <memory>
#include <random>

#include "integration_test.hpp"
#include "raw_peer.hpp"

namespace bcast::integration {
namespace {

class PeerSecurity : public IntegrationTest {
 protected:
  std::string data_dir(const LocalCluster& cluster, int node) const {
    return cluster.dir() + "/n" + std::to_string(node) + "/data";
  }
  std::string key_file(const LocalCluster& cluster, int node) const {
    return cluster.dir() + "/keys/n" + std::to_string(node) + ".key";
  }
  io::CurveKeyPair member_key(const LocalCluster& cluster, int node) const {
    auto pair = io::read_secret_key_file(key_file(cluster, node));
    if (!pair) fail(pair.error().message);
    return pair.value();
  }
  // A best-effort message of `author`'s (a made-up client of its), as its daemon would push it.
  static DataPush push_of(const MemberFacts& author, const std::string& payload) {
    BroadcastMessage message;
    message.sender = make_sender_id(author.node, author.incarnation, 777777);
    message.seq = 1;
    message.group = "g";
    message.mode = Mode::kBestEffort;
    message.order = Order::kNone;
    message.payload = std::make_shared<const std::string>(payload);
    return DataPush{message, 0, false};
  }
  // Sends `envelope` a few times over `peer` while watching `sub`; true if `payload` arrived.
  static bool delivered(RawPeer& peer, const Envelope& envelope, Subscriber& sub,
                        const std::string& payload) {
    const auto arrived = [&] {
      for (const Delivery& d : sub.deliveries()) {
        if (d.payload == payload) return true;
      }
      return false;
    };
    for (int i = 0; i < 10 && !arrived(); ++i) {
      peer.send(envelope);
      pump_until({&sub.process()}, Clock::now() + 200ms, arrived, [&] { sub.consume(); });
    }
    return arrived();
  }
  static std::string marker() {
    std::random_device entropy;
    return "MARKER-" + std::to_string(entropy()) + "-" + std::to_string(entropy());
  }
};

TEST_F(PeerSecurity, APeerWithAnUnknownKeyIsRefusedAtTheHandshake) {
  LocalCluster cluster(path("c"), 3);
  cluster.wait_leader();
  Subscriber sub("sub@1", cluster.socket(1), "g", path("sub.err"));
  wait_joined({&sub}, &cluster);
  const MemberFacts node2 = read_member_facts(data_dir(cluster, 2));
  const std::string server_key = member_key(cluster, 1).public_key;

  // A stranger's key: the handshake is refused, nothing it sends is heard.
  auto stranger_key = io::generate_key_pair();
  ASSERT_TRUE(stranger_key.ok());
  RawPeer stranger(cluster.endpoint(1), stranger_key.value(), server_key);
  const std::string forged = marker();
  EXPECT_FALSE(delivered(stranger, envelope_as(node2, 1, push_of(node2, forged)), sub, forged));
  EXPECT_NE(read_file(cluster.log_path(1)).find("refused a peer-port connection: unknown key"),
            std::string::npos)
      << cluster.log_tail(1);

  // No key at all (plain TCP, as on main): not heard either.
  RawPeer plain(cluster.endpoint(1));
  const std::string plain_forged = marker();
  EXPECT_FALSE(
      delivered(plain, envelope_as(node2, 1, push_of(node2, plain_forged)), sub, plain_forged));
}

TEST_F(PeerSecurity, AMemberClaimingAnotherMembersNodeIdIsRefused) {
  LocalCluster cluster(path("c"), 3);
  cluster.wait_leader();
  Subscriber sub("sub@1", cluster.socket(1), "g", path("sub.err"));
  wait_joined({&sub}, &cluster);
  const MemberFacts node2 = read_member_facts(data_dir(cluster, 2));
  const MemberFacts node3 = read_member_facts(data_dir(cluster, 3));

  // Node 3's key (a member, say compromised) speaking as node 2: refused.
  RawPeer as_node3(cluster.endpoint(1), member_key(cluster, 3), member_key(cluster, 1).public_key);
  const std::string forged = marker();
  EXPECT_FALSE(delivered(as_node3, envelope_as(node2, 1, push_of(node2, forged)), sub, forged));
  EXPECT_NE(
      read_file(cluster.log_path(1)).find("claiming to be from node 2 came with the key of node 3"),
      std::string::npos)
      << cluster.log_tail(1);

  // The same connection speaking for itself is heard: the refusal above was the key binding's.
  const std::string own = marker();
  EXPECT_TRUE(delivered(as_node3, envelope_as(node3, 1, push_of(node3, own)), sub, own))
      << cluster.all_logs();
}

// Publishes `payload` (reliable, and total order) on node 1 and waits until node 2 delivers both.
void publish_across(LocalCluster& cluster, Subscriber& sub, const std::string& payload,
                    const std::string& err) {
  for (const char* order : {"none", "total"}) {
    auto pub = run_command({bcastctl_path(), "--socket", cluster.socket(1), "pub", "g", "--order",
                            order, payload + "-" + order},
                           10s);
    if (pub.status != 0) fail("pub: " + pub.output);
  }
  const bool both = pump_until(
      {&sub.process()}, Clock::now() + 10s, [&] { return sub.deliveries().size() >= 2; },
      [&] { sub.consume(); });
  if (!both) fail("node 2 did not deliver both messages\n" + read_file(err) + cluster.all_logs());
}

TEST_F(PeerSecurity, NoPayloadCrossesTheWireInPlaintextBetweenKeyedDaemons) {
  if (!LoopbackCapture::available()) GTEST_SKIP() << "capturing loopback packets needs root";
  // The capture works: without keys the payload is on the wire.
  {
    LocalCluster plain(path("plain"), 3, {}, LocalCluster::Keys::kNone);
    plain.wait_leader();
    Subscriber sub("sub@2", plain.socket(2), "g", path("plain-sub.err"));
    wait_joined({&sub}, &plain);
    const std::string payload = marker();
    LoopbackCapture capture;
    publish_across(plain, sub, payload, path("plain-sub.err"));
    const std::string wire = capture.stop();
    ASSERT_NE(wire.find(payload), std::string::npos)
        << "the capture did not see the unkeyed cluster's traffic (" << wire.size() << " bytes)";
  }
  LocalCluster keyed(path("keyed"), 3);
  keyed.wait_leader();
  Subscriber sub("sub@2", keyed.socket(2), "g", path("keyed-sub.err"));
  wait_joined({&sub}, &keyed);
  const std::string payload = marker();
  LoopbackCapture capture;
  publish_across(keyed, sub, payload, path("keyed-sub.err"));
  const std::string wire = capture.stop();
  EXPECT_GT(wire.size(), 0u);
  EXPECT_EQ(wire.find(payload), std::string::npos) << "a payload crossed loopback in plaintext";
  EXPECT_EQ(wire.find(payload.substr(0, 16)), std::string::npos);
}

TEST_F(PeerSecurity, WithoutKeysOnlyLoopbackUnlessInsecure) {
  const std::string port = std::to_string(pick_base_port(1) + 1);
  std::vector<std::string> argv = {
      bcastd_path(),           "--node-id",  "1",          "--listen",
      "tcp://0.0.0.0:" + port, "--data-dir", path("data"), "--client-socket",
      path("s.sock")};
  auto refused = run_command(argv, 10s);
  EXPECT_EQ(refused.status, 2) << refused.output;
  EXPECT_NE(refused.output.find("not a loopback address"), std::string::npos) << refused.output;
  argv.push_back("--insecure");
  Process daemon(argv, SpawnOptions{.stderr_path = path("insecure.log")});
  auto status = wait_status(
      path("s.sock"), [](const nlohmann::json& s) { return s.contains("problems"); }, 10s,
      "a status with problems");
  EXPECT_NE(status.dump().find("neither authenticated nor encrypted"), std::string::npos)
      << status.dump();
  EXPECT_NE(read_file(path("insecure.log")).find("--insecure"), std::string::npos);
}

}  // namespace
}  // namespace bcast::integration
