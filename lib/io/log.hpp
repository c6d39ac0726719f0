// The one logging API of the daemon and its libraries: levelled, timestamped lines on stderr,
// written through spdlog.
//
//   log::configure({.level = log::Level::kInfo, .format = log::Format::kJson, .node_id = 3});
//   log::info("leader of term {}", term);          // fmt syntax: {} placeholders
//   log::warn("peer {} unreachable", peer);
//
// Two formats (bcastd --log-format):
//   text (default)  2024-05-01T12:00:00.123456Z info bcastd[3]: leader of term 7
//   json            {"time":"2024-05-01T12:00:00.123456Z","level":"info","node":3,
//                    "msg":"leader of term 7"}        (one object per line, msg escaped)
// Times are UTC. Lines below the configured level cost one comparison: the message is not
// formatted. Safe to call from any thread; before configure() the defaults apply (info, text,
// node 0).
//
// What never goes into a log: message payloads, secret keys or any other secret material (a key
// file's path is fine, its content is not), client request contents beyond their group, mode and
// order. Logs are shipped to places with weaker access control than the data.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace bcast::log {

enum class Level : std::uint8_t { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };
enum class Format : std::uint8_t { kText, kJson };

struct Options {
  Level level = Level::kInfo;
  Format format = Format::kText;
  std::uint64_t node_id = 0;  // shown in every line; 0 for tools that are not a daemon
  std::string program = "bcastd";
};

// Replaces the options in force. Not meant to race with logging (call it at start).
void configure(const Options& options);

// "debug", "info", "warn", "error", "off" (and "warning" for warn); nullopt for anything else.
std::optional<Level> parse_level(std::string_view name);
std::optional<Format> parse_format(std::string_view name);  // "text", "json"
const char* level_name(Level level);

bool enabled(Level level);
// Writes one line (already formatted). Prefer the functions below.
void write(Level level, std::string_view message);

// Formats `message` as one JSON log line (without the newline), exactly as the json format
// writes it; exposed for tests.
std::string json_line(std::string_view time, Level level, std::uint64_t node_id,
                      std::string_view message);

template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::kDebug))
    write(Level::kDebug, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::kInfo)) write(Level::kInfo, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::kWarn)) write(Level::kWarn, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::kError))
    write(Level::kError, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace bcast::log
