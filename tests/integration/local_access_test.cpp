// [security] findings on local access (83aa5b9): the client socket took the daemon's umask
// (under umask 000 any user published), the data files were 0644 (any user read the payloads in
// the log), a second daemon given the same --client-socket unlinked the first one's socket,
// --client-socket naming a regular file deleted it, and a permission error was reported by
// bcastctl as "no bcastd answered". Each is a test here, against real daemons.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "integration_test.hpp"

namespace bcast::integration {
namespace {

namespace fs = std::filesystem;

unsigned mode_of(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) fail("stat " + path + ": " + std::strerror(errno));
  return info.st_mode & 07777;
}

// Restores the test process's umask when it goes.
class UmaskGuard {
 public:
  explicit UmaskGuard(mode_t mask) : previous_(::umask(mask)) {}
  ~UmaskGuard() { ::umask(previous_); }

 private:
  mode_t previous_;
};

class LocalAccess : public IntegrationTest {
 protected:
  CommandResult ctl(const std::string& socket, std::vector<std::string> args,
                    const SpawnOptions& options = {}) {
    std::vector<std::string> argv = {bcastctl_path(), "--socket", socket, "--timeout", "3000"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, 10s, options);
  }
  // One bcastd serving on `socket` (data in `data_dir`), started with the test's umask; returns
  // once its socket file exists.
  std::unique_ptr<Process> start_daemon(const std::string& socket, const std::string& data_dir,
                                        std::vector<std::string> extra = {}) {
    const int port = pick_base_port(1) + 1;
    std::vector<std::string> argv = {bcastd_path(),
                                     "--node-id",
                                     "1",
                                     "--listen",
                                     "tcp://127.0.0.1:" + std::to_string(port),
                                     "--data-dir",
                                     data_dir,
                                     "--client-socket",
                                     socket};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto daemon = std::make_unique<Process>(argv, SpawnOptions{.stderr_path = path("bcastd.log")});
    const bool up = pump_until({}, Clock::now() + 10s, [&] { return fs::is_socket(socket); });
    if (!up || !daemon->running()) fail("bcastd did not start:\n" + read_file(path("bcastd.log")));
    return daemon;
  }
  // A second daemon (its own port and data directory) given `socket`: it must not start.
  CommandResult start_second_daemon(const std::string& socket) {
    const int port = pick_base_port(1) + 1;
    return run_command(
        {bcastd_path(), "--node-id", "1", "--listen", "tcp://127.0.0.1:" + std::to_string(port),
         "--data-dir", path("second-data"), "--client-socket", socket},
        10s);
  }
};

TEST_F(LocalAccess, DataDirectoryIsPrivateAndItsFilesTooUnderAnOpenUmask) {
  UmaskGuard open_umask(0);
  const std::string data = path("data");
  // A directory left open by an earlier version (or an operator) is closed at start.
  ASSERT_TRUE(fs::create_directory(data));
  ASSERT_EQ(::chmod(data.c_str(), 0777), 0);
  auto daemon = start_daemon(path("bcastd.sock"), data);
  ASSERT_EQ(ctl(path("bcastd.sock"), {"pub", "g", "--order", "total", "secret payload"}).status, 0);
  EXPECT_EQ(mode_of(data), 0700u);
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(data)) {
    const unsigned mode = mode_of(entry.path().string());
    if (entry.is_directory()) {
      EXPECT_EQ(mode & 077, 0u) << entry.path() << " mode " << std::oct << mode;
    } else {
      ++files;
      EXPECT_EQ(mode, 0600u) << entry.path() << " mode " << std::oct << mode;
    }
  }
  EXPECT_GT(files, 1);
}

TEST_F(LocalAccess, ClientSocketModeIsTheConfiguredOneWhateverTheUmask) {
  UmaskGuard open_umask(0);
  auto daemon = start_daemon(path("a.sock"), path("a"));
  EXPECT_EQ(mode_of(path("a.sock")), 0660u);
  auto owner_only = start_daemon(path("b.sock"), path("b"), {"--client-socket-mode", "0600"});
  EXPECT_EQ(mode_of(path("b.sock")), 0600u);
  EXPECT_EQ(ctl(path("b.sock"), {"status"}).status, 0);
}

TEST_F(LocalAccess, ASocketInADirectoryAnyoneMayWriteIsRefused) {
  const std::string open_dir = path("open");
  ASSERT_TRUE(fs::create_directory(open_dir));
  ASSERT_EQ(::chmod(open_dir.c_str(), 0777), 0);
  auto refused = start_second_daemon(open_dir + "/bcastd.sock");
  EXPECT_NE(refused.status, 0) << refused.output;
  EXPECT_NE(refused.output.find("writable by every user and not sticky"), std::string::npos)
      << refused.output;
}

TEST_F(LocalAccess, ASecondDaemonDoesNotTakeOverALiveDaemonsSocket) {
  LocalCluster cluster(path("c"), 1);
  auto second = start_second_daemon(cluster.socket(1));
  EXPECT_NE(second.status, 0) << second.output;
  EXPECT_NE(second.output.find("another bcastd is serving on it"), std::string::npos)
      << second.output;
  // The first daemon still serves on its socket.
  auto status = ctl(cluster.socket(1), {"status", "--json"});
  ASSERT_EQ(status.status, 0) << status.output;
  EXPECT_EQ(nlohmann::json::parse(status.output).at("node_id"), 1);
  EXPECT_FALSE(fs::exists(path("second-data"))) << "the refused daemon wrote a data directory";
}

TEST_F(LocalAccess, ARegularFileAtTheSocketPathIsNeitherDeletedNorUsed) {
  const std::string file = path("precious.txt");
  std::ofstream(file) << "keep me\n";
  auto second = start_second_daemon(file);
  EXPECT_NE(second.status, 0) << second.output;
  EXPECT_NE(second.output.find("exists and is not a socket; not removing it"), std::string::npos)
      << second.output;
  EXPECT_EQ(read_file(file), "keep me\n");
}

