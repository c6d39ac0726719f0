// FlowControl: a member's room paces a publisher, by absolute positions that survive loss.
#include "core/bcast/flow_control.hpp"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <string>
#include <vector>

#include "core/rng.hpp"

namespace bcast {
namespace {

using Positions = std::array<std::uint64_t, kFlowStreams>;
constexpr NodeId kSelf = 1;
constexpr NodeId kMember = 2;
const OriginId kOrigin = make_origin_id(kSelf, 1);
const OriginId kMemberOrigin = make_origin_id(kMember, 1);

// What member 2 says: it has delivered our streams up to these positions and has `share` bytes
// of room for us in `group`.
Credit credit(std::uint64_t reliable, std::uint64_t share, const std::string& group = "g",
              std::uint64_t gossip = 0, std::uint64_t total = 0) {
  static std::uint64_t sequence = 0;
  Credit c;
  c.from = kMemberOrigin;
  c.sequence = ++sequence;
  c.delivered.push_back(CreditPosition{kOrigin, reliable, gossip, total});
  c.rooms.push_back(GroupRoom{group, share});
  return c;
}

// Publishes `bytes` to `group` as the next message of `stream` if admitted.
struct Publisher {
  FlowControl flow{kSelf, kOrigin, /*unheard_share_bytes=*/500};
  std::map<FlowStream, std::uint64_t> last_seq;
  bool publish(const std::string& group, std::uint64_t bytes,
               FlowStream stream = FlowStream::kReliable) {
    if (!flow.admits(group, bytes)) return false;
    flow.on_published(stream, ++last_seq[stream], group, bytes);
    return true;
  }
};

TEST(FlowControl, WithoutAdvertsEverythingIsAdmitted) {
  Publisher p;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(p.publish("g", 1 << 20));
  EXPECT_EQ(p.flow.recorded_messages(), 0u) << "nothing to keep while nobody advertises";
}

TEST(FlowControl, AMembersShareBoundsWhatIsOutstanding) {
  Publisher p;
  p.flow.on_credit(kMember, kMemberOrigin, credit(0, 1000));
  EXPECT_TRUE(p.publish("g", 600));
  EXPECT_TRUE(p.publish("g", 400));
  EXPECT_FALSE(p.publish("g", 1)) << "1000 bytes outstanding fill the share";
  EXPECT_EQ(p.flow.outstanding_bytes(kMember, "g"), 1000u);
  EXPECT_EQ(p.flow.blocking_member("g", 1), kMember);
  EXPECT_TRUE(p.publish("other", 5000)) << "a group the member does not take is not paced";
}

TEST(FlowControl, DeliveredPositionsGiveRoomBack) {
  Publisher p;
  p.flow.on_credit(kMember, kMemberOrigin, credit(0, 1000));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p.publish("g", 100));
  ASSERT_FALSE(p.publish("g", 100));
  p.flow.on_credit(kMember, kMemberOrigin, credit(4, 1000));  // messages 1..4 delivered
  EXPECT_EQ(p.flow.outstanding_bytes(kMember, "g"), 600u);
  EXPECT_TRUE(p.publish("g", 400));
  EXPECT_FALSE(p.publish("g", 1));
}

TEST(FlowControl, ALostAdvertIsReplacedByTheNextAndAnOldOneChangesNothing) {
  Publisher p;
  p.flow.on_credit(kMember, kMemberOrigin, credit(0, 1000));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p.publish("g", 100));
  // The adverts at positions 3 and 6 were lost; the one at 8 arrives, then the old one at 3.
  const Credit older = credit(3, 5000);
  const Credit newer = credit(8, 1000);
  p.flow.on_credit(kMember, kMemberOrigin, newer);
  EXPECT_EQ(p.flow.outstanding_bytes(kMember, "g"), 200u);
  p.flow.on_credit(kMember, kMemberOrigin, older);
  EXPECT_EQ(p.flow.outstanding_bytes(kMember, "g"), 200u) << "positions never go back";
  EXPECT_FALSE(p.publish("g", 801)) << "nor does an older, larger room come back";
  // A duplicate changes nothing either: positions are refreshed, never counted.
  p.flow.on_credit(kMember, kMemberOrigin, newer);
  EXPECT_EQ(p.flow.outstanding_bytes(kMember, "g"), 200u);
  Credit same_positions = credit(8, 1000);
  p.flow.on_credit(kMember, kMemberOrigin, same_positions);
  EXPECT_EQ(p.flow.outstanding_bytes(kMember, "g"), 200u);
}

