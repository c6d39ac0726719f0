// libFuzzer target: the record framing (io/record.hpp), the record payload decoders
// (io/storage_records.hpp) and the segment scanner (io/log_segment.hpp), without a directory
// around them.
//
// Input: a mode byte, then a body. Mode bit 0 set means the body is framed records
// (input_format.hpp) and the file is what they stand for; clear means the body is the file.
// Mode bits 4..7, when nonzero, set a small payload limit for the RecordReader (16 bytes per
// step) so that its limit check is reached.
//
// Invariants, each aborting when broken:
//  * decoding never crashes or over-reads, and a failure always says why;
//  * whatever decodes re-encodes to the same bytes: a record header, a single-record file, and
//    each payload decoder fed the body directly (segment header, entry, commit, hard state,
//    snapshot). So no two encodings decode alike and nothing is silently dropped;
//  * RecordReader walks the file front to back with offsets that only move forward, every record
//    it returns re-frames to exactly the bytes it was read from, and find_valid_record returns
//    the first valid record after a damaged one (checked against trying every offset);
//  * scan_segment's result is self-consistent: entries numbered from the header's first index
//    with non-decreasing terms, one offset per entry, damage exactly where the valid bytes end;
//    a refusal is kCorrupt.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "input_format.hpp"
#include "io/log_segment.hpp"
#include "io/record.hpp"
#include "io/storage_records.hpp"
#include "support/faulty_file_system.hpp"

namespace {

using bcast::io::RecordKind;
using bcast::io::RecordReader;

constexpr const char* kPath = "/file";
// Trying every offset after a damaged record costs a verification per byte; beyond this size the
// brute-force cross-check of find_valid_record is skipped to keep executions fast.
constexpr std::size_t kMaxBruteForceBytes = 8192;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_record_decoder: %s\n", what.c_str());
  std::abort();
}

// The payload of a record built by an append_*_record function.
std::string payload_of(const std::string& record) {
  return record.substr(bcast::io::kRecordHeaderBytes);
}

void check_header(std::string_view bytes) {
  std::string why;
  const auto header = bcast::io::decode_record_header(bytes, why);
  if (!header) {
    if (why.empty()) fail("decode_record_header failed without a reason");
    return;
  }
  const std::string encoded = bcast::io::encode_record_header(header->kind, header->payload_bytes,
                                                              header->payload_checksum);
  if (encoded != bytes.substr(0, bcast::io::kRecordHeaderBytes)) {
    fail("a record header does not re-encode to its bytes");
  }
}

void check_single_record_file(const std::string& bytes) {
  for (std::uint16_t kind = 1; kind <= 5; ++kind) {
    std::string why;
    std::uint64_t damage_offset = 0;
    const auto payload = bcast::io::decode_single_record_file(bytes, static_cast<RecordKind>(kind),
                                                              why, damage_offset);
    if (!payload) {
      if (why.empty() || damage_offset > bytes.size()) {
        fail("decode_single_record_file failed without a reason or past the end");
      }
      continue;
    }
    std::string encoded;
    bcast::io::append_record(encoded, static_cast<RecordKind>(kind), *payload);
    if (encoded != bytes) fail("a single-record file does not re-encode to its bytes");
  }
}

void check_payload_decoders(const std::string& payload) {
  std::string why;
  if (const auto header = bcast::io::decode_segment_header(payload, why)) {
    std::string record;
    bcast::io::append_segment_header_record(record, *header);
    if (payload_of(record) != payload) fail("segment header round trip");
  }
  if (const auto entry = bcast::io::decode_entry(payload, why)) {
    std::string record;
    bcast::io::append_entry_record(record, *entry);
    if (payload_of(record) != payload) fail("entry round trip");
  }
  if (const auto commit = bcast::io::decode_commit(payload, why)) {
    std::string record;
    bcast::io::append_commit_record(record, *commit);
    if (payload_of(record) != payload) fail("commit round trip");
  }
  if (const auto hard_state = bcast::io::decode_hard_state(payload, why)) {
    std::string record;
    bcast::io::append_hard_state_record(record, *hard_state);
    if (payload_of(record) != payload) fail("hard state round trip");
  }
  if (const auto decoded = bcast::io::decode_snapshot(payload, why)) {
    const std::string& data = *decoded->snapshot.data;
    const std::string prefix =
        bcast::io::encode_snapshot_record_prefix(decoded->snapshot.meta, decoded->generation, data);
    if (payload_of(prefix) + data != payload) fail("snapshot round trip");
  }
}

