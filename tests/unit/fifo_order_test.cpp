// FIFO order: the hold-back queue of reliable and gossip streams (StreamFifo), and best-effort
// FIFO, which skips a gap after a bounded wait (BestEffortFifo).
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/order/best_effort_fifo.hpp"
#include "core/order/stream_fifo.hpp"

namespace bcast {
namespace {

const OriginId kOrigin = make_origin_id(2, 1);
const OriginId kOtherOrigin = make_origin_id(3, 1);

BroadcastMessage message_of(OriginId origin, std::uint64_t stream_seq, Mode mode,
                            Order order = Order::kFifo) {
  BroadcastMessage m;
  m.sender = make_sender_id(origin_node(origin), origin & 0xffff, 1);
  m.seq = stream_seq;
  m.stream_seq = stream_seq;
  m.group = "g";
  m.mode = mode;
  m.order = order;
  m.payload = std::make_shared<const std::string>("p" + std::to_string(stream_seq));
  return m;
}

std::vector<std::uint64_t> seqs(const std::vector<BroadcastMessage>& messages) {
  std::vector<std::uint64_t> out;
  for (const auto& m : messages) out.push_back(m.stream_seq);
  return out;
}

// --- StreamFifo --------------------------------------------------------------------------------

TEST(StreamFifo, HoldsUntilThePrefixReachesEachMessage) {
  StreamFifo fifo;
  const StreamKey stream{kOrigin, Mode::kReliable};
  fifo.hold(message_of(kOrigin, 3, Mode::kReliable));
  fifo.hold(message_of(kOrigin, 2, Mode::kReliable));
  fifo.hold(message_of(kOrigin, 5, Mode::kReliable));
  EXPECT_EQ(fifo.held(), 3u);

  std::vector<BroadcastMessage> ready;
  fifo.release(stream, 1, ready);  // the stream's prefix stops before 2
  EXPECT_TRUE(ready.empty());

  fifo.release(stream, 3, ready);
  EXPECT_EQ(seqs(ready), (std::vector<std::uint64_t>{2, 3}));  // in stream order
  EXPECT_EQ(ready[0].payload->compare("p2"), 0);
  EXPECT_EQ(fifo.held(), 1u);

  ready.clear();
  fifo.release(stream, 4, ready);  // 4 was not FIFO (or not held here): 5 still needs it
  EXPECT_TRUE(ready.empty());
  fifo.release(stream, 5, ready);
  EXPECT_EQ(seqs(ready), std::vector<std::uint64_t>{5});
  EXPECT_EQ(fifo.held(), 0u);

  ready.clear();
  fifo.release(stream, 100, ready);  // nothing left, nothing twice
  EXPECT_TRUE(ready.empty());
}

TEST(StreamFifo, StreamsAreIndependentPerOriginAndMode) {
  StreamFifo fifo;
  fifo.hold(message_of(kOrigin, 2, Mode::kReliable));
  fifo.hold(message_of(kOrigin, 2, Mode::kGossip));
  fifo.hold(message_of(kOtherOrigin, 2, Mode::kReliable));

  std::vector<BroadcastMessage> ready;
  fifo.release({kOrigin, Mode::kGossip}, 2, ready);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].mode, Mode::kGossip);
  EXPECT_EQ(ready[0].origin(), kOrigin);
  EXPECT_EQ(fifo.held(), 2u);

  ready.clear();
  fifo.release({kOtherOrigin, Mode::kReliable}, 2, ready);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].origin(), kOtherOrigin);
  EXPECT_EQ(fifo.held(), 1u);
}

TEST(StreamFifo, ReleaseAppendsToWhatIsAlreadyReady) {
  StreamFifo fifo;
  fifo.hold(message_of(kOrigin, 1, Mode::kReliable));
  std::vector<BroadcastMessage> ready;
  ready.push_back(message_of(kOtherOrigin, 9, Mode::kReliable, Order::kNone));
  fifo.release({kOrigin, Mode::kReliable}, 1, ready);
  EXPECT_EQ(seqs(ready), (std::vector<std::uint64_t>{9, 1}));
}

// --- BestEffortFifo ----------------------------------------------------------------------------

TEST(BestEffortFifo, InOrderMessagesGoAtOnce) {
  BestEffortFifo fifo(3);
  std::vector<BroadcastMessage> ready;
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    fifo.on_message(message_of(kOrigin, seq, Mode::kBestEffort), 0, ready);
  }
  EXPECT_EQ(seqs(ready), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(fifo.held(), 0u);
  EXPECT_EQ(fifo.skipped(), 0u);
}

