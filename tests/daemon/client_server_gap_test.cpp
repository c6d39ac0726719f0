// The daemon's fan-out of gap notices (ClientServer::announce_gap): a Gap the core announces
// reaches every client it may concern, over the real client socket, in its place among the
// deliveries: after what was delivered before it, before what is delivered after it. (That the
// driver hands the daemon notices and deliveries in Outbox order is Driver.GapNotices*.)
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "codec/client_protocol.hpp"
#include "io/client_server.hpp"

namespace bcast::io {
namespace {

using namespace std::chrono_literals;
using protocol::Header;
using protocol::MessageType;

constexpr std::uint32_t kOrigin = (2u << 16) | 5u;  // node 2, incarnation 5
const SenderId kPublisher = make_sender_id(2, 5, 1);

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "bcast-gap-XXXXXX");
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_; }

 private:
  std::string path_;
};

// Serves clients of node 1; publishes are not expected.
class Handler final : public ClientHandler {
 public:
  SenderId open_sender() override { return make_sender_id(1, 1, ++clients_); }
  void close_sender(SenderId) override {}
  Result<std::uint64_t> publish(const PublishRequest&) override {
    return make_error(ErrorCode::kUnavailable, "not in this test");
  }
  protocol::Header status() override { return {}; }
  std::vector<NodeId> members() override { return {1, 2, 3}; }
  NodeId node_id() const override { return 1; }
  std::uint64_t max_message_bytes() const override { return 1 << 20; }
  std::size_t max_group_bytes() const override { return 255; }
  protocol::Header cluster_list() override { return {}; }
  void admin(std::uint64_t, const AdminRequest&) override {}

 private:
  std::uint32_t clients_ = 0;
};

class ClientServerGapTest : public ::testing::Test {
 protected:
  ClientServerGapTest() : server_(context_, handler_, ClientServerOptions{}) {
    EXPECT_TRUE(server_.start(dir_.path() + "/bcastd.sock").ok());
  }

  // A raw client (docs/protocol.md): says hello, joins `groups`, and is then read by `drain`.
  std::unique_ptr<zmq::socket_t> connect(const std::vector<std::string>& groups) {
    auto client = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
    client->set(zmq::sockopt::linger, 0);
    client->connect("ipc://" + dir_.path() + "/bcastd.sock");
    std::uint64_t id = 1;
    request(*client, hello(id++), MessageType::kWelcome);
    for (const std::string& group : groups) {
      Header join;
      join.type = MessageType::kJoin;
      join.id = id++;
      join.group = group;
      request(*client, join, MessageType::kOk);
      EXPECT_EQ(next(*client).type, MessageType::kView);
    }
    return client;
  }

  static Header hello(std::uint64_t id) {
    Header h;
    h.type = MessageType::kHello;
    h.id = id;
    return h;
  }

  void request(zmq::socket_t& client, const Header& header, MessageType expected) {
    client.send(zmq::buffer(protocol::encode_header(header)), zmq::send_flags::none);
    EXPECT_EQ(next(client).type, expected);
  }

  // The next message for `client`, serving the socket meanwhile (one thread: the test is the
  // daemon's loop). Fails the test after 5 s.
  Header next(zmq::socket_t& client) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      server_.on_readable();
      server_.flush();
      zmq::message_t frame;
      if (client.recv(frame, zmq::recv_flags::dontwait)) {
        const bool more = frame.more();
        auto header = protocol::decode_header(frame.to_string_view());
        if (more) {
          zmq::message_t payload;
          (void)client.recv(payload, zmq::recv_flags::none);
        }
        EXPECT_TRUE(header.ok()) << header.error().message;
        return header.ok() ? header.value() : Header{};
      }
      zmq::pollitem_t items[] = {{server_.socket().handle(), 0, ZMQ_POLLIN, 0},
                                 {client.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 2, 10ms);
    }
    ADD_FAILURE() << "nothing arrived within 5 s";
    return Header{};
  }

  // Everything that arrives for `client` until it has been quiet for 200 ms.
  std::vector<Header> drain(zmq::socket_t& client) {
    std::vector<Header> got;
    for (int idle = 0; idle < 20; ++idle) {
      server_.on_readable();
      server_.flush();
      zmq::message_t frame;
      if (!client.recv(frame, zmq::recv_flags::dontwait)) {
        zmq::pollitem_t item{client.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, 10ms);
        continue;
      }
      idle = 0;
      if (frame.more()) {
        zmq::message_t payload;
        (void)client.recv(payload, zmq::recv_flags::none);
      }
      auto header = protocol::decode_header(frame.to_string_view());
      EXPECT_TRUE(header.ok()) << header.error().message;
      if (header.ok()) got.push_back(header.value());
    }
    return got;
  }

  static Delivery delivery(std::string group, std::uint64_t seq, std::uint64_t stream_seq) {
    Delivery d;
    d.group = std::move(group);
    d.sender = kPublisher;
    d.seq = seq;
    d.mode = Mode::kReliable;
    d.order = Order::kFifo;
    d.payload = std::make_shared<const std::string>("m" + std::to_string(seq));
    d.stream_seq = stream_seq;
    return d;
  }

  static Gap stream_gap(std::uint64_t from, std::uint64_t to,
                        std::optional<std::string> group = std::nullopt) {
    Gap gap;
    gap.kind = Gap::Kind::kStream;
    gap.reason = Gap::Reason::kExcluded;
    gap.origin = kOrigin;
    gap.mode = Mode::kReliable;
    gap.from = from;
    gap.to = to;
    gap.group = std::move(group);
    return gap;
  }

  TempDir dir_;
  zmq::context_t context_;
  Handler handler_;
  ClientServer server_;
};

