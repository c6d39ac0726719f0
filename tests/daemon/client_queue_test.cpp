// ClientQueue (lib/io/client_queue.hpp): what the daemon holds for one client, bounded in bytes,
// with the overflow policy per kind of message; and the descriptor budget the daemon starts with.
#include "io/client_queue.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "io/descriptor_budget.hpp"

namespace bcast::io {
namespace {

using Kind = ClientQueue::Kind;
using Admission = ClientQueue::Admission;

ClientQueue::Message message(Kind kind, std::size_t payload_bytes, char tag = 'p') {
  return ClientQueue::Message{"header", std::make_shared<const std::string>(payload_bytes, tag),
                              kind};
}

constexpr std::size_t kCost = 1000;  // payload bytes chosen so each message costs exactly this
const std::size_t kPayload = kCost - 6 - ClientQueue::kMessageOverheadBytes;

TEST(ClientQueue, CountsHeaderPayloadAndOverhead) {
  EXPECT_EQ(ClientQueue::cost_bytes(message(Kind::kDelivery, kPayload)), kCost);
  ClientQueue queue(10 * kCost, 10 * kCost);
  EXPECT_EQ(queue.push(message(Kind::kDelivery, kPayload)), Admission::kQueued);
  EXPECT_EQ(queue.push(message(Kind::kReply, kPayload)), Admission::kQueued);
  EXPECT_EQ(queue.queued_bytes(), 2 * kCost);
  EXPECT_EQ(queue.held_bytes(), 2 * kCost);
  (void)queue.pop_front();
  EXPECT_EQ(queue.queued_bytes(), kCost);
}

TEST(ClientQueue, BestEffortOverflowDropsTheOldestBestEffortFirst) {
  ClientQueue queue(4 * kCost, 4 * kCost);
  ASSERT_EQ(queue.push(message(Kind::kBestEffortDelivery, kPayload, 'a')), Admission::kQueued);
  ASSERT_EQ(queue.push(message(Kind::kDelivery, kPayload, 'r')), Admission::kQueued);
  ASSERT_EQ(queue.push(message(Kind::kBestEffortDelivery, kPayload, 'b')), Admission::kQueued);
  ASSERT_EQ(queue.push(message(Kind::kBestEffortDelivery, kPayload, 'c')), Admission::kQueued);
  // Full: the next best-effort delivery evicts 'a', the oldest best-effort one.
  EXPECT_EQ(queue.push(message(Kind::kBestEffortDelivery, kPayload, 'd')), Admission::kQueued);
  EXPECT_EQ(queue.dropped(), 1u);
  std::string order;
  while (!queue.empty()) order += queue.pop_front().payload->front();
  EXPECT_EQ(order, "rbcd");
  EXPECT_EQ(queue.take_dropped(), 1u);
  EXPECT_EQ(queue.dropped(), 0u);
}

// What a gap event names: the dropped best-effort deliveries by origin, group and stream
// position, consecutive positions of one origin and group in one run.
TEST(ClientQueue, DroppedBestEffortDeliveriesAreRecordedByStreamPosition) {
  const auto at = [](std::uint32_t origin, std::uint64_t stream_seq, const std::string& group) {
    ClientQueue::Message m = message(Kind::kBestEffortDelivery, kPayload);
    m.position = std::make_shared<const ClientQueue::StreamPosition>(
        ClientQueue::StreamPosition{group, origin, stream_seq});
    return m;
  };
  ClientQueue queue(2 * kCost, 2 * kCost);
  ASSERT_EQ(queue.push(at(7, 1, "g")), Admission::kQueued);
  ASSERT_EQ(queue.push(at(7, 2, "g")), Admission::kQueued);
  ASSERT_EQ(queue.push(at(7, 3, "g")), Admission::kQueued);  // drops 1
  ASSERT_EQ(queue.push(at(7, 4, "g")), Admission::kQueued);  // drops 2: one run 1..2
  ASSERT_EQ(queue.push(at(7, 5, "h")), Admission::kQueued);  // drops 3
  ASSERT_EQ(queue.push(at(9, 1, "h")), Admission::kQueued);  // drops 4 (after 3 of g)
  ASSERT_EQ(queue.push(at(9, 2, "h")), Admission::kQueued);  // drops 5 of h
  ASSERT_EQ(queue.dropped(), 5u);
  const std::vector<ClientQueue::DroppedRun>& runs = queue.dropped_runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].origin, 7u);
  EXPECT_EQ(runs[0].group, "g");
  EXPECT_EQ(runs[0].from_seq, 1u);
  EXPECT_EQ(runs[0].to_seq, 4u);
  EXPECT_EQ(runs[1].group, "h");
  EXPECT_EQ(runs[1].from_seq, 5u);
  EXPECT_EQ(runs[1].to_seq, 5u);
}

