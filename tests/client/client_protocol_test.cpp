// The client protocol codec: every message type survives a round trip, and malformed headers
// are refused with an error (never an exception, never a half-filled header).
#include "codec/client_protocol.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <msgpack.hpp>
#include <string>
#include <utility>
#include <vector>

namespace bcast::protocol {
namespace {

// Packs a msgpack map from (key, value) pairs, for headers the encoder would never write.
class RawMap {
 public:
  template <typename T>
  RawMap& add(std::string key, T value) {
    entries_.emplace_back(std::move(key),
                          [value](msgpack::packer<msgpack::sbuffer>& p) { p.pack(value); });
    return *this;
  }
  RawMap& add_nil(std::string key) {
    entries_.emplace_back(std::move(key),
                          [](msgpack::packer<msgpack::sbuffer>& p) { p.pack_nil(); });
    return *this;
  }
  std::string str() const {
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(&buffer);
    packer.pack_map(static_cast<std::uint32_t>(entries_.size()));
    for (const auto& [key, pack_value] : entries_) {
      packer.pack(key);
      pack_value(packer);
    }
    return std::string(buffer.data(), buffer.size());
  }

 private:
  std::vector<std::pair<std::string, std::function<void(msgpack::packer<msgpack::sbuffer>&)>>>
      entries_;
};

Header round_trip(const Header& header) {
  auto decoded = decode_header(encode_header(header));
  EXPECT_TRUE(decoded.ok()) << decoded.error().message;
  return decoded.ok() ? decoded.value() : Header{};
}

void expect_protocol_error(const std::string& frame, const std::string& mentions) {
  auto decoded = decode_header(frame);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, ErrorCode::kProtocol);
  EXPECT_NE(decoded.error().message.find(mentions), std::string::npos) << decoded.error().message;
}

constexpr SenderId kSender = (SenderId{3} << 48) | (SenderId{2} << 32) | 7;

TEST(ClientProtocolTest, TypeNamesRoundTrip) {
  for (auto type : {MessageType::kHello, MessageType::kJoin, MessageType::kLeave,
                    MessageType::kPublish, MessageType::kStatus, MessageType::kWelcome,
                    MessageType::kOk, MessageType::kReceipt, MessageType::kStatusReply,
                    MessageType::kDelivery, MessageType::kView, MessageType::kError}) {
    auto parsed = parse_message_type(message_type_name(type));
    ASSERT_TRUE(parsed.has_value()) << message_type_name(type);
    EXPECT_EQ(*parsed, type);
  }
  EXPECT_EQ(std::string(message_type_name(MessageType::kStatusReply)), "status_reply");
  EXPECT_FALSE(parse_message_type("Hello").has_value());
}

TEST(ClientProtocolTest, HelloRoundTrip) {
  Header h;
  h.type = MessageType::kHello;
  h.id = 1;
  h.version = kVersion;
  h.client_name = "chat";
  Header out = round_trip(h);
  EXPECT_EQ(out.type, MessageType::kHello);
  EXPECT_EQ(out.id, 1u);
  EXPECT_EQ(out.version, kVersion);
  EXPECT_EQ(out.client_name, "chat");
}

TEST(ClientProtocolTest, HelloWithoutClientNameIsAccepted) {
  auto decoded = decode_header(RawMap().add("type", "hello").add("id", 1).add("version", 1).str());
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded.value().client_name, "");
}

TEST(ClientProtocolTest, JoinLeaveStatusOkRoundTrip) {
  for (auto type : {MessageType::kJoin, MessageType::kLeave}) {
    Header h;
    h.type = type;
    h.id = 42;
    h.group = "prices";
    Header out = round_trip(h);
    EXPECT_EQ(out.type, type);
    EXPECT_EQ(out.id, 42u);
    EXPECT_EQ(out.group, "prices");
  }
  for (auto type : {MessageType::kStatus, MessageType::kOk}) {
    Header h;
    h.type = type;
    h.id = 9;
    Header out = round_trip(h);
    EXPECT_EQ(out.type, type);
    EXPECT_EQ(out.id, 9u);
  }
}

