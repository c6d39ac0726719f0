#include "codec/msgpack_wire.hpp"

namespace bcast::protocol {
namespace {

// Bytes that follow a format byte before the value's own body: the length or count field, and
// for ext the type byte. `body` is a fixed body size, or 0 when the length field gives it.
struct Layout {
  std::size_t length_width = 0;  // bytes of the big-endian length/count field
  std::size_t fixed_body = 0;    // bytes of body that need no length field
  std::size_t extra = 0;         // ext's type byte
  enum class Kind { kScalar, kBytes, kArray, kMap, kInvalid } kind = Kind::kScalar;
};

Layout layout_of(std::uint8_t format) {
  using Kind = Layout::Kind;
  if (format <= 0x7f || format >= 0xe0) return {};                               // fixint
  if (format <= 0x8f) return {0, 0, 0, Kind::kMap};                              // fixmap
  if (format <= 0x9f) return {0, 0, 0, Kind::kArray};                            // fixarray
  if (format <= 0xbf) return {0, std::size_t{format} & 0x1f, 0, Kind::kScalar};  // fixstr
  switch (format) {
    case 0xc0:  // nil
    case 0xc2:  // false
    case 0xc3:  // true
      return {};
    case 0xc4:  // bin 8
    case 0xd9:  // str 8
      return {1, 0, 0, Kind::kBytes};
    case 0xc5:  // bin 16
    case 0xda:  // str 16
      return {2, 0, 0, Kind::kBytes};
    case 0xc6:  // bin 32
    case 0xdb:  // str 32
      return {4, 0, 0, Kind::kBytes};
    case 0xc7:  // ext 8
      return {1, 0, 1, Kind::kBytes};
    case 0xc8:  // ext 16
      return {2, 0, 1, Kind::kBytes};
    case 0xc9:  // ext 32
      return {4, 0, 1, Kind::kBytes};
    case 0xca:  // float 32
      return {0, 4, 0, Kind::kScalar};
    case 0xcb:  // float 64
      return {0, 8, 0, Kind::kScalar};
    case 0xcc:  // uint 8
    case 0xd0:  // int 8
      return {0, 1, 0, Kind::kScalar};
    case 0xcd:
    case 0xd1:
      return {0, 2, 0, Kind::kScalar};
    case 0xce:
    case 0xd2:
      return {0, 4, 0, Kind::kScalar};
    case 0xcf:
    case 0xd3:
      return {0, 8, 0, Kind::kScalar};
    case 0xd4:  // fixext 1, 2, 4, 8, 16: a type byte and a fixed body
      return {0, 2, 0, Kind::kScalar};
    case 0xd5:
      return {0, 3, 0, Kind::kScalar};
    case 0xd6:
      return {0, 5, 0, Kind::kScalar};
    case 0xd7:
      return {0, 9, 0, Kind::kScalar};
    case 0xd8:
      return {0, 17, 0, Kind::kScalar};
    case 0xdc:
      return {2, 0, 0, Kind::kArray};
    case 0xdd:
      return {4, 0, 0, Kind::kArray};
    case 0xde:
      return {2, 0, 0, Kind::kMap};
    case 0xdf:
      return {4, 0, 0, Kind::kMap};
    default:  // 0xc1, never used
      return {0, 0, 0, Kind::kInvalid};
  }
}

}  // namespace

bool is_unsigned_format(std::uint8_t first_byte) {
  return first_byte <= 0x7f || (first_byte >= 0xcc && first_byte <= 0xcf);
}

std::optional<std::uint8_t> WireReader::peek_format() const {
  if (at_end()) return std::nullopt;
  return static_cast<std::uint8_t>(bytes_[offset_]);
}

std::optional<std::uint64_t> WireReader::big_endian(std::size_t at, std::size_t width) const {
  if (bytes_.size() - offset_ < at + width) return std::nullopt;
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    value = (value << 8) | static_cast<std::uint8_t>(bytes_[offset_ + at + i]);
  }
  return value;
}

std::optional<std::uint64_t> WireReader::container_header(std::uint8_t fix_low, std::uint8_t size16,
                                                          std::uint8_t size32) {
  const auto format = peek_format();
  if (!format) return std::nullopt;
  if (*format >= fix_low && *format <= fix_low + 15) {
    ++offset_;
    return *format & 0x0f;
  }
  const std::size_t width = *format == size16 ? 2 : *format == size32 ? 4 : 0;
  if (width == 0) return std::nullopt;
  const auto count = big_endian(1, width);
  if (count) offset_ += 1 + width;
  return count;
}

std::optional<std::uint64_t> WireReader::map_header() { return container_header(0x80, 0xde, 0xdf); }

std::optional<std::uint64_t> WireReader::array_header() {
  return container_header(0x90, 0xdc, 0xdd);
}

std::optional<std::string_view> WireReader::str() {
  const auto format = peek_format();
  if (!format) return std::nullopt;
  std::size_t header = 1;
  std::optional<std::uint64_t> length;
  if (*format >= 0xa0 && *format <= 0xbf) {
    length = *format & 0x1f;
  } else if (*format >= 0xd9 && *format <= 0xdb) {
    const std::size_t width = std::size_t{1} << (*format - 0xd9);  // 1, 2, 4
    header += width;
    length = big_endian(1, width);
  }
  const std::size_t remaining = bytes_.size() - offset_;
  if (!length || remaining < header || remaining - header < *length) return std::nullopt;
  const std::string_view text = bytes_.substr(offset_ + header, *length);
  offset_ += header + *length;
  return text;
}

std::optional<std::uint64_t> WireReader::non_negative_integer() {
  const auto format = peek_format();
  if (!format) return std::nullopt;
  if (*format <= 0x7f) {
    ++offset_;
    return *format;
  }
  const bool is_uint = *format >= 0xcc && *format <= 0xcf;
  const bool is_int = *format >= 0xd0 && *format <= 0xd3;
  if (!is_uint && !is_int) return std::nullopt;
  const std::size_t width = std::size_t{1} << (*format & 0x03);  // 1, 2, 4, 8
  const auto value = big_endian(1, width);
  if (!value) return std::nullopt;
  // A signed value is negative when its top bit is set.
  if (is_int && ((*value >> (8 * width - 1)) & 1) != 0) return std::nullopt;
  offset_ += 1 + width;
  return value;
}

bool WireReader::skip() {
  // Values still to skip: one, plus every element and entry of the containers met on the way.
  std::uint64_t pending = 1;
  while (pending > 0) {
    // Every pending value needs at least one byte: stop claims the bytes cannot back.
    if (pending > bytes_.size() - offset_) return false;
    const Layout layout = layout_of(static_cast<std::uint8_t>(bytes_[offset_]));
    --pending;
    if (layout.kind == Layout::Kind::kInvalid) return false;
    std::uint64_t length = layout.fixed_body;
    if (layout.length_width > 0) {
      const auto field = big_endian(1, layout.length_width);
      if (!field) return false;
      length = *field;
    }
    const std::uint8_t format = static_cast<std::uint8_t>(bytes_[offset_]);
    if (layout.kind == Layout::Kind::kArray || layout.kind == Layout::Kind::kMap) {
      const std::uint64_t count = layout.length_width > 0 ? length : (format & 0x0f);
      pending += layout.kind == Layout::Kind::kMap ? 2 * count : count;
      length = 0;
    }
    const std::uint64_t size = 1 + layout.length_width + layout.extra + length;
    if (size > bytes_.size() - offset_) return false;
    offset_ += size;
  }
  return true;
}

}  // namespace bcast::protocol