TEST(FlowControl, AShrunkenShareHoldsBackUntilDelivered) {
  Publisher p;
  p.flow.on_credit(kMember, kMemberOrigin, credit(0, 1000));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(p.publish("g", 100));
  p.flow.on_credit(kMember, kMemberOrigin, credit(0, 300));  // its subscriber fell behind
  EXPECT_FALSE(p.publish("g", 1));
}

TEST(FlowControl, AMessageLargerThanTheShareGoesWhenNothingIsOutstanding) {
  Publisher p;
  p.flow.on_credit(kMember, kMemberOrigin, credit(0, 100));
  EXPECT_TRUE(p.publish("g", 5000)) << "otherwise it could never go";
  EXPECT_FALSE(p.publish("g", 1));
  p.flow.on_credit(kMember, kMemberOrigin, credit(1, 100));
  EXPECT_TRUE(p.publish("g", 5000));
}

TEST(FlowControl, AnExcludedMemberHoldsNothingBack) {
  Publisher p;
  p.flow.on_credit(kMember, kMemberOrigin, credit(0, 100));
  ASSERT_TRUE(p.publish("g", 100));
  ASSERT_FALSE(p.publish("g", 100));
  p.flow.forget_peer(kMember);
  EXPECT_TRUE(p.publish("g", 100));
  EXPECT_EQ(p.flow.recorded_messages(), 0u) << "no member left to keep records for";
}

TEST(FlowControl, MembersOutsideTheConfigurationAreDropped) {
  Publisher p;
  p.flow.on_credit(kMember, kMemberOrigin, credit(0, 100));
  ASSERT_TRUE(p.publish("g", 100));
  ASSERT_FALSE(p.publish("g", 100));
  p.flow.set_members({3, 4});
  p.flow.on_credit(3, make_origin_id(3, 1), Credit{make_origin_id(3, 1), 1, {}, {}});
  p.flow.on_credit(4, make_origin_id(4, 1), Credit{make_origin_id(4, 1), 1, {}, {}});
  EXPECT_TRUE(p.publish("g", 100));
}

TEST(FlowControl, AMemberNotHeardFromYetGetsTheUnheardShareUntilItsFirstAdvert) {
  Publisher p;
  p.flow.set_members({kMember});
  EXPECT_TRUE(p.publish("g", 300));
  EXPECT_TRUE(p.publish("g", 200));
  EXPECT_FALSE(p.publish("g", 1)) << "500 bytes is all an unheard member takes of a group";
  EXPECT_TRUE(p.publish("h", 500)) << "per group";
  p.flow.on_credit(kMember, kMemberOrigin, credit(0, 1000));
  EXPECT_TRUE(p.publish("g", 1000)) << "what was sent before its first advert is not counted";
  EXPECT_FALSE(p.publish("g", 1));

  Publisher q;
  q.flow.set_members({kMember});
  EXPECT_TRUE(q.publish("g", 500));
  q.flow.heard_from(kMember, kMemberOrigin);
  EXPECT_FALSE(q.publish("g", 1)) << "talking, but no advert yet: it may have subscribers";
  q.flow.on_credit(kMember, kMemberOrigin, Credit{kMemberOrigin, 1, {}, {}});
  EXPECT_TRUE(q.publish("g", 1)) << "an advert without rooms: no subscribers there";
}

TEST(FlowControl, ARestartedMemberStartsUnheard) {
  Publisher p;
  p.flow.set_members({kMember});
  p.flow.on_credit(kMember, kMemberOrigin, credit(0, 100000));
  ASSERT_TRUE(p.publish("g", 5000));
  p.flow.heard_from(kMember, make_origin_id(kMember, 2));
  EXPECT_TRUE(p.publish("g", 500));
  EXPECT_FALSE(p.publish("g", 1)) << "its predecessor's room is not its own";
}

TEST(FlowControl, ANewIncarnationCountsOnlyWhatWasSentAfterWeMetIt) {
  Publisher p;
  p.flow.on_credit(kMember, kMemberOrigin, credit(0, 1000));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p.publish("g", 100));
  ASSERT_FALSE(p.publish("g", 100));
  // Member 2 restarted: its new incarnation has delivered nothing of ours, and never will
  // deliver what we sent before its welcome.
  Credit restarted = credit(0, 1000);
  restarted.sequence = 1;  // a new incarnation numbers its adverts afresh
  restarted.from = make_origin_id(kMember, 2);
  p.flow.on_credit(kMember, restarted.from, restarted);
  EXPECT_EQ(p.flow.outstanding_bytes(kMember, "g"), 0u);
  EXPECT_TRUE(p.publish("g", 1000));
}