void check_reader(bcast::io::File& file, const std::string& bytes, std::uint64_t limit) {
  RecordReader reader(file, bytes.size(), limit);
  std::uint64_t offset = 0;
  while (true) {
    auto read = reader.read(offset);
    if (!read) fail("RecordReader::read: " + read.error().message);
    const RecordReader::Outcome& outcome = read.value();
    using Status = RecordReader::Outcome::Status;
    if (outcome.status == Status::kEnd) {
      if (offset != bytes.size()) fail("kEnd before the end of the file");
      return;
    }
    if (outcome.next_offset <= offset || outcome.next_offset > bytes.size()) {
      fail("next_offset " + std::to_string(outcome.next_offset) + " after offset " +
           std::to_string(offset) + " in a file of " + std::to_string(bytes.size()));
    }
    if (outcome.status == Status::kRecord) {
      std::string reframed;
      bcast::io::append_record(reframed, outcome.kind, outcome.payload);
      if (outcome.payload.size() > limit ||
          reframed != bytes.substr(offset, outcome.next_offset - offset)) {
        fail("a record read at " + std::to_string(offset) + " does not match its bytes");
      }
      offset = outcome.next_offset;
      continue;
    }
    if (outcome.damage.empty()) fail("damage without a description");
    auto next = reader.find_valid_record(outcome.next_offset);
    if (!next) fail("find_valid_record: " + next.error().message);
    const std::uint64_t found = next.value().value_or(bytes.size());
    if (found < outcome.next_offset || found > bytes.size()) fail("find_valid_record range");
    if (bytes.size() <= kMaxBruteForceBytes) {
      for (std::uint64_t at = outcome.next_offset; at < found; ++at) {
        auto probe = reader.read(at);
        if (!probe) fail("RecordReader::read: " + probe.error().message);
        if (probe.value().status == Status::kRecord) {
          fail("find_valid_record missed the record at " + std::to_string(at));
        }
      }
    }
    if (!next.value()) return;
    offset = *next.value();
  }
}

void check_scan(bcast::io::File& file, std::uint64_t file_bytes) {
  auto scanned = bcast::io::scan_segment(file, /*stop_after_header=*/false);
  if (!scanned) {
    if (scanned.error().code != bcast::ErrorCode::kCorrupt) {
      fail("scan_segment: " + scanned.error().message);
    }
    return;
  }
  const bcast::io::SegmentScan& scan = scanned.value();
  if (scan.valid_bytes > file_bytes) fail("valid_bytes past the end of the file");
  if (scan.entries.size() != scan.entry_offsets.size()) fail("one offset per entry");
  if (!scan.header && (!scan.entries.empty() || scan.valid_bytes != 0)) {
    fail("entries or valid bytes without a segment header");
  }
  for (std::size_t i = 0; i < scan.entries.size(); ++i) {
    if (scan.entries[i].index != scan.header->first_index + i) fail("entry numbering");
    if (i > 0 && (scan.entries[i].term < scan.entries[i - 1].term ||
                  scan.entry_offsets[i] <= scan.entry_offsets[i - 1])) {
      fail("entry terms or offsets out of order");
    }
    if (scan.entry_offsets[i] >= scan.valid_bytes) fail("an entry offset past the valid bytes");
  }
  if (scan.damage) {
    if (scan.damage->offset != scan.valid_bytes) fail("damage away from the end of valid bytes");
    if (scan.damage->what.empty()) fail("damage without a description");
    if (scan.damage->next_valid_offset && *scan.damage->next_valid_offset <= scan.damage->offset) {
      fail("a valid record after the damage that is not after it");
    }
  } else if (scan.valid_bytes != file_bytes) {
    fail("an undamaged scan that stops before the end");
  }

  auto header_only = bcast::io::scan_segment(file, /*stop_after_header=*/true);
  if (!header_only) fail("scan_segment refused the header it accepted in a full scan");
  if (header_only.value().header.has_value() != scan.header.has_value() ||
      (scan.header && header_only.value().header->first_index != scan.header->first_index)) {
    fail("a header-only scan disagrees with a full scan");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bcast::fuzz::InputReader input({reinterpret_cast<const char*>(data), size});
  const std::uint8_t mode = input.u8();
  const std::string body(input.bytes(size));
  std::string bytes = body;
  if ((mode & 1) != 0) {
    bcast::fuzz::InputReader records(body);
    bytes = bcast::fuzz::frame_records(records);
  }

  check_header(bytes);
  check_single_record_file(bytes);
  check_payload_decoders(body);

  bcast::test::FaultyFileSystem fs;
  auto file = fs.open_file(kPath, bcast::io::OpenMode::kCreateTruncating);
  if (!file) fail("open_file: " + file.error().message);
  if (!bytes.empty() && !file.value()->write_at(0, bytes)) fail("write_at");
  const std::uint64_t limit =
      (mode >> 4) == 0 ? bcast::io::kMaxEntryPayloadBytes : std::uint64_t{16} * (mode >> 4);
  check_reader(*file.value(), bytes, limit);
  check_scan(*file.value(), bytes.size());
  if (fs.stats().largest_read_request_bytes > bytes.size()) {
    fail("asked to read " + std::to_string(fs.stats().largest_read_request_bytes) +
         " bytes from a file of " + std::to_string(bytes.size()));
  }
  return 0;
}
