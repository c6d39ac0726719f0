// The payloads of storage's records (record.hpp frames them). Fixed little-endian layouts:
//
//   kSegmentHeader  format_version u32, reserved u32 (0), generation u64, first_index u64
//   kDurableMark    durable_bytes u64, durable_last_index u64
//   kEntry          term u64, index u64, type u8, data (the rest of the payload)
//   kCommit         commit u64
//   kHardState      term u64, vote u64, commit u64
//   kSnapshot       index u64, term u64, generation u64,
//                   voter count u32, voters u64 each, learner count u32, learners u64 each,
//                   data (the rest of the payload)
//
// `generation` counts snapshots that reset the log. A reset snapshot carries a new generation
// and every segment written after it carries that generation, so segments from before a reset
// whose deletion a crash interrupted can be recognised and discarded (storage_recovery.hpp).
//
// Segment format 2 (written since [robustness]) follows the header with a kDurableMark record,
// always at kDurableMarkOffset and always kDurableMarkRecordBytes long, which storage rewrites in
// place: "the first durable_bytes bytes of this file, through entry durable_last_index, were
// durable when this was written". Recovery refuses a segment shorter than its mark (it was cut
// short: entries that were synced, and perhaps acknowledged, are gone). Format 1 segments have
// no mark and are still read.
//
// Decoders check every count against the bytes actually present and return nullopt, with the
// reason in `why`, for anything malformed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/raft/types.hpp"

namespace bcast::io {

inline constexpr std::uint32_t kSegmentFormatVersion = 2;
inline constexpr std::uint32_t kSegmentFormatWithoutMark = 1;
// Where the durable mark lies in a format 2 segment (right after the header record) and its size.
inline constexpr std::uint64_t kDurableMarkOffset = 32 + 24;
inline constexpr std::uint64_t kDurableMarkRecordBytes = 32 + 16;
// The bytes of an entry payload before its data: term, index, type.
inline constexpr std::uint64_t kEntryFixedPayloadBytes = 8 + 8 + 1;

struct SegmentHeader {
  std::uint64_t generation = 0;
  LogIndex first_index = 0;
  std::uint32_t format_version = kSegmentFormatVersion;
};

struct DurableMark {
  std::uint64_t durable_bytes = 0;  // 0: no claim
  LogIndex durable_last_index = 0;
};

// Each appends a whole record (header and payload) to `out`.
void append_segment_header_record(std::string& out, const SegmentHeader& header);
void append_entry_record(std::string& out, const raft::Entry& entry);
void append_commit_record(std::string& out, LogIndex commit);
void append_durable_mark_record(std::string& out, const DurableMark& mark);
void append_hard_state_record(std::string& out, const raft::HardState& hard_state);

std::optional<SegmentHeader> decode_segment_header(std::string_view payload, std::string& why);
std::optional<raft::Entry> decode_entry(std::string_view payload, std::string& why);
std::optional<LogIndex> decode_commit(std::string_view payload, std::string& why);
std::optional<DurableMark> decode_durable_mark(std::string_view payload, std::string& why);
std::optional<raft::HardState> decode_hard_state(std::string_view payload, std::string& why);

// A snapshot record without copying the (possibly large) data: the record header and the
// metadata part of the payload; the data follows them on disk.
std::string encode_snapshot_record_prefix(const raft::SnapshotMeta& meta, std::uint64_t generation,
                                          std::string_view data);

struct DecodedSnapshot {
  raft::Snapshot snapshot;
  std::uint64_t generation = 0;
};
// Decodes a kSnapshot payload. Takes the payload by value so the data can be kept without a copy.
std::optional<DecodedSnapshot> decode_snapshot(std::string payload, std::string& why);

}  // namespace bcast::io
