// Fixed-width little-endian integers and length-prefixed strings: the byte format of everything
// the core itself serializes (Raft entries' payloads, snapshots of its state machines) and of
// storage's records. Spelled out byte by byte so no format depends on the host's byte order.
// Reading never trusts a length: every read fails (returns false) rather than run past the end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bcast {

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

// A 32-bit length, then the bytes.
inline void put_bytes(std::string& out, std::string_view bytes) {
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(bytes.size()));
  out.append(bytes);
}

class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}

  template <typename Unsigned>
  bool read(Unsigned& value) {
    if (bytes_.size() < sizeof(Unsigned)) return false;
    value = get_le<Unsigned>(bytes_.data());
    bytes_.remove_prefix(sizeof(Unsigned));
    return true;
  }

  // A length-prefixed byte string written by put_bytes.
  bool read_bytes(std::string_view& out) {
    std::uint32_t length = 0;
    if (!read(length) || bytes_.size() < length) return false;
    out = bytes_.substr(0, length);
    bytes_.remove_prefix(length);
    return true;
  }

  std::size_t remaining_bytes() const { return bytes_.size(); }
  std::string_view rest() const { return bytes_; }

 private:
  std::string_view bytes_;
};

}  // namespace bcast
