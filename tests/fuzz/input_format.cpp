#include "input_format.hpp"

#include <xxhash.h>

#include <algorithm>
#include <limits>

#include "core/byte_codec.hpp"
#include "io/record.hpp"
#include "io/storage_layout.hpp"

namespace bcast::fuzz {
namespace {

// The length field is 16 bits; longer payloads are never needed to reach any code path.
constexpr std::size_t kMaxBodyBytes = std::numeric_limits<std::uint16_t>::max();
// Above every reader's limit (1 GiB for segment records) and every file's size.
constexpr std::uint64_t kHugePayloadBytes = std::uint64_t{1} << 40;
// Header layout (io/record.hpp): reserved u16 at 6, header checksum over bytes 0..23 at 24.
constexpr std::size_t kReservedOffset = 6;
constexpr std::size_t kHeaderChecksumOffset = 24;

template <typename Unsigned>
Unsigned read_le(std::string_view& rest) {
  // A short field is padded with zeros rather than rejected (see the header).
  char bytes[sizeof(Unsigned)] = {};
  const std::size_t present = std::min(rest.size(), sizeof(Unsigned));
  std::copy_n(rest.data(), present, bytes);
  rest.remove_prefix(present);
  return get_le<Unsigned>(bytes);
}

void put_body(std::string& out, std::string_view body) {
  const std::size_t length = std::min(body.size(), kMaxBodyBytes);
  put_le<std::uint16_t>(out, static_cast<std::uint16_t>(length));
  out.append(body.substr(0, length));
}

}  // namespace

std::uint8_t InputReader::u8() { return read_le<std::uint8_t>(rest_); }
std::uint16_t InputReader::u16() { return read_le<std::uint16_t>(rest_); }
std::uint64_t InputReader::u64() { return read_le<std::uint64_t>(rest_); }

std::string_view InputReader::bytes(std::size_t length) {
  const std::string_view taken = rest_.substr(0, std::min(length, rest_.size()));
  rest_.remove_prefix(taken.size());
  return taken;
}

void append_framed_record(std::string& out, const FramedRecord& record) {
  std::uint64_t payload_checksum = io::record_payload_checksum(record.payload);
  if (record.damage == Damage::kPayloadChecksum) payload_checksum ^= 1;
  const std::uint64_t payload_bytes =
      record.damage == Damage::kHugeLength ? kHugePayloadBytes : record.payload.size();
  std::string bytes = io::encode_record_header(static_cast<io::RecordKind>(record.kind),
                                               payload_bytes, payload_checksum);
  // The header checksum is the last header field; flipping a bit of it spoils only the checksum.
  if (record.damage == Damage::kHeaderChecksum) bytes[io::kRecordHeaderBytes - 1] ^= 1;
  if (record.damage == Damage::kReservedField) {
    // io has no encoder for a header it would never write, so the checksum is redone here.
    bytes[kReservedOffset] = 1;
    std::string checksum;
    put_le<std::uint64_t>(checksum, XXH3_64bits(bytes.data(), kHeaderChecksumOffset));
    bytes.replace(kHeaderChecksumOffset, checksum.size(), checksum);
  }
  bytes += record.payload;
  if (record.damage == Damage::kTorn) bytes.resize(bytes.size() / 2);
  out += bytes;
}

std::string frame_records(InputReader& input) {
  std::string out;
  while (!input.empty()) {
    FramedRecord record;
    record.kind = input.u8();
    record.damage = static_cast<Damage>(input.u8());
    record.payload = std::string(input.bytes(input.u16()));
    append_framed_record(out, record);
  }
  return out;
}

void encode_framed_record(std::string& out, const FramedRecord& record) {
  out.push_back(static_cast<char>(record.kind));
  out.push_back(static_cast<char>(record.damage));
  put_body(out, record.payload);
}

std::string DirFile::file_name() const {
  switch (name) {
    case FileName::kSegment:
      return io::segment_file_name(index);
    case FileName::kHardState:
      return std::string(io::kHardStateFileName);
    case FileName::kSnapshot:
      return io::snapshot_file_name(index);
    case FileName::kTempFile:
      return io::segment_file_name(index) + std::string(io::kTempFileSuffix);
    case FileName::kForeign:
    case FileName::kCount:
      break;
  }
  return "README";
}

std::string DirFile::content() const {
  if (!framed) return body;
  InputReader reader(body);
  return frame_records(reader);
}

DirInput parse_dir_input(std::string_view bytes) {
  InputReader reader(bytes);
  DirInput input;
  input.options = reader.u8();
  while (!reader.empty()) {
    DirFile file;
    file.name = static_cast<FileName>(reader.u8() % static_cast<std::uint8_t>(FileName::kCount));
    file.index = reader.u64();
    file.framed = (reader.u8() & 1) != 0;
    file.body = std::string(reader.bytes(reader.u16()));
    input.files.push_back(std::move(file));
  }
  return input;
}

std::string encode_dir_input(const DirInput& input) {
  std::string out;
  out.push_back(static_cast<char>(input.options));
  for (const DirFile& file : input.files) {
    out.push_back(static_cast<char>(file.name));
    put_le<std::uint64_t>(out, file.index);
    out.push_back(file.framed ? 1 : 0);
    put_body(out, file.body);
  }
  return out;
}

}  // namespace bcast::fuzz
