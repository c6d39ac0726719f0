// Per-group publish/subscribe permissions (io/group_permissions.hpp): parsing the rules, and which
// client each lets publish to or join which group.
#include "io/group_permissions.hpp"

#include <gtest/gtest.h>

namespace bcast::io {
namespace {

GroupPermission rule(const std::string& text) {
  auto parsed = parse_group_permission(text);
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  return parsed.ok() ? parsed.value() : GroupPermission{};
}

PeerCredentials user(uid_t uid, gid_t gid) { return PeerCredentials{1, uid, gid}; }

TEST(GroupPermissions, ParsesPatternActionAndPrincipals) {
  const GroupPermission r = rule("orders.*:publish:uid=1000,gid=50,uid=0");
  EXPECT_EQ(r.pattern, "orders.*");
  EXPECT_TRUE(r.publish);
  EXPECT_FALSE(r.subscribe);
  EXPECT_EQ(r.uids, (std::vector<uid_t>{1000, 0}));
  EXPECT_EQ(r.gids, (std::vector<gid_t>{50}));
  EXPECT_TRUE(rule("a:b:all:uid=root").subscribe);  // a group name may hold ':'
  EXPECT_EQ(rule("a:b:all:uid=root").pattern, "a:b");
}

TEST(GroupPermissions, RefusesMalformedRulesWithTheReason) {
  for (const char* bad : {"orders", "orders:publish", ":publish:uid=1", "orders:read:uid=1",
                          "orders:publish:", "orders:publish:user=1", "ord*ers:publish:uid=1",
                          "orders:publish:uid=no-such-user-here"}) {
    auto parsed = parse_group_permission(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message.find("group-permission '"), std::string::npos) << bad;
  }
}

TEST(GroupPermissions, PatternsAreNamesOrPrefixes) {
  EXPECT_TRUE(group_pattern_matches("orders", "orders"));
  EXPECT_FALSE(group_pattern_matches("orders", "orders.eu"));
  EXPECT_TRUE(group_pattern_matches("orders.*", "orders.eu"));
  EXPECT_TRUE(group_pattern_matches("orders.*", "orders."));
  EXPECT_FALSE(group_pattern_matches("orders.*", "orders"));
  EXPECT_FALSE(group_pattern_matches("orders.*", "ordersX"));
  EXPECT_TRUE(group_pattern_matches("*", "anything"));
}

TEST(GroupPermissions, OnlyListedUsersMayDoACoveredActionAndNothingElseChanges) {
  const std::vector<GroupPermission> rules = {rule("orders.*:publish:uid=1000,gid=50"),
                                              rule("audit:subscribe:uid=0")};
  const auto publish = [&](const std::string& group, const PeerCredentials& who) {
    return refuse_group_action(rules, group, GroupAction::kPublish, who);
  };
  const auto join = [&](const std::string& group, const PeerCredentials& who) {
    return refuse_group_action(rules, group, GroupAction::kSubscribe, who);
  };
  EXPECT_FALSE(publish("orders.eu", user(1000, 1000)));  // listed uid
  EXPECT_FALSE(publish("orders.eu", user(2000, 50)));    // listed primary gid
  const auto denied = publish("orders.eu", user(2000, 2000));
  ASSERT_TRUE(denied);
  EXPECT_EQ(*denied, "permission denied: uid 2000 (gid 2000) may not publish to group 'orders.eu'");
  EXPECT_FALSE(join("orders.eu", user(2000, 2000)));  // joining orders.* is not restricted
  EXPECT_FALSE(publish("chat", user(2000, 2000)));    // no rule covers chat
  EXPECT_TRUE(join("audit", user(1000, 1000)));
  EXPECT_FALSE(join("audit", user(0, 0)));
  EXPECT_FALSE(publish("audit", user(1000, 1000)));
  // Unknown credentials pass only where no rule applies.
  EXPECT_TRUE(refuse_group_action(rules, "audit", GroupAction::kSubscribe, std::nullopt));
  EXPECT_FALSE(refuse_group_action(rules, "chat", GroupAction::kSubscribe, std::nullopt));
}

TEST(GroupPermissions, RulesForOneGroupAddUp) {
  const std::vector<GroupPermission> rules = {rule("orders.*:all:uid=1000"),
                                              rule("orders.eu:publish:uid=2000")};
  EXPECT_FALSE(refuse_group_action(rules, "orders.eu", GroupAction::kPublish, user(2000, 1)));
  EXPECT_FALSE(refuse_group_action(rules, "orders.eu", GroupAction::kPublish, user(1000, 1)));
  EXPECT_TRUE(refuse_group_action(rules, "orders.us", GroupAction::kPublish, user(2000, 1)));
}

}  // namespace
}  // namespace bcast::io
