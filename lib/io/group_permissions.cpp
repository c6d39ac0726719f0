#include "io/group_permissions.hpp"

#include <algorithm>

namespace bcast::io {
namespace {

Error bad_rule(const std::string& text, const std::string& why) {
  return Error{ErrorCode::kInvalidArgument,
               "group-permission '" + text + "': " + why +
                   " (expected GROUP_PATTERN:publish|subscribe|all:uid=USER,gid=GROUP,...)"};
}

bool covers(const GroupPermission& rule, GroupAction action) {
  return action == GroupAction::kPublish ? rule.publish : rule.subscribe;
}

bool lists(const GroupPermission& rule, const PeerCredentials& credentials) {
  return std::find(rule.uids.begin(), rule.uids.end(), credentials.uid) != rule.uids.end() ||
         std::find(rule.gids.begin(), rule.gids.end(), credentials.gid) != rule.gids.end();
}

}  // namespace

Result<GroupPermission> parse_group_permission(const std::string& text) {
  // Split at the last two colons: a group name may hold ':', the action and principals do not.
  const auto second = text.rfind(':');
  if (second == std::string::npos || second == 0) return bad_rule(text, "missing fields");
  const auto first = text.rfind(':', second - 1);
  if (first == std::string::npos) return bad_rule(text, "missing fields");
  GroupPermission rule;
  rule.pattern = text.substr(0, first);
  const std::string action = text.substr(first + 1, second - first - 1);
  const std::string principals = text.substr(second + 1);
  if (rule.pattern.empty()) return bad_rule(text, "empty group pattern");
  if (const auto star = rule.pattern.find('*');
      star != std::string::npos && star != rule.pattern.size() - 1) {
    return bad_rule(text, "'*' may only end the pattern (a prefix match)");
  }
  rule.publish = action == "publish" || action == "all";
  rule.subscribe = action == "subscribe" || action == "all";
  if (!rule.publish && !rule.subscribe) {
    return bad_rule(text, "the action must be publish, subscribe or all, not '" + action + "'");
  }
  std::size_t start = 0;
  while (start <= principals.size()) {
    const auto comma = principals.find(',', start);
    const std::string item =
        principals.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? principals.size() + 1 : comma + 1;
    if (item.rfind("uid=", 0) == 0) {
      auto uid = parse_user(item.substr(4));
      if (!uid) return bad_rule(text, uid.error().message);
      rule.uids.push_back(uid.value());
    } else if (item.rfind("gid=", 0) == 0) {
      auto gid = parse_group(item.substr(4));
      if (!gid) return bad_rule(text, gid.error().message);
      rule.gids.push_back(gid.value());
    } else {
      return bad_rule(text, "'" + item + "' is neither uid=USER nor gid=GROUP");
    }
  }
  return rule;
}

bool group_pattern_matches(const std::string& pattern, const std::string& group) {
  if (!pattern.empty() && pattern.back() == '*') {
    return group.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  }
  return pattern == group;
}

std::optional<std::string> refuse_group_action(const std::vector<GroupPermission>& rules,
                                               const std::string& group, GroupAction action,
                                               const std::optional<PeerCredentials>& credentials) {
  bool restricted = false;
  for (const GroupPermission& rule : rules) {
    if (!covers(rule, action) || !group_pattern_matches(rule.pattern, group)) continue;
    restricted = true;
    if (credentials && lists(rule, *credentials)) return std::nullopt;
  }
  if (!restricted) return std::nullopt;
  const std::string verb = action == GroupAction::kPublish ? "publish to" : "join";
  if (!credentials) {
    return "permission denied: cannot " + verb + " group '" + group +
           "' (the client's credentials are unknown)";
  }
  return "permission denied: uid " + std::to_string(credentials->uid) + " (gid " +
         std::to_string(credentials->gid) + ") may not " + verb + " group '" + group + "'";
}

}  // namespace bcast::io
