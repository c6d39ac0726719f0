// Node::publish: what a local client may publish, and what an accepted publish produces.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/driver.hpp"
#include "core/node.hpp"

namespace bcast {
namespace {

NodeOptions options_for(NodeId id) {
  NodeOptions o;
  o.raft.id = id;
  o.max_message_bytes = 100;
  o.max_group_bytes = 8;
  return o;
}

// Node 1 of a fresh three-voter cluster (nothing recovered from disk).
std::unique_ptr<Node> make_node(const NodeOptions& options = options_for(1),
                                std::vector<NodeId> voters = {1, 2, 3}) {
  raft::ConfState conf;
  conf.voters = std::move(voters);
  return std::make_unique<Node>(options, Rng(42), conf, raft::RaftState{});
}

PublishRequest request(SenderId sender, Mode mode, Order order, std::string payload = "hello",
                       std::string group = "news") {
  PublishRequest r;
  r.sender = sender;
  r.group = std::move(group);
  r.mode = mode;
  r.order = order;
  r.payload = std::make_shared<const std::string>(std::move(payload));
  return r;
}

// Asserts that `publish` was refused with `code`, with no effect in the outbox.
void expect_refused(Node& node, const PublishRequest& r, ErrorCode code,
                    const std::string& message_part) {
  Outbox out;
  auto result = node.publish(r, out);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, code) << result.error().message;
  EXPECT_NE(result.error().message.find(message_part), std::string::npos)
      << "\"" << result.error().message << "\" does not mention \"" << message_part << "\"";
  EXPECT_TRUE(out.receipts.empty());
  EXPECT_TRUE(out.deliveries.empty());
  for (const Envelope& e : out.messages) {
    EXPECT_FALSE(std::holds_alternative<DataPush>(e.message)) << "a refused message was sent";
  }
}

TEST(NodePublish, BestEffortCausalIsRejected) {
  auto node = make_node();
  const SenderId sender = node->open_sender();
  expect_refused(*node, request(sender, Mode::kBestEffort, Order::kCausal),
                 ErrorCode::kInvalidArgument, "causal");
}

TEST(NodePublish, BestEffortTotalIsRejected) {
  auto node = make_node();
  const SenderId sender = node->open_sender();
  expect_refused(*node, request(sender, Mode::kBestEffort, Order::kTotal),
                 ErrorCode::kInvalidArgument, "total");
}

TEST(NodePublish, ARefusedPublishDoesNotUseASequenceNumber) {
  auto node = make_node();
  const SenderId sender = node->open_sender();
  Outbox out;
  ASSERT_FALSE(node->publish(request(sender, Mode::kBestEffort, Order::kCausal), out).ok());
  auto accepted = node->publish(request(sender, Mode::kBestEffort, Order::kFifo), out);
  ASSERT_TRUE(accepted.ok());
  EXPECT_EQ(accepted.value(), 1u);
}

TEST(NodePublish, GroupNamesMustBeOneToMaxGroupBytes) {
  auto node = make_node();
  const SenderId sender = node->open_sender();
  expect_refused(*node, request(sender, Mode::kReliable, Order::kNone, "x", ""),
                 ErrorCode::kInvalidArgument, "group");
  expect_refused(*node, request(sender, Mode::kReliable, Order::kNone, "x", "123456789"),
                 ErrorCode::kInvalidArgument, "group");
  Outbox out;
  EXPECT_TRUE(node->publish(request(sender, Mode::kReliable, Order::kNone, "x", "12345678"), out)
                  .ok());  // exactly max_group_bytes
}

TEST(NodePublish, APayloadOverMaxMessageBytesIsTooLarge) {
  auto node = make_node();
  const SenderId sender = node->open_sender();
  expect_refused(*node, request(sender, Mode::kReliable, Order::kNone, std::string(101, 'x')),
                 ErrorCode::kTooLarge, "101");
  expect_refused(*node, request(sender, Mode::kGossip, Order::kTotal, std::string(101, 'x')),
                 ErrorCode::kTooLarge, "100");
  Outbox out;
  EXPECT_TRUE(
      node->publish(request(sender, Mode::kReliable, Order::kNone, std::string(100, 'x')), out)
          .ok());
}

TEST(NodePublish, UnknownOrClosedSendersAreRejected) {
  auto node = make_node();
  const SenderId sender = node->open_sender();
  expect_refused(*node, request(sender + 1, Mode::kReliable, Order::kNone),
                 ErrorCode::kInvalidArgument, "sender");
  // A sender id of another daemon is not ours to publish for.
  expect_refused(*node, request(make_sender_id(2, 1, 1), Mode::kReliable, Order::kNone),
                 ErrorCode::kInvalidArgument, "sender");
  node->close_sender(sender);
  expect_refused(*node, request(sender, Mode::kReliable, Order::kNone), ErrorCode::kInvalidArgument,
                 "sender");
}

TEST(NodePublish, SendersAreDistinctAndCarryTheNodeAndIncarnation) {
  NodeOptions options = options_for(1);
  options.incarnation = 5;
  auto node = make_node(options);
  const SenderId a = node->open_sender();
  const SenderId b = node->open_sender();
  EXPECT_NE(a, b);
  EXPECT_EQ(sender_node(a), 1u);
  EXPECT_EQ(sender_origin(a), node->origin());
  EXPECT_EQ(node->origin(), make_origin_id(1, 5));
}

TEST(NodePublish, AReliablePublishIsReceiptedSentAndDeliveredToItself) {
  auto node = make_node();
  const SenderId sender = node->open_sender();
  Outbox out;
  auto seq = node->publish(request(sender, Mode::kReliable, Order::kNone, "hello", "news"), out);
  ASSERT_TRUE(seq.ok()) << seq.error().message;
  EXPECT_EQ(seq.value(), 1u);

  ASSERT_EQ(out.receipts.size(), 1u);
  EXPECT_EQ(out.receipts[0].sender, sender);
  EXPECT_EQ(out.receipts[0].seq, 1u);
  EXPECT_FALSE(out.receipts[0].gseq.has_value());
  EXPECT_FALSE(out.receipts[0].error.has_value());

  ASSERT_EQ(out.deliveries.size(), 1u);
  const Delivery& d = out.deliveries[0];
  EXPECT_EQ(d.group, "news");
  EXPECT_EQ(d.sender, sender);
  EXPECT_EQ(d.seq, 1u);
  EXPECT_FALSE(d.gseq.has_value());
  EXPECT_EQ(d.mode, Mode::kReliable);
  EXPECT_EQ(d.order, Order::kNone);
  ASSERT_NE(d.payload, nullptr);
  EXPECT_EQ(*d.payload, "hello");

  // The origin's first send goes to both other members.
  std::vector<NodeId> pushed_to;
  for (const Envelope& e : out.messages) {
    if (const auto* push = std::get_if<DataPush>(&e.message)) {
      EXPECT_EQ(e.from, 1u);
      EXPECT_EQ(e.origin, node->origin());
      EXPECT_EQ(push->message.stream_seq, 1u);
      EXPECT_EQ(push->message.sender, sender);
      EXPECT_FALSE(push->repair);
      pushed_to.push_back(e.to);
    }
  }
  EXPECT_EQ(pushed_to, (std::vector<NodeId>{2, 3}));
  EXPECT_EQ(node->reliable().streams().stored_messages(), 1u);
}

TEST(NodePublish, SequenceNumbersArePerSender) {
  auto node = make_node();
  const SenderId a = node->open_sender();
  const SenderId b = node->open_sender();
  Outbox out;
  EXPECT_EQ(node->publish(request(a, Mode::kReliable, Order::kFifo), out).value(), 1u);
  EXPECT_EQ(node->publish(request(a, Mode::kGossip, Order::kFifo), out).value(), 2u);
  EXPECT_EQ(node->publish(request(b, Mode::kReliable, Order::kFifo), out).value(), 1u);
  EXPECT_EQ(node->publish(request(a, Mode::kReliable, Order::kFifo), out).value(), 3u);
}

TEST(NodePublish, FifoAndCausalSelfDeliveriesAreImmediateAndInOrder) {
  auto node = make_node();
  const SenderId sender = node->open_sender();
  Outbox out;
  ASSERT_TRUE(node->publish(request(sender, Mode::kReliable, Order::kFifo, "1"), out).ok());
  ASSERT_TRUE(node->publish(request(sender, Mode::kReliable, Order::kCausal, "2"), out).ok());
  ASSERT_TRUE(node->publish(request(sender, Mode::kGossip, Order::kFifo, "3"), out).ok());
  ASSERT_TRUE(node->publish(request(sender, Mode::kBestEffort, Order::kFifo, "4"), out).ok());
  ASSERT_EQ(out.deliveries.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(out.deliveries[i].seq, i + 1);
    EXPECT_EQ(*out.deliveries[i].payload, std::to_string(i + 1));
  }
  EXPECT_EQ(out.receipts.size(), 4u);
  EXPECT_EQ(node->delivery().held(), 0u);
  EXPECT_EQ(node->delivery().causal().own_sent(), 1u);
}

TEST(NodePublish, TooMuchUnstableDataMakesPublishingBusy) {
  NodeOptions options = options_for(1);
  options.max_stored_bytes = 10;
  auto node = make_node(options);
  const SenderId sender = node->open_sender();
  Outbox out;
  ASSERT_TRUE(node->publish(request(sender, Mode::kReliable, Order::kNone, "123456"), out).ok());
  // Peers 2 and 3 have not acknowledged it, so it stays stored.
  expect_refused(*node, request(sender, Mode::kReliable, Order::kNone, "12345"), ErrorCode::kBusy,
                 "retry");
  // Gossip keeps its own store; best-effort stores nothing.
  EXPECT_TRUE(node->publish(request(sender, Mode::kGossip, Order::kNone, "12345"), out).ok());
  EXPECT_TRUE(node->publish(request(sender, Mode::kBestEffort, Order::kNone, "12345"), out).ok());
}

// A driver that loops persistence reports straight back (an instant, perfect disk) and keeps
// what would reach applications.
class RecordingIo : public DriverIo {
 public:
  void persist(const PersistRequest&) override {}
  void send(Envelope) override {}
  void deliver(Delivery delivery) override { deliveries.push_back(std::move(delivery)); }
  void acknowledge(Receipt receipt) override { receipts.push_back(std::move(receipt)); }
  void observe(const Event&) override {}