TEST(ClientProtocolTest, PublishRoundTripEveryService) {
  for (Mode mode : {Mode::kBestEffort, Mode::kReliable, Mode::kGossip}) {
    for (Order order : {Order::kNone, Order::kFifo, Order::kCausal, Order::kTotal}) {
      Header h;
      h.type = MessageType::kPublish;
      h.id = 1000;
      h.group = "g";
      h.mode = mode;
      h.order = order;
      Header out = round_trip(h);
      EXPECT_EQ(out.type, MessageType::kPublish);
      EXPECT_EQ(out.id, 1000u);
      EXPECT_EQ(out.group, "g");
      EXPECT_EQ(out.mode, mode);
      EXPECT_EQ(out.order, order);
    }
  }
}

TEST(ClientProtocolTest, WelcomeRoundTrip) {
  Header h;
  h.type = MessageType::kWelcome;
  h.id = 1;
  h.sender = kSender;
  h.node_id = 3;
  h.version = kVersion;
  h.max_message_bytes = 1 << 20;
  Header out = round_trip(h);
  EXPECT_EQ(out.sender, kSender);
  EXPECT_EQ(out.node_id, 3u);
  EXPECT_EQ(out.version, kVersion);
  EXPECT_EQ(out.max_message_bytes, 1u << 20);
}

TEST(ClientProtocolTest, ReceiptRoundTripWithAndWithoutGseq) {
  Header h;
  h.type = MessageType::kReceipt;
  h.id = 5;
  h.seq = 17;
  Header out = round_trip(h);
  EXPECT_EQ(out.seq, 17u);
  EXPECT_FALSE(out.gseq.has_value());

  h.gseq = 123456789012ULL;
  out = round_trip(h);
  ASSERT_TRUE(out.gseq.has_value());
  EXPECT_EQ(*out.gseq, 123456789012ULL);
}

TEST(ClientProtocolTest, ReceiptEncodesAbsentGseqAsNil) {
  Header h;
  h.type = MessageType::kReceipt;
  h.id = 5;
  h.seq = 1;
  const std::string frame = encode_header(h);
  msgpack::object_handle handle = msgpack::unpack(frame.data(), frame.size());
  const msgpack::object& map = handle.get();
  ASSERT_EQ(map.type, msgpack::type::MAP);
  bool saw_gseq = false;
  for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
    if (map.via.map.ptr[i].key.as<std::string>() == "gseq") {
      saw_gseq = true;
      EXPECT_EQ(map.via.map.ptr[i].val.type, msgpack::type::NIL);
    }
  }
  EXPECT_TRUE(saw_gseq);
}

TEST(ClientProtocolTest, EncoderWritesOnlyTheKeysATypeUses) {
  Header h;
  h.type = MessageType::kJoin;
  h.id = 2;
  h.group = "g";
  h.client_name = "not for join";
  h.members = {1, 2};
  const std::string frame = encode_header(h);
  msgpack::object_handle handle = msgpack::unpack(frame.data(), frame.size());
  std::vector<std::string> keys;
  for (std::uint32_t i = 0; i < handle.get().via.map.size; ++i) {
    keys.push_back(handle.get().via.map.ptr[i].key.as<std::string>());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"type", "id", "group"}));
}

TEST(ClientProtocolTest, StatusReplyRoundTrip) {
  Header h;
  h.type = MessageType::kStatusReply;
  h.id = 3;
  h.node_id = 2;
  h.role = "follower";
  h.term = 7;
  h.leader = 1;
  h.members = {1, 2, 3};
  h.commit_index = 99;
  Header out = round_trip(h);
  EXPECT_EQ(out.node_id, 2u);
  EXPECT_EQ(out.role, "follower");
  EXPECT_EQ(out.term, 7u);
  ASSERT_TRUE(out.leader.has_value());
  EXPECT_EQ(*out.leader, 1u);
  EXPECT_EQ(out.members, (std::vector<NodeId>{1, 2, 3}));
  EXPECT_EQ(out.commit_index, 99u);

  h.leader.reset();
  h.members.clear();
  out = round_trip(h);
  EXPECT_FALSE(out.leader.has_value());
  EXPECT_TRUE(out.members.empty());
}

