#include "io/log.hpp"

#include <spdlog/formatter.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>

namespace bcast::log {
namespace {

// The options every formatter reads; replaced as a whole by configure().
struct State {
  std::atomic<Level> level{Level::kInfo};
  std::mutex mutex;  // guards logger replacement against concurrent writes
  std::shared_ptr<spdlog::logger> logger;
};

State& state() {
  static State s;
  return s;
}

// 2024-05-01T12:00:00.123456Z
std::string utc_time(std::chrono::system_clock::time_point time) {
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(since_epoch - seconds).count();
  const std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

Level from_spdlog(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return Level::kDebug;
    case spdlog::level::info:
      return Level::kInfo;
    case spdlog::level::warn:
      return Level::kWarn;
    default:
      return Level::kError;
  }
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
    case Level::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

// Our own line layout for both formats, so the two carry the same fields and the same time.
class LineFormatter final : public spdlog::formatter {
 public:
  LineFormatter(Format format, std::uint64_t node_id, std::string program)
      : format_(format), node_id_(node_id), program_(std::move(program)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string time = utc_time(msg.time);
    const Level level = from_spdlog(msg.level);
    const std::string_view text(msg.payload.data(), msg.payload.size());
    std::string line;
    if (format_ == Format::kJson) {
      line = json_line(time, level, node_id_, text);
    } else if (node_id_ != 0) {
      line = fmt::format("{} {} {}[{}]: {}", time, level_name(level), program_, node_id_, text);
    } else {
      line = fmt::format("{} {} {}: {}", time, level_name(level), program_, text);
    }
    line.push_back('\n');
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(format_, node_id_, program_);
  }

 private:
  Format format_;
  std::uint64_t node_id_;
  std::string program_;
};

std::shared_ptr<spdlog::logger> make_logger(const Options& options) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(options.program, std::move(sink));
  logger->set_formatter(
      std::make_unique<LineFormatter>(options.format, options.node_id, options.program));
  logger->set_level(to_spdlog(options.level));
  // Lines must reach a log file or the journal before a crash, not sit in a buffer.
  logger->flush_on(spdlog::level::trace);
  return logger;
}

std::shared_ptr<spdlog::logger> current_logger() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (!s.logger) s.logger = make_logger(Options{});
  return s.logger;
}

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out.push_back(c);  // UTF-8 passes through; invalid bytes are the message's own
        }
    }
  }
  out.push_back('"');
}

}  // namespace

void configure(const Options& options) {
  State& s = state();
  auto logger = make_logger(options);
  std::lock_guard lock(s.mutex);
  s.logger = std::move(logger);
  s.level.store(options.level);
}

std::optional<Level> parse_level(std::string_view name) {
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn" || name == "warning") return Level::kWarn;
  if (name == "error") return Level::kError;
  if (name == "off") return Level::kOff;
  return std::nullopt;
}

std::optional<Format> parse_format(std::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  return std::nullopt;
}

const char* level_name(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kOff:
      return "off";
  }
  return "info";
}

bool enabled(Level level) {
  return level != Level::kOff && level >= state().level.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view message) {
  if (!enabled(level)) return;
  current_logger()->log(to_spdlog(level), spdlog::string_view_t(message.data(), message.size()));
}

std::string json_line(std::string_view time, Level level, std::uint64_t node_id,
                      std::string_view message) {
  std::string line = "{\"time\":";
  append_json_string(line, time);
  line += ",\"level\":";
  append_json_string(line, level_name(level));
  if (node_id != 0) line += fmt::format(",\"node\":{}", node_id);
  line += ",\"msg\":";
  append_json_string(line, message);
  line.push_back('}');
  return line;
}

}  // namespace bcast::log
