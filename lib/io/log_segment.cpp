#include "io/log_segment.hpp"

#include <algorithm>

#include "io/record.hpp"

namespace bcast::io {
namespace {

// A segment header payload is 24 bytes; entry payloads are bounded by kMaxEntryPayloadBytes.
constexpr std::uint64_t kMaxSegmentRecordPayloadBytes = kMaxEntryPayloadBytes;

}  // namespace

Error corruption_error(const std::string& path, std::uint64_t offset, const std::string& what) {
  return make_error(ErrorCode::kCorrupt,
                    path + " at byte offset " + std::to_string(offset) + ": " + what);
}

Result<SegmentScan> scan_segment(File& file, bool stop_after_header) {
  auto file_bytes = file.size();
  if (!file_bytes) return file_bytes.error();
  RecordReader reader(file, file_bytes.value(), kMaxSegmentRecordPayloadBytes);
  SegmentScan scan;
  std::uint64_t offset = 0;
  while (true) {
    auto outcome = reader.read(offset);
    if (!outcome) return outcome.error();
    RecordReader::Outcome& record = outcome.value();
    using Status = RecordReader::Outcome::Status;
    if (record.status == Status::kEnd) {
      if (!scan.header) scan.damage = SegmentScan::Damage{0, "empty segment file", std::nullopt};
      break;
    }
    const bool at_mark = scan.header && scan.header->format_version == kSegmentFormatVersion &&
                         offset == kDurableMarkOffset;
    if (record.status == Status::kDamaged && at_mark &&
        reader.file_bytes() >= kDurableMarkOffset + kDurableMarkRecordBytes) {
      // A torn in-place rewrite of the mark: no claim, and no damage to the log.
      offset = kDurableMarkOffset + kDurableMarkRecordBytes;
      scan.valid_bytes = offset;
      continue;
    }
    if (record.status == Status::kDamaged) {
      auto next_valid = reader.find_valid_record(record.next_offset);
      if (!next_valid) return next_valid.error();
      scan.damage = SegmentScan::Damage{offset, record.damage, next_valid.value()};
      break;
    }

    std::string why;
    if (!scan.header) {
      if (record.kind != RecordKind::kSegmentHeader) {
        return corruption_error(file.path(), offset, "segment does not start with its header");
      }
      scan.header = decode_segment_header(record.payload, why);
      if (!scan.header) return corruption_error(file.path(), offset, why);
    } else if (at_mark) {
      if (record.kind != RecordKind::kDurableMark) {
        return corruption_error(file.path(), offset, "segment lacks its durable mark");
      }
      scan.mark = decode_durable_mark(record.payload, why);
      if (!scan.mark) return corruption_error(file.path(), offset, why);
    } else if (record.kind == RecordKind::kEntry) {
      auto entry = decode_entry(record.payload, why);
      if (!entry) return corruption_error(file.path(), offset, why);
      const LogIndex expected = scan.header->first_index + scan.entries.size();
      if (entry->index != expected) {
        return corruption_error(file.path(), offset,
                                "entry index " + std::to_string(entry->index) + " where " +
                                    std::to_string(expected) + " was expected");
      }
      if (!scan.entries.empty() && entry->term < scan.entries.back().term) {
        return corruption_error(file.path(), offset,
                                "entry " + std::to_string(entry->index) + " has term " +
                                    std::to_string(entry->term) + ", below the previous term " +
                                    std::to_string(scan.entries.back().term));
      }
      scan.entry_offsets.push_back(offset);
      scan.entries.push_back(std::move(*entry));
    } else if (record.kind == RecordKind::kCommit) {
      auto commit = decode_commit(record.payload, why);
      if (!commit) return corruption_error(file.path(), offset, why);
      scan.max_commit = std::max(scan.max_commit, *commit);
    } else {
      return corruption_error(file.path(), offset,
                              "unexpected record kind " +
                                  std::to_string(static_cast<int>(record.kind)) + " in a segment");
    }
    offset = record.next_offset;
    scan.valid_bytes = offset;
    if (stop_after_header) break;
  }
  return scan;
}

}  // namespace bcast::io