TEST_F(LocalAccess, AStaleSocketOfADeadDaemonIsReplaced) {
  // A socket file nothing accepts on, as a killed daemon leaves behind.
  const std::string socket = path("stale.sock");
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  ::close(fd);
  ASSERT_TRUE(fs::is_socket(socket));
  const int port = pick_base_port(1) + 1;
  Process daemon(
      {bcastd_path(), "--node-id", "1", "--listen", "tcp://127.0.0.1:" + std::to_string(port),
       "--data-dir", path("data"), "--client-socket", socket},
      SpawnOptions{.stderr_path = path("bcastd.log")});
  wait_status(
      socket, [](const nlohmann::json& s) { return s.contains("node_id"); }, 10s,
      "the daemon serving on the formerly stale socket");
}

TEST_F(LocalAccess, AUserOutsideTheAllowListIsToldPermissionDenied) {
  // The tests run as root: an allow-list without root keeps bcastctl out.
  auto daemon = start_daemon(path("a.sock"), path("a"),
                             {"--client-allow-uid", "65534", "--client-allow-gid", "65534"});
  auto refused = ctl(path("a.sock"), {"status"});
  EXPECT_NE(refused.status, 0) << refused.output;
  EXPECT_NE(refused.output.find("permission denied"), std::string::npos) << refused.output;
  EXPECT_EQ(refused.output.find("no bcastd answered"), std::string::npos) << refused.output;
  // Listed, it is served.
  auto listed = start_daemon(path("b.sock"), path("b"),
                             {"--client-allow-uid", "65534", "--client-allow-uid", "root"});
  auto served = ctl(path("b.sock"), {"status"});
  EXPECT_EQ(served.status, 0) << served.output;
}

TEST_F(LocalAccess, AnotherUserIsKeptOutByTheSocketMode) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run bcastctl as another user";
  LocalCluster cluster(path("c"), 1);
  // Let the other user reach the socket file, so that only its mode (0660, root's group) stops it.
  for (const std::string& dir : {dir_.path(), cluster.dir(), cluster.dir() + "/n1"}) {
    ASSERT_EQ(::chmod(dir.c_str(), 0755), 0) << dir;
  }
  SpawnOptions nobody;
  nobody.uid = 65534;
  nobody.gid = 65534;
  auto refused = ctl(cluster.socket(1), {"status"}, nobody);
  EXPECT_NE(refused.status, 0) << refused.output;
  EXPECT_NE(refused.output.find("permission denied"), std::string::npos) << refused.output;
  // The same user, once the mode lets everyone in, is served: the refusal was the mode's.
  ASSERT_EQ(::chmod(cluster.socket(1).c_str(), 0666), 0);
  auto served = ctl(cluster.socket(1), {"status"}, nobody);
  EXPECT_EQ(served.status, 0) << served.output;
}

// [security] issue item 3, per-group permissions: with rules for orders.* (publish and join: root
// only) and audit (join: root only), user nobody is told "permission denied" when it publishes to
// or joins those, and is served as before everywhere else; root is served everywhere.
TEST_F(LocalAccess, GroupPermissionsRefuseOnlyTheUnlistedUserOnlyTheCoveredActions) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run bcastctl as another user";
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  const std::string socket = path("g.sock");
  auto daemon =
      start_daemon(socket, path("g"),
                   {"--client-socket-mode", "0666", "--group-permission", "orders.*:all:uid=root",
                    "--group-permission", "audit:subscribe:uid=0"});
  SpawnOptions nobody;
  nobody.uid = 65534;
  nobody.gid = 65534;
  const auto refused = [&](const CommandResult& result, const std::string& what) {
    EXPECT_NE(result.status, 0) << what << ": " << result.output;
    EXPECT_NE(result.output.find("permission denied: uid 65534 (gid 65534) may not " + what),
              std::string::npos)
        << result.output;
    EXPECT_NE(result.output.find("permission_denied"), std::string::npos) << result.output;
  };
  refused(ctl(socket, {"pub", "orders.eu", "forbidden"}, nobody), "publish to group 'orders.eu'");
  refused(ctl(socket, {"sub", "orders.eu", "--count", "1"}, nobody), "join group 'orders.eu'");
  refused(ctl(socket, {"sub", "audit", "--count", "1"}, nobody), "join group 'audit'");
  // Nothing else is affected: other groups, publishing to audit, status.
  EXPECT_EQ(ctl(socket, {"pub", "chat", "hello"}, nobody).status, 0);
  EXPECT_EQ(ctl(socket, {"pub", "audit", "event"}, nobody).status, 0);
  EXPECT_EQ(ctl(socket, {"status"}, nobody).status, 0);

  // Root, listed, joins orders.eu and receives what it publishes there; nobody's refused publish
  // never reached it.
  Subscriber sub("sub@root", socket, "orders.eu", path("sub.err"));
  wait_joined({&sub}, nullptr);
  auto pub = ctl(socket, {"pub", "orders.eu", "allowed"});
  ASSERT_EQ(pub.status, 0) << pub.output;
  ASSERT_TRUE(pump_until(
      {&sub.process()}, Clock::now() + 10s, [&] { return !sub.deliveries().empty(); },
      [&] { sub.consume(); }))
      << sub.stderr_text() << read_file(path("bcastd.log"));
  EXPECT_EQ(sub.deliveries().front().payload, "allowed");
  EXPECT_NE(read_file(path("bcastd.log")).find("may not publish to group 'orders.eu'"),
            std::string::npos);
}

}  // namespace
}  // namespace bcast::integration