TEST(FlowControl, AnAdvertForAnotherOfOurIncarnationsGivesNoRoom) {
  Publisher p;
  p.flow.on_credit(kMember, kMemberOrigin, credit(0, 1000));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p.publish("g", 100));
  Credit about_old_self = credit(10, 1000);
  about_old_self.delivered[0].origin = make_origin_id(kSelf, 7);
  p.flow.on_credit(kMember, kMemberOrigin, about_old_self);
  EXPECT_EQ(p.flow.outstanding_bytes(kMember, "g"), 1000u);
}

TEST(FlowControl, StreamsAreFollowedSeparately) {
  Publisher p;
  p.flow.on_credit(kMember, kMemberOrigin, credit(0, 1000));
  ASSERT_TRUE(p.publish("g", 300, FlowStream::kReliable));
  ASSERT_TRUE(p.publish("g", 300, FlowStream::kGossip));
  ASSERT_TRUE(p.publish("g", 300, FlowStream::kTotal));
  ASSERT_FALSE(p.publish("g", 300));
  p.flow.on_credit(kMember, kMemberOrigin, credit(0, 1000, "g", 0, 1));  // total 1 delivered
  EXPECT_EQ(p.flow.outstanding_bytes(kMember, "g"), 600u);
  p.flow.on_credit(kMember, kMemberOrigin, credit(1, 1000, "g", 1, 1));
  EXPECT_EQ(p.flow.outstanding_bytes(kMember, "g"), 0u);
  EXPECT_EQ(p.flow.recorded_messages(), 0u) << "what everyone delivered is forgotten";
}

TEST(FlowControl, TheSlowestOfSeveralMembersPaces) {
  Publisher p;
  p.flow.on_credit(kMember, kMemberOrigin, credit(0, 1000));
  Credit fast = credit(0, 1000);
  fast.from = make_origin_id(3, 1);
  p.flow.on_credit(3, fast.from, fast);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p.publish("g", 100));
  fast.delivered[0].reliable = 10;
  fast.sequence += 1;
  p.flow.on_credit(3, fast.from, fast);
  EXPECT_FALSE(p.publish("g", 100)) << "member 2 has delivered nothing";
  EXPECT_EQ(p.flow.blocking_member("g", 100), kMember);
}

TEST(FlowControl, AMemberSharesItsRoomAmongThePublishersAndReportsPositions) {
  FlowControl member(kMember, kMemberOrigin, 0);
  Delivery reliable{
      "g", make_sender_id(kSelf, 1, 1), 1, std::nullopt, Mode::kReliable, Order::kFifo, nullptr, 7};
  Delivery total{"g", make_sender_id(kSelf, 1, 1), 2, 1, Mode::kReliable, Order::kTotal, nullptr, 0,
                 4};
  Delivery best_effort{
      "g", make_sender_id(kSelf, 1, 1), 3, std::nullopt, Mode::kBestEffort, Order::kNone, nullptr,
      99};
  Delivery older{
      "g", make_sender_id(kSelf, 1, 1), 1, std::nullopt, Mode::kReliable, Order::kNone, nullptr, 5};
  for (const Delivery& d : {reliable, total, best_effort, older}) member.on_delivered(d);
  const auto everything_received = [](StreamKey) { return 1000; };
  // Positions go out with the room measured after them: none before the first report.
  EXPECT_TRUE(member.advert(3, everything_received).delivered.empty());
  member.set_rooms({{"g", 3000}, {"h", 10}});
  const Credit advert = member.advert(3, everything_received);
  ASSERT_EQ(advert.delivered.size(), 1u);
  EXPECT_EQ(advert.delivered[0], (CreditPosition{kOrigin, 7, 0, 4}));
  ASSERT_EQ(advert.rooms.size(), 2u);
  EXPECT_EQ(advert.rooms[0], (GroupRoom{"g", 1000}));
  EXPECT_EQ(advert.rooms[1], (GroupRoom{"h", 3}));
  EXPECT_GT(member.advert(3, everything_received).sequence, advert.sequence);
  // A hole at 6 (or 6 held back): message 7, delivered past it, does not vouch for it.
  const Credit with_hole = member.advert(3, [](StreamKey) { return 5; });
  EXPECT_EQ(with_hole.delivered[0], (CreditPosition{kOrigin, 5, 0, 4}));
  member.forget_origin(kOrigin);
  EXPECT_TRUE(member.advert(3, everything_received).delivered.empty());
}

