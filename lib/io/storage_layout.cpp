#include "io/storage_layout.hpp"

#include <cstdint>
#include <cstdio>

namespace bcast::io {
namespace {

constexpr std::size_t kIndexDigits = 20;  // enough for any 64-bit index

std::string with_index(std::string_view prefix, LogIndex index, std::string_view suffix) {
  char digits[kIndexDigits + 1];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(index));
  std::string name(prefix);
  name += digits;
  name += suffix;
  return name;
}

std::optional<LogIndex> parse_index(std::string_view name, std::string_view prefix,
                                    std::string_view suffix) {
  if (name.size() != prefix.size() + kIndexDigits + suffix.size()) return std::nullopt;
  if (!name.starts_with(prefix) || !name.ends_with(suffix)) return std::nullopt;
  const std::string_view digits = name.substr(prefix.size(), kIndexDigits);
  LogIndex index = 0;
  for (const char digit : digits) {
    if (digit < '0' || digit > '9') return std::nullopt;
    const auto value = static_cast<LogIndex>(digit - '0');
    if (index > (UINT64_MAX - value) / 10) return std::nullopt;  // not a name we wrote
    index = index * 10 + value;
  }
  return index;
}

}  // namespace

std::string segment_file_name(LogIndex first_index) {
  return with_index("log-", first_index, ".seg");
}

std::optional<LogIndex> parse_segment_file_name(std::string_view name) {
  return parse_index(name, "log-", ".seg");
}

std::string snapshot_file_name(LogIndex index) { return with_index("snapshot-", index, ".snap"); }

std::optional<LogIndex> parse_snapshot_file_name(std::string_view name) {
  return parse_index(name, "snapshot-", ".snap");
}

bool is_temp_file_name(std::string_view name) {
  if (!name.ends_with(kTempFileSuffix)) return false;
  const std::string_view target = name.substr(0, name.size() - kTempFileSuffix.size());
  return target == kHardStateFileName || parse_snapshot_file_name(target).has_value() ||
         parse_segment_file_name(target).has_value();
}

}  // namespace bcast::io
