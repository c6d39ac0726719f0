// TotalOrder, the sequencer's replicated state machine: positions (gseq) are assigned when
// committed entries are applied, consecutively, each message once.
#include "core/order/total_order.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace bcast {
namespace {

const OriginId kSelf = make_origin_id(1, 1);
const OriginId kA = make_origin_id(2, 1);
const OriginId kB = make_origin_id(3, 1);

BroadcastMessage total_message(OriginId origin, std::uint64_t stream_seq, bool withdrawn = false) {
  BroadcastMessage m;
  m.sender = make_sender_id(origin_node(origin), origin & 0xffff, 7);
  m.seq = 100 + stream_seq;  // the sender's counter differs from the stream position
  m.stream_seq = stream_seq;
  m.group = "group-" + std::to_string(origin_node(origin));
  m.mode = Mode::kGossip;
  m.order = Order::kTotal;
  m.payload = std::make_shared<const std::string>("payload " + std::to_string(stream_seq));
  m.withdrawn = withdrawn;
  return m;
}

raft::Entry entry_of(LogIndex index, const std::vector<BroadcastMessage>& batch) {
  raft::Entry e;
  e.term = 1;
  e.index = index;
  e.type = raft::EntryType::kNormal;
  e.data = encode_message_batch(batch);
  return e;
}

// (sender's seq, gseq) of each delivery.
std::vector<std::pair<std::uint64_t, std::uint64_t>> positions(const Outbox& out) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> v;
  for (const Delivery& d : out.deliveries) v.emplace_back(d.seq, d.gseq.value_or(0));
  return v;
}

using Positions = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

TEST(TotalOrder, ApplyAssignsConsecutivePositionsInLogOrder) {
  TotalOrder order(kSelf);
  Outbox out;
  order.apply(entry_of(1, {total_message(kA, 1), total_message(kB, 1), total_message(kA, 2)}), out);
  order.apply(entry_of(2, {total_message(kB, 2)}), out);
  ASSERT_EQ(out.deliveries.size(), 4u);
  EXPECT_EQ(positions(out), (Positions{{101, 1}, {101, 2}, {102, 3}, {102, 4}}));
  EXPECT_EQ(out.deliveries[1].sender, total_message(kB, 1).sender);
  EXPECT_EQ(order.last_gseq(), 4u);
  EXPECT_EQ(order.sequenced_upto(kA), 2u);
  EXPECT_EQ(order.sequenced_upto(kB), 2u);
  EXPECT_EQ(order.sequenced_upto(kSelf), 0u);
  EXPECT_EQ(order.anomalies(), 0u);
}

TEST(TotalOrder, ADeliveryCarriesTheMessageUnchanged) {
  TotalOrder order(kSelf);
  Outbox out;
  const BroadcastMessage m = total_message(kA, 1);
  order.apply(entry_of(1, {m}), out);
  ASSERT_EQ(out.deliveries.size(), 1u);
  const Delivery& d = out.deliveries[0];
  EXPECT_EQ(d.group, m.group);
  EXPECT_EQ(d.sender, m.sender);
  EXPECT_EQ(d.seq, m.seq);
  EXPECT_EQ(d.gseq, std::optional<std::uint64_t>(1));
  EXPECT_EQ(d.mode, Mode::kGossip);
  EXPECT_EQ(d.order, Order::kTotal);
  ASSERT_NE(d.payload, nullptr);
  EXPECT_EQ(*d.payload, "payload 1");
}

TEST(TotalOrder, AnEntryProposedAgainAfterALeaderChangeIsSkipped) {
  TotalOrder order(kSelf);
  Outbox out;
  order.apply(entry_of(1, {total_message(kA, 1), total_message(kA, 2)}), out);
  // The new leader re-proposes what the origin forwarded again, plus something new.
  order.apply(entry_of(2, {total_message(kA, 1), total_message(kA, 2), total_message(kA, 3)}), out);
  order.apply(entry_of(3, {total_message(kA, 3)}), out);
  EXPECT_EQ(positions(out), (Positions{{101, 1}, {102, 2}, {103, 3}}));
  EXPECT_EQ(order.last_gseq(), 3u);
  EXPECT_EQ(order.anomalies(), 0u);  // a repeat is expected, not an anomaly
}

TEST(TotalOrder, AWithdrawnMessageKeepsItsPlaceButTakesNoPosition) {
  TotalOrder order(kSelf);
  Outbox out;
  order.apply(entry_of(1, {total_message(kA, 1), total_message(kA, 2, /*withdrawn=*/true),
                           total_message(kA, 3)}),
              out);
  EXPECT_EQ(positions(out), (Positions{{101, 1}, {103, 2}}));
  EXPECT_EQ(order.sequenced_upto(kA), 3u);
  EXPECT_EQ(order.last_gseq(), 2u);
  // Proposed again, now not withdrawn: it already had its place, so it stays undelivered.
  order.apply(entry_of(2, {total_message(kA, 2)}), out);
  EXPECT_EQ(out.deliveries.size(), 2u);
}

