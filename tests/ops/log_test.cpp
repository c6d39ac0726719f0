// The logging facade: levels filter, names parse, and the JSON format is one valid object per
// line whatever the message holds.
#include "io/log.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace bcast::log {
namespace {

TEST(Log, LevelsParseAndFilter) {
  EXPECT_EQ(parse_level("debug"), Level::kDebug);
  EXPECT_EQ(parse_level("warning"), Level::kWarn);
  EXPECT_EQ(parse_level("loud"), std::nullopt);
  EXPECT_EQ(parse_format("json"), Format::kJson);
  EXPECT_EQ(parse_format("xml"), std::nullopt);
  configure({.level = Level::kWarn});
  EXPECT_FALSE(enabled(Level::kInfo));
  EXPECT_TRUE(enabled(Level::kWarn));
  EXPECT_TRUE(enabled(Level::kError));
  configure({.level = Level::kOff});
  EXPECT_FALSE(enabled(Level::kError));
  configure({});
  EXPECT_TRUE(enabled(Level::kInfo));
  EXPECT_FALSE(enabled(Level::kDebug));
}

TEST(Log, JsonLineIsOneValidObjectWithEscapedMessage) {
  const std::string message = "quote \" backslash \\ newline \n tab \t bell \x07 é";
  const std::string line = json_line("2024-05-01T12:00:00.000001Z", Level::kWarn, 3, message);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["msg"], message);
  EXPECT_EQ(parsed["level"], "warn");
  EXPECT_EQ(parsed["node"], 3);
  EXPECT_EQ(parsed["time"], "2024-05-01T12:00:00.000001Z");
}

TEST(Log, JsonLineLeavesOutNodeZero) {
  const auto parsed = nlohmann::json::parse(json_line("t", Level::kInfo, 0, "m"));
  EXPECT_FALSE(parsed.contains("node"));
}

}  // namespace
}  // namespace bcast::log
