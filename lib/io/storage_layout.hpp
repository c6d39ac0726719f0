// The names of the files in a storage directory.
//
//   log-<first index, 20 digits>.seg   a log segment
//   snapshot-<index, 20 digits>.snap   a snapshot
//   hardstate                          term, vote and commit
//   <any of these>.tmp                 a file being written before its atomic rename; one found
//                                      at startup is a leftover of a crash and is removed
//
// Fixed-width decimal indices make the lexical order of the names their index order.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "bcast/types.hpp"

namespace bcast::io {

inline constexpr std::string_view kHardStateFileName = "hardstate";
inline constexpr std::string_view kTempFileSuffix = ".tmp";

std::string segment_file_name(LogIndex first_index);
std::optional<LogIndex> parse_segment_file_name(std::string_view name);

std::string snapshot_file_name(LogIndex index);
std::optional<LogIndex> parse_snapshot_file_name(std::string_view name);

// True for a temporary file of the atomic-replace protocol (see atomic_file.hpp).
bool is_temp_file_name(std::string_view name);

}  // namespace bcast::io