TEST(ClientQueue, CountsWhatZeroMqReleased) {
  ClientQueue queue(10 * kCost, 10 * kCost);
  ClientQueue::Ticket* ticket = queue.make_ticket(message(Kind::kDelivery, kPayload));
  EXPECT_EQ(queue.released_messages(), 0u);
  ClientQueue::release_ticket(nullptr, ticket);
  EXPECT_EQ(queue.released_messages(), 1u);
  EXPECT_EQ(queue.in_zmq_bytes(), 0u);
}

TEST(ClientQueue, BestEffortThatCannotFitIsDroppedItself) {
  ClientQueue queue(2 * kCost, 2 * kCost);
  ASSERT_EQ(queue.push(message(Kind::kDelivery, kPayload)), Admission::kQueued);
  ASSERT_EQ(queue.push(message(Kind::kReply, kPayload)), Admission::kQueued);
  EXPECT_EQ(queue.push(message(Kind::kBestEffortDelivery, kPayload)), Admission::kDropped);
  EXPECT_EQ(queue.dropped(), 1u);
  EXPECT_EQ(queue.queued_bytes(), 2 * kCost);
}

TEST(ClientQueue, AReliableDeliveryThatCannotFitOverflows) {
  ClientQueue queue(3 * kCost, 3 * kCost);
  ASSERT_EQ(queue.push(message(Kind::kBestEffortDelivery, kPayload)), Admission::kQueued);
  ASSERT_EQ(queue.push(message(Kind::kDelivery, kPayload)), Admission::kQueued);
  ASSERT_EQ(queue.push(message(Kind::kDelivery, kPayload)), Admission::kQueued);
  // Best-effort deliveries make room for it first...
  EXPECT_EQ(queue.push(message(Kind::kDelivery, kPayload)), Admission::kQueued);
  EXPECT_EQ(queue.dropped(), 1u);
  // ...and when none is left, nothing may be dropped: the client must go.
  EXPECT_EQ(queue.push(message(Kind::kDelivery, kPayload)), Admission::kOverflow);
  EXPECT_EQ(queue.push(message(Kind::kReply, kPayload)), Admission::kOverflow);
}

TEST(ClientQueue, AMessageLargerThanTheBoundGoesThroughWhenNothingElseIsHeld) {
  ClientQueue queue(kCost, kCost);
  EXPECT_EQ(queue.push(message(Kind::kDelivery, 10 * kCost)), Admission::kQueued);
  EXPECT_EQ(queue.push(message(Kind::kDelivery, kPayload)), Admission::kOverflow);
}