TEST(BestEffortFifo, AGapHoldsLaterFifoMessagesUntilItIsFilled) {
  BestEffortFifo fifo(3);
  std::vector<BroadcastMessage> ready;
  fifo.on_message(message_of(kOrigin, 1, Mode::kBestEffort), 0, ready);
  fifo.on_message(message_of(kOrigin, 3, Mode::kBestEffort), 0, ready);
  fifo.on_message(message_of(kOrigin, 4, Mode::kBestEffort), 1, ready);
  EXPECT_EQ(seqs(ready), std::vector<std::uint64_t>{1});
  EXPECT_EQ(fifo.held(), 2u);

  fifo.on_message(message_of(kOrigin, 2, Mode::kBestEffort), 1, ready);  // in time
  EXPECT_EQ(seqs(ready), (std::vector<std::uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(fifo.held(), 0u);
  EXPECT_EQ(fifo.skipped(), 0u);
}

TEST(BestEffortFifo, AGapIsSkippedAndAnnouncedOnceTheNextMessageWaitedHoldTicks) {
  BestEffortFifo fifo(3);
  std::vector<BroadcastMessage> ready;
  std::vector<Gap> gaps;
  fifo.on_message(message_of(kOrigin, 1, Mode::kBestEffort), 10, ready);
  fifo.on_message(message_of(kOrigin, 4, Mode::kBestEffort), 10, ready);  // 2 and 3 missing
  fifo.on_message(message_of(kOrigin, 5, Mode::kBestEffort), 11, ready);
  ASSERT_EQ(seqs(ready), std::vector<std::uint64_t>{1});

  fifo.tick(11, ready, gaps);
  fifo.tick(12, ready, gaps);
  EXPECT_EQ(seqs(ready), std::vector<std::uint64_t>{1});  // waited 2 of 3 ticks
  EXPECT_EQ(fifo.held(), 2u);
  EXPECT_TRUE(gaps.empty());

  fifo.tick(13, ready, gaps);
  EXPECT_EQ(seqs(ready), (std::vector<std::uint64_t>{1, 4, 5}));
  EXPECT_EQ(fifo.skipped(), 2u);
  EXPECT_EQ(fifo.held(), 0u);
  Gap expected;
  expected.kind = Gap::Kind::kStream;
  expected.reason = Gap::Reason::kBestEffortHold;
  expected.origin = kOrigin;
  expected.mode = Mode::kBestEffort;
  expected.from = 2;
  expected.to = 3;
  EXPECT_EQ(gaps, std::vector<Gap>{expected});
}

// A daemon that starts while an origin publishes first hears of its stream somewhere in the
// middle: what came before was never its own, and is no gap.
TEST(BestEffortFifo, WhereAStreamStartsIsNoGap) {
  BestEffortFifo fifo(1);
  std::vector<BroadcastMessage> ready;
  std::vector<Gap> gaps;
  fifo.on_message(message_of(kOrigin, 40, Mode::kBestEffort), 0, ready);
  fifo.tick(1, ready, gaps);
  EXPECT_EQ(seqs(ready), std::vector<std::uint64_t>{40});
  EXPECT_TRUE(gaps.empty());
  EXPECT_EQ(fifo.skipped(), 0u);
  // From there on a skip is a gap.
  fifo.on_message(message_of(kOrigin, 42, Mode::kBestEffort), 2, ready);
  fifo.tick(3, ready, gaps);
  EXPECT_EQ(seqs(ready), (std::vector<std::uint64_t>{40, 42}));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].from, 41u);
  EXPECT_EQ(gaps[0].to, 41u);
}

TEST(BestEffortFifo, AFifoMessageArrivingAfterItsGapWasSkippedIsDropped) {
  BestEffortFifo fifo(1);
  std::vector<BroadcastMessage> ready;
  std::vector<Gap> gaps;
  fifo.on_message(message_of(kOrigin, 1, Mode::kBestEffort), 0, ready);
  fifo.on_message(message_of(kOrigin, 3, Mode::kBestEffort), 0, ready);
  fifo.tick(1, ready, gaps);  // 2 skipped, 3 delivered
  ASSERT_EQ(seqs(ready), (std::vector<std::uint64_t>{1, 3}));
  ASSERT_EQ(gaps.size(), 1u);
  fifo.on_message(message_of(kOrigin, 2, Mode::kBestEffort), 2, ready);
  EXPECT_EQ(seqs(ready), (std::vector<std::uint64_t>{1, 3}));  // never out of order
  EXPECT_EQ(fifo.held(), 0u);
}

TEST(BestEffortFifo, UnorderedMessagesGoAtOnceEvenLate) {
  BestEffortFifo fifo(1);
  std::vector<BroadcastMessage> ready;
  std::vector<Gap> gaps;
  fifo.on_message(message_of(kOrigin, 1, Mode::kBestEffort, Order::kNone), 0, ready);
  fifo.on_message(message_of(kOrigin, 4, Mode::kBestEffort, Order::kNone), 0, ready);
  EXPECT_EQ(seqs(ready), (std::vector<std::uint64_t>{1, 4}));  // not held behind the gap
  fifo.tick(1, ready, gaps);                                   // the gap 2..3 is skipped
  EXPECT_EQ(fifo.skipped(), 2u);
  ASSERT_EQ(gaps.size(), 1u);
  fifo.on_message(message_of(kOrigin, 2, Mode::kBestEffort, Order::kNone), 2, ready);
  EXPECT_EQ(seqs(ready), (std::vector<std::uint64_t>{1, 4, 2}));  // late, but order-free
}

TEST(BestEffortFifo, AnUnorderedArrivalFillsAGapForFifoMessages) {
  BestEffortFifo fifo(5);
  std::vector<BroadcastMessage> ready;
  fifo.on_message(message_of(kOrigin, 2, Mode::kBestEffort), 0, ready);
  EXPECT_TRUE(ready.empty());
  fifo.on_message(message_of(kOrigin, 1, Mode::kBestEffort, Order::kNone), 0, ready);
  EXPECT_EQ(seqs(ready), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(fifo.skipped(), 0u);
}

TEST(BestEffortFifo, OriginsAreIndependent) {
  BestEffortFifo fifo(2);
  std::vector<BroadcastMessage> ready;
  fifo.on_message(message_of(kOrigin, 2, Mode::kBestEffort), 0, ready);  // waits for 1
  fifo.on_message(message_of(kOtherOrigin, 1, Mode::kBestEffort), 0, ready);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].origin(), kOtherOrigin);
  EXPECT_EQ(fifo.held(), 1u);
}

}  // namespace
}  // namespace bcast