TEST_F(ClientServerGapTest, AGapReachesASubscriberBetweenTheDeliveriesAroundIt) {
  auto subscriber = connect({"chat"});
  // The core's order: stream position 1 delivered, 2..4 skipped, 5 delivered.
  server_.deliver(delivery("chat", 1, 1));
  server_.announce_gap(stream_gap(2, 4));
  server_.deliver(delivery("chat", 5, 5));
  const std::vector<Header> got = drain(*subscriber);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].type, MessageType::kDelivery);
  EXPECT_EQ(got[0].stream_seq, 1u);
  ASSERT_EQ(got[1].type, MessageType::kGap);
  EXPECT_EQ(got[1].origin, kOrigin);
  EXPECT_EQ(got[1].mode, Mode::kReliable);
  EXPECT_EQ(got[1].from_seq, 2u);
  EXPECT_EQ(got[1].to_seq, 4u);
  EXPECT_EQ(got[1].reason, "excluded");
  EXPECT_EQ(got[1].group, "");  // it may concern any group
  EXPECT_EQ(got[2].type, MessageType::kDelivery);
  EXPECT_EQ(got[2].seq, 5u);
  EXPECT_EQ(got[2].stream_seq, 5u);
}

TEST_F(ClientServerGapTest, AGapOfNoKnownGroupGoesToEveryClientOfAnyGroupAndNoOtherClient) {
  auto chat = connect({"chat"});
  auto other = connect({"other", "third"});
  auto idle = connect({});  // said hello, joined nothing: receives no messages, so no gaps
  server_.announce_gap(stream_gap(7, Gap::kOpenEnd));
  Gap total;
  total.kind = Gap::Kind::kTotal;
  total.reason = Gap::Reason::kSnapshot;
  total.from = 10;
  total.to = 40;
  server_.announce_gap(total);
  for (zmq::socket_t* client : {chat.get(), other.get()}) {
    const std::vector<Header> got = drain(*client);
    ASSERT_EQ(got.size(), 2u);  // one notice per client, not one per group it joined
    EXPECT_EQ(got[0].type, MessageType::kGap);
    EXPECT_EQ(got[0].from_seq, 7u);
    EXPECT_FALSE(got[0].to_seq);  // no end: a dead origin's tail
    EXPECT_EQ(got[1].type, MessageType::kGap);
    EXPECT_FALSE(got[1].origin);
    EXPECT_EQ(got[1].from_gseq, 10u);
    EXPECT_EQ(got[1].to_gseq, 40u);
    EXPECT_EQ(got[1].reason, "snapshot");
  }
  EXPECT_TRUE(drain(*idle).empty());
}

TEST_F(ClientServerGapTest, AGapOfOneGroupGoesOnlyToThatGroupsClients) {
  auto chat = connect({"chat"});
  auto other = connect({"other"});
  server_.announce_gap(stream_gap(3, 3, "other"));
  EXPECT_TRUE(drain(*chat).empty());
  const std::vector<Header> got = drain(*other);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, MessageType::kGap);
  EXPECT_EQ(got[0].group, "other");
}

}  // namespace
}  // namespace bcast::io
