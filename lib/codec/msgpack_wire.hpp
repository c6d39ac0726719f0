// msgpack's wire format read byte by byte (https://github.com/msgpack/msgpack/blob/master/spec.md),
// for what msgpack-c's object model hides or cannot reach:
//  * how an integer was encoded: msgpack-c unpacks a signed format holding a non-negative value
//    (int 8..64 with the top bit clear) exactly like an unsigned one, but the client protocol
//    accepts only unsigned formats where it says "unsigned integer";
//  * the entries of a frame too large, too deep, too wide or too long to unpack, whose "id" the
//    daemon still answers with.
//
// Nothing is allocated and nothing recurses: skip() walks nesting of any depth with one counter,
// and every length is checked against the bytes that remain, so a hostile frame costs at most
// one pass over its bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bcast::protocol {

// True for the formats msgpack reserves for non-negative integers: positive fixint
// (0x00..0x7f) and uint 8, 16, 32, 64 (0xcc..0xcf).
bool is_unsigned_format(std::uint8_t first_byte);

class WireReader {
 public:
  explicit WireReader(std::string_view bytes) : bytes_(bytes) {}
  // It reads the bytes in place: they must outlive it.
  explicit WireReader(std::string&&) = delete;

  std::size_t offset() const { return offset_; }
  bool at_end() const { return offset_ == bytes_.size(); }
  // The first byte of the next value (which says its format); nullopt at the end.
  std::optional<std::uint8_t> peek_format() const;

  // Each reads one value of its kind at the cursor and moves past it; on any other value (or
  // too few bytes) it returns nullopt and leaves the cursor where it was.
  std::optional<std::uint64_t> map_header();    // the entry count of a map
  std::optional<std::uint64_t> array_header();  // the element count of an array
  std::optional<std::string_view> str();        // str only, never bin
  // A non-negative integer in any integer format, unsigned or signed.
  std::optional<std::uint64_t> non_negative_integer();

  // Moves past one value, whatever it holds; false (cursor unspecified) if the bytes end first
  // or hold the never-used byte 0xc1.
  bool skip();

 private:
  // The big-endian unsigned integer of `width` bytes at offset_ + at, if the bytes hold it.
  std::optional<std::uint64_t> big_endian(std::size_t at, std::size_t width) const;
  // The count of a fixed-size or sized container header; `fix_low`..`fix_low + 15` is its fix
  // form, `size16`/`size32` its 16- and 32-bit forms.
  std::optional<std::uint64_t> container_header(std::uint8_t fix_low, std::uint8_t size16,
                                                std::uint8_t size32);

  std::string_view bytes_;
  std::size_t offset_ = 0;
};

}  // namespace bcast::protocol
