// Chat lines and notices as the terminal shows them.
#include "chat_format.hpp"

#include <gtest/gtest.h>

namespace bcast::chat {
namespace {

constexpr SenderId kAlice = 1ULL << 48 | 1;
constexpr SenderId kBob = 2ULL << 48 | 1;

Delivery delivery_of(std::string payload) {
  Delivery delivery;
  delivery.group = "lobby";
  delivery.sender = kBob;
  delivery.payload = std::move(payload);
  return delivery;
}

TEST(ChatFormat, LinesRoundTripAndOtherPayloadsAreShownAsSuch) {
  EXPECT_EQ(format_delivery(delivery_of(encode_line("bob", "hello there").value())),
            "<bob> hello there");
  EXPECT_EQ(format_delivery(delivery_of("raw bytes")),
            "(not a chat line from sender " + std::to_string(kBob) + ", 9 bytes)");
  for (const char* other :
       {R"({"chat":"1","nick":"bob","text":"x"})", R"({"chat":1,"nick":7,"text":"x"})",
        R"({"chat":1,"nick":"bob"})", R"([1,2])"}) {
    EXPECT_EQ(format_delivery(delivery_of(other)).rfind("(not a chat line", 0), 0u) << other;
  }
  EXPECT_FALSE(encode_line("", "x").ok());
  EXPECT_FALSE(encode_line(std::string(kMaxNickBytes + 1, 'n'), "x").ok());
  EXPECT_FALSE(encode_line("bob", std::string("\xff", 1)).ok());
}

TEST(ChatFormat, AgreedViewsBecomeJoinAndLeaveNotices) {
  const ViewMember alice{kAlice, 1, "alice"};
  const ViewMember bob{kBob, 2, "bob"};
  View daemons;  // the daemons' view right after a join: no notice
  daemons.group = "lobby";
  daemons.members = {1, 2, 3};
  EXPECT_TRUE(format_view(daemons, kAlice).empty());

  View joined;
  joined.group = "lobby";
  joined.view_id = 2;
  joined.group_members = {alice, bob};
  joined.joined = {bob};
  joined.cause = "join";
  EXPECT_EQ(format_view(joined, kAlice), std::vector<std::string>{"* bob joined lobby"});
  EXPECT_EQ(format_view(joined, kBob),
            std::vector<std::string>{"* you joined lobby (here: alice, bob)"});

  View left;
  left.group = "lobby";
  left.view_id = 3;
  left.group_members = {alice};
  left.left = {bob};
  left.cause = "disconnect";
  EXPECT_EQ(format_view(left, kAlice), std::vector<std::string>{"* bob left lobby (disconnect)"});
}

}  // namespace
}  // namespace bcast::chat