TEST(ClientQueue, ZeroMqHoldsAtMostItsBudgetAndCountsUntilReleased) {
  ClientQueue queue(10 * kCost, 2 * kCost);
  EXPECT_TRUE(queue.may_go_now(kCost));
  ClientQueue::Ticket* first = queue.make_ticket(message(Kind::kDelivery, kPayload));
  ClientQueue::Ticket* second = queue.make_ticket(message(Kind::kDelivery, kPayload));
  EXPECT_EQ(queue.in_zmq_bytes(), 2 * kCost);
  EXPECT_FALSE(queue.may_go_now(kCost)) << "beyond ZeroMQ's budget";
  ASSERT_EQ(queue.push(message(Kind::kDelivery, kPayload)), Admission::kQueued);
  EXPECT_FALSE(queue.front_may_go());
  EXPECT_EQ(queue.held_bytes(), 3 * kCost);
  ClientQueue::release_ticket(nullptr, first);  // ZeroMQ wrote it
  EXPECT_EQ(queue.in_zmq_bytes(), kCost);
  EXPECT_TRUE(queue.front_may_go());
  EXPECT_FALSE(queue.may_go_now(kCost)) << "something waits before it";
  ClientQueue::release_ticket(nullptr, second);
  EXPECT_EQ(queue.in_zmq_bytes(), 0u);
  // What ZeroMQ holds counts toward the bound: 9 queued + 1 in ZeroMQ fill it.
  ClientQueue::Ticket* held = queue.make_ticket(message(Kind::kDelivery, kPayload));
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(queue.push(message(Kind::kDelivery, kPayload)), Admission::kQueued);
  }
  EXPECT_EQ(queue.push(message(Kind::kDelivery, kPayload)), Admission::kOverflow);
  ClientQueue::release_ticket(nullptr, held);
  EXPECT_EQ(queue.push(message(Kind::kDelivery, kPayload)), Admission::kQueued);
}

TEST(ClientQueue, DiscardAndUnboundedPushForTheDisconnectNotice) {
  ClientQueue queue(kCost, kCost);
  ASSERT_EQ(queue.push(message(Kind::kDelivery, kPayload)), Admission::kQueued);
  queue.discard();
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.queued_bytes(), 0u);
  EXPECT_EQ(queue.dropped(), 0u);
  queue.push_unbounded(message(Kind::kReply, 5 * kCost));
  queue.push_unbounded(message(Kind::kReply, kPayload));
  EXPECT_EQ(queue.queued_bytes(), 6 * kCost + 6 + ClientQueue::kMessageOverheadBytes);
}

TEST(DescriptorBudget, CapsLeaveAReserveAndACeiling) {
  auto budget = plan_descriptors(256, 18, 1, 1024);
  ASSERT_TRUE(budget.ok()) << budget.error().message;
  const DescriptorBudget& b = budget.value();
  EXPECT_EQ(b.accept_ceiling, 256 - 24);
  EXPECT_GE(b.reserve, 48u);
  EXPECT_LE(18 + b.reserve + b.max_peer_connections + b.max_client_connections, 256u);
  EXPECT_GE(b.max_peer_connections, 1u);
  EXPECT_LT(b.max_clients, b.max_client_connections);
  EXPECT_LT(b.max_clients, 1024u) << "lowered to fit";
}

TEST(DescriptorBudget, AGenerousLimitKeepsTheRequestedClients) {
  auto budget = plan_descriptors(1 << 20, 30, 5, 1024);
  ASSERT_TRUE(budget.ok());
  EXPECT_EQ(budget.value().max_clients, 1024u);
  EXPECT_EQ(budget.value().max_client_connections, 1024u + 256u);
  EXPECT_EQ(budget.value().max_peer_connections, 16u + 4 * 5);
  EXPECT_EQ(plan_descriptors(1 << 20, 30, 5, 3).value().max_clients, 3u) << "never raised";
}

TEST(DescriptorBudget, ALimitTooLowIsAClearError) {
  auto budget = plan_descriptors(64, 40, 3, 1024);
  ASSERT_FALSE(budget.ok());
  EXPECT_EQ(budget.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(budget.error().message.find("raise it to at least"), std::string::npos)
      << budget.error().message;
}

}  // namespace
}  // namespace bcast::io