TEST(ClientProtocolTest, DeliveryRoundTrip) {
  Header h;
  h.type = MessageType::kDelivery;
  h.group = "chat";
  h.sender = kSender;
  h.seq = 4;
  h.gseq = 10;
  h.mode = Mode::kGossip;
  h.order = Order::kTotal;
  Header out = round_trip(h);
  EXPECT_EQ(out.type, MessageType::kDelivery);
  EXPECT_EQ(out.id, 0u);
  EXPECT_EQ(out.group, "chat");
  EXPECT_EQ(out.sender, kSender);
  EXPECT_EQ(out.seq, 4u);
  EXPECT_EQ(out.gseq, std::optional<std::uint64_t>(10));
  EXPECT_EQ(out.mode, Mode::kGossip);
  EXPECT_EQ(out.order, Order::kTotal);
}

TEST(ClientProtocolTest, DeliveryCarriesItsStreamPositionWhenGiven) {
  Header h;
  h.type = MessageType::kDelivery;
  h.group = "chat";
  h.sender = kSender;
  h.seq = 4;
  h.stream_seq = 17;
  EXPECT_EQ(round_trip(h).stream_seq, 17u);
  h.stream_seq = 0;  // total order: none, and the key is not written
  EXPECT_EQ(encode_header(h).find("stream_seq"), std::string::npos);
  EXPECT_EQ(round_trip(h).stream_seq, 0u);
}

TEST(ClientProtocolTest, StreamGapRoundTrip) {
  Header h;
  h.type = MessageType::kGap;
  h.reason = "excluded";
  h.origin = (std::uint64_t{3} << 16) | 2;
  h.mode = Mode::kGossip;
  h.from_seq = 5;
  h.to_seq = 9;
  Header out = round_trip(h);
  EXPECT_EQ(out.type, MessageType::kGap);
  EXPECT_EQ(out.id, 0u);
  EXPECT_EQ(out.group, "");  // any group: the key is not written
  EXPECT_EQ(encode_header(h).find("group"), std::string::npos);
  EXPECT_EQ(out.reason, "excluded");
  EXPECT_EQ(out.origin, h.origin);
  EXPECT_EQ(out.mode, Mode::kGossip);
  EXPECT_EQ(out.from_seq, 5u);
  EXPECT_EQ(out.to_seq, 9u);
  EXPECT_FALSE(out.from_gseq);
  // A gap of one group, and one with no end (nil to_seq).
  h.group = "chat";
  h.to_seq.reset();
  out = round_trip(h);
  EXPECT_EQ(out.group, "chat");
  EXPECT_FALSE(out.to_seq);
  EXPECT_NE(encode_header(h).find("to_seq"), std::string::npos);
}

TEST(ClientProtocolTest, TotalOrderGapRoundTrip) {
  Header h;
  h.type = MessageType::kGap;
  h.reason = "snapshot";
  h.from_gseq = 10;
  h.to_gseq = 40;
  const std::string encoded = encode_header(h);
  EXPECT_EQ(encoded.find("mode"), std::string::npos);
  EXPECT_EQ(encoded.find("origin"), std::string::npos);
  Header out = round_trip(h);
  EXPECT_FALSE(out.origin);
  EXPECT_EQ(out.from_gseq, 10u);
  EXPECT_EQ(out.to_gseq, 40u);
  EXPECT_EQ(out.reason, "snapshot");
}

TEST(ClientProtocolTest, RejectsGapsThatNameNoRangeOrTwo) {
  const std::uint64_t origin = (std::uint64_t{3} << 16) | 2;
  const auto gap = [] { return RawMap().add("type", "gap").add("reason", "excluded"); };
  expect_protocol_error(gap().str(), "needs");
  expect_protocol_error(RawMap().add("type", "gap").add("from_gseq", 1).add("to_gseq", 2).str(),
                        "\"reason\" is missing");
  expect_protocol_error(gap().add("origin", origin).add("from_seq", 1).str(), "\"mode\"");
  expect_protocol_error(gap().add("origin", origin).add("mode", "reliable").str(), "from_seq");
  expect_protocol_error(
      gap().add("origin", origin).add("mode", "reliable").add("from_seq", 5).add("to_seq", 4).str(),
      "below");
  expect_protocol_error(gap().add("from_gseq", 5).add("to_gseq", 4).str(), "below");
  expect_protocol_error(gap().add("from_gseq", 5).str(), "needs");
  expect_protocol_error(gap()
                            .add("origin", origin)
                            .add("mode", "reliable")
                            .add("from_seq", 1)
                            .add("from_gseq", 1)
                            .add("to_gseq", 1)
                            .str(),
                        "both");
  // An origin is a daemon incarnation: its node id (the top 16 bits) is never 0.
  expect_protocol_error(gap().add("origin", 2).add("mode", "reliable").add("from_seq", 1).str(),
                        "origin");
  // A total-order gap has no mode: one given is ignored (so decode and re-encode agree).
  auto with_mode =
      decode_header(gap().add("from_gseq", 1).add("to_gseq", 2).add("mode", "gossip").str());
  ASSERT_TRUE(with_mode.ok()) << with_mode.error().message;
  EXPECT_EQ(with_mode.value().mode, Header{}.mode);
  auto open_end = decode_header(
      gap().add("origin", origin).add("mode", "gossip").add("from_seq", 3).add_nil("to_seq").str());
  ASSERT_TRUE(open_end.ok()) << open_end.error().message;
  EXPECT_FALSE(open_end.value().to_seq);
}

