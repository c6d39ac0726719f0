// Who may use the local client socket (docs/security.md, "Local access").
//
// Two layers, both checked by the daemon:
// * the socket file: created with `mode` (default 0660) and `group`, whatever the umask, so only
//   the daemon's user and that group can connect(2) at all; its directory must not be writable by
//   everyone unless it is sticky (/tmp), or another user could replace the socket;
// * the connecting process: its uid and gid (SO_PEERCRED, read when it says hello) must be in
//   the allow-list when one is given. Only the primary gid is known this way.
//
// And the path: the daemon removes a socket file only when it is stale (nothing accepts on it).
// A live daemon's socket, a regular file or anything else at the path is left alone and the
// daemon refuses to start, saying why.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bcast/result.hpp"

namespace bcast::io {

struct LocalAccessOptions {
  std::uint32_t socket_mode = 0660;
  std::optional<gid_t> socket_group;  // nullopt: the daemon's own group
  // Empty (both): any process that can open the socket file. Otherwise a uid or gid listed here.
  std::vector<uid_t> allowed_uids;
  std::vector<gid_t> allowed_gids;
};

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Makes `path` free for binding: nothing there, or a stale socket (removed). Refuses a socket
// some process accepts on, anything that is not a socket, and a directory anyone may replace
// files in.
Result<void> prepare_socket_path(const std::string& path);
// Gives the bound socket file its mode and group.
Result<void> secure_socket_file(const std::string& path, const LocalAccessOptions& options);
// Runs `bind` with a umask that lets no one but the owner in, so the socket file is never more
// open than intended between bind and secure_socket_file.
Result<void> with_private_umask(const std::function<Result<void>()>& bind);

// The process at the other end of a unix socket connection.
std::optional<PeerCredentials> peer_credentials(int fd);
// nullopt if `credentials` may connect; otherwise the reason, starting with "permission denied".
std::optional<std::string> refuse_credentials(const LocalAccessOptions& options,
                                              const std::optional<PeerCredentials>& credentials);

// "alice" or "1000" -> uid; "staff" or "50" -> gid.
Result<uid_t> parse_user(const std::string& text);
Result<gid_t> parse_group(const std::string& text);

}  // namespace bcast::io
