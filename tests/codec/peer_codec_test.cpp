// The peer wire format: every message kind survives encode/decode field for field, and the
// decoder refuses malformed frames with a kProtocol error instead of throwing, aborting or
// allocating what a frame merely claims.
#include "codec/peer_codec.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <msgpack.hpp>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bcast::codec {
namespace {

using namespace std::string_literals;

constexpr std::uint64_t kMax64 = std::numeric_limits<std::uint64_t>::max();

// ---------------------------------------------------------------------------------------------
// Field-by-field equality. The core types mostly lack operator==, and a field-wise comparison
// names the field that did not survive.

void ExpectPayloadEq(const std::shared_ptr<const std::string>& expected,
                     const std::shared_ptr<const std::string>& actual) {
  ASSERT_EQ(expected == nullptr, actual == nullptr) << "null-ness of a shared payload differs";
  if (expected) {
    EXPECT_EQ(*expected, *actual);
  }
}

void ExpectEntryEq(const raft::Entry& expected, const raft::Entry& actual) {
  EXPECT_EQ(expected.term, actual.term);
  EXPECT_EQ(expected.index, actual.index);
  EXPECT_EQ(expected.type, actual.type);
  EXPECT_EQ(expected.data, actual.data);
}

void ExpectSnapshotEq(const raft::Snapshot& expected, const raft::Snapshot& actual) {
  EXPECT_EQ(expected.meta.index, actual.meta.index);
  EXPECT_EQ(expected.meta.term, actual.meta.term);
  EXPECT_EQ(expected.meta.conf.voters, actual.meta.conf.voters);
  EXPECT_EQ(expected.meta.conf.learners, actual.meta.conf.learners);
  ExpectPayloadEq(expected.data, actual.data);
}

void ExpectRaftMessageEq(const raft::Message& expected, const raft::Message& actual) {
  EXPECT_EQ(expected.type, actual.type);
  EXPECT_EQ(expected.from, actual.from);
  EXPECT_EQ(expected.to, actual.to);
  EXPECT_EQ(expected.term, actual.term);
  EXPECT_EQ(expected.index, actual.index);
  EXPECT_EQ(expected.log_term, actual.log_term);
  EXPECT_EQ(expected.commit, actual.commit);
  ASSERT_EQ(expected.entries.size(), actual.entries.size());
  for (std::size_t i = 0; i < expected.entries.size(); ++i) {
    SCOPED_TRACE("entry " + std::to_string(i));
    ExpectEntryEq(expected.entries[i], actual.entries[i]);
  }
  EXPECT_EQ(expected.reject, actual.reject);
  EXPECT_EQ(expected.reject_hint, actual.reject_hint);
  EXPECT_EQ(expected.reject_hint_term, actual.reject_hint_term);
  EXPECT_EQ(expected.context, actual.context);
  ASSERT_EQ(expected.snapshot.has_value(), actual.snapshot.has_value());
  if (expected.snapshot) {
    ExpectSnapshotEq(*expected.snapshot, *actual.snapshot);
  }
}

void ExpectBroadcastMessageEq(const BroadcastMessage& expected, const BroadcastMessage& actual) {
  EXPECT_EQ(expected.sender, actual.sender);
  EXPECT_EQ(expected.seq, actual.seq);
  EXPECT_EQ(expected.stream_seq, actual.stream_seq);
  EXPECT_EQ(expected.group, actual.group);
  EXPECT_EQ(expected.mode, actual.mode);
  EXPECT_EQ(expected.order, actual.order);
  EXPECT_EQ(expected.withdrawn, actual.withdrawn);
  EXPECT_EQ(expected.causal.entries(), actual.causal.entries());
  ExpectPayloadEq(expected.payload, actual.payload);
}

void ExpectDataPushEq(const DataPush& expected, const DataPush& actual) {
  ExpectBroadcastMessageEq(expected.message, actual.message);
  EXPECT_EQ(expected.hops, actual.hops);
  EXPECT_EQ(expected.repair, actual.repair);
}

void ExpectStreamPositionEq(const StreamPosition& expected, const StreamPosition& actual) {
  EXPECT_EQ(expected.origin, actual.origin);
  EXPECT_EQ(expected.received_upto, actual.received_upto);
  EXPECT_EQ(expected.stable_upto, actual.stable_upto);
  EXPECT_EQ(expected.cut_known, actual.cut_known);
  EXPECT_EQ(expected.cut, actual.cut);
  EXPECT_EQ(expected.highest_received, actual.highest_received);
  EXPECT_EQ(expected.missing, actual.missing);
  EXPECT_EQ(expected.lost, actual.lost);
}

void ExpectDigestEq(const Digest& expected, const Digest& actual) {
  EXPECT_EQ(expected.from, actual.from);
  EXPECT_EQ(expected.mode, actual.mode);
  ASSERT_EQ(expected.streams.size(), actual.streams.size());
  for (std::size_t i = 0; i < expected.streams.size(); ++i) {
    SCOPED_TRACE("stream " + std::to_string(i));
    ExpectStreamPositionEq(expected.streams[i], actual.streams[i]);
  }
  EXPECT_EQ(expected.wants_reply, actual.wants_reply);
}

void ExpectHelloEq(const Hello& expected, const Hello& actual) {
  EXPECT_EQ(expected.from, actual.from);
}

void ExpectWelcomeEq(const Welcome& expected, const Welcome& actual) {
  EXPECT_EQ(expected.from, actual.from);
  EXPECT_EQ(expected.to, actual.to);
  EXPECT_EQ(expected.epoch, actual.epoch);
  EXPECT_EQ(expected.reliable_cut, actual.reliable_cut);
  EXPECT_EQ(expected.gossip_cut, actual.gossip_cut);
  EXPECT_EQ(expected.causal_cut, actual.causal_cut);
}

void ExpectTotalForwardEq(const TotalForward& expected, const TotalForward& actual) {
  ASSERT_EQ(expected.messages.size(), actual.messages.size());
  for (std::size_t i = 0; i < expected.messages.size(); ++i) {
    SCOPED_TRACE("message " + std::to_string(i));
    ExpectBroadcastMessageEq(expected.messages[i], actual.messages[i]);
  }
}

void ExpectRefusalEq(const Refusal& expected, const Refusal& actual) {
  EXPECT_EQ(expected.reason, actual.reason);
  EXPECT_EQ(expected.cluster_id, actual.cluster_id);
  EXPECT_EQ(expected.known_identity, actual.known_identity);
  EXPECT_EQ(expected.refused_identity, actual.refused_identity);
}

void ExpectJoinRequestEq(const JoinRequest& expected, const JoinRequest& actual) {
  EXPECT_EQ(expected.identity, actual.identity);
  EXPECT_EQ(expected.address, actual.address);
}

void ExpectJoinResponseEq(const JoinResponse& expected, const JoinResponse& actual) {
  EXPECT_EQ(expected.accepted, actual.accepted);
  EXPECT_EQ(expected.reason, actual.reason);
  EXPECT_EQ(expected.cluster_id, actual.cluster_id);
  EXPECT_EQ(expected.incarnation_floor, actual.incarnation_floor);
  EXPECT_EQ(expected.members, actual.members);
  EXPECT_EQ(expected.reply_address, actual.reply_address);
}

void ExpectAdminForwardEq(const AdminForward& expected, const AdminForward& actual) {
  EXPECT_EQ(expected.request_id, actual.request_id);
  EXPECT_EQ(expected.request.kind, actual.request.kind);
  EXPECT_EQ(expected.request.node, actual.request.node);
  EXPECT_EQ(expected.request.address, actual.request.address);
  EXPECT_EQ(expected.request.learner, actual.request.learner);
  EXPECT_EQ(expected.request.public_key, actual.request.public_key);
}

void ExpectAdminResultEq(const AdminResult& expected, const AdminResult& actual) {
  EXPECT_EQ(expected.request_id, actual.request_id);
  EXPECT_EQ(expected.ok, actual.ok);
  if (!expected.ok) {
    EXPECT_EQ(expected.code, actual.code);
  }
  EXPECT_EQ(expected.message, actual.message);
}

void ExpectEnvelopeEq(const Envelope& expected, const Envelope& actual) {
  EXPECT_EQ(expected.from, actual.from);
  EXPECT_EQ(expected.to, actual.to);
  EXPECT_EQ(expected.origin, actual.origin);
  EXPECT_EQ(expected.cluster_id, actual.cluster_id);
  EXPECT_EQ(expected.identity, actual.identity);
  ASSERT_EQ(expected.message.index(), actual.message.index()) << "different message kind";
  std::visit(
      [&](const auto& want) {
        using T = std::decay_t<decltype(want)>;
        const T& got = std::get<T>(actual.message);
        if constexpr (std::is_same_v<T, raft::Message>) ExpectRaftMessageEq(want, got);
        if constexpr (std::is_same_v<T, DataPush>) ExpectDataPushEq(want, got);
        if constexpr (std::is_same_v<T, Digest>) ExpectDigestEq(want, got);
        if constexpr (std::is_same_v<T, Hello>) ExpectHelloEq(want, got);
        if constexpr (std::is_same_v<T, Welcome>) ExpectWelcomeEq(want, got);
        if constexpr (std::is_same_v<T, TotalForward>) ExpectTotalForwardEq(want, got);
        if constexpr (std::is_same_v<T, Refusal>) ExpectRefusalEq(want, got);
        if constexpr (std::is_same_v<T, JoinRequest>) ExpectJoinRequestEq(want, got);
        if constexpr (std::is_same_v<T, JoinResponse>) ExpectJoinResponseEq(want, got);
        if constexpr (std::is_same_v<T, AdminForward>) ExpectAdminForwardEq(want, got);
        if constexpr (std::is_same_v<T, AdminResult>) ExpectAdminResultEq(want, got);
        if constexpr (std::is_same_v<T, Credit>) {
          EXPECT_EQ(want, got);
        }
      },
      expected.message);
}

// ---------------------------------------------------------------------------------------------
// Sample messages: every field differs from its default, integers use their full width where
// the type allows, and byte strings hold NUL and high bytes.

const std::string kBinary = "\x00\x01\xff\xfe payload \x80"s;

std::shared_ptr<const std::string> Bytes(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

BroadcastMessage SampleBroadcast(std::uint32_t n = 1) {
  BroadcastMessage m;
  m.sender = make_sender_id(0xffff, 0xfffe, 0xfffffffd - n);
  m.seq = kMax64 - n;
  m.stream_seq = 1000 + n;
  m.group = "room/" + std::to_string(n) + "\xc3\xa9";
  m.mode = Mode::kGossip;
  m.order = Order::kCausal;
  m.causal.set(make_origin_id(2, 1), 7);
  m.causal.set(make_origin_id(1, 9), kMax64);
  m.causal.set(0xffffffff, 1u << 20);
  m.payload = Bytes(kBinary + std::to_string(n));
  m.withdrawn = true;
  return m;
}

raft::Message SampleRaft() {
  raft::Message m;
  m.type = raft::MessageType::kInstallSnapshot;
  m.from = 3;
  m.to = kMaxNodeId;
  m.term = kMax64;
  m.index = kMax64 - 1;
  m.log_term = 41;
  m.commit = 1u << 31;
  m.entries = {
      {.term = 5, .index = 100, .type = raft::EntryType::kNormal, .data = kBinary},
      {.term = 5,
       .index = 101,
       .type = raft::EntryType::kConfChange,
       .data = raft::encode_conf_change({raft::ConfChangeType::kAddLearner, 9})},
      {.term = 6, .index = 102, .type = raft::EntryType::kLeaderNoop, .data = ""},
  };
  m.reject = true;
  m.reject_hint = 99;
  m.reject_hint_term = 4;
  m.context = raft::kCampaignTransfer + 12345;
  raft::Snapshot snapshot;
  snapshot.meta.index = 77;
  snapshot.meta.term = 3;
  snapshot.meta.conf.voters = {1, 2, 5};
  snapshot.meta.conf.learners = {4, kMaxNodeId};
  snapshot.data = Bytes(kBinary + kBinary);
  m.snapshot = snapshot;
  return m;
}

DataPush SampleDataPush() {
  return DataPush{.message = SampleBroadcast(), .hops = 255, .repair = true};
}

Digest SampleDigest() {
  Digest d;
  d.from = make_origin_id(4, 2);
  d.mode = Mode::kGossip;
  for (std::uint32_t i = 1; i <= 3; ++i) {
    StreamPosition p;
    p.origin = make_origin_id(i, i + 1);
    p.received_upto = 10 * i;
    p.stable_upto = 5 * i;
    p.cut_known = true;
    p.cut = i;
    p.highest_received = kMax64 - i;
    p.missing = {10 * i + 2, 10 * i + 4};
    p.lost = {10 * i + 3, kMax64 - 2 * i};
    d.streams.push_back(p);
  }
  d.streams[1].missing.assign(kMaxMissingReported, 7);  // the most a digest may report
  d.wants_reply = true;
  return d;
}

Welcome SampleWelcome() {
  return Welcome{.from = make_origin_id(1, 2),
                 .to = 0xffffffff,
                 .epoch = 0xfffffff0,
                 .reliable_cut = 11,
                 .gossip_cut = kMax64,
                 .causal_cut = 13};
}

TotalForward SampleTotalForward() {
  TotalForward f;
  for (std::uint32_t i = 1; i <= 3; ++i) f.messages.push_back(SampleBroadcast(i));
  f.messages[1].order = Order::kTotal;
  f.messages[1].mode = Mode::kReliable;
  f.messages[1].withdrawn = false;
  return f;
}

JoinResponse SampleJoinResponse() {
  return JoinResponse{.accepted = true,
                      .reason = "",
                      .cluster_id = kMax64,
                      .incarnation_floor = 0xfffffff0,
                      .members = {{1, "tcp://10.0.0.1:7401"}, {kMaxNodeId, "tcp://[::1]:9"}},
                      .reply_address = "tcp://10.0.0.4:7404"};
}

AdminForward SampleAdminForward() {
  return AdminForward{
      .request_id = kMax64,
      .request = {AdminRequest::Kind::kRemove, kMaxNodeId, "tcp://h\xc3\xa9:1", true}};
}

Envelope Wrap(PeerMessage message) {
  return Envelope{.from = 2,
                  .to = kMaxNodeId,
                  .message = std::move(message),
                  .origin = 0xfffe0003,
                  .cluster_id = kMax64 - 3,
                  .identity = 0x8000000000000001ULL};
}

Credit SampleCredit() {
  return Credit{.from = make_origin_id(2, 9),
                .sequence = kMax64 - 9,
                .delivered = {{make_origin_id(1, 3), kMax64, 0, 17},
                              {make_origin_id(kMaxNodeId, 0xffff), 1, kMax64 - 1, kMax64}},
                .rooms = {{"news", 21ULL << 20}, {"", 0}, {std::string(255, 'g'), kMax64}}};
}

std::vector<Envelope> SampleEnvelopes() {
  return {Wrap(SampleRaft()),
          Wrap(SampleDataPush()),
          Wrap(SampleDigest()),
          Wrap(Hello{.from = make_origin_id(kMaxNodeId, 0xffff)}),
          Wrap(SampleWelcome()),
          Wrap(SampleTotalForward()),
          Wrap(Refusal{RefusalReason::kIdentityMismatch, kMax64, kMax64 - 1, 7}),
          Wrap(JoinRequest{kMax64, "tcp://127.0.0.1:65535"}),
          Wrap(SampleJoinResponse()),
          Wrap(SampleAdminForward()),
          Wrap(AdminResult{7, false, ErrorCode::kNotFound, "node 9 is not a member"}),
          Wrap(SampleCredit())};
}

Envelope RoundTrip(const Envelope& envelope, const DecodeLimits& limits = {}) {
  const std::string frame = encode_envelope(envelope);
  Result<Envelope> decoded = decode_envelope(frame, limits);
  EXPECT_TRUE(decoded.ok()) << decoded.error().message;
  if (!decoded.ok()) return {};
  return std::move(decoded).value();
}

void ExpectRoundTrip(const Envelope& envelope) { ExpectEnvelopeEq(envelope, RoundTrip(envelope)); }

// ---------------------------------------------------------------------------------------------
// Malformed frames are written as "a valid frame, except ...": the frame is unpacked into
// msgpack's object tree, one node is changed, and the tree is packed again.

using Path = std::initializer_list<std::uint32_t>;

msgpack::object& At(msgpack::object& root, Path path) {
  msgpack::object* o = &root;
  for (std::uint32_t i : path) {
    if (o->type != msgpack::type::ARRAY || i >= o->via.array.size) {
      ADD_FAILURE() << "the sample frame has no field " << i << " there";
      return *o;
    }
    o = &o->via.array.ptr[i];
  }
  return *o;
}

std::string Edit(const Envelope& envelope,
                 const std::function<void(msgpack::object&, msgpack::zone&)>& edit) {
  const std::string frame = encode_envelope(envelope);
  msgpack::object_handle handle = msgpack::unpack(frame.data(), frame.size());
  msgpack::object root = handle.get();  // shallow: shares the (mutable) zone-allocated items
  edit(root, *handle.zone());
  msgpack::sbuffer out;
  msgpack::pack(out, root);
  return std::string(out.data(), out.size());
}

// Replaces the node at `path` with `value`.
template <typename T>
std::string Replace(const Envelope& envelope, Path path, const T& value) {
  return Edit(envelope, [&](msgpack::object& root, msgpack::zone& zone) {
    At(root, path) = msgpack::object(value, zone);
  });
}

// Drops the last field of the array at `path`.
std::string DropLast(const Envelope& envelope, Path path) {
  return Edit(envelope,
              [&](msgpack::object& root, msgpack::zone&) { --At(root, path).via.array.size; });
}

void ExpectRejected(std::string_view frame, std::string_view reason_part,
                    const DecodeLimits& limits = {}) {
  Result<Envelope> decoded = decode_envelope(frame, limits);
  ASSERT_FALSE(decoded.ok()) << "accepted a frame that should fail with: " << reason_part;
  EXPECT_EQ(decoded.error().code, ErrorCode::kProtocol);
  EXPECT_NE(decoded.error().message.find(reason_part), std::string::npos)
      << "reason was: " << decoded.error().message;
}

// Builds a frame byte by byte, for shapes the object tree cannot express.
std::string Packed(const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& pack) {
  msgpack::sbuffer out;
  msgpack::packer<msgpack::sbuffer> packer(out);
  pack(packer);
  return std::string(out.data(), out.size());
}

// ---------------------------------------------------------------------------------------------
// Round trips

TEST(PeerCodecRoundTrip, RaftMessage) { ExpectRoundTrip(Wrap(SampleRaft())); }

TEST(PeerCodecRoundTrip, RaftMessageOfEveryType) {
  for (std::uint8_t type = 0; type <= static_cast<std::uint8_t>(raft::MessageType::kTimeoutNow);
       ++type) {
    SCOPED_TRACE(+type);
    raft::Message m = SampleRaft();
    m.type = static_cast<raft::MessageType>(type);
    ExpectRoundTrip(Wrap(m));
  }
}

TEST(PeerCodecRoundTrip, RaftMessageWithoutSnapshotOrEntries) {
  raft::Message m = SampleRaft();
  m.type = raft::MessageType::kHeartbeat;
  m.entries.clear();
  m.snapshot.reset();
  ExpectRoundTrip(Wrap(m));
}

TEST(PeerCodecRoundTrip, SnapshotWithoutDataOrLearners) {
  raft::Message m = SampleRaft();
  m.snapshot->data = nullptr;
  m.snapshot->meta.conf.learners.clear();
  ExpectRoundTrip(Wrap(m));
  m.snapshot->data = Bytes("");  // empty, not absent
  ExpectRoundTrip(Wrap(m));
}

TEST(PeerCodecRoundTrip, DataPush) { ExpectRoundTrip(Wrap(SampleDataPush())); }

TEST(PeerCodecRoundTrip, BroadcastMessageOfEveryModeAndOrder) {
  for (std::uint8_t mode = 0; mode <= static_cast<std::uint8_t>(Mode::kGossip); ++mode) {
    for (std::uint8_t order = 0; order <= static_cast<std::uint8_t>(Order::kTotal); ++order) {
      SCOPED_TRACE(std::to_string(mode) + "/" + std::to_string(order));
      DataPush push = SampleDataPush();
      push.message.mode = static_cast<Mode>(mode);
      push.message.order = static_cast<Order>(order);
      ExpectRoundTrip(Wrap(push));
    }
  }
}

TEST(PeerCodecRoundTrip, BroadcastMessageKeepsAbsentAndEmptyPayloadsApart) {
  DataPush push = SampleDataPush();
  push.message.payload = nullptr;
  push.message.causal = CausalClock();
  push.message.group.clear();
  ExpectRoundTrip(Wrap(push));
  push.message.payload = Bytes("");
  ExpectRoundTrip(Wrap(push));
}

TEST(PeerCodecRoundTrip, LargePayload) {
  DataPush push = SampleDataPush();
  std::string big(1 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131);
  push.message.payload = Bytes(big);
  ExpectRoundTrip(Wrap(push));
}

TEST(PeerCodecRoundTrip, Digest) { ExpectRoundTrip(Wrap(SampleDigest())); }

TEST(PeerCodecRoundTrip, EmptyDigest) {
  Digest d = SampleDigest();
  d.streams.clear();
  d.mode = Mode::kBestEffort;
  ExpectRoundTrip(Wrap(d));
}

// `cluster add --key` forwarded to the leader: the key is a sixth field, present only when given,
// so a forward without one is the five fields daemons before keys read.
TEST(PeerCodecRoundTrip, AdminForwardWithAndWithoutAKey) {
  AdminForward forward{.request_id = 9,
                       .request = {AdminRequest::Kind::kAdd, 4, "tcp://127.0.0.1:7404", false,
                                   "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"}};
  ExpectRoundTrip(Wrap(forward));
  const std::size_t keyed_size = encode_envelope(Wrap(forward)).size();
  forward.request.public_key.clear();
  ExpectRoundTrip(Wrap(forward));
  EXPECT_EQ(encode_envelope(Wrap(forward)).size() + 1 + 40 + 1, keyed_size);
}

TEST(PeerCodecRoundTrip, Hello) { ExpectRoundTrip(Wrap(Hello{.from = 0xfffefffd})); }

TEST(PeerCodecRoundTrip, Welcome) { ExpectRoundTrip(Wrap(SampleWelcome())); }

TEST(PeerCodecRoundTrip, TotalForward) { ExpectRoundTrip(Wrap(SampleTotalForward())); }

TEST(PeerCodecRoundTrip, Credit) { ExpectRoundTrip(Wrap(SampleCredit())); }

TEST(PeerCodecRoundTrip, EmptyCredit) { ExpectRoundTrip(Wrap(Credit{})); }

TEST(PeerCodecRoundTrip, EmptyTotalForward) { ExpectRoundTrip(Wrap(TotalForward{})); }

TEST(PeerCodecRoundTrip, DefaultEnvelopeOfEveryKind) {
  for (std::size_t kind = 0; kind < std::variant_size_v<PeerMessage>; ++kind) {
    SCOPED_TRACE(kind);
    Envelope e;
    switch (kind) {
      case 0:
        e.message = raft::Message{};
        break;
      case 1:
        e.message = DataPush{};
        break;
      case 2:
        e.message = Digest{};
        break;
      case 3:
        e.message = Hello{};
        break;
      case 4:
        e.message = Welcome{};
        break;
      default:
        e.message = TotalForward{};
        break;
    }
    ExpectRoundTrip(e);
  }
}

// The wire layout is a contract with daemons built from other versions of this code: pin the
// bytes of one frame so an accidental change to the layout or the kind numbers shows up.
TEST(PeerCodecWire, HelloFrameBytesArePinned) {
  const Envelope e{.from = 3,
                   .to = 5,
                   .message = Hello{.from = 0x00030002},
                   .origin = 0x00030002,
                   .cluster_id = 0x1234,
                   .identity = 7};
  const std::string expected =
      "\x98"                  // array of 8: the frame
      "\x02"                  // version 2
      "\x03\x05"              // from 3, to 5
      "\xce\x00\x03\x00\x02"  // origin, uint32
      "\xcd\x12\x34"          // cluster id, uint16
      "\x07"                  // identity
      "\x03"                  // kind 3: hello
      "\x91"                  // array of 1: the body
      "\xce\x00\x03\x00\x02"s;
  EXPECT_EQ(encode_envelope(e), expected);
}

TEST(PeerCodecWire, KindsAreNumberedAsDocumented) {
  const std::vector<Envelope> samples = SampleEnvelopes();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const std::string frame = encode_envelope(samples[i]);
    msgpack::object_handle handle = msgpack::unpack(frame.data(), frame.size());
    ASSERT_EQ(handle.get().via.array.size, 8u);
    EXPECT_EQ(handle.get().via.array.ptr[6].via.u64, i);  // raft, data_push, digest, hello, ...
  }
}

// ---------------------------------------------------------------------------------------------
// Rejections

TEST(PeerCodecReject, EmptyFrame) { ExpectRejected("", "empty frame"); }

TEST(PeerCodecReject, NotAnArray) {
  ExpectRejected("\x01", "not a msgpack array");
  ExpectRejected("\x90", "not a msgpack array");  // an empty array has no version
  ExpectRejected("\xc0", "not a msgpack array");  // nil
}

TEST(PeerCodecReject, InvalidMsgpack) { ExpectRejected("\xc1", "not valid msgpack"); }

TEST(PeerCodecReject, RandomBytes) {
  std::mt19937_64 rng(20240611);
  for (int i = 0; i < 5000; ++i) {
    std::string frame(1 + rng() % 200, '\0');
    for (char& c : frame) c = static_cast<char>(rng());
    Result<Envelope> decoded = decode_envelope(frame);
    ASSERT_FALSE(decoded.ok()) << "iteration " << i;
    EXPECT_EQ(decoded.error().code, ErrorCode::kProtocol);
    EXPECT_FALSE(decoded.error().message.empty());
  }
}

TEST(PeerCodecReject, EveryTruncationOfEveryKind) {
  for (const Envelope& e : SampleEnvelopes()) {
    const std::string frame = encode_envelope(e);
    SCOPED_TRACE("kind " + std::to_string(e.message.index()));
    for (std::size_t length = 0; length < frame.size(); ++length) {
      Result<Envelope> decoded = decode_envelope(std::string_view(frame).substr(0, length));
      ASSERT_FALSE(decoded.ok()) << "accepted the first " << length << " of " << frame.size();
      EXPECT_EQ(decoded.error().code, ErrorCode::kProtocol);
    }
  }
}

// Every single-byte corruption of every kind either decodes to something or fails cleanly;
// under the sanitizers this is a small deterministic fuzzer of the decoder.
TEST(PeerCodecReject, EveryByteCorruptionFailsCleanlyOrDecodes) {
  int rejected = 0;
  for (const Envelope& e : SampleEnvelopes()) {
    const std::string frame = encode_envelope(e);
    for (std::size_t i = 0; i < frame.size(); ++i) {
      for (unsigned char value : {0x00, 0x7f, 0x80, 0xc0, 0xc1, 0xcf, 0xdc, 0xdd, 0xff}) {
        std::string corrupt = frame;
        corrupt[i] = static_cast<char>(value);
        Result<Envelope> decoded = decode_envelope(corrupt);
        if (decoded.ok()) {
          ASSERT_FALSE(encode_envelope(decoded.value()).empty());
        } else {
          ++rejected;
          ASSERT_EQ(decoded.error().code, ErrorCode::kProtocol);
        }
      }
    }
  }
  EXPECT_GT(rejected, 0);
}

TEST(PeerCodecReject, TrailingBytes) {
  ExpectRejected(encode_envelope(Wrap(Hello{.from = 1})) + "\x00"s, "trailing bytes");
}

TEST(PeerCodecReject, WrongVersion) {
  const Envelope hello = Wrap(Hello{.from = 1});
  ExpectRejected(Replace(hello, {0}, 1u), "unsupported peer protocol version 1");
  ExpectRejected(Replace(hello, {0}, 3u), "unsupported peer protocol version 3");
  ExpectRejected(Replace(hello, {0}, 0u), "unsupported peer protocol version 0");
  ExpectRejected(Replace(hello, {0}, kMax64), "unsupported peer protocol version");
  ExpectRejected(Replace(hello, {0}, -1), "protocol version is not an unsigned integer");
  // A later version may change the layout: the version is what the peer is told about.
  ExpectRejected(Packed([](auto& p) { p.pack_array(2).pack(3).pack(0); }),
                 "unsupported peer protocol version 3");
  // A daemon of the previous version (6 fields) is told which version it speaks.
  ExpectRejected(Packed([](auto& p) {
                   p.pack_array(6).pack(1).pack(1).pack(2).pack(3).pack(3);
                   p.pack_array(1).pack(4);
                 }),
                 "unsupported peer protocol version 1");
}

TEST(PeerCodecReject, UnknownKind) {
  const Envelope hello = Wrap(Hello{.from = 1});
  ExpectRejected(Replace(hello, {6}, 12u), "unknown message kind 12");
  ExpectRejected(Replace(hello, {6}, 256u), "unknown message kind 256");
  ExpectRejected(Replace(hello, {6}, "hello"), "message kind is not an unsigned integer");
}

TEST(PeerCodecReject, OutOfRangeEnums) {
  ExpectRejected(Replace(Wrap(SampleRaft()), {7, 0}, 10u), "raft message type 10 is out of range");
  ExpectRejected(Replace(Wrap(SampleRaft()), {7, 7, 1, 2}, 4u),
                 "raft entry type 4 is out of range");
  ExpectRejected(Replace(Wrap(SampleDataPush()), {7, 0, 4}, 3u), "mode 3 is out of range");
  ExpectRejected(Replace(Wrap(SampleDataPush()), {7, 0, 5}, 4u), "order 4 is out of range");
  ExpectRejected(Replace(Wrap(SampleDigest()), {7, 1}, 3u), "digest mode 3 is out of range");
  ExpectRejected(Replace(Wrap(SampleTotalForward()), {7, 0, 2, 5}, 1ull << 40),
                 "order 1099511627776 is out of range");
}

TEST(PeerCodecReject, WrongArity) {
  ExpectRejected(DropLast(Wrap(SampleRaft()), {}), "frame has 7 fields, expected 8");
  ExpectRejected(DropLast(Wrap(SampleRaft()), {7}), "raft message has 12 fields, expected 13");
  ExpectRejected(DropLast(Wrap(SampleRaft()), {7, 7, 0}), "raft entry has 3 fields");
  ExpectRejected(DropLast(Wrap(SampleRaft()), {7, 12}), "raft snapshot has 1 fields");
  ExpectRejected(DropLast(Wrap(SampleRaft()), {7, 12, 0}), "raft snapshot meta has 2 fields");
  ExpectRejected(DropLast(Wrap(SampleRaft()), {7, 12, 0, 2}), "raft conf state has 1 fields");
  ExpectRejected(DropLast(Wrap(SampleDataPush()), {7}), "data push has 2 fields");
  ExpectRejected(DropLast(Wrap(SampleDataPush()), {7, 0}), "broadcast message has 8 fields");
  ExpectRejected(DropLast(Wrap(SampleDataPush()), {7, 0, 7, 0}), "causal clock entry has 1");
  ExpectRejected(DropLast(Wrap(SampleDigest()), {7}), "digest has 3 fields");
  ExpectRejected(DropLast(Wrap(SampleDigest()), {7, 2, 0}), "stream position has 7 fields");
  ExpectRejected(DropLast(Wrap(Hello{.from = 1}), {7}), "hello has 0 fields");
  ExpectRejected(DropLast(Wrap(SampleWelcome()), {7}), "welcome has 5 fields");
  ExpectRejected(DropLast(Wrap(SampleTotalForward()), {7}), "total forward has 0 fields");
  // One field too many.
  ExpectRejected(Packed([](auto& p) {
                   p.pack_array(9).pack(2).pack(1).pack(2).pack(3).pack(0).pack(0).pack(3);
                   p.pack_array(1).pack(4);
                   p.pack(0);
                 }),
                 "frame has 9 fields, expected 8");
  ExpectRejected(Packed([](auto& p) {
                   p.pack_array(8).pack(2).pack(1).pack(2).pack(3).pack(0).pack(0).pack(3);
                   p.pack_array(2).pack(4).pack(5);
                 }),
                 "hello has 2 fields, expected 1");
}

TEST(PeerCodecReject, WrongFieldTypes) {
  ExpectRejected(Replace(Wrap(SampleRaft()), {7, 3}, "term"), "raft message term is not an");
  ExpectRejected(Replace(Wrap(SampleRaft()), {7, 3}, -5), "raft message term is not an");
  ExpectRejected(Replace(Wrap(SampleRaft()), {7, 3}, 1.5), "raft message term is not an");
  ExpectRejected(Replace(Wrap(SampleRaft()), {7, 8}, 1u), "raft message reject is not a boolean");
  ExpectRejected(Replace(Wrap(SampleRaft()), {7, 7}, 1u), "raft message entries is not an array");
  ExpectRejected(Replace(Wrap(SampleRaft()), {7, 7, 0, 3}, "text"),
                 "raft entry data is neither a bin nor an attachment");
  ExpectRejected(Replace(Wrap(SampleRaft()), {7, 12}, 1u), "raft snapshot is not an array");
  ExpectRejected(Replace(Wrap(SampleRaft()), {7, 12, 1}, "text"), "snapshot data is neither");
  ExpectRejected(Replace(Wrap(SampleDataPush()), {7, 0, 3}, 7u), "group is not a str");
  ExpectRejected(Replace(Wrap(SampleDataPush()), {7, 0, 8}, "text"), "payload is neither");
  ExpectRejected(Replace(Wrap(SampleDataPush()), {7, 2}, 0u), "data push repair is not a boolean");
  ExpectRejected(Replace(Wrap(SampleDigest()), {7, 2, 0, 6, 0}, true), "missing is not an");
}

TEST(PeerCodecReject, IntegersTooWideForTheirField) {
  ExpectRejected(Replace(Wrap(Hello{.from = 1}), {3}, 1ull << 32), "envelope origin 4294967296");
  ExpectRejected(Replace(Wrap(Hello{.from = 1}), {4}, -1), "envelope cluster_id is not an");
  ExpectRejected(Replace(Wrap(Hello{.from = 1}), {5}, "x"), "envelope identity is not an");
  ExpectRejected(Replace(Wrap(Hello{.from = 1}), {7, 0}, 1ull << 32), "hello from 4294967296");
  ExpectRejected(Replace(Wrap(SampleDataPush()), {7, 1}, 256u), "hops 256 does not fit in 8 bits");
  ExpectRejected(Replace(Wrap(SampleWelcome()), {7, 2}, 1ull << 32), "welcome epoch");
  ExpectRejected(Replace(Wrap(SampleDataPush()), {7, 0, 7, 0, 0}, 1ull << 32),
                 "causal clock origin");
}

TEST(PeerCodecReject, NodeIdsOutOfRange) {
  ExpectRejected(Replace(Wrap(Hello{.from = 1}), {1}, kMaxNodeId + 1), "envelope from 65536");
  ExpectRejected(Replace(Wrap(Hello{.from = 1}), {2}, kMax64), "envelope to");
  ExpectRejected(Replace(Wrap(SampleRaft()), {7, 1}, kMaxNodeId + 1), "raft message from");
  ExpectRejected(Replace(Wrap(SampleRaft()), {7, 12, 0, 2, 0, 0}, 0u), "raft conf voters holds 0");
}

TEST(PeerCodecReject, BrokenInvariantsOfCoreTypes) {
  // CausalClock: sorted by origin, no zero counts.
  ExpectRejected(Replace(Wrap(SampleDataPush()), {7, 0, 7, 1, 0}, 0u), "not sorted by origin");
  ExpectRejected(Replace(Wrap(SampleDataPush()), {7, 0, 7, 1, 1}, 0u), "zero count");
  // ConfState: sorted, unique, disjoint.
  ExpectRejected(Replace(Wrap(SampleRaft()), {7, 12, 0, 2, 0, 1}, 1u), "voters are not sorted");
  ExpectRejected(Replace(Wrap(SampleRaft()), {7, 12, 0, 2, 1, 0}, 5u), "is voter and learner");
  // StreamPosition reports at most kMaxMissingReported missing messages.
  Digest d = SampleDigest();
  d.streams[0].missing.assign(kMaxMissingReported + 1, 3);
  ExpectRejected(encode_envelope(Wrap(d)), "more than the 64 a digest may report");
}

TEST(PeerCodecReject, ListLongerThanTheLimit) {
  const DecodeLimits limits{.max_array_items = 2};
  ExpectRejected(encode_envelope(Wrap(SampleTotalForward())), "total forward messages has 3 items",
                 limits);
  ExpectRejected(encode_envelope(Wrap(SampleRaft())), "raft message entries has 3 items", limits);
  Digest digest = SampleDigest();
  for (StreamPosition& p : digest.streams) p.missing.clear();
  ExpectRejected(encode_envelope(Wrap(digest)), "digest streams has 3 items", limits);
  ExpectRejected(encode_envelope(Wrap(SampleDataPush())), "causal clock has 3 items", limits);
  raft::Message m = SampleRaft();
  m.entries.resize(2);
  m.snapshot->meta.conf.voters = {1, 2, 3};
  ExpectRejected(encode_envelope(Wrap(m)), "raft conf voters has 3 items", limits);
  Digest d = SampleDigest();
  d.streams.resize(1);
  d.streams[0].missing.clear();
  d.streams[0].lost = {1, 2, 3};
  ExpectRejected(encode_envelope(Wrap(d)), "stream position lost has 3 items", limits);
  // At the limit is fine; the fixed-layout arrays are wider than the limit and still fine.
  TotalForward f = SampleTotalForward();
  f.messages.resize(2);
  for (BroadcastMessage& message : f.messages) message.causal = CausalClock();
  ExpectEnvelopeEq(Wrap(f), RoundTrip(Wrap(f), limits));
}

// A header may claim up to 2^32-1 items or bytes in five bytes; the decoder must refuse before
// reserving anything for them (ASan would report the attempt as an allocation failure).
TEST(PeerCodecReject, ClaimedLengthsBeyondTheFrame) {
  const std::string prefix = "\x96\x01\x01\x02\x03\x05\x91"s;  // frame of a total_forward
  ExpectRejected(prefix + "\xdd\xff\xff\xff\xff", "an array claims more items");
  // 1M items: within max_array_items, but not within a 12-byte frame.
  ExpectRejected(prefix + "\xdd\x00\x0f\x42\x40"s, "an array claims more items");
  ExpectRejected("\x96\x01\x01\x02\x03\x03\x91\xc6\xff\xff\xff\xff"s, "truncated");  // bin32
  ExpectRejected("\x96\x01\x01\x02\x03\x03\x91\xdb\xff\xff\xff\xff"s, "truncated");  // str32
  ExpectRejected("\x96\x01\x01\x02\x03\x03\xdf\xff\xff\xff\xff"s, "map");            // map32
  ExpectRejected("\x96\x01\x01\x02\x03\x03\xc9\xff\xff\xff\xff\x01"s, "truncated");  // ext32
}

TEST(PeerCodecReject, OversizedFrame) {
  const std::string frame = encode_envelope(Wrap(SampleDataPush()));
  ExpectRejected(frame, "exceeds the limit", DecodeLimits{.max_frame_bytes = frame.size() - 1});
  EXPECT_TRUE(decode_envelope(frame, DecodeLimits{.max_frame_bytes = frame.size()}).ok());
}

TEST(PeerCodecReject, TooDeep) {
  // The deepest valid frames nest 6 arrays: frame, body, snapshot, meta, conf, voters.
  const std::string frame = encode_envelope(Wrap(SampleRaft()));
  EXPECT_TRUE(decode_envelope(frame, DecodeLimits{.max_depth = 6}).ok());
  ExpectRejected(frame, "deeper than the limit of 5", DecodeLimits{.max_depth = 5});
  // Far deeper than the default limit: refused while parsing, not by recursion.
  std::string deep(10000, '\x91');
  deep += '\x01';
  ExpectRejected(deep, "deeper than the limit of 16");
}

// ---------------------------------------------------------------------------------------------
// Attachments: large byte fields travel as frames of their own, copied by neither side.

// An append with one large entry and one small, and a snapshot and forwarded payload that are
// large too: every large field becomes an attachment, the small stay inline.
Envelope LargeAppend() {
  raft::Message m = SampleRaft();
  m.entries[0].data = SharedBytes(std::string(kAttachmentMinBytes, 'e'));
  m.snapshot->data = Bytes(std::string(kAttachmentMinBytes + 1, 's'));
  return Wrap(m);
}

// The frames as a receiver holds them: each attachment in a buffer of its own.
std::vector<Attachment> Received(const std::vector<Attachment>& sent) {
  std::vector<Attachment> received;
  for (const Attachment& a : sent) {
    auto copy = std::make_shared<const std::string>(a.bytes);
    received.push_back(Attachment{copy, *copy});
  }
  return received;
}

TEST(PeerCodecAttachments, LargeFieldsTravelApartAndComeBackWhole) {
  const Envelope append = LargeAppend();
  EncodedFrames frames = encode_envelope_frames(append);
  ASSERT_EQ(frames.attachments.size(), 2u);  // the large entry and the snapshot, not the small
  EXPECT_LT(frames.envelope.size(), 1000u) << "large fields stayed inline";
  // The sender hands over the bytes it holds.
  EXPECT_EQ(frames.attachments[0].bytes.data(),
            std::get<raft::Message>(append.message).entries[0].data.data());
  const std::vector<Attachment> received = Received(frames.attachments);
  auto decoded = decode_envelope(frames.envelope, {}, received);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ExpectEnvelopeEq(append, decoded.value());
  // The entry's data is the received frame itself, not a copy of it.
  EXPECT_EQ(std::get<raft::Message>(decoded.value().message).entries[0].data.data(),
            received[0].bytes.data());

  TotalForward forward = SampleTotalForward();
  forward.messages[0].payload = Bytes(std::string(kAttachmentMinBytes * 3, 'p'));
  frames = encode_envelope_frames(Wrap(forward));
  ASSERT_EQ(frames.attachments.size(), 1u);
  decoded = decode_envelope(frames.envelope, {}, Received(frames.attachments));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ExpectEnvelopeEq(Wrap(forward), decoded.value());

  // Small envelopes need none, and the one-frame encoding is the same bytes.
  for (const Envelope& envelope : SampleEnvelopes()) {
    frames = encode_envelope_frames(envelope);
    EXPECT_TRUE(frames.attachments.empty());
    EXPECT_EQ(frames.envelope, encode_envelope(envelope));
  }
}

TEST(PeerCodecAttachments, ReferencesMustNameEachAttachmentOnce) {
  const EncodedFrames frames = encode_envelope_frames(LargeAppend());
  const std::vector<Attachment> received = Received(frames.attachments);
  auto expect_refused = [](const Result<Envelope>& decoded, std::string_view reason_part) {
    ASSERT_FALSE(decoded.ok()) << "accepted; expected: " << reason_part;
    EXPECT_EQ(decoded.error().code, ErrorCode::kProtocol);
    EXPECT_NE(decoded.error().message.find(reason_part), std::string::npos)
        << decoded.error().message;
  };
  // Missing, one too many, or the frame alone.
  expect_refused(decode_envelope(frames.envelope, {}, {received[0]}), "names attachment 1 of 1");
  std::vector<Attachment> extra = received;
  extra.push_back(received[0]);
  expect_refused(decode_envelope(frames.envelope, {}, extra), "attachment 2 is never used");
  expect_refused(decode_envelope(frames.envelope), "raft entry data names attachment 0 of 0");
  // Both large fields naming the same attachment (the snapshot's data names the entry's).
  msgpack::object_handle handle = msgpack::unpack(frames.envelope.data(), frames.envelope.size());
  msgpack::object root = handle.get();
  At(root, {7, 12, 1}) = msgpack::object(0u, *handle.zone());
  msgpack::sbuffer twice;
  msgpack::pack(twice, root);
  expect_refused(decode_envelope(std::string_view(twice.data(), twice.size()), {}, {received[0]}),
                 "raft snapshot data names attachment 0 a second time");
  // Too large, or too many.
  const std::string big(1000, 'b');
  const std::vector<Attachment> oversized = {Attachment{nullptr, big}, received[1]};
  expect_refused(decode_envelope(frames.envelope, DecodeLimits{.max_frame_bytes = 999}, oversized),
                 "an attachment of 1000 bytes exceeds the limit");
  const std::vector<Attachment> many(kMaxAttachments + 1, received[0]);
  expect_refused(decode_envelope(frames.envelope, {}, many), "attachments, more than the");
}

}  // namespace
}  // namespace bcast::codec