// [replay] A join may name the gseq to replay from (0: the oldest the daemon holds); the ok that
// answers a live join names the total-order position its live deliveries follow.
TEST(ClientProtocolTest, JoinFromAGseqAndTheOkThatNamesThePosition) {
  Header join;
  join.type = MessageType::kJoin;
  join.id = 4;
  join.group = "orders";
  EXPECT_EQ(encode_header(join).find("from_gseq"), std::string::npos);
  EXPECT_FALSE(round_trip(join).from_gseq);
  for (std::uint64_t from : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1} << 40}) {
    join.from_gseq = from;
    EXPECT_EQ(round_trip(join).from_gseq, from);
  }
  Header ok;
  ok.type = MessageType::kOk;
  ok.id = 4;
  EXPECT_EQ(encode_header(ok).find("gseq"), std::string::npos);
  EXPECT_FALSE(round_trip(ok).gseq);
  ok.gseq = 77;
  EXPECT_EQ(round_trip(ok).gseq, 77u);
  // Gseqs start at 1: a gap from 0 is malformed (a join from 0 is not).
  expect_protocol_error(RawMap()
                            .add("type", "gap")
                            .add("reason", "history-trimmed")
                            .add("from_gseq", 0)
                            .add("to_gseq", 3)
                            .str(),
                        "0");
}

TEST(ClientProtocolTest, ViewRoundTrip) {
  Header h;
  h.type = MessageType::kView;
  h.group = "chat";
  h.members = {1, 65535};
  Header out = round_trip(h);
  EXPECT_EQ(out.group, "chat");
  EXPECT_EQ(out.members, (std::vector<NodeId>{1, 65535}));
  EXPECT_FALSE(out.view_id);
  EXPECT_FALSE(out.gseq);
}

TEST(ClientProtocolTest, AgreedViewRoundTrip) {
  Header h;
  h.type = MessageType::kView;
  h.group = "chat";
  h.members = {1, 2};
  h.view_id = 7;
  const ViewMember a{make_sender_id(1, 1, 1), 1, "a"};
  const ViewMember b{make_sender_id(2, 3, 9), 2, ""};
  h.clients = {a, b};
  h.joined = {b};
  h.cause = "join";
  h.gseq = 40;
  Header out = round_trip(h);
  EXPECT_EQ(out.view_id, 7u);
  EXPECT_EQ(out.clients, h.clients);
  EXPECT_EQ(out.joined, h.joined);
  EXPECT_TRUE(out.left.empty());
  EXPECT_EQ(out.cause, "join");
  EXPECT_EQ(out.gseq, 40u);
  // A member map without its sender is refused.
  const std::string encoded = encode_header(h);
  std::string broken = encoded;
  const auto at = broken.find("sender");
  ASSERT_NE(at, std::string::npos);
  broken.replace(at, 6, "sendex");
  EXPECT_FALSE(decode_header(broken).ok());
}