  std::vector<Delivery> deliveries;
  std::vector<Receipt> receipts;
};

TEST(NodePublish, ATotalPublishIsReceiptedOnceItHasAPosition) {
  auto node = make_node(options_for(1), {1});
  RecordingIo io;
  const auto report = [&](LogIndex index, Term term, Outbox& o) {
    node->on_persisted(index, term, o);
  };
  for (int i = 0; i < 100 && node->raft().role() != raft::Role::kLeader; ++i) {
    Outbox out;
    node->tick(out);
    apply_outbox(out, io, report);
  }
  ASSERT_EQ(node->raft().role(), raft::Role::kLeader);

  const SenderId sender = node->open_sender();
  Outbox out;
  auto seq = node->publish(request(sender, Mode::kReliable, Order::kTotal, "t"), out);
  ASSERT_TRUE(seq.ok()) << seq.error().message;
  EXPECT_EQ(seq.value(), 1u);
  // As the daemon and the simulator do: flush after each batch of inputs, then apply.
  node->flush(out);
  apply_outbox(out, io, report);
  for (int i = 0; i < 5 && io.receipts.empty(); ++i) {
    Outbox more;
    node->tick(more);
    node->flush(more);
    apply_outbox(more, io, report);
  }
  ASSERT_EQ(io.receipts.size(), 1u);
  EXPECT_EQ(io.receipts[0].seq, 1u);
  EXPECT_FALSE(io.receipts[0].error.has_value());
  EXPECT_EQ(io.receipts[0].gseq, std::optional<std::uint64_t>(1));
  ASSERT_EQ(io.deliveries.size(), 1u);
  EXPECT_EQ(io.deliveries[0].gseq, std::optional<std::uint64_t>(1));
  EXPECT_EQ(*io.deliveries[0].payload, "t");
  EXPECT_EQ(node->sequencer().last_gseq(), 1u);
}

}  // namespace
}  // namespace bcast
