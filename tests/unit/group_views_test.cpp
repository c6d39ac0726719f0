// GroupViews (the agreed views applied from group records) and ViewKeeper (which records a
// daemon asks for): views per group, causes, suspension and return of a daemon's members,
// idempotent records, snapshot images, and records placed among total-order messages.
#include "core/views/group_views.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/node_state.hpp"
#include "core/views/view_keeper.hpp"

namespace bcast {
namespace {

GroupMember member(NodeId node, std::uint32_t incarnation, std::uint32_t client) {
  return GroupMember{make_sender_id(node, incarnation, client), node,
                     "client " + std::to_string(client)};
}

GroupRecord join(const std::string& group, const GroupMember& m) {
  GroupRecord r;
  r.kind = GroupRecord::Kind::kJoin;
  r.group = group;
  r.member = m;
  return r;
}

GroupRecord leave(const std::string& group, const GroupMember& m) {
  GroupRecord r = join(group, m);
  r.kind = GroupRecord::Kind::kLeave;
  return r;
}

GroupRecord node_record(GroupRecord::Kind kind, NodeId node, OriginId origin = 0) {
  GroupRecord r;
  r.kind = kind;
  r.node = node;
  r.origin = origin;
  return r;
}

TEST(GroupViewsTest, JoinLeaveAndDisconnectMakeNumberedViews) {
  GroupViews views;
  std::vector<ViewChange> out;
  const GroupMember a = member(1, 1, 1);
  const GroupMember b = member(2, 1, 1);
  views.apply(join("chat", a), 0, out);
  views.apply(join("chat", b), 4, out);
  views.apply(join("other", b), 4, out);
  views.apply(leave("chat", a), 9, out);
  GroupRecord gone;
  gone.kind = GroupRecord::Kind::kDisconnect;
  gone.member = b;
  views.apply(gone, 9, out);
  ASSERT_EQ(out.size(), 6u);  // the disconnect changes both groups
  EXPECT_EQ(out[0].view_id, 1u);
  EXPECT_EQ(out[0].joined, std::vector<GroupMember>{a});
  EXPECT_EQ(out[1].view_id, 2u);
  EXPECT_EQ(out[1].gseq, 4u);
  EXPECT_EQ(out[1].members, (std::vector<GroupMember>{a, b}));
  EXPECT_EQ(out[2].group, "other");
  EXPECT_EQ(out[2].view_id, 1u);  // per group
  EXPECT_EQ(out[3].cause, ViewCause::kLeave);
  EXPECT_EQ(out[3].left, std::vector<GroupMember>{a});
  EXPECT_EQ(out[4].cause, ViewCause::kDisconnect);
  EXPECT_EQ(out[4].view_id, 4u);
  EXPECT_TRUE(out[4].members.empty());
  EXPECT_EQ(out[5].group, "other");
  EXPECT_EQ(out[5].cause, ViewCause::kDisconnect);
  EXPECT_FALSE(views.is_member("other", b.sender));
  EXPECT_EQ(views.view_id("other"), 2u);
}

TEST(GroupViewsTest, RepeatedRecordsChangeNothing) {
  GroupViews views;
  std::vector<ViewChange> out;
  const GroupMember a = member(1, 1, 1);
  views.apply(join("chat", a), 0, out);
  views.apply(join("chat", a), 0, out);
  views.apply(leave("chat", member(1, 1, 2)), 0, out);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(views.view_id("chat"), 1u);
}

TEST(GroupViewsTest, FailedDaemonsMembersLeaveAndReturnWithTheSameIncarnation) {
  GroupViews views;
  std::vector<ViewChange> out;
  const GroupMember a = member(1, 1, 1);
  const GroupMember c = member(3, 1, 1);
  views.apply(join("chat", a), 0, out);
  views.apply(join("chat", c), 0, out);
  out.clear();
  views.apply(node_record(GroupRecord::Kind::kNodeDown, 3), 5, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].cause, ViewCause::kDaemonFailed);
  EXPECT_EQ(out[0].left, std::vector<GroupMember>{c});
  // While down, a join of its members waits for its return.
  views.apply(join("chat", member(3, 1, 2)), 6, out);
  EXPECT_EQ(out.size(), 1u);
  views.apply(node_record(GroupRecord::Kind::kNodeUp, 3, make_origin_id(3, 1)), 7, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].cause, ViewCause::kDaemonReturned);
  EXPECT_EQ(out[1].joined, std::vector<GroupMember>{c});
  EXPECT_EQ(out[1].view_id, 4u);
}

TEST(GroupViewsTest, ARestartedDaemonsOldMembersAreDroppedNotRestored) {
  GroupViews views;
  std::vector<ViewChange> out;
  const GroupMember c = member(3, 1, 1);
  const GroupMember d = member(3, 1, 2);
  views.apply(join("chat", c), 0, out);
  views.apply(node_record(GroupRecord::Kind::kNodeDown, 3), 0, out);
  views.apply(join("chat", d), 0, out);  // ignored: daemon down
  views.apply(node_record(GroupRecord::Kind::kNodeUp, 3, make_origin_id(3, 2)), 0, out);
  EXPECT_TRUE(views.members("chat").empty());
  // Restarted before anyone noticed: its old members leave at once.
  views.apply(join("chat", member(3, 2, 1)), 0, out);
  out.clear();
  views.apply(node_record(GroupRecord::Kind::kNodeUp, 3, make_origin_id(3, 3)), 0, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].cause, ViewCause::kDaemonFailed);
}

