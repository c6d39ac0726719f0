// The framing of every file storage writes: a sequence of self-checking records.
//
// Record layout (all integers little-endian):
//
//   offset  size  field
//        0     4  magic, the bytes "BCR1"
//        4     2  kind (RecordKind)
//        6     2  reserved, zero
//        8     8  payload_bytes
//       16     8  payload_checksum: XXH3_64bits of the payload
//       24     8  header_checksum: XXH3_64bits of bytes 0..23
//       32     -  payload (payload_bytes bytes)
//
// The header has its own checksum so that a torn or flipped length is never believed: a length
// is used only after its header verified, and even then only if it fits in what is left of the
// file and under the caller's limit. So a damaged file can never make a reader allocate more
// than the file holds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bcast/result.hpp"
#include "io/file_system.hpp"

namespace bcast::io {

enum class RecordKind : std::uint16_t {
  kSegmentHeader = 1,   // first record of a log segment
  kEntry = 2,           // one Raft log entry
  kCommit = 3,          // the commit index as known when written (never synced on its own)
  kHardState = 4,       // the whole content of the hardstate file
  kSnapshot = 5,        // the whole content of a snapshot file
  kDurableMark = 6,     // in a log segment, rewritten in place: how much of it is known durable
  kHistoryMessage = 7,  // the total-order history: one delivered message (history_store.hpp)
  kHistoryHole = 8,     // the total-order history: gseqs skipped here
};

inline constexpr std::uint64_t kRecordHeaderBytes = 32;

// Appends a whole record to `out`.
void append_record(std::string& out, RecordKind kind, std::string_view payload);

// For records built in place (no payload copy): begin_record reserves the header at the end of
// `out` and returns its position; append the payload; finish_record fills the header in.
std::size_t begin_record(std::string& out);
void finish_record(std::string& out, std::size_t record_start, RecordKind kind);

// For payloads written in pieces: the header of a record whose payload has this length and
// checksum. record_payload_checksum_* compute the checksum over pieces.
std::string encode_record_header(RecordKind kind, std::uint64_t payload_bytes,
                                 std::uint64_t payload_checksum);
std::uint64_t record_payload_checksum(std::string_view first, std::string_view second = {});

struct RecordHeader {
  RecordKind kind = RecordKind::kEntry;
  std::uint64_t payload_bytes = 0;
  std::uint64_t payload_checksum = 0;
};

// Verifies and decodes the kRecordHeaderBytes bytes at the start of `bytes`; on failure returns
// nullopt and says why in `why`.
std::optional<RecordHeader> decode_record_header(std::string_view bytes, std::string& why);

// Decodes a file that holds exactly one record of kind `expected` (hardstate, snapshots) and
// returns its payload. On failure returns nullopt with the reason in `why` and the offset of
// the damage in `damage_offset`. Takes the bytes by value to return the payload without a copy.
std::optional<std::string> decode_single_record_file(std::string file_bytes, RecordKind expected,
                                                     std::string& why,
                                                     std::uint64_t& damage_offset);

// Reads records from a file front to back. A length read from the file is trusted only after the
// header checksum verified and only if it fits in the rest of the file and under
// `max_payload_bytes`.
class RecordReader {
 public:
  struct Outcome {
    enum class Status : std::uint8_t {
      kRecord,   // a whole, verified record
      kEnd,      // `offset` is the end of the file
      kDamaged,  // no valid record starts at `offset`
    };
    Status status = Status::kEnd;
    RecordKind kind = RecordKind::kEntry;
    std::string payload;
    // kRecord: where the next record starts. kDamaged: where a search for later valid records
    // should start (past the payload if the header verified, else the next byte).
    std::uint64_t next_offset = 0;
    std::string damage;  // kDamaged: what is wrong, for the error message
  };

  RecordReader(File& file, std::uint64_t file_bytes, std::uint64_t max_payload_bytes);

  // The record at `offset`. Errors are I/O failures only; damage is an Outcome.
  Result<Outcome> read(std::uint64_t offset);

  // The offset of the first whole valid record starting at or after `from`, if any. Used to tell
  // a torn tail (nothing valid after the damage) from corruption in the middle of a file.
  Result<std::optional<std::uint64_t>> find_valid_record(std::uint64_t from);

  std::uint64_t file_bytes() const { return file_bytes_; }

 private:
  // `length_bytes` bytes at `offset`, which must lie within the file. The view is valid until
  // the next call.
  Result<std::string_view> fetch(std::uint64_t offset, std::uint64_t length_bytes);

  File& file_;
  std::uint64_t file_bytes_;
  std::uint64_t max_payload_bytes_;
  std::string window_;  // read-ahead: bytes [window_offset_, window_offset_ + window_.size())
  std::uint64_t window_offset_ = 0;
};

}  // namespace bcast::io
