#include "io/record.hpp"

// XXH3_state_t is only declared with the static-linking API; it lets the state live on the stack.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "core/byte_codec.hpp"

namespace bcast::io {
namespace {

constexpr char kMagic[4] = {'B', 'C', 'R', '1'};
constexpr std::uint64_t kHeaderChecksumOffset = 24;
// Reads are batched into windows of this size so that recovery does not make two system calls
// per record.
constexpr std::uint64_t kReadWindowBytes = 256 * 1024;

bool is_known_kind(std::uint16_t kind) {
  return kind >= static_cast<std::uint16_t>(RecordKind::kSegmentHeader) &&
         kind <= static_cast<std::uint16_t>(RecordKind::kHistoryHole);
}

void write_header(char* header, RecordKind kind, std::uint64_t payload_bytes,
                  std::uint64_t payload_checksum) {
  std::string fields;
  fields.append(kMagic, sizeof kMagic);
  put_le<std::uint16_t>(fields, static_cast<std::uint16_t>(kind));
  put_le<std::uint16_t>(fields, 0);
  put_le<std::uint64_t>(fields, payload_bytes);
  put_le<std::uint64_t>(fields, payload_checksum);
  put_le<std::uint64_t>(fields, XXH3_64bits(fields.data(), fields.size()));
  std::memcpy(header, fields.data(), kRecordHeaderBytes);
}

}  // namespace

std::uint64_t record_payload_checksum(std::string_view first, std::string_view second) {
  if (second.empty()) return XXH3_64bits(first.data(), first.size());
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, first.data(), first.size());
  XXH3_64bits_update(&state, second.data(), second.size());
  return XXH3_64bits_digest(&state);
}

std::string encode_record_header(RecordKind kind, std::uint64_t payload_bytes,
                                 std::uint64_t payload_checksum) {
  std::string header(kRecordHeaderBytes, '\0');
  write_header(header.data(), kind, payload_bytes, payload_checksum);
  return header;
}

std::size_t begin_record(std::string& out) {
  const std::size_t start = out.size();
  out.append(kRecordHeaderBytes, '\0');
  return start;
}

void finish_record(std::string& out, std::size_t record_start, RecordKind kind) {
  const char* payload = out.data() + record_start + kRecordHeaderBytes;
  const std::uint64_t payload_bytes = out.size() - record_start - kRecordHeaderBytes;
  write_header(out.data() + record_start, kind, payload_bytes, XXH3_64bits(payload, payload_bytes));
}

void append_record(std::string& out, RecordKind kind, std::string_view payload) {
  const std::size_t start = begin_record(out);
  out.append(payload);
  finish_record(out, start, kind);
}

std::optional<RecordHeader> decode_record_header(std::string_view bytes, std::string& why) {
  if (bytes.size() < kRecordHeaderBytes) {
    why = "incomplete record header (" + std::to_string(bytes.size()) + " of " +
          std::to_string(kRecordHeaderBytes) + " bytes)";
    return std::nullopt;
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    why = "no record magic";
    return std::nullopt;
  }
  const std::uint64_t stored = get_le<std::uint64_t>(bytes.data() + kHeaderChecksumOffset);
  if (XXH3_64bits(bytes.data(), kHeaderChecksumOffset) != stored) {
    why = "record header checksum mismatch";
    return std::nullopt;
  }
  const auto kind = get_le<std::uint16_t>(bytes.data() + 4);
  // The header verified, so these can only come from a writer of another format version.
  if (!is_known_kind(kind)) {
    why = "unknown record kind " + std::to_string(kind);
    return std::nullopt;
  }
  if (get_le<std::uint16_t>(bytes.data() + 6) != 0) {
    why = "nonzero reserved header field";
    return std::nullopt;
  }
  RecordHeader header;
  header.kind = static_cast<RecordKind>(kind);
  header.payload_bytes = get_le<std::uint64_t>(bytes.data() + 8);
  header.payload_checksum = get_le<std::uint64_t>(bytes.data() + 16);
  return header;
}