TEST(TotalOrder, SkippingAheadInAStreamIsAnAnomalyAndNotApplied) {
  TotalOrder order(kSelf);
  Outbox out;
  order.apply(entry_of(1, {total_message(kA, 1), total_message(kA, 3)}), out);
  EXPECT_EQ(positions(out), (Positions{{101, 1}}));
  EXPECT_EQ(order.anomalies(), 1u);
  EXPECT_EQ(order.sequenced_upto(kA), 1u);
  order.apply(entry_of(2, {total_message(kA, 2), total_message(kA, 3)}), out);
  EXPECT_EQ(positions(out), (Positions{{101, 1}, {102, 2}, {103, 3}}));
}

TEST(TotalOrder, UndecodableDataIsAnAnomaly) {
  TotalOrder order(kSelf);
  Outbox out;
  raft::Entry e = entry_of(1, {total_message(kA, 1)});
  e.data = e.data.view().substr(0, e.data.size() - 1);
  order.apply(e, out);
  EXPECT_TRUE(out.deliveries.empty());
  EXPECT_EQ(order.anomalies(), 1u);
  EXPECT_EQ(order.last_gseq(), 0u);
}

TEST(TotalOrder, OnlyNormalEntriesAreApplied) {
  TotalOrder order(kSelf);
  Outbox out;
  raft::Entry noop = entry_of(1, {total_message(kA, 1)});
  noop.type = raft::EntryType::kLeaderNoop;
  order.apply(noop, out);
  raft::Entry conf;
  conf.index = 2;
  conf.type = raft::EntryType::kConfChange;
  conf.data = raft::encode_conf_change(raft::ConfChange{raft::ConfChangeType::kAddVoter, 4});
  order.apply(conf, out);
  EXPECT_TRUE(out.deliveries.empty());
  EXPECT_EQ(order.anomalies(), 0u);
  EXPECT_EQ(order.last_gseq(), 0u);
}

TEST(TotalOrder, OwnMessagesAreReportedWithTheirPositions) {
  TotalOrder order(kSelf);
  Outbox out;
  order.apply(entry_of(1, {total_message(kA, 1), total_message(kSelf, 1),
                           total_message(kSelf, 2, /*withdrawn=*/true), total_message(kSelf, 3)}),
              out);
  using Pairs = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
  EXPECT_EQ(order.take_own_sequenced(), (Pairs{{1, 2}, {3, 3}}));
  EXPECT_TRUE(order.take_own_sequenced().empty());  // taken
}

TEST(TotalOrder, SnapshotRestoreRoundTrip) {
  TotalOrder original(kSelf);
  Outbox out;
  original.apply(entry_of(1, {total_message(kA, 1), total_message(kB, 1), total_message(kA, 2),
                              total_message(kSelf, 1)}),
                 out);
  const auto image = original.snapshot();
  ASSERT_NE(image, nullptr);

  TotalOrder restored(kSelf);
  ASSERT_TRUE(restored.restore(*image).ok());
  EXPECT_EQ(restored.last_gseq(), 4u);
  EXPECT_EQ(restored.sequenced(), original.sequenced());
  EXPECT_EQ(restored.sequenced_upto(kA), 2u);
  EXPECT_EQ(restored.sequenced_upto(kB), 1u);
  EXPECT_EQ(restored.sequenced_upto(kSelf), 1u);
  EXPECT_EQ(*restored.snapshot(), *image);
  EXPECT_TRUE(restored.take_own_sequenced().empty());

  // Both continue identically: repeats skipped, the next message gets the next position.
  Outbox a;
  Outbox b;
  const raft::Entry next = entry_of(2, {total_message(kA, 2), total_message(kB, 2)});
  original.apply(next, a);
  restored.apply(next, b);
  EXPECT_EQ(positions(a), (Positions{{102, 5}}));
  EXPECT_EQ(positions(b), positions(a));
}

TEST(TotalOrder, RestoreReplacesTheState) {
  TotalOrder donor(kSelf);
  Outbox out;
  donor.apply(entry_of(1, {total_message(kB, 1)}), out);

  TotalOrder order(kSelf);
  order.apply(entry_of(1, {total_message(kA, 1), total_message(kA, 2), total_message(kSelf, 1)}),
              out);
  ASSERT_TRUE(order.restore(*donor.snapshot()).ok());
  EXPECT_EQ(order.last_gseq(), 1u);
  EXPECT_EQ(order.sequenced_upto(kA), 0u);
  EXPECT_EQ(order.sequenced_upto(kB), 1u);
  EXPECT_TRUE(order.take_own_sequenced().empty());
}

TEST(TotalOrder, ATruncatedSnapshotIsRejected) {
  TotalOrder original(kSelf);
  Outbox out;
  original.apply(entry_of(1, {total_message(kA, 1), total_message(kB, 1)}), out);
  const std::string image = *original.snapshot();
  for (std::size_t size : {std::size_t{0}, std::size_t{5}, image.size() - 1}) {
    TotalOrder restored(kSelf);
    auto result = restored.restore(image.substr(0, size));
    ASSERT_FALSE(result.ok()) << "size " << size;
    EXPECT_EQ(result.error().code, ErrorCode::kCorrupt);
  }
}

}  // namespace
}  // namespace bcast
