// The byte formats the fuzz targets read, shared with the seed generator so that the committed
// seeds and the targets cannot drift apart. docs/fuzzing.md shows them with examples.
//
// Every byte string is a valid input: a field cut short by the end of the input reads as zeros
// and a byte string as whatever is left, so no mutation is wasted on a parse error.
//
// Random bytes almost never carry a valid XXH3 checksum, so a fuzzer that could only write raw
// files would spend its time failing the first checksum comparison. The *framed* encoding lets
// the fuzzer describe records (kind, payload, deliberate damage) while the harness computes the
// checksums, which takes it straight to the structure checks behind them. Raw files remain
// available so that the framing checks themselves are fuzzed too.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bcast::fuzz {

// Consumes little-endian fields from the front of a fuzz input, never failing.
class InputReader {
 public:
  explicit InputReader(std::string_view bytes) : rest_(bytes) {}

  bool empty() const { return rest_.empty(); }
  std::uint8_t u8();
  std::uint16_t u16();
  std::uint64_t u64();
  // The next `length` bytes, or all that is left if fewer.
  std::string_view bytes(std::size_t length);

 private:
  std::string_view rest_;
};

// --- Framed records ----------------------------------------------------------------------------
//
//   records := record*
//   record  := kind u8, damage u8, length u16, payload[length]
//
// The harness frames each payload as an io record of that kind (any value, not only the known
// kinds) with correct checksums, then applies the damage.

enum class Damage : std::uint8_t {
  kNone = 0,
  kPayloadChecksum = 1,  // the header verifies, the payload does not
  kHeaderChecksum = 2,   // the header checksum is wrong
  kTorn = 3,             // only the first half of the record is written, as a torn write leaves
  kHugeLength = 4,       // a verified header claims a payload far larger than any limit
  kReservedField = 5,    // a verified header with a nonzero reserved field
  // Other values mean kNone, so that most mutations of this byte keep the record intact.
};

struct FramedRecord {
  std::uint8_t kind = 0;
  Damage damage = Damage::kNone;
  std::string payload;
};

// The file bytes a record description stands for.
void append_framed_record(std::string& out, const FramedRecord& record);
// Reads record descriptions until the input ends and returns the file bytes they stand for.
std::string frame_records(InputReader& input);
// The description of `record`, the inverse of what frame_records reads.
void encode_framed_record(std::string& out, const FramedRecord& record);

// --- A storage directory -----------------------------------------------------------------------
//
//   directory := options u8, file*
//   file      := name u8, index u64, encoding u8, length u16, body[length]
//
// name (modulo kCount) picks the file name, `index` fills in the index of the names that have
// one; encoding bit 0 set means the body is framed records, clear means raw file bytes.

enum class FileName : std::uint8_t {
  kSegment = 0,    // log-<index>.seg
  kHardState = 1,  // hardstate
  kSnapshot = 2,   // snapshot-<index>.snap
  kTempFile = 3,   // log-<index>.seg.tmp, a leftover of an interrupted atomic replace
  kForeign = 4,    // a file storage does not own and must leave alone
  kCount = 5,
};

// The options byte of a directory input.
struct DirOptions {
  static constexpr std::uint8_t kDurable = 1 << 0;  // StorageOptions::fsync
  static constexpr std::uint8_t kWrite = 1 << 1;    // persist after a successful open
  static constexpr int kRewindShift = 2;            // bits 2..5: how far back the write starts
  static constexpr std::uint8_t kRewindMask = 15;
  static constexpr std::uint8_t kSnapshot = 1 << 6;   // the write starts with a snapshot
  static constexpr std::uint8_t kResetsLog = 1 << 7;  // ... that resets the log
};

struct DirFile {
  FileName name = FileName::kSegment;
  std::uint64_t index = 0;
  bool framed = false;
  std::string body;  // raw file bytes, or framed record descriptions

  // The name the file gets in the directory.
  std::string file_name() const;
  // The bytes the file holds.
  std::string content() const;
};

struct DirInput {
  std::uint8_t options = 0;
  std::vector<DirFile> files;
};

DirInput parse_dir_input(std::string_view bytes);
std::string encode_dir_input(const DirInput& input);

}  // namespace bcast::fuzz