TEST(ClientProtocolTest, ErrorRoundTripEveryCode) {
  for (int c = 1; c <= 10; ++c) {
    const auto code = static_cast<ErrorCode>(c);
    Header out = round_trip(error_reply(8, code, "because"));
    EXPECT_EQ(out.type, MessageType::kError);
    EXPECT_EQ(out.id, 8u);
    EXPECT_EQ(out.code, code);
    EXPECT_EQ(out.message, "because");
  }
  // Errors that are events (or about unreadable frames) carry id 0.
  Header out = round_trip(error_reply(0, ErrorCode::kUnavailable, "shutting down"));
  EXPECT_EQ(out.id, 0u);
}

TEST(ClientProtocolTest, UnknownKeysAreIgnored) {
  auto decoded = decode_header(RawMap()
                                   .add("type", "join")
                                   .add("id", 4)
                                   .add("group", "g")
                                   .add("future_feature", std::vector<int>{1, 2})
                                   .add("mode", 12)  // known key the type does not use
                                   .str());
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded.value().group, "g");
}

TEST(ClientProtocolTest, RejectsWhatIsNotAMap) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, std::vector<int>{1, 2, 3});
  expect_protocol_error(std::string(buffer.data(), buffer.size()), "not a msgpack map");
  expect_protocol_error("", "not valid msgpack");
  expect_protocol_error("\xc1", "not valid msgpack");  // a reserved byte
  // A map cut short.
  const std::string hello = RawMap().add("type", "hello").add("id", 1).add("version", 1).str();
  expect_protocol_error(hello.substr(0, hello.size() - 1), "not valid msgpack");
  // Two values in one frame.
  expect_protocol_error(hello + hello, "trailing bytes");
}

TEST(ClientProtocolTest, RejectsMissingOrUnknownType) {
  expect_protocol_error(RawMap().add("id", 1).str(), "no \"type\"");
  expect_protocol_error(RawMap().add("type", 3).add("id", 1).str(), "\"type\" must be a string");
  expect_protocol_error(RawMap().add("type", "shout").add("id", 1).str(), "unknown message type");
}

TEST(ClientProtocolTest, RejectsMissingRequiredKeys) {
  expect_protocol_error(RawMap().add("type", "hello").add("id", 1).str(), "\"version\" is missing");
  expect_protocol_error(RawMap().add("type", "join").add("id", 1).str(), "\"group\" is missing");
  expect_protocol_error(RawMap().add("type", "publish").add("id", 1).add("group", "g").str(),
                        "is missing");
  expect_protocol_error(RawMap().add("type", "status").str(), "\"id\" is missing");
  expect_protocol_error(RawMap().add("type", "receipt").add("id", 1).str(), "\"seq\" is missing");
  expect_protocol_error(RawMap().add("type", "error").add("id", 0).str(), "\"code\" is missing");
  expect_protocol_error(RawMap()
                            .add("type", "welcome")
                            .add("id", 1)
                            .add("sender", kSender)
                            .add("node_id", 1)
                            .add("version", 1)
                            .str(),
                        "\"max_message_bytes\" is missing");
}

TEST(ClientProtocolTest, RejectsWrongValueTypes) {
  expect_protocol_error(RawMap().add("type", "join").add("id", "1").add("group", "g").str(),
                        "\"id\" must be an unsigned integer");
  expect_protocol_error(RawMap().add("type", "join").add("id", -1).add("group", "g").str(),
                        "\"id\" must be an unsigned integer");
  expect_protocol_error(RawMap().add("type", "join").add("id", 1).add("group", 5).str(),
                        "\"group\" must be a string");
  expect_protocol_error(RawMap()
                            .add("type", "publish")
                            .add("id", 1)
                            .add("group", "g")
                            .add("mode", "carrier-pigeon")
                            .add("order", "none")
                            .str(),
                        "\"mode\" must be");
  expect_protocol_error(RawMap()
                            .add("type", "publish")
                            .add("id", 1)
                            .add("group", "g")
                            .add("mode", "reliable")
                            .add("order", "alphabetical")
                            .str(),
                        "\"order\" must be");
  expect_protocol_error(RawMap().add("type", "view").add("group", "g").add("members", "1,2").str(),
                        "\"members\" must be an array");
  expect_protocol_error(
      RawMap().add("type", "view").add("group", "g").add("members", std::vector<int>{1, -2}).str(),
      "\"members\" must hold node ids");
  expect_protocol_error(
      RawMap().add("type", "error").add("id", 1).add("code", "oops").add("message", "x").str(),
      "not a known error code");
  expect_protocol_error(
      RawMap().add("type", "receipt").add("id", 1).add("seq", 1).add("gseq", "x").str(),
      "\"gseq\" must be an unsigned integer");
  // Non-string keys.
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(&buffer);
  packer.pack_map(1);
  packer.pack(1);
  packer.pack(2);
  expect_protocol_error(std::string(buffer.data(), buffer.size()), "non-string key");
}

