// WireReader: msgpack read byte by byte agrees with msgpack-c on every format, and never reads
// past the bytes it was given.
#include "codec/msgpack_wire.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <msgpack.hpp>
#include <string>
#include <vector>

namespace bcast::protocol {
namespace {

template <typename T>
std::string packed(const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return std::string(buffer.data(), buffer.size());
}

// One of each msgpack format msgpack-c writes, plus the ext and float forms.
std::vector<std::string> samples() {
  std::vector<std::string> out = {
      packed(0),
      packed(127),
      packed(255),
      packed(65535),
      packed(std::uint64_t{1} << 40),
      packed(-1),
      packed(-100),
      packed(-40000),
      packed(std::int64_t{-1} << 40),
      packed(1.5f),
      packed(2.5),
      packed(true),
      packed(msgpack::type::nil_t()),
      packed(std::string(5, 's')),
      packed(std::string(200, 's')),
      packed(std::string(70000, 's')),
      packed(std::vector<int>(3, 1)),
      packed(std::vector<int>(20, 1)),
      packed(std::map<std::string, std::vector<int>>{{"a", {1, 2}}, {"b", {}}}),
  };
  // bin 8, fixext 1 and ext 16, each alone.
  auto pack_with = [&out](auto write) {
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(&buffer);
    write(packer);
    out.emplace_back(buffer.data(), buffer.size());
  };
  pack_with([](auto& p) {
    p.pack_bin(3);
    p.pack_bin_body("abc", 3);
  });
  pack_with([](auto& p) {
    p.pack_ext(1, 7);
    p.pack_ext_body("x", 1);
  });
  pack_with([](auto& p) {
    p.pack_ext(300, 7);
    p.pack_ext_body(std::string(300, 'e').data(), 300);
  });
  return out;
}

TEST(WireReaderTest, SkipsEveryFormatExactlyAndRefusesEveryTruncation) {
  for (const std::string& value : samples()) {
    WireReader whole(value);
    ASSERT_TRUE(whole.skip());
    EXPECT_TRUE(whole.at_end()) << "skipped " << whole.offset() << " of " << value.size();
    for (std::size_t cut = 0; cut < value.size(); ++cut) {
      WireReader prefix(std::string_view(value).substr(0, cut));
      EXPECT_FALSE(prefix.skip()) << "a value cut to " << cut << " of " << value.size()
                                  << " bytes was skipped";
    }
  }
}

TEST(WireReaderTest, ReadsNonNegativeIntegersInEveryFormat) {
  for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{5}, std::uint64_t{200},
                          std::uint64_t{40000}, std::uint64_t{1} << 33}) {
    const std::string in_bytes = packed(v);
    WireReader in(in_bytes);
    EXPECT_EQ(in.non_negative_integer(), v);
    EXPECT_TRUE(in.at_end());
  }
  // int 8/16/32/64 holding non-negative values.
  const std::string signed_forms[] = {std::string("\xd0\x05", 2), std::string("\xd1\x01\x00", 3),
                                      std::string("\xd2\x00\x01\x00\x00", 5),
                                      std::string("\xd3\x00\x00\x00\x02\x00\x00\x00\x00", 9)};
  const std::uint64_t values[] = {5, 256, 65536, std::uint64_t{2} << 32};
  for (int i = 0; i < 4; ++i) {
    WireReader in(signed_forms[i]);
    EXPECT_EQ(in.non_negative_integer(), values[i]);
    EXPECT_FALSE(is_unsigned_format(static_cast<std::uint8_t>(signed_forms[i][0])));
  }
  for (const std::string& negative : {packed(-1), packed(-200), std::string("\xd0\x80", 2)}) {
    WireReader in(negative);
    EXPECT_FALSE(in.non_negative_integer().has_value());
    EXPECT_EQ(in.offset(), 0u) << "a refused read leaves the cursor";
  }
  const std::string truncated_bytes = std::string("\xcf\x00\x00", 3);
  WireReader truncated(truncated_bytes);
  EXPECT_FALSE(truncated.non_negative_integer().has_value());
}

TEST(WireReaderTest, ReadsHeadersAndStrings) {
  const std::string map_bytes = packed(std::map<std::string, int>{{"id", 3}});
  WireReader map(map_bytes);
  EXPECT_EQ(map.map_header(), 1u);
  EXPECT_EQ(map.str(), "id");
  EXPECT_EQ(map.non_negative_integer(), 3u);
  const std::string long_text(300, 'q');
  const std::string text_bytes = packed(long_text);
  WireReader text(text_bytes);
  EXPECT_FALSE(text.map_header().has_value());
  EXPECT_EQ(text.str(), long_text);
  const std::string array_bytes = packed(std::vector<int>(70000, 0));
  WireReader array(array_bytes);
  EXPECT_EQ(array.array_header(), 70000u);
  // A bin is not a str.
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(&buffer);
  packer.pack_bin(2);
  packer.pack_bin_body("id", 2);
  WireReader bin(std::string_view(buffer.data(), buffer.size()));
  EXPECT_FALSE(bin.str().has_value());
  // A str claiming more bytes than there are.
  const std::string short_str_bytes(
      "\xd9\x10"
      "abc",
      5);
  WireReader short_str(short_str_bytes);
  EXPECT_FALSE(short_str.str().has_value());
}

TEST(WireReaderTest, RefusesClaimsTheBytesCannotBackAtOnce) {
  // A map32 of 2^32-1 entries, an array nested 100000 deep, the reserved byte 0xc1.
  const std::string huge_bytes = std::string("\xdf\xff\xff\xff\xff\x01\x02", 7);
  WireReader huge(huge_bytes);
  EXPECT_FALSE(huge.skip());
  std::string deep(100000, '\x91');
  deep += '\x00';
  WireReader nested(deep);
  EXPECT_TRUE(nested.skip());
  EXPECT_TRUE(nested.at_end());
  WireReader nested_short(std::string_view(deep).substr(0, 50000));
  EXPECT_FALSE(nested_short.skip());
  WireReader reserved(std::string_view("\xc1"));
  EXPECT_FALSE(reserved.skip());
}

}  // namespace
}  // namespace bcast::protocol