TEST(GroupViewsTest, ImageRestoresEverything) {
  GroupViews views;
  std::vector<ViewChange> out;
  views.apply(join("chat", member(1, 1, 1)), 0, out);
  views.apply(join("chat", member(3, 1, 1)), 0, out);
  views.apply(join("x", member(3, 1, 1)), 0, out);
  views.apply(node_record(GroupRecord::Kind::kNodeDown, 3), 0, out);
  auto restored = GroupViews::decode(views.encode());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored.value(), views);
  const std::string image = views.encode();
  EXPECT_FALSE(GroupViews::decode(image.substr(0, image.size() - 1)).ok());
}

TEST(GroupViewsTest, RecordsDecodeOnlyWhole) {
  GroupRecord r = join("chat", member(1, 1, 1));
  EXPECT_EQ(decode_group_record(encode_group_record(r)), r);
  EXPECT_FALSE(decode_group_record(encode_group_record(r) + "x"));
  EXPECT_FALSE(decode_group_record("\x09"));
}

// Records reach the views through the total-order stream: a view takes effect at the position
// of the last total-order message before it, and records take no position.
TEST(GroupViewsTest, RecordsAreAppliedAmongTotalOrderMessages) {
  NodeState state(make_origin_id(1, 1));
  const auto message = [](std::uint64_t stream_seq, std::string group, std::string payload) {
    BroadcastMessage m;
    m.sender = make_sender_id(2, 1, stream_seq == 2 ? 0 : 5);
    m.seq = stream_seq;
    m.stream_seq = stream_seq;
    m.group = std::move(group);
    m.order = Order::kTotal;
    m.payload = std::make_shared<const std::string>(std::move(payload));
    return m;
  };
  raft::Entry entry;
  entry.term = 1;
  entry.index = 1;
  entry.type = raft::EntryType::kNormal;
  entry.data = encode_message_batch(
      {message(1, "chat", "m1"), message(2, "", encode_group_record(join("chat", member(2, 1, 5)))),
       message(3, "chat", "m2")});
  Outbox out;
  state.apply(entry, out);
  ASSERT_EQ(out.deliveries.size(), 2u);
  EXPECT_EQ(out.deliveries[1].gseq, 2u);  // the record took no position
  ASSERT_EQ(out.views.size(), 1u);
  EXPECT_EQ(out.views[0].before_delivery, 1u);
  EXPECT_EQ(out.views[0].view.gseq, 1u);
  // The views are in the snapshot image.
  NodeState copy(make_origin_id(3, 1));
  ASSERT_TRUE(copy.restore(*state.snapshot()).ok());
  EXPECT_EQ(copy.views(), state.views());
}

TEST(ViewKeeperTest, AsksForWhatTheAgreedViewsLackAndRepeatsOnlyAfterTheInterval) {
  const OriginId self = make_origin_id(1, 2);
  ViewKeeper keeper(1, self, 100);
  const SenderId s = make_sender_id(1, 2, 1);
  keeper.opened(s);
  keeper.joined(s, "chat", "me");
  EXPECT_TRUE(keeper.dirty());
  GroupViews agreed;
  auto due = keeper.due(agreed, std::nullopt, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0], join("chat", GroupMember{s, 1, "me"}));
  EXPECT_TRUE(keeper.due(agreed, std::nullopt, 50).empty());  // still on its way
  EXPECT_EQ(keeper.due(agreed, std::nullopt, 110).size(), 1u);

  std::vector<ViewChange> views;
  agreed.apply(due[0], 0, views);
  // A member of an older incarnation of this daemon: node up drops it.
  agreed.apply(join("chat", member(1, 1, 1)), 0, views);
  keeper.closed(s);
  due = keeper.due(agreed, std::nullopt, 200);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].kind, GroupRecord::Kind::kDisconnect);
  EXPECT_EQ(due[0].member.sender, s);
  EXPECT_EQ(due[1], node_record(GroupRecord::Kind::kNodeUp, 1, self));
}

TEST(ViewKeeperTest, TheLeaderTakesExcludedDaemonsDownAndReturningOnesUp) {
  ViewKeeper keeper(1, make_origin_id(1, 1), 100);
  GroupViews agreed;
  std::vector<ViewChange> views;
  agreed.apply(join("chat", member(3, 1, 1)), 0, views);
  DaemonReachability daemons;
  daemons.configured = {1, 2, 3};
  daemons.reachable = {{2, make_origin_id(2, 1)}};
  auto due = keeper.due(agreed, daemons, 0);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0], node_record(GroupRecord::Kind::kNodeDown, 3));
  agreed.apply(due[0], 0, views);
  daemons.reachable[3] = make_origin_id(3, 1);
  due = keeper.due(agreed, daemons, 1);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0], node_record(GroupRecord::Kind::kNodeUp, 3, make_origin_id(3, 1)));
  // A daemon removed from the configuration, still hosting members: down.
  agreed.apply(due[0], 0, views);
  daemons.configured = {1, 2};
  due = keeper.due(agreed, daemons, 2);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0], node_record(GroupRecord::Kind::kNodeDown, 3));
}

}  // namespace
}  // namespace bcast