TEST(ClientProtocolTest, RejectsValuesOutOfRange) {
  // Requests need a non-zero id: 0 is reserved for events and unreadable frames.
  expect_protocol_error(RawMap().add("type", "join").add("id", 0).add("group", "g").str(),
                        "\"id\" must be in 1..");
  expect_protocol_error(
      RawMap().add("type", "hello").add("id", 1).add("version", std::uint64_t{1} << 32).str(),
      "\"version\" must be in");
  expect_protocol_error(RawMap().add("type", "receipt").add("id", 1).add("seq", 0).str(),
                        "\"seq\" must be in");
  expect_protocol_error(RawMap()
                            .add("type", "status_reply")
                            .add("id", 1)
                            .add("node_id", 70000)
                            .add("role", "leader")
                            .add("term", 1)
                            .add("members", std::vector<int>{1})
                            .add("commit_index", 0)
                            .str(),
                        "\"node_id\" must be in 1..65535");
  expect_protocol_error(RawMap()
                            .add("type", "delivery")
                            .add("group", "g")
                            .add("sender", 5)  // node 0
                            .add("seq", 1)
                            .add("mode", "reliable")
                            .add("order", "none")
                            .str(),
                        "\"sender\" must be in");
  expect_protocol_error(RawMap()
                            .add("type", "hello")
                            .add("id", 1)
                            .add("version", 1)
                            .add("client_name", std::string(256, 'x'))
                            .str(),
                        "\"client_name\" must be at most 255 bytes");
}

TEST(ClientProtocolTest, NilMeansNone) {
  auto decoded = decode_header(RawMap()
                                   .add("type", "status_reply")
                                   .add("id", 1)
                                   .add("node_id", 1)
                                   .add("role", "candidate")
                                   .add("term", 4)
                                   .add_nil("leader")
                                   .add("members", std::vector<int>{1, 2, 3})
                                   .add("commit_index", 0)
                                   .str());
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_FALSE(decoded.value().leader.has_value());
}

TEST(ClientProtocolTest, RejectsRepeatedKeys) {
  expect_protocol_error(
      RawMap().add("type", "join").add("id", 1).add("group", "a").add("group", "b").str(),
      "repeats key \"group\"");
  // "A key may not appear twice": unknown keys too, and keys the type does not use.
  expect_protocol_error(
      RawMap().add("type", "join").add("id", 1).add("group", "a").add("x", 1).add("x", 2).str(),
      "repeats key \"x\"");
  expect_protocol_error(
      RawMap().add("type", "status").add("id", 1).add("seq", 1).add("seq", 1).str(),
      "repeats key \"seq\"");
}

// A map from raw (key, encoded value) pairs, for encodings msgpack-c's packer never chooses.
std::string raw_map(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out(1, static_cast<char>(0x80 | entries.size()));
  for (const auto& [key, value] : entries) {
    out += static_cast<char>(0xa0 | key.size());
    out += key;
    out += value;
  }
  return out;
}
std::string fixstr(const std::string& text) { return static_cast<char>(0xa0 | text.size()) + text; }

TEST(ClientProtocolTest, RejectsSignedFormatsWhereUnsignedIsRequired) {
  // 1 as int 8 (0xd0 0x01) and as int 64: non-negative, but a signed format.
  const std::string int8_one("\xd0\x01", 2);
  const std::string int64_one("\xd3\x00\x00\x00\x00\x00\x00\x00\x01", 9);
  const std::string uint8_one("\xcc\x01", 2);
  for (const std::string& one : {int8_one, int64_one}) {
    expect_protocol_error(raw_map({{"type", fixstr("join")}, {"id", one}, {"group", fixstr("g")}}),
                          "\"id\" must be an unsigned integer");
    expect_protocol_error(raw_map({{"type", fixstr("hello")}, {"id", "\x01"}, {"version", one}}),
                          "\"version\" must be an unsigned integer");
    expect_protocol_error(
        raw_map({{"type", fixstr("view")}, {"group", fixstr("g")}, {"members", "\x92\x01" + one}}),
        "\"members\" must hold node ids");
  }
  // Any unsigned format is fine, not only the smallest.
  auto decoded =
      decode_header(raw_map({{"type", fixstr("join")}, {"id", uint8_one}, {"group", fixstr("g")}}));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded.value().id, 1u);
  // Keys the type does not use are ignored, whatever their encoding.
  EXPECT_TRUE(
      decode_header(raw_map({{"type", fixstr("status")}, {"id", "\x01"}, {"seq", int8_one}})).ok());
}

