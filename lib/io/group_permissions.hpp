// Optional per-group publish and subscribe permissions for local clients (docs/security.md,
// "Group permissions").
//
// A rule names a group pattern, what it covers and who may do it:
//     group-permission = orders.*:publish:uid=alice,gid=traders
//     group-permission = audit:subscribe:uid=0
// * the pattern is a group name, or a prefix ending in '*' ("orders.*" matches "orders.eu";
//   "*" alone matches every group);
// * the action is `publish`, `subscribe` (joining the group) or `all` (both);
// * the principals are `uid=USER` and `gid=GROUP` items (names or numbers), comma-separated.
// A client may publish to (or join) a group when no rule covers that group and action, or when
// its uid or primary gid (SO_PEERCRED, read at its hello) is listed in any rule that does. Nothing
// else is restricted: status, cluster commands and leaving a group stay as they were.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "bcast/result.hpp"
#include "io/local_access.hpp"

namespace bcast::io {

enum class GroupAction : std::uint8_t { kPublish, kSubscribe };

struct GroupPermission {
  std::string pattern;
  bool publish = false;
  bool subscribe = false;
  std::vector<uid_t> uids;
  std::vector<gid_t> gids;
};

// "PATTERN:ACTION:PRINCIPALS" as above; a clear error for anything else.
Result<GroupPermission> parse_group_permission(const std::string& text);
// Whether `pattern` (a name, or a prefix ending in '*') covers `group`.
bool group_pattern_matches(const std::string& pattern, const std::string& group);
// nullopt if the client may do `action` on `group`; otherwise the reason, starting with
// "permission denied".
std::optional<std::string> refuse_group_action(const std::vector<GroupPermission>& rules,
                                               const std::string& group, GroupAction action,
                                               const std::optional<PeerCredentials>& credentials);

}  // namespace bcast::io
