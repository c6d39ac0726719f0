// The daemon's fan-out of gap notices (ClientServer::announce_gap): a Gap the core announces
// reaches every client it may concern, over the real client socket, in its place among the
// deliveries: after what was delivered before it, before what is delivered after it. (That the
// driver hands the daemon notices and deliveries in Outbox order is Driver.GapNotices*.)
#include "client_server_harness.hpp"

namespace bcast::io {
namespace {

using protocol::Header;
using protocol::MessageType;

constexpr std::uint32_t kOrigin = (2u << 16) | 5u;  // node 2, incarnation 5
const SenderId kPublisher = make_sender_id(2, 5, 1);

class ClientServerGapTest : public testing::ClientServerTest {
 protected:
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
