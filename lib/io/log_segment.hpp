// A log segment file: a kSegmentHeader record, in format 2 a kDurableMark record (rewritten in
// place, see storage_records.hpp), then kEntry records with consecutive indices (the first equal
// to the header's first_index, the index in the file name) and, between them, kCommit records.
//
// Storage keeps a SegmentInfo per segment: where each entry's record starts, so that a suffix
// can be cut off at a record boundary without reading the file again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bcast/result.hpp"
#include "core/raft/types.hpp"
#include "io/file_system.hpp"
#include "io/storage_records.hpp"

namespace bcast::io {

// The largest entry record payload written or read (term, index, type and data). Far above any
// sane entry; it exists so a damaged length can never ask for an absurd allocation.
inline constexpr std::uint64_t kMaxEntryPayloadBytes = std::uint64_t{1} << 30;

struct SegmentInfo {
  std::string path;
  LogIndex first_index = 0;
  LogIndex last_index = 0;  // first_index - 1 while the segment holds no entry
  std::uint64_t size_bytes = 0;
  std::vector<std::uint64_t> entry_offsets;  // entry_offsets[i]: record of entry first_index + i
  bool has_mark = true;                      // format 2
  std::uint64_t marked_bytes = 0;            // what its durable mark on disk claims

  bool empty() const { return last_index < first_index; }
};

// What reading a segment found. Records are read up to the first damaged one.
struct SegmentScan {
  std::optional<SegmentHeader> header;  // absent if the first record is damaged
  // Format 2: the durable mark, absent if it was damaged (an in-place rewrite torn by a crash
  // tells nothing, and is skipped).
  std::optional<DurableMark> mark;
  std::vector<raft::Entry> entries;
  std::vector<std::uint64_t> entry_offsets;
  LogIndex max_commit = 0;        // the largest kCommit value read
  std::uint64_t valid_bytes = 0;  // end of the last valid record: where a torn tail is cut

  struct Damage {
    std::uint64_t offset = 0;  // where the damaged record starts
    std::string what;
    std::optional<std::uint64_t> next_valid_offset;  // a valid record after it, if any
  };
  std::optional<Damage> damage;
};

// Reads a segment. `stop_after_header` reads only its first record. Damage (a record that is
// torn or fails a checksum) is reported in the scan, for the caller to judge by the segment's
// position. Records that verify but break the segment's structure (wrong first record, entry
// indices out of sequence, terms going down, undecodable payloads) cannot come from a crash
// and are a kCorrupt error naming the file and offset. Other errors are I/O failures.
Result<SegmentScan> scan_segment(File& file, bool stop_after_header);

// "<path> at byte offset <offset>: <what>", the form of every corruption message.
Error corruption_error(const std::string& path, std::uint64_t offset, const std::string& what);

}  // namespace bcast::io
