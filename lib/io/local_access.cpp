#include "io/local_access.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace bcast::io {
namespace {

Error io_error(const std::string& what, int error) {
  return make_error(ErrorCode::kIo, what + ": " + std::strerror(error));
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// 0 if something accepts connections on the socket at `path`, else connect(2)'s errno.
int connect_errno(const std::string& path) {
  sockaddr_un address{};
  if (path.size() >= sizeof address.sun_path) return ENAMETOOLONG;
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int rc = 0;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  } while (rc != 0 && errno == EINTR);
  const int error = rc == 0 ? 0 : errno;
  ::close(fd);
  return error;
}

template <typename Id>
std::optional<Id> parse_number(const std::string& text) {
  unsigned long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return static_cast<Id>(value);
}

}  // namespace

Result<void> prepare_socket_path(const std::string& path) {
  const std::string dir = parent_dir(path);
  struct stat dir_info {};
  if (::stat(dir.c_str(), &dir_info) != 0) {
    return io_error("--client-socket " + path + ": its directory " + dir, errno);
  }
  if ((dir_info.st_mode & S_IWOTH) != 0 && (dir_info.st_mode & S_ISVTX) == 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--client-socket " + path + ": " + dir +
                          " is writable by every user and not sticky, so anyone could replace "
                          "the socket; choose another directory");
  }
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return {};
    return io_error("--client-socket " + path, errno);
  }
  if (!S_ISSOCK(info.st_mode)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--client-socket " + path +
                          " exists and is not a socket; not removing it (is the path right?)");
  }
  const int error = connect_errno(path);
  if (error == 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--client-socket " + path +
                          ": another bcastd is serving on it; stop it first or choose another "
                          "path");
  }
  if (error != ECONNREFUSED) {
    return io_error("--client-socket " + path + ": cannot tell whether it is in use", error);
  }
  // Stale: left behind by a daemon that died.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return io_error("--client-socket " + path + ": cannot remove the stale socket", errno);
  }
  return {};
}

Result<void> with_private_umask(const std::function<Result<void>()>& bind) {
  const mode_t previous = ::umask(0177);
  auto result = bind();
  ::umask(previous);
  return result;
}

Result<void> secure_socket_file(const std::string& path, const LocalAccessOptions& options) {
  if (options.socket_group &&
      ::chown(path.c_str(), static_cast<uid_t>(-1), *options.socket_group) != 0) {
    return io_error("--client-socket-group: cannot give " + path + " group " +
                        std::to_string(*options.socket_group),
                    errno);
  }
  if (::chmod(path.c_str(), static_cast<mode_t>(options.socket_mode)) != 0) {
    return io_error("--client-socket-mode: cannot change the mode of " + path, errno);
  }
  return {};
}

std::optional<PeerCredentials> peer_credentials(int fd) {
  if (fd < 0) return std::nullopt;
  ucred credentials{};
  socklen_t size = sizeof credentials;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) != 0) return std::nullopt;
  return PeerCredentials{credentials.pid, credentials.uid, credentials.gid};
}

std::optional<std::string> refuse_credentials(const LocalAccessOptions& options,
                                              const std::optional<PeerCredentials>& credentials) {
  if (options.allowed_uids.empty() && options.allowed_gids.empty()) return std::nullopt;
  if (!credentials) {
    return "permission denied: the client's credentials could not be read, and this bcastd "
           "admits only the users and groups it lists";
  }
  const auto& uids = options.allowed_uids;
  const auto& gids = options.allowed_gids;
  if (std::find(uids.begin(), uids.end(), credentials->uid) != uids.end()) return std::nullopt;
  if (std::find(gids.begin(), gids.end(), credentials->gid) != gids.end()) return std::nullopt;
  return "permission denied: uid " + std::to_string(credentials->uid) + " (gid " +
         std::to_string(credentials->gid) +
         ") is not allowed by this bcastd's --client-allow-uid / --client-allow-gid";
}

Result<uid_t> parse_user(const std::string& text) {
  if (auto number = parse_number<uid_t>(text)) return *number;
  if (const passwd* user = ::getpwnam(text.c_str())) return user->pw_uid;
  return make_error(ErrorCode::kInvalidArgument, "no user '" + text + "'");
}

Result<gid_t> parse_group(const std::string& text) {
  if (auto number = parse_number<gid_t>(text)) return *number;
  if (const group* found = ::getgrnam(text.c_str())) return found->gr_gid;
  return make_error(ErrorCode::kInvalidArgument, "no group '" + text + "'");
}

}  // namespace bcast::io
