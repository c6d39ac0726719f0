// bcastd's operations options: --http (loopback unless allowed), --log-level, --log-format,
// --verbose, and the same keys in the packaged config file (packaging/bcastd.conf).
#include <gtest/gtest.h>

#include "daemon/options.hpp"

namespace bcast::daemon {
namespace {

Result<ParsedCommandLine> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "--dev");
  return parse_command_line(args);
}

TEST(OpsOptions, HttpIsOffByDefaultAndLoopbackWhenOn) {
  auto off = parse({});
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_EQ(off.value().options.http, "");
  auto on = parse({"--http", "127.0.0.1:9464"});
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_EQ(on.value().options.http, "127.0.0.1:9464");
  EXPECT_FALSE(on.value().options.http_allow_remote);
  EXPECT_TRUE(parse({"--http", "[::1]:9464"}).ok());
}

TEST(OpsOptions, NonLoopbackHttpNeedsAllowRemote) {
  auto refused = parse({"--http", "0.0.0.0:9464"});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("--http-allow-remote"), std::string::npos);
  auto allowed = parse({"--http", "0.0.0.0:9464", "--http-allow-remote"});
  ASSERT_TRUE(allowed.ok()) << allowed.error().message;
  EXPECT_TRUE(allowed.value().options.http_allow_remote);
}

TEST(OpsOptions, MalformedHttpAddressesAreRefusedWithTheOptionNamed) {
  for (const char* bad : {"9464", "localhost:9464", "127.0.0.1:99999", "127.0.0.1:x"}) {
    auto parsed = parse({"--http", bad});
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().message.rfind("--http '", 0), 0u) << parsed.error().message;
  }
}

TEST(OpsOptions, LogLevelAndFormat) {
  auto defaults = parse({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults.value().log.level, log::Level::kInfo);
  EXPECT_EQ(defaults.value().log.format, log::Format::kText);
  EXPECT_EQ(defaults.value().log.node_id, 1u);
  auto json = parse({"--log-format", "json", "--log-level", "warn"});
  ASSERT_TRUE(json.ok()) << json.error().message;
  EXPECT_EQ(json.value().log.format, log::Format::kJson);
  EXPECT_EQ(json.value().log.level, log::Level::kWarn);
  auto verbose = parse({"--verbose"});
  ASSERT_TRUE(verbose.ok());
  EXPECT_EQ(verbose.value().log.level, log::Level::kDebug);
  // An explicit level wins over --verbose.
  auto both = parse({"--verbose", "--log-level", "error"});
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both.value().log.level, log::Level::kError);
  EXPECT_FALSE(parse({"--log-level", "loud"}).ok());
  EXPECT_FALSE(parse({"--log-format", "xml"}).ok());
}

TEST(OpsOptions, ThePackagedConfigFileParses) {
  auto parsed = parse_command_line({"--config", BCAST_PACKAGED_CONFIG});
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const io::DaemonOptions& o = parsed.value().options;
  EXPECT_EQ(o.node_id, 1u);
  EXPECT_EQ(o.data_dir, "/var/lib/bcastd");
  EXPECT_EQ(o.client_socket, "/run/bcastd/bcastd.sock");
  EXPECT_EQ(o.http, "127.0.0.1:9464");
  ASSERT_EQ(o.peers.size(), 1u);
  EXPECT_EQ(o.peers.at(1), "tcp://127.0.0.1:7400");
}

}  // namespace
}  // namespace bcast::daemon
