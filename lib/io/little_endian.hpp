// Fixed-width little-endian integers, the byte order of every number storage writes.
//
// Spelled out byte by byte rather than memcpy'd so the on-disk format does not depend on the
// host's byte order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bcast::io {

template <typename Unsigned>
void put_le(std::string& out, Unsigned value) {
  for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
    out.push_back(static_cast<char>(static_cast<std::uint8_t>(value >> (8 * i))));
  }
}

template <typename Unsigned>
Unsigned get_le(const char* bytes) {
  Unsigned value = 0;
  for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
    value |= static_cast<Unsigned>(static_cast<std::uint8_t>(bytes[i])) << (8 * i);
  }
  return value;
}

// Consumes little-endian fields from a byte string; every read fails (returns false) rather than
// run past the end.
class LittleEndianReader {
 public:
  explicit LittleEndianReader(std::string_view bytes) : bytes_(bytes) {}

  template <typename Unsigned>
  bool read(Unsigned& value) {
    if (bytes_.size() < sizeof(Unsigned)) return false;
    value = get_le<Unsigned>(bytes_.data());
    bytes_.remove_prefix(sizeof(Unsigned));
    return true;
  }

  std::size_t remaining_bytes() const { return bytes_.size(); }
  // Everything not read yet.
  std::string_view rest() const { return bytes_; }

 private:
  std::string_view bytes_;
};

}  // namespace bcast::io