TEST(ClientProtocolTest, NilMeansNoneForEveryOptionalKey) {
  auto hello = decode_header(
      RawMap().add("type", "hello").add("id", 1).add("version", 1).add_nil("client_name").str());
  ASSERT_TRUE(hello.ok()) << hello.error().message;
  EXPECT_EQ(hello.value().client_name, "");
  auto error = decode_header(RawMap()
                                 .add("type", "error")
                                 .add("id", 0)
                                 .add("code", "busy")
                                 .add_nil("message")
                                 .add_nil("supported_versions")
                                 .str());
  ASSERT_TRUE(error.ok()) << error.error().message;
  EXPECT_EQ(error.value().message, "");
  // Required keys are not optional: nil is refused there.
  expect_protocol_error(RawMap().add("type", "hello").add_nil("id").add("version", 1).str(),
                        "\"id\" must be an unsigned integer");
}

TEST(ClientProtocolTest, EmptyGroupIsLeftToTheDaemon) {
  // The daemon refuses empty and overlong names alike with invalid_argument, for join, leave and
  // publish; the codec only checks that a group is a string.
  auto decoded = decode_header(RawMap().add("type", "join").add("id", 1).add("group", "").str());
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded.value().group, "");
}

TEST(ClientProtocolTest, VersionRefusalCarriesTheSupportedVersions) {
  Header h = error_reply(4, ErrorCode::kProtocol, "version 9 is not supported");
  h.supported_versions = {1, 2};
  Header out = round_trip(h);
  EXPECT_EQ(out.supported_versions, (std::vector<std::uint64_t>{1, 2}));
  // Written only when there are some.
  const std::string plain = encode_header(error_reply(4, ErrorCode::kBusy, "x"));
  EXPECT_EQ(plain.find("supported_versions"), std::string::npos);
  expect_protocol_error(RawMap()
                            .add("type", "error")
                            .add("id", 1)
                            .add("code", "protocol")
                            .add("supported_versions", std::vector<std::uint64_t>{0})
                            .str(),
                        "\"supported_versions\" must hold protocol versions");
}

TEST(ClientProtocolTest, RejectsOversizedFrames) {
  Header h;
  h.type = MessageType::kJoin;
  h.id = 1;
  h.group = std::string(2000, 'g');
  const std::string frame = encode_header(h);
  auto decoded = decode_header(frame, 1024);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, ErrorCode::kTooLarge);
  EXPECT_TRUE(decode_header(frame, frame.size()).ok());
}

TEST(ClientProtocolTest, RejectsDeepNesting) {
  // Unknown keys may hold structure, but only a little: depth is bounded.
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(&buffer);
  packer.pack_map(4);
  packer.pack(std::string("type"));
  packer.pack(std::string("status"));
  packer.pack(std::string("id"));
  packer.pack(1);
  packer.pack(std::string("shallow"));
  packer.pack(std::vector<std::vector<int>>{{1}});
  packer.pack(std::string("deep"));
  for (int i = 0; i < 100; ++i) packer.pack_array(1);
  packer.pack(0);
  expect_protocol_error(std::string(buffer.data(), buffer.size()), "not valid msgpack");
}

TEST(ClientProtocolTest, RejectsArraysClaimingMoreThanTheLimit) {
  // An array header claiming 2^32-1 elements must fail without allocating for them.
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(&buffer);
  packer.pack_map(3);
  packer.pack(std::string("type"));
  packer.pack(std::string("status"));
  packer.pack(std::string("id"));
  packer.pack(1);
  packer.pack(std::string("x"));
  std::string frame(buffer.data(), buffer.size());
  frame += std::string("\xdd\xff\xff\xff\xff", 5);
  expect_protocol_error(frame, "not valid msgpack");
}