// The daemon's own subscribers: it delivers what it publishes at once, but measures their room
// once per round. An advert in between must not count what was delivered since as gone from a
// queue whose room was measured before it filled it: a publisher then went on past the room (an
// 8 MiB queue of a stopped subscriber overran in Robustness.StalledSubscriberCostsBoundedMemory...,
// under load, when many publishes fell between a room report and an advert).
TEST(FlowControl, AnAdvertPairsTheRoomWithThePositionsItWasMeasuredAt) {
  FlowControl self(kSelf, kOrigin, 0);
  const auto everything_received = [](StreamKey) { return 1000; };
  self.set_rooms({{"g", 1000}});
  self.on_credit(kSelf, kOrigin, self.advert(1, everything_received));
  std::uint64_t admitted_bytes = 0;
  for (std::uint64_t seq = 1; seq <= 20 && self.admits("g", 300); ++seq) {
    self.on_published(FlowStream::kReliable, seq, "g", 300);
    admitted_bytes += 300;
    // Delivered locally at once (into a subscriber's queue that nobody reads), and adverts go
    // out meanwhile, but the room is not measured again.
    self.on_delivered(Delivery{"g", make_sender_id(kSelf, 1, 1), seq, std::nullopt, Mode::kReliable,
                               Order::kFifo, nullptr, seq});
    self.on_credit(kSelf, kOrigin, self.advert(1, everything_received));
  }
  EXPECT_LE(admitted_bytes, 1000u) << "published past the room while it was not measured again";
  EXPECT_EQ(admitted_bytes, 900u);
  // Measured again (the queue took 900 bytes of the 1000): 100 bytes free, nothing outstanding.
  self.set_rooms({{"g", 100}});
  self.on_credit(kSelf, kOrigin, self.advert(1, everything_received));
  EXPECT_EQ(self.outstanding_bytes(kSelf, "g"), 0u);
}

// Adverts that only move positions are settled incrementally; the result must equal counting
// every undelivered message afresh, whatever the interleaving of groups and streams.
TEST(FlowControl, SettlingMovedPositionsEqualsCountingAfresh) {
  Publisher p;
  Rng rng(7);
  const std::string groups[] = {"g", "h", "x"};  // x: the member takes none of it
  Positions delivered{};
  struct Sent {
    FlowStream stream;
    std::uint64_t seq;
    std::string group;
    std::uint64_t bytes;
  };
  std::vector<Sent> sent;
  auto advert = [&] {
    Credit c = credit(delivered[0], 1ULL << 40, "g", delivered[1], delivered[2]);
    c.rooms.push_back(GroupRoom{"h", 1ULL << 40});
    return c;
  };
  p.flow.on_credit(kMember, kMemberOrigin, advert());
  for (int step = 0; step < 2000; ++step) {
    if (rng.chance(2, 3)) {
      const auto stream = static_cast<FlowStream>(rng.uniform(0, 2));
      const std::string& group = groups[rng.uniform(0, 2)];
      const std::uint64_t bytes = rng.uniform(1, 100);
      ASSERT_TRUE(p.publish(group, bytes, stream));
      sent.push_back({stream, p.last_seq[stream], group, bytes});
    } else {
      const auto s = rng.uniform(0, 2);
      const std::uint64_t head = p.last_seq[static_cast<FlowStream>(s)];
      if (delivered[s] < head) delivered[s] = rng.uniform(delivered[s], head);
      p.flow.on_credit(kMember, kMemberOrigin, advert());
    }
    for (const std::string& group : {std::string("g"), std::string("h")}) {
      std::uint64_t expected = 0;
      for (const Sent& m : sent) {
        if (m.group == group && m.seq > delivered[static_cast<std::size_t>(m.stream)]) {
          expected += m.bytes;
        }
      }
      ASSERT_EQ(p.flow.outstanding_bytes(kMember, group), expected) << "step " << step;
    }
  }
}

}  // namespace
}  // namespace bcast
