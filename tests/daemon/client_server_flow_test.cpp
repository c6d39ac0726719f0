// The client server's side of end-to-end flow control (lib/io/client_server.hpp; docs/protocol.md,
// "Backpressure and busy"): publishes without credit are held in each client's order and published
// once credit comes, or answered `busy` after --publish-wait-ms; the free room of each group's
// slowest client is reported every round; a client that reads nothing is disconnected.
#include <thread>

#include "client_server_harness.hpp"

namespace bcast::io {
namespace {

using protocol::Header;
using protocol::MessageType;
using namespace std::chrono_literals;

ClientServerOptions flow_options() {
  ClientServerOptions options;
  options.client_queue_bytes = 4 << 20;
  options.publish_wait = std::chrono::milliseconds(300);
  options.stalled_subscriber = std::chrono::milliseconds(300);
  return options;
}

class ClientServerFlowTest : public testing::ClientServerTest {
 protected:
  ClientServerFlowTest() : ClientServerTest(flow_options()) { handler_.accept_publishes = true; }

  static void send_publish(zmq::socket_t& client, std::uint64_t id, const std::string& group,
                           const std::string& payload) {
    Header publish;
    publish.type = MessageType::kPublish;
    publish.id = id;
    publish.group = group;
    publish.mode = Mode::kReliable;
    publish.order = Order::kFifo;
    client.send(zmq::buffer(protocol::encode_header(publish)), zmq::send_flags::sndmore);
    client.send(zmq::buffer(payload), zmq::send_flags::none);
  }

  std::unique_ptr<zmq::socket_t> connect_slow(const std::vector<std::string>& groups) {
    return connect(groups, /*slow=*/true);
  }

  static Delivery delivery(std::size_t payload_bytes) {
    Delivery d;
    d.group = "g";
    d.sender = make_sender_id(2, 1, 1);
    d.mode = Mode::kReliable;
    d.payload = std::make_shared<const std::string>(payload_bytes, 'd');
    return d;
  }

  // Serves the socket (and retries held publishes, as the daemon does every round) for `time`.
  void serve(std::chrono::milliseconds time) {
    const auto until = std::chrono::steady_clock::now() + time;
    while (std::chrono::steady_clock::now() < until) {
      server_.on_readable();
      server_.retry_parked();
      server_.flush();
      zmq::pollitem_t item{server_.socket().handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, 5ms);
    }
  }
};

TEST_F(ClientServerFlowTest, PublishesWithoutCreditWaitAndGoInTheClientsOrder) {
  auto client = connect({});
  handler_.credit = false;
  send_publish(*client, 10, "g", "a");
  serve(50ms);
  EXPECT_TRUE(handler_.published.empty()) << "published without credit";
  EXPECT_EQ(server_.stats().parked_publishes, 1u);
  // Credit for the next one, but it must not overtake the held one.
  handler_.credit = true;
  send_publish(*client, 11, "other", "b");
  server_.on_readable();
  EXPECT_TRUE(handler_.published.empty());
  serve(50ms);
  EXPECT_EQ(handler_.published, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(server_.stats().parked_publishes, 0u);
  // Nothing was refused: the receipts are the core's to give.
  for (const Header& h : drain(*client)) EXPECT_NE(h.type, MessageType::kError) << h.message;
}

TEST_F(ClientServerFlowTest, PublishesHeldTooLongAreBusyWithARetryHint) {
  auto client = connect({});
  handler_.credit = false;
  send_publish(*client, 10, "g", "a");
  send_publish(*client, 11, "g", "b");
  serve(400ms);  // beyond publish_wait
  EXPECT_TRUE(handler_.published.empty());
  std::vector<std::uint64_t> refused;
  for (const Header& h : drain(*client)) {
    ASSERT_EQ(h.type, MessageType::kError);
    EXPECT_EQ(h.code, ErrorCode::kBusy);
    EXPECT_NE(h.message.find("no credit"), std::string::npos) << h.message;
    EXPECT_NE(h.message.find("retry after"), std::string::npos) << h.message;
    refused.push_back(h.id);
  }
  EXPECT_EQ(refused, (std::vector<std::uint64_t>{10, 11}));
  EXPECT_EQ(server_.stats().parked_publishes, 0u);
}

TEST_F(ClientServerFlowTest, HeldPublishesBeyondTheClientBoundAreBusyAtOnce) {
  auto client = connect({});
  handler_.credit = false;
  const std::string payload(1 << 20, 'x');
  for (std::uint64_t id = 10; id < 16; ++id) send_publish(*client, id, "g", payload);
  serve(50ms);
  std::vector<std::uint64_t> refused;
  for (const Header& h : drain(*client)) {
    if (h.type == MessageType::kError && h.code == ErrorCode::kBusy) refused.push_back(h.id);
  }
  // 4 MiB hold 3 of them with their bookkeeping; the rest are refused at once.
  EXPECT_EQ(refused, (std::vector<std::uint64_t>{13, 14, 15}));
  EXPECT_EQ(server_.stats().parked_publishes, 3u);
}

TEST_F(ClientServerFlowTest, ReportsTheRoomOfEachGroupsSlowestClient) {
  auto a = connect_slow({"g", "h"});
  auto b = connect_slow({"g"});
  auto publisher = connect({});
  serve(20ms);
  const std::uint64_t usable = (4u << 20) - (1u << 20);  // three quarters of the bound
  ASSERT_EQ(handler_.rooms.size(), 2u);
  EXPECT_EQ(handler_.rooms.at("h"), usable / 2);  // a's queue is shared by its two groups
  EXPECT_EQ(handler_.rooms.at("g"), usable / 2);  // the smaller of a's and b's
  // Deliveries they do not read: the room shrinks (in payload bytes).
  for (int i = 0; i < 8; ++i) server_.deliver(delivery(256 << 10));
  serve(20ms);
  EXPECT_LT(handler_.rooms.at("g"), usable / 2 - (512u << 10));
  EXPECT_LT(handler_.rooms.at("h"), usable / 2 - (512u << 10));
  // Clients that are gone are no longer counted.
  a.reset();
  b.reset();
  serve(100ms);
  EXPECT_TRUE(handler_.rooms.empty());
}

TEST_F(ClientServerFlowTest, AClientThatReadsNothingIsDisconnected) {
  auto reader = connect_slow({"g"});
  for (int i = 0; i < 12; ++i) server_.deliver(delivery(256 << 10));  // beyond kernel buffers
  serve(100ms);
  EXPECT_EQ(server_.clients(), 1u) << "disconnected before --stalled-subscriber-ms";
  serve(500ms);
  EXPECT_EQ(server_.clients(), 0u);
  EXPECT_EQ(server_.stats().stalled_disconnects_total, 1u);
}

}  // namespace
}  // namespace bcast::io