TEST(ClientProtocolTest, PeekRequestId) {
  EXPECT_EQ(peek_request_id(RawMap().add("type", "join").add("id", 77).str()), 77u);
  EXPECT_EQ(peek_request_id(RawMap().add("type", "nonsense").add("id", 12).str()), 12u);
  EXPECT_EQ(peek_request_id(RawMap().add("type", "join").add("id", "12").str()), 0u);
  EXPECT_EQ(peek_request_id(RawMap().add("type", "join").add("id", -12).str()), 0u);
  EXPECT_EQ(peek_request_id("\x93\x01\x02\x03"), 0u);
  EXPECT_EQ(peek_request_id("garbage"), 0u);
  EXPECT_EQ(peek_request_id(""), 0u);
  // A signed format holding a non-negative id is still readable.
  EXPECT_EQ(
      peek_request_id(raw_map({{"type", fixstr("join")}, {"id", std::string("\xd1\x01\x00", 3)}})),
      256u);
}

// The frames the daemon used to answer with id 0 although their id was readable.
TEST(ClientProtocolTest, PeekRequestIdReadsFramesDecodeHeaderRefuses) {
  // Over the header size limit.
  const std::string big = RawMap()
                              .add("type", "hello")
                              .add("id", 19)
                              .add("version", 1)
                              .add("pad", std::string(70000, 'x'))
                              .str();
  ASSERT_EQ(decode_header(big).error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(peek_request_id(big), 19u);
  // Trailing bytes after the map.
  const std::string trailing = RawMap().add("type", "status").add("id", 16).str() + "junk";
  ASSERT_FALSE(decode_header(trailing).ok());
  EXPECT_EQ(peek_request_id(trailing), 16u);
  // Too many keys: the id comes after 70 others.
  RawMap wide;
  for (int i = 0; i < 70; ++i) wide.add("k" + std::to_string(i), i);
  wide.add("type", "status").add("id", 23);
  ASSERT_FALSE(decode_header(wide.str()).ok());
  EXPECT_EQ(peek_request_id(wide.str()), 23u);
  // Too deep, before and after the id.
  std::string deep = "\x83\xa4type\xa5hello\xa1x";
  for (int i = 0; i < 100; ++i) deep += "\x91";
  deep += std::string("\x00\xa2id\x11", 5);
  ASSERT_FALSE(decode_header(deep).ok());
  EXPECT_EQ(peek_request_id(deep), 17u);
  // A non-string key before the id.
  EXPECT_EQ(peek_request_id(std::string("\x82\x01\x02\xa2id\x05", 7)), 5u);
  // Cut short before the id: not readable.
  const std::string whole = RawMap().add("type", "status").add("pad", "abc").add("id", 9).str();
  EXPECT_EQ(peek_request_id(whole.substr(0, whole.size() - 3)), 0u);
  // A map claiming more entries than it has, after the id: the id was read first.
  EXPECT_EQ(peek_request_id(std::string("\xdf\xff\xff\xff\xff\xa2id\x07", 9)), 7u);
}

TEST(ClientProtocolTest, DecodesGarbageWithoutThrowing) {
  // A cheap stand-in for the fuzzer: every prefix and byte flip of valid headers decodes to a
  // value or an error.
  Header h;
  h.type = MessageType::kStatusReply;
  h.id = 3;
  h.node_id = 2;
  h.role = "leader";
  h.term = 7;
  h.leader = 2;
  h.members = {1, 2, 3};
  h.commit_index = 99;
  const std::string frame = encode_header(h);
  for (std::size_t i = 0; i <= frame.size(); ++i) {
    EXPECT_NO_THROW((void)decode_header(frame.substr(0, i)));
  }
  for (std::size_t i = 0; i < frame.size(); ++i) {
    for (int b = 0; b < 256; b += 7) {
      std::string mutated = frame;
      mutated[i] = static_cast<char>(b);
      EXPECT_NO_THROW((void)decode_header(mutated));
      EXPECT_NO_THROW((void)peek_request_id(mutated));
    }
  }
}

}  // namespace
}  // namespace bcast::protocol