std::optional<std::string> decode_single_record_file(std::string file_bytes, RecordKind expected,
                                                     std::string& why,
                                                     std::uint64_t& damage_offset) {
  damage_offset = 0;
  const auto header = decode_record_header(file_bytes, why);
  if (!header) return std::nullopt;
  if (header->kind != expected) {
    why = "record kind " + std::to_string(static_cast<int>(header->kind)) + " where " +
          std::to_string(static_cast<int>(expected)) + " was expected";
    return std::nullopt;
  }
  const std::uint64_t payload_left = file_bytes.size() - kRecordHeaderBytes;
  if (header->payload_bytes != payload_left) {
    why = "payload length " + std::to_string(header->payload_bytes) + " but " +
          std::to_string(payload_left) + " bytes follow the header";
    return std::nullopt;
  }
  damage_offset = kRecordHeaderBytes;
  if (XXH3_64bits(file_bytes.data() + kRecordHeaderBytes, payload_left) !=
      header->payload_checksum) {
    why = "payload checksum mismatch";
    return std::nullopt;
  }
  file_bytes.erase(0, kRecordHeaderBytes);
  return file_bytes;
}

RecordReader::RecordReader(File& file, std::uint64_t file_bytes, std::uint64_t max_payload_bytes)
    : file_(file), file_bytes_(file_bytes), max_payload_bytes_(max_payload_bytes) {}

Result<std::string_view> RecordReader::fetch(std::uint64_t offset, std::uint64_t length_bytes) {
  const bool in_window =
      offset >= window_offset_ && offset + length_bytes <= window_offset_ + window_.size();
  if (!in_window) {
    const std::uint64_t want =
        std::min(std::max(length_bytes, kReadWindowBytes), file_bytes_ - offset);
    auto bytes = file_.read_at(offset, want);
    if (!bytes) return bytes.error();
    if (bytes.value().size() < length_bytes) {
      return make_error(ErrorCode::kIo, "read " + file_.path() +
                                            ": file shrank while reading at offset " +
                                            std::to_string(offset));
    }
    window_ = std::move(bytes.value());
    window_offset_ = offset;
  }
  return std::string_view(window_).substr(offset - window_offset_, length_bytes);
}

Result<RecordReader::Outcome> RecordReader::read(std::uint64_t offset) {
  Outcome outcome;
  outcome.next_offset = offset + 1;
  if (offset >= file_bytes_) {
    outcome.status = Outcome::Status::kEnd;
    outcome.next_offset = offset;
    return outcome;
  }
  outcome.status = Outcome::Status::kDamaged;
  const std::uint64_t left = file_bytes_ - offset;
  auto header_bytes = fetch(offset, std::min(left, kRecordHeaderBytes));
  if (!header_bytes) return header_bytes.error();
  const auto header = decode_record_header(header_bytes.value(), outcome.damage);
  if (!header) return outcome;

  // Only a verified header's length is considered, and only if it is plausible.
  const std::uint64_t payload_left = left - kRecordHeaderBytes;
  if (header->payload_bytes > max_payload_bytes_) {
    outcome.damage = "payload length " + std::to_string(header->payload_bytes) +
                     " exceeds the limit of " + std::to_string(max_payload_bytes_) + " bytes";
    return outcome;
  }
  if (header->payload_bytes > payload_left) {
    outcome.damage = "incomplete record (payload length " + std::to_string(header->payload_bytes) +
                     ", " + std::to_string(payload_left) + " bytes left in the file)";
    outcome.next_offset = file_bytes_;
    return outcome;
  }
  const std::uint64_t end = offset + kRecordHeaderBytes + header->payload_bytes;
  auto payload = fetch(offset + kRecordHeaderBytes, header->payload_bytes);
  if (!payload) return payload.error();
  if (XXH3_64bits(payload.value().data(), payload.value().size()) != header->payload_checksum) {
    outcome.damage = "payload checksum mismatch";
    outcome.next_offset = end;
    return outcome;
  }
  outcome.status = Outcome::Status::kRecord;
  outcome.kind = header->kind;
  outcome.payload.assign(payload.value());
  outcome.next_offset = end;
  return outcome;
}

Result<std::optional<std::uint64_t>> RecordReader::find_valid_record(std::uint64_t from) {
  for (std::uint64_t offset = from; offset + kRecordHeaderBytes <= file_bytes_; ++offset) {
    auto magic = fetch(offset, sizeof kMagic);
    if (!magic) return magic.error();
    if (std::memcmp(magic.value().data(), kMagic, sizeof kMagic) != 0) continue;
    auto outcome = read(offset);
    if (!outcome) return outcome.error();
    if (outcome.value().status == Outcome::Status::kRecord) return std::optional(offset);
  }
  return std::optional<std::uint64_t>();
}

}  // namespace bcast::io
