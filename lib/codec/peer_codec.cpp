// The peer wire format. Every struct travels as a msgpack array of its fields in declaration
// order; nothing is keyed by name, so a frame costs one byte of framing per field. The layout
// (version 2; "u" is an unsigned integer, "bin?" is bin or nil for an absent shared payload):
//
//   frame          [version u, from u, to u, origin u, cluster_id u, identity u, kind u, body]
//   kind           0 raft, 1 data_push, 2 digest, 3 hello, 4 welcome, 5 total_forward,
//                  6 refusal, 7 join_request, 8 join_response, 9 admin_forward, 10 admin_result,
//                  11 credit
//   raft           [type u, from u, to u, term u, index u, log_term u, commit u, [entry...],
//                   reject bool, reject_hint u, reject_hint_term u, context u, snapshot | nil]
//   entry          [term u, index u, type u, data bin]
//   snapshot       [meta, data bin?]        meta  [index u, term u, conf]
//   conf           [[voter u...], [learner u...]]
//   data_push      [message, hops u, repair bool]
//   message        [sender u, seq u, stream_seq u, group str, mode u, order u, withdrawn bool,
//                   [[origin u, count u]...], payload bin?]
//   digest         [from u, mode u, [position...], wants_reply bool]
//   position       [origin u, received_upto u, stable_upto u, cut_known bool, cut u,
//                   highest_received u, [missing u...], [lost u...]]
//   hello          [from u]
//   welcome        [from u, to u, epoch u, reliable_cut u, gossip_cut u, causal_cut u]
//   total_forward  [[message...]]
//   refusal        [reason u, cluster_id u, known_identity u, refused_identity u]
//   join_request   [identity u, address str]
//   join_response  [accepted bool, reason str, cluster_id u, incarnation_floor u,
//                   [[node u, address str]...], reply_address str]
//   admin_forward  [request_id u, kind u, node u, address str, learner bool(, public_key str)]
//                  (the key only when one is given, so daemons without keys read the rest)
//   admin_result   [request_id u, ok bool, code u, message str]
//   credit         [from u, sequence u, [[origin u, reliable u, gossip u, total u]...],
//                   [[group str, share_bytes u]...]]
//
// Any bin or bin? field (entry data, snapshot data, payload) may instead be a uint: the index of
// an attachment, a ZeroMQ frame of its own after this one holding the bytes (peer_codec.hpp).
//
// A fixed struct must have exactly its field count: a peer with a different layout speaks a
// different version, and the version is checked before anything else so that is what it is told.
#include "codec/peer_codec.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <memory>
#include <msgpack.hpp>
#include <new>
#include <span>
#include <type_traits>
#include <utility>
#include <variant>

namespace bcast::codec {
namespace {

// Which PeerMessage alternative a frame carries. Wire values: never renumber, only add.
enum class Kind : std::uint8_t {
  kRaft = 0,
  kDataPush = 1,
  kDigest = 2,
  kHello = 3,
  kWelcome = 4,
  kTotalForward = 5,
  kRefusal = 6,
  kJoinRequest = 7,
  kJoinResponse = 8,
  kAdminForward = 9,
  kAdminResult = 10,
  kCredit = 11,
};

Kind kind_of(const raft::Message&) { return Kind::kRaft; }
Kind kind_of(const DataPush&) { return Kind::kDataPush; }
Kind kind_of(const Digest&) { return Kind::kDigest; }
Kind kind_of(const Hello&) { return Kind::kHello; }
Kind kind_of(const Welcome&) { return Kind::kWelcome; }
Kind kind_of(const TotalForward&) { return Kind::kTotalForward; }
Kind kind_of(const Refusal&) { return Kind::kRefusal; }
Kind kind_of(const JoinRequest&) { return Kind::kJoinRequest; }
Kind kind_of(const JoinResponse&) { return Kind::kJoinResponse; }
Kind kind_of(const AdminForward&) { return Kind::kAdminForward; }
Kind kind_of(const AdminResult&) { return Kind::kAdminResult; }
Kind kind_of(const Credit&) { return Kind::kCredit; }

// Field counts of the fixed-layout arrays.
constexpr std::uint32_t kFrameFields = 8;
constexpr std::uint32_t kRaftFields = 13;
constexpr std::uint32_t kEntryFields = 4;
constexpr std::uint32_t kSnapshotFields = 2;
constexpr std::uint32_t kSnapshotMetaFields = 3;
constexpr std::uint32_t kConfStateFields = 2;
constexpr std::uint32_t kDataPushFields = 3;
constexpr std::uint32_t kMessageFields = 9;
constexpr std::uint32_t kClockEntryFields = 2;
constexpr std::uint32_t kDigestFields = 4;
constexpr std::uint32_t kPositionFields = 8;
constexpr std::uint32_t kHelloFields = 1;
constexpr std::uint32_t kWelcomeFields = 6;
constexpr std::uint32_t kTotalForwardFields = 1;
constexpr std::uint32_t kRefusalFields = 4;
constexpr std::uint32_t kJoinRequestFields = 2;
constexpr std::uint32_t kJoinResponseFields = 6;
constexpr std::uint32_t kMemberAddressFields = 2;
constexpr std::uint32_t kAdminForwardFields = 5;
constexpr std::uint32_t kAdminForwardFieldsWithKey = 6;
constexpr std::uint32_t kAdminResultFields = 4;
constexpr std::uint32_t kCreditFields = 4;
constexpr std::uint32_t kCreditPositionFields = 4;
constexpr std::uint32_t kGroupRoomFields = 2;
// The widest fixed array: msgpack's array limit must admit it even when the caller's
// max_array_items (which bounds the variable-length lists) is smaller.
constexpr std::size_t kMaxFields = kRaftFields;

// ---------------------------------------------------------------------------------------------
// Encoding

// Lets msgpack::packer append straight into the frame string: packing into an sbuffer and
// copying out would copy every payload once more.
class StringWriter {
 public:
  explicit StringWriter(std::string& out) : out_(out) {}
  void write(const char* data, std::size_t size) { out_.append(data, size); }

 private:
  std::string& out_;
};

// msgpack lengths are 32-bit. The core bounds payloads, batches and lists far below that, so a
// longer one is a broken invariant rather than a peer's doing: abort instead of sending a frame
// whose length field silently wrapped.
std::uint32_t wire_length(std::size_t size) {
  if (size > std::numeric_limits<std::uint32_t>::max()) std::abort();
  return static_cast<std::uint32_t>(size);
}

// A guess at the frame size, so the string holding a large payload is allocated once instead of
// growing by doubling (each growth copies the payload). Undershooting only costs a reallocation.
constexpr std::size_t kPerItemOverhead = 64;

std::size_t size_hint(const BroadcastMessage& m) {
  return kPerItemOverhead + m.group.size() + (m.payload ? m.payload->size() : 0) +
         m.causal.entries().size() * 16;
}
std::size_t size_hint(const raft::Message& m) {
  std::size_t size = kPerItemOverhead;
  for (const raft::Entry& entry : m.entries) size += 32 + entry.data.size();
  if (m.snapshot) {
    size += kPerItemOverhead +
            9 * (m.snapshot->meta.conf.voters.size() + m.snapshot->meta.conf.learners.size());
    if (m.snapshot->data) size += m.snapshot->data->size();
  }
  return size;
}
std::size_t size_hint(const DataPush& push) { return size_hint(push.message); }
std::size_t size_hint(const Digest& digest) {
  std::size_t size = kPerItemOverhead;
  for (const StreamPosition& p : digest.streams) {
    size += kPerItemOverhead + 9 * (p.missing.size() + p.lost.size());
  }
  return size;
}
std::size_t size_hint(const Hello&) { return kPerItemOverhead; }
std::size_t size_hint(const Welcome&) { return kPerItemOverhead; }
std::size_t size_hint(const Refusal&) { return kPerItemOverhead; }
std::size_t size_hint(const JoinRequest& r) { return kPerItemOverhead + r.address.size(); }
std::size_t size_hint(const JoinResponse& r) {
  std::size_t size = kPerItemOverhead + r.reason.size() + r.reply_address.size();
  for (const auto& [node, address] : r.members) size += 16 + address.size();
  return size;
}
std::size_t size_hint(const AdminForward& f) { return kPerItemOverhead + f.request.address.size(); }
std::size_t size_hint(const AdminResult& r) { return kPerItemOverhead + r.message.size(); }
std::size_t size_hint(const Credit& c) {
  std::size_t size = kPerItemOverhead + 40 * c.delivered.size();
  for (const GroupRoom& room : c.rooms) size += 16 + room.group.size();
  return size;
}
std::size_t size_hint(const TotalForward& forward) {
  std::size_t size = kPerItemOverhead;
  for (const BroadcastMessage& m : forward.messages) size += size_hint(m);
  return size;
}

class Encoder {
 public:
  // With `attachments`, large byte fields go there (see peer_codec.hpp) instead of inline.
  explicit Encoder(std::string& out, std::vector<Attachment>* attachments = nullptr)
      : writer_(out), packer_(writer_), attachments_(attachments) {}

  void envelope(const Envelope& e) {
    array(kFrameFields);
    integer(kPeerProtocolVersion);
    integer(e.from);
    integer(e.to);
    integer(e.origin);
    integer(e.cluster_id);
    integer(e.identity);
    std::visit(
        [this](const auto& message) {
          integer(static_cast<std::uint8_t>(kind_of(message)));
          encode(message);
        },
        e.message);
  }

 private:
  void array(std::size_t size) { packer_.pack_array(wire_length(size)); }
  void integer(std::uint64_t value) { packer_.pack_uint64(value); }  // packs the shortest form
  void boolean(bool value) { value ? packer_.pack_true() : packer_.pack_false(); }
  void text(std::string_view s) {
    packer_.pack_str(wire_length(s.size()));
    packer_.pack_str_body(s.data(), wire_length(s.size()));
  }
  void bytes(std::string_view b) {
    packer_.pack_bin(wire_length(b.size()));
    packer_.pack_bin_body(b.data(), wire_length(b.size()));
  }
  // nil keeps "no payload" apart from "empty payload".
  void shared_bytes(const std::shared_ptr<const std::string>& b) {
    if (!b) {
      packer_.pack_nil();
    } else if (attachable(b->size())) {
      attach(b, *b);
    } else {
      bytes(*b);
    }
  }
  void shared_bytes(const SharedBytes& b) {
    if (attachable(b.size())) {
      attach(b.owner(), b.view());
    } else {
      bytes(b.view());
    }
  }
  bool attachable(std::size_t size) const {
    return attachments_ != nullptr && size >= kAttachmentMinBytes;
  }
  void attach(std::shared_ptr<const void> owner, std::string_view b) {
    integer(attachments_->size());
    attachments_->push_back(Attachment{std::move(owner), b});
  }
  template <typename T>
  void integers(const std::vector<T>& values) {
    array(values.size());
    for (T value : values) integer(value);
  }

  void encode(const raft::Entry& entry) {
    array(kEntryFields);
    integer(entry.term);
    integer(entry.index);
    integer(static_cast<std::uint8_t>(entry.type));
    shared_bytes(entry.data);
  }

  void encode(const raft::Snapshot& snapshot) {
    array(kSnapshotFields);
    array(kSnapshotMetaFields);
    integer(snapshot.meta.index);
    integer(snapshot.meta.term);
    array(kConfStateFields);
    integers(snapshot.meta.conf.voters);
    integers(snapshot.meta.conf.learners);
    shared_bytes(snapshot.data);
  }

  void encode(const raft::Message& m) {
    array(kRaftFields);
    integer(static_cast<std::uint8_t>(m.type));
    integer(m.from);
    integer(m.to);
    integer(m.term);
    integer(m.index);
    integer(m.log_term);
    integer(m.commit);
    array(m.entries.size());
    for (const raft::Entry& entry : m.entries) encode(entry);
    boolean(m.reject);
    integer(m.reject_hint);
    integer(m.reject_hint_term);
    integer(m.context);
    if (m.snapshot) {
      encode(*m.snapshot);
    } else {
      packer_.pack_nil();
    }
  }

  void encode(const BroadcastMessage& m) {
    array(kMessageFields);
    integer(m.sender);
    integer(m.seq);
    integer(m.stream_seq);
    text(m.group);
    integer(static_cast<std::uint8_t>(m.mode));
    integer(static_cast<std::uint8_t>(m.order));
    boolean(m.withdrawn);
    array(m.causal.entries().size());
    for (const auto& [origin, count] : m.causal.entries()) {
      array(kClockEntryFields);
      integer(origin);
      integer(count);
    }
    shared_bytes(m.payload);
  }

  void encode(const DataPush& push) {
    array(kDataPushFields);
    encode(push.message);
    integer(push.hops);
    boolean(push.repair);
  }

  void encode(const StreamPosition& p) {
    array(kPositionFields);
    integer(p.origin);
    integer(p.received_upto);
    integer(p.stable_upto);
    boolean(p.cut_known);
    integer(p.cut);
    integer(p.highest_received);
    integers(p.missing);
    integers(p.lost);
  }

  void encode(const Digest& digest) {
    array(kDigestFields);
    integer(digest.from);
    integer(static_cast<std::uint8_t>(digest.mode));
    array(digest.streams.size());
    for (const StreamPosition& p : digest.streams) encode(p);
    boolean(digest.wants_reply);
  }

  void encode(const Hello& hello) {
    array(kHelloFields);
    integer(hello.from);
  }

  void encode(const Welcome& welcome) {
    array(kWelcomeFields);
    integer(welcome.from);
    integer(welcome.to);
    integer(welcome.epoch);
    integer(welcome.reliable_cut);
    integer(welcome.gossip_cut);
    integer(welcome.causal_cut);
  }

  void encode(const TotalForward& forward) {
    array(kTotalForwardFields);
    array(forward.messages.size());
    for (const BroadcastMessage& m : forward.messages) encode(m);
  }

  void encode(const Refusal& r) {
    array(kRefusalFields);
    integer(static_cast<std::uint8_t>(r.reason));
    integer(r.cluster_id);
    integer(r.known_identity);
    integer(r.refused_identity);
  }

  void encode(const JoinRequest& r) {
    array(kJoinRequestFields);
    integer(r.identity);
    text(r.address);
  }

  void encode(const JoinResponse& r) {
    array(kJoinResponseFields);
    boolean(r.accepted);
    text(r.reason);
    integer(r.cluster_id);
    integer(r.incarnation_floor);
    array(r.members.size());
    for (const auto& [node, address] : r.members) {
      array(kMemberAddressFields);
      integer(node);
      text(address);
    }
    text(r.reply_address);
  }

  void encode(const AdminForward& f) {
    const bool keyed = !f.request.public_key.empty();
    array(keyed ? kAdminForwardFieldsWithKey : kAdminForwardFields);
    integer(f.request_id);
    integer(static_cast<std::uint8_t>(f.request.kind));
    integer(f.request.node);
    text(f.request.address);
    boolean(f.request.learner);
    if (keyed) text(f.request.public_key);
  }

  void encode(const AdminResult& r) {
    array(kAdminResultFields);
    integer(r.request_id);
    boolean(r.ok);
    integer(r.ok ? 0 : static_cast<std::uint8_t>(r.code));
    text(r.message);
  }

  void encode(const Credit& c) {
    array(kCreditFields);
    integer(c.from);
    integer(c.sequence);
    array(c.delivered.size());
    for (const CreditPosition& p : c.delivered) {
      array(kCreditPositionFields);
      integer(p.origin);
      integer(p.reliable);
      integer(p.gossip);
      integer(p.total);
    }
    array(c.rooms.size());
    for (const GroupRoom& room : c.rooms) {
      array(kGroupRoomFields);
      text(room.group);
      integer(room.share_bytes);
    }
  }

  StringWriter writer_;
  msgpack::packer<StringWriter> packer_;
  std::vector<Attachment>* attachments_;
};

// ---------------------------------------------------------------------------------------------
// Decoding
//
// msgpack::unpack turns the frame into an object tree, enforcing the size and depth limits as it
// goes; the Decoder then walks that tree against the layout above. Every check fails with a
// reason naming the field, and the first failure is the one reported.

class Decoder {
 public:
  Decoder(const DecodeLimits& limits, const std::vector<Attachment>& attachments)
      : limits_(limits), attachments_(attachments), attachment_used_(attachments.size(), false) {}

  std::string take_error() { return std::move(error_); }

  // After a whole envelope: every attachment was referenced.
  bool all_attachments_used() {
    for (std::size_t i = 0; i < attachment_used_.size(); ++i) {
      if (!attachment_used_[i]) return fail("attachment " + std::to_string(i) + " is never used");
    }
    return true;
  }

  bool envelope(const msgpack::object& o, Envelope& out) {
    if (o.type != msgpack::type::ARRAY || o.via.array.size == 0) {
      return fail("frame is not a msgpack array starting with the protocol version");
    }
    std::uint64_t version = 0;
    if (!integer(o.via.array.ptr[0], "protocol version", version)) return false;
    if (version != kPeerProtocolVersion) {
      return fail("unsupported peer protocol version " + std::to_string(version) +
                  " (this daemon speaks " + std::to_string(kPeerProtocolVersion) + ")");
    }
    const msgpack::object* f = nullptr;
    std::uint64_t kind = 0;
    if (!fields(o, "frame", kFrameFields, f) || !node(f[1], "envelope from", out.from) ||
        !node(f[2], "envelope to", out.to) || !integer(f[3], "envelope origin", out.origin) ||
        !integer(f[4], "envelope cluster_id", out.cluster_id) ||
        !integer(f[5], "envelope identity", out.identity) || !integer(f[6], "message kind", kind)) {
      return false;
    }
    const msgpack::object& payload = f[7];
    switch (kind) {
      case static_cast<std::uint8_t>(Kind::kRaft):
        return body<raft::Message>(payload, out.message);
      case static_cast<std::uint8_t>(Kind::kDataPush):
        return body<DataPush>(payload, out.message);
      case static_cast<std::uint8_t>(Kind::kDigest):
        return body<Digest>(payload, out.message);
      case static_cast<std::uint8_t>(Kind::kHello):
        return body<Hello>(payload, out.message);
      case static_cast<std::uint8_t>(Kind::kWelcome):
        return body<Welcome>(payload, out.message);
      case static_cast<std::uint8_t>(Kind::kTotalForward):
        return body<TotalForward>(payload, out.message);
      case static_cast<std::uint8_t>(Kind::kRefusal):
        return body<Refusal>(payload, out.message);
      case static_cast<std::uint8_t>(Kind::kJoinRequest):
        return body<JoinRequest>(payload, out.message);
      case static_cast<std::uint8_t>(Kind::kJoinResponse):
        return body<JoinResponse>(payload, out.message);
      case static_cast<std::uint8_t>(Kind::kAdminForward):
        return body<AdminForward>(payload, out.message);
      case static_cast<std::uint8_t>(Kind::kAdminResult):
        return body<AdminResult>(payload, out.message);
      case static_cast<std::uint8_t>(Kind::kCredit):
        return body<Credit>(payload, out.message);
      default:
        return fail("unknown message kind " + std::to_string(kind));
    }
  }

 private:
  bool fail(std::string reason) {
    error_ = std::move(reason);
    return false;
  }
  bool fail(std::string_view what, std::string_view problem) {
    std::string reason(what);
    reason += ' ';
    reason += problem;
    return fail(std::move(reason));
  }

  template <typename T>
  bool body(const msgpack::object& o, PeerMessage& out) {
    return decode(o, out.emplace<T>());
  }

  // A fixed-layout struct: an array of exactly `arity` fields.
  bool fields(const msgpack::object& o, std::string_view what, std::uint32_t arity,
              const msgpack::object*& out) {
    if (o.type != msgpack::type::ARRAY) return fail(what, "is not an array");
    if (o.via.array.size != arity) {
      return fail(what, "has " + std::to_string(o.via.array.size) + " fields, expected " +
                            std::to_string(arity));
    }
    out = o.via.array.ptr;
    return true;
  }

  // A variable-length list, bounded by max_array_items. Its items already exist in the unpacked
  // tree, so reserving for them allocates nothing the frame did not pay for.
  bool list(const msgpack::object& o, std::string_view what,
            std::span<const msgpack::object>& out) {
    if (o.type != msgpack::type::ARRAY) return fail(what, "is not an array");
    if (o.via.array.size > limits_.max_array_items) {
      return fail(what, "has " + std::to_string(o.via.array.size) +
                            " items, more than the limit of " +
                            std::to_string(limits_.max_array_items));
    }
    out = std::span<const msgpack::object>(o.via.array.ptr, o.via.array.size);
    return true;
  }

  template <typename T>
  bool integer(const msgpack::object& o, std::string_view what, T& out) {
    static_assert(std::is_unsigned_v<T> && !std::is_same_v<T, bool>);
    if (o.type != msgpack::type::POSITIVE_INTEGER) {
      return fail(what, "is not an unsigned integer");
    }
    if (o.via.u64 > std::numeric_limits<T>::max()) {
      return fail(what, std::to_string(o.via.u64) + " does not fit in " +
                            std::to_string(8 * sizeof(T)) + " bits");
    }
    out = static_cast<T>(o.via.u64);
    return true;
  }

  // A node id as carried beside a message: kNoNode or a valid id.
  bool node(const msgpack::object& o, std::string_view what, NodeId& out) {
    if (!integer(o, what, out)) return false;
    if (out > kMaxNodeId) {
      return fail(what, std::to_string(out) + " is not a node id (at most " +
                            std::to_string(kMaxNodeId) + ")");
    }
    return true;
  }

  template <typename E>
  bool enumeration(const msgpack::object& o, std::string_view what, E last, E& out) {
    std::uint64_t value = 0;
    if (!integer(o, what, value)) return false;
    const auto max = static_cast<std::uint64_t>(last);
    if (value > max) {
      return fail(what,
                  std::to_string(value) + " is out of range (0.." + std::to_string(max) + ")");
    }
    out = static_cast<E>(value);
    return true;
  }

  bool boolean(const msgpack::object& o, std::string_view what, bool& out) {
    if (o.type != msgpack::type::BOOLEAN) return fail(what, "is not a boolean");
    out = o.via.boolean;
    return true;
  }

  bool text(const msgpack::object& o, std::string_view what, std::string& out) {
    if (o.type != msgpack::type::STR) return fail(what, "is not a str");
    out.assign(o.via.str.ptr, o.via.str.size);
    return true;
  }

  bool bytes(const msgpack::object& o, std::string_view what, std::string& out) {
    if (o.type != msgpack::type::BIN) return fail(what, "is not a bin");
    out.assign(o.via.bin.ptr, o.via.bin.size);
    return true;
  }

  bool bytes(const msgpack::object& o, std::string_view what, SharedBytes& out) {
    if (o.type == msgpack::type::POSITIVE_INTEGER) {
      const Attachment* attachment = nullptr;
      if (!attached(o, what, attachment)) return false;
      out = SharedBytes::borrow(attachment->owner, attachment->bytes);  // no copy
      return true;
    }
    if (o.type != msgpack::type::BIN) return fail(what, "is neither a bin nor an attachment");
    out = SharedBytes(std::string_view(o.via.bin.ptr, o.via.bin.size));
    return true;
  }

  bool shared_bytes(const msgpack::object& o, std::string_view what,
                    std::shared_ptr<const std::string>& out) {
    if (o.type == msgpack::type::NIL) {
      out = nullptr;
      return true;
    }
    if (o.type == msgpack::type::POSITIVE_INTEGER) {
      const Attachment* attachment = nullptr;
      if (!attached(o, what, attachment)) return false;
      out = std::make_shared<const std::string>(attachment->bytes);
      return true;
    }
    if (o.type != msgpack::type::BIN) return fail(what, "is neither a bin, nil nor an attachment");
    out = std::make_shared<const std::string>(o.via.bin.ptr, o.via.bin.size);
    return true;
  }

  // A byte field given as an attachment's index: it must name one, not used before.
  bool attached(const msgpack::object& o, std::string_view what, const Attachment*& out) {
    const std::uint64_t index = o.via.u64;
    if (index >= attachments_.size()) {
      return fail(what, "names attachment " + std::to_string(index) + " of " +
                            std::to_string(attachments_.size()));
    }
    if (attachment_used_[index]) {
      return fail(what, "names attachment " + std::to_string(index) + " a second time");
    }
    attachment_used_[index] = true;
    out = &attachments_[index];
    return true;
  }

  template <typename T>
  bool integers(const msgpack::object& o, std::string_view what, std::vector<T>& out) {
    std::span<const msgpack::object> items;
    if (!list(o, what, items)) return false;
    out.reserve(items.size());
    for (const msgpack::object& item : items) {
      if (!integer(item, what, out.emplace_back())) return false;
    }
    return true;
  }

  bool decode(const msgpack::object& o, raft::Entry& out) {
    const msgpack::object* f = nullptr;
    return fields(o, "raft entry", kEntryFields, f) && integer(f[0], "raft entry term", out.term) &&
           integer(f[1], "raft entry index", out.index) &&
           enumeration(f[2], "raft entry type", raft::EntryType::kMembership, out.type) &&
           bytes(f[3], "raft entry data", out.data);
  }

  // Raft keeps both lists sorted, disjoint and free of kNoNode, and looks members up by binary
  // search: a list that breaks this would corrupt its configuration, so it is refused here.
  bool members(const msgpack::object& o, std::string_view what, std::vector<NodeId>& out) {
    if (!integers(o, what, out)) return false;
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i] == kNoNode || out[i] > kMaxNodeId) {
        return fail(what, "holds " + std::to_string(out[i]) + ", which is not a node id");
      }
      if (i > 0 && out[i - 1] >= out[i]) return fail(what, "are not sorted and unique");
    }
    return true;
  }

  bool decode(const msgpack::object& o, raft::Snapshot& out) {
    const msgpack::object* f = nullptr;
    const msgpack::object* meta = nullptr;
    const msgpack::object* conf = nullptr;
    if (!fields(o, "raft snapshot", kSnapshotFields, f) ||
        !fields(f[0], "raft snapshot meta", kSnapshotMetaFields, meta) ||
        !integer(meta[0], "raft snapshot index", out.meta.index) ||
        !integer(meta[1], "raft snapshot term", out.meta.term) ||
        !fields(meta[2], "raft conf state", kConfStateFields, conf) ||
        !members(conf[0], "raft conf voters", out.meta.conf.voters) ||
        !members(conf[1], "raft conf learners", out.meta.conf.learners) ||
        !shared_bytes(f[1], "raft snapshot data", out.data)) {
      return false;
    }
    const std::vector<NodeId>& voters = out.meta.conf.voters;
    const std::vector<NodeId>& learners = out.meta.conf.learners;
    // Both are sorted, so a common member shows up in one merge-like pass.
    for (auto v = voters.begin(), l = learners.begin(); v != voters.end() && l != learners.end();) {
      if (*v == *l) return fail("raft conf: node " + std::to_string(*v) + " is voter and learner");
      if (*v < *l) {
        ++v;
      } else {
        ++l;
      }
    }
    return true;
  }

  bool decode(const msgpack::object& o, raft::Message& out) {
    const msgpack::object* f = nullptr;
    std::span<const msgpack::object> entries;
    if (!fields(o, "raft message", kRaftFields, f) ||
        !enumeration(f[0], "raft message type", raft::MessageType::kTimeoutNow, out.type) ||
        !node(f[1], "raft message from", out.from) || !node(f[2], "raft message to", out.to) ||
        !integer(f[3], "raft message term", out.term) ||
        !integer(f[4], "raft message index", out.index) ||
        !integer(f[5], "raft message log_term", out.log_term) ||
        !integer(f[6], "raft message commit", out.commit) ||
        !list(f[7], "raft message entries", entries) ||
        !boolean(f[8], "raft message reject", out.reject) ||
        !integer(f[9], "raft message reject_hint", out.reject_hint) ||
        !integer(f[10], "raft message reject_hint_term", out.reject_hint_term) ||
        !integer(f[11], "raft message context", out.context)) {
      return false;
    }
    out.entries.reserve(entries.size());
    for (const msgpack::object& entry : entries) {
      if (!decode(entry, out.entries.emplace_back())) return false;
    }
    if (f[12].type == msgpack::type::NIL) return true;
    return decode(f[12], out.snapshot.emplace());
  }

  // CausalClock keeps its entries sorted by origin with non-zero counts and compares them
  // as-is: anything else could not have come from a CausalClock and would not round-trip.
  bool decode(const msgpack::object& o, CausalClock& out) {
    std::span<const msgpack::object> entries;
    if (!list(o, "causal clock", entries)) return false;
    OriginId previous = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const msgpack::object* f = nullptr;
      OriginId origin = 0;
      std::uint64_t count = 0;
      if (!fields(entries[i], "causal clock entry", kClockEntryFields, f) ||
          !integer(f[0], "causal clock origin", origin) ||
          !integer(f[1], "causal clock count", count)) {
        return false;
      }
      if (count == 0) return fail("causal clock entry has a zero count");
      if (i > 0 && origin <= previous) return fail("causal clock is not sorted by origin");
      previous = origin;
      out.set(origin, count);  // appends: origins arrive in increasing order
    }
    return true;
  }

  bool decode(const msgpack::object& o, BroadcastMessage& out) {
    const msgpack::object* f = nullptr;
    return fields(o, "broadcast message", kMessageFields, f) &&
           integer(f[0], "broadcast message sender", out.sender) &&
           integer(f[1], "broadcast message seq", out.seq) &&
           integer(f[2], "broadcast message stream_seq", out.stream_seq) &&
           text(f[3], "broadcast message group", out.group) &&
           enumeration(f[4], "broadcast message mode", Mode::kGossip, out.mode) &&
           enumeration(f[5], "broadcast message order", Order::kTotal, out.order) &&
           boolean(f[6], "broadcast message withdrawn", out.withdrawn) &&
           decode(f[7], out.causal) && shared_bytes(f[8], "broadcast message payload", out.payload);
  }

  bool decode(const msgpack::object& o, DataPush& out) {
    const msgpack::object* f = nullptr;
    return fields(o, "data push", kDataPushFields, f) && decode(f[0], out.message) &&
           integer(f[1], "data push hops", out.hops) &&
           boolean(f[2], "data push repair", out.repair);
  }

  bool decode(const msgpack::object& o, StreamPosition& out) {
    const msgpack::object* f = nullptr;
    if (!fields(o, "stream position", kPositionFields, f) ||
        !integer(f[0], "stream position origin", out.origin) ||
        !integer(f[1], "stream position received_upto", out.received_upto) ||
        !integer(f[2], "stream position stable_upto", out.stable_upto) ||
        !boolean(f[3], "stream position cut_known", out.cut_known) ||
        !integer(f[4], "stream position cut", out.cut) ||
        !integer(f[5], "stream position highest_received", out.highest_received)) {
      return false;
    }
    // The sender reports at most kMaxMissingReported and every one may trigger a repair send:
    // a longer list is a peer asking for more work than the protocol allows.
    if (f[6].type == msgpack::type::ARRAY && f[6].via.array.size > kMaxMissingReported) {
      return fail("stream position missing has " + std::to_string(f[6].via.array.size) +
                  " items, more than the " + std::to_string(kMaxMissingReported) +
                  " a digest may report");
    }
    return integers(f[6], "stream position missing", out.missing) &&
           integers(f[7], "stream position lost", out.lost);
  }

  bool decode(const msgpack::object& o, Digest& out) {
    const msgpack::object* f = nullptr;
    std::span<const msgpack::object> streams;
    if (!fields(o, "digest", kDigestFields, f) || !integer(f[0], "digest from", out.from) ||
        !enumeration(f[1], "digest mode", Mode::kGossip, out.mode) ||
        !list(f[2], "digest streams", streams) ||
        !boolean(f[3], "digest wants_reply", out.wants_reply)) {
      return false;
    }
    out.streams.reserve(streams.size());
    for (const msgpack::object& stream : streams) {
      if (!decode(stream, out.streams.emplace_back())) return false;
    }
    return true;
  }

  bool decode(const msgpack::object& o, Hello& out) {
    const msgpack::object* f = nullptr;
    return fields(o, "hello", kHelloFields, f) && integer(f[0], "hello from", out.from);
  }

  bool decode(const msgpack::object& o, Welcome& out) {
    const msgpack::object* f = nullptr;
    return fields(o, "welcome", kWelcomeFields, f) && integer(f[0], "welcome from", out.from) &&
           integer(f[1], "welcome to", out.to) && integer(f[2], "welcome epoch", out.epoch) &&
           integer(f[3], "welcome reliable_cut", out.reliable_cut) &&
           integer(f[4], "welcome gossip_cut", out.gossip_cut) &&
           integer(f[5], "welcome causal_cut", out.causal_cut);
  }

  bool decode(const msgpack::object& o, TotalForward& out) {
    const msgpack::object* f = nullptr;
    std::span<const msgpack::object> messages;
    if (!fields(o, "total forward", kTotalForwardFields, f) ||
        !list(f[0], "total forward messages", messages)) {
      return false;
    }
    out.messages.reserve(messages.size());
    for (const msgpack::object& m : messages) {
      if (!decode(m, out.messages.emplace_back())) return false;
    }
    return true;
  }

  bool decode(const msgpack::object& o, Refusal& out) {
    const msgpack::object* f = nullptr;
    if (!fields(o, "refusal", kRefusalFields, f) ||
        !enumeration(f[0], "refusal reason", RefusalReason::kNotMember, out.reason) ||
        !integer(f[1], "refusal cluster_id", out.cluster_id) ||
        !integer(f[2], "refusal known_identity", out.known_identity) ||
        !integer(f[3], "refusal refused_identity", out.refused_identity)) {
      return false;
    }
    if (out.reason == RefusalReason{0}) return fail("refusal reason 0 is not a reason");
    return true;
  }

  bool decode(const msgpack::object& o, JoinRequest& out) {
    const msgpack::object* f = nullptr;
    return fields(o, "join request", kJoinRequestFields, f) &&
           integer(f[0], "join request identity", out.identity) &&
           text(f[1], "join request address", out.address);
  }

  bool decode(const msgpack::object& o, JoinResponse& out) {
    const msgpack::object* f = nullptr;
    std::span<const msgpack::object> members;
    if (!fields(o, "join response", kJoinResponseFields, f) ||
        !boolean(f[0], "join response accepted", out.accepted) ||
        !text(f[1], "join response reason", out.reason) ||
        !integer(f[2], "join response cluster_id", out.cluster_id) ||
        !integer(f[3], "join response incarnation_floor", out.incarnation_floor) ||
        !list(f[4], "join response members", members) ||
        !text(f[5], "join response reply_address", out.reply_address)) {
      return false;
    }
    out.members.reserve(members.size());
    for (const msgpack::object& m : members) {
      const msgpack::object* mf = nullptr;
      auto& [node_id, address] = out.members.emplace_back();
      if (!fields(m, "join response member", kMemberAddressFields, mf) ||
          !node(mf[0], "join response member node", node_id) ||
          !text(mf[1], "join response member address", address)) {
        return false;
      }
    }
    return true;
  }

  bool decode(const msgpack::object& o, AdminForward& out) {
    const msgpack::object* f = nullptr;
    const bool keyed =
        o.type == msgpack::type::ARRAY && o.via.array.size == kAdminForwardFieldsWithKey;
    return fields(o, "admin forward", keyed ? kAdminForwardFieldsWithKey : kAdminForwardFields,
                  f) &&
           integer(f[0], "admin forward request_id", out.request_id) &&
           enumeration(f[1], "admin forward kind", AdminRequest::Kind::kTransferLeader,
                       out.request.kind) &&
           node(f[2], "admin forward node", out.request.node) &&
           text(f[3], "admin forward address", out.request.address) &&
           boolean(f[4], "admin forward learner", out.request.learner) &&
           (!keyed || text(f[5], "admin forward public_key", out.request.public_key));
  }

  bool decode(const msgpack::object& o, AdminResult& out) {
    const msgpack::object* f = nullptr;
    std::uint8_t code = 0;
    if (!fields(o, "admin result", kAdminResultFields, f) ||
        !integer(f[0], "admin result request_id", out.request_id) ||
        !boolean(f[1], "admin result ok", out.ok) || !integer(f[2], "admin result code", code) ||
        !text(f[3], "admin result message", out.message)) {
      return false;
    }
    if (!out.ok && (code < 1 || code > static_cast<std::uint8_t>(ErrorCode::kNotFound))) {
      return fail("admin result code " + std::to_string(code) + " is not an error code");
    }
    out.code = out.ok ? ErrorCode::kUnavailable : static_cast<ErrorCode>(code);
    return true;
  }

  bool decode(const msgpack::object& o, Credit& out) {
    const msgpack::object* f = nullptr;
    std::span<const msgpack::object> delivered;
    std::span<const msgpack::object> rooms;
    if (!fields(o, "credit", kCreditFields, f) || !integer(f[0], "credit from", out.from) ||
        !integer(f[1], "credit sequence", out.sequence) ||
        !list(f[2], "credit delivered", delivered) || !list(f[3], "credit rooms", rooms)) {
      return false;
    }
    out.delivered.reserve(delivered.size());
    for (const msgpack::object& item : delivered) {
      const msgpack::object* p = nullptr;
      CreditPosition& position = out.delivered.emplace_back();
      if (!fields(item, "credit position", kCreditPositionFields, p) ||
          !integer(p[0], "credit position origin", position.origin) ||
          !integer(p[1], "credit position reliable", position.reliable) ||
          !integer(p[2], "credit position gossip", position.gossip) ||
          !integer(p[3], "credit position total", position.total)) {
        return false;
      }
    }
    out.rooms.reserve(rooms.size());
    for (const msgpack::object& item : rooms) {
      const msgpack::object* r = nullptr;
      GroupRoom& room = out.rooms.emplace_back();
      if (!fields(item, "credit room", kGroupRoomFields, r) ||
          !text(r[0], "credit room group", room.group) ||
          !integer(r[1], "credit room share_bytes", room.share_bytes)) {
        return false;
      }
    }
    return true;
  }

  const DecodeLimits& limits_;
  const std::vector<Attachment>& attachments_;
  std::vector<bool> attachment_used_;
  std::string error_;
};

// The frame outlives the unpacked tree (both live only inside decode_envelope), so str and bin
// objects may point into it instead of being copied into msgpack's zone.
bool reference_frame(msgpack::type::object_type, std::size_t, void*) { return true; }

Error protocol_error(std::string reason) { return Error{ErrorCode::kProtocol, std::move(reason)}; }

}  // namespace

std::string encode_envelope(const Envelope& envelope) {
  std::string frame;
  frame.reserve(std::visit([](const auto& m) { return size_hint(m); }, envelope.message));
  Encoder(frame).envelope(envelope);
  return frame;
}

EncodedFrames encode_envelope_frames(const Envelope& envelope) {
  EncodedFrames frames;
  // The hint counts large fields that become attachments: only reserve what a frame of small
  // fields might need.
  constexpr std::size_t kMaxReserveBytes = 1u << 20;
  frames.envelope.reserve(std::min(
      kMaxReserveBytes, std::visit([](const auto& m) { return size_hint(m); }, envelope.message)));
  Encoder(frames.envelope, &frames.attachments).envelope(envelope);
  return frames;
}

Result<Envelope> decode_envelope(std::string_view frame, const DecodeLimits& limits) {
  return decode_envelope(frame, limits, {});
}

Result<Envelope> decode_envelope(std::string_view frame, const DecodeLimits& limits,
                                 const std::vector<Attachment>& attachments) {
  if (frame.empty()) return protocol_error("empty frame");
  if (attachments.size() > kMaxAttachments) {
    return protocol_error(std::to_string(attachments.size()) + " attachments, more than the " +
                          std::to_string(kMaxAttachments) + " allowed");
  }
  for (const Attachment& attachment : attachments) {
    if (attachment.bytes.size() > limits.max_frame_bytes) {
      return protocol_error("an attachment of " + std::to_string(attachment.bytes.size()) +
                            " bytes exceeds the limit of " +
                            std::to_string(limits.max_frame_bytes));
    }
  }
  if (frame.size() > limits.max_frame_bytes) {
    return protocol_error("frame of " + std::to_string(frame.size()) +
                          " bytes exceeds the limit of " + std::to_string(limits.max_frame_bytes));
  }
  // msgpack allocates an array's item slots as soon as it reads the array's header, before it
  // knows the items are there. Every item takes at least one byte, so capping the claim at the
  // frame's size keeps a short frame from asking for a large allocation. Maps and exts are not
  // part of the format: a limit of 0 refuses them before any allocation.
  const std::size_t array_limit =
      std::min(std::max(limits.max_array_items, kMaxFields), frame.size());
  const msgpack::unpack_limit unpack_limit(/*array=*/array_limit, /*map=*/0,
                                           /*str=*/frame.size(), /*bin=*/frame.size(),
                                           /*ext=*/0, /*depth=*/limits.max_depth);
  // msgpack reports malformed input by throwing; this is the boundary where that becomes a
  // Result, so nothing escapes to the caller.
  try {
    std::size_t offset = 0;
    const msgpack::object_handle handle = msgpack::unpack(frame.data(), frame.size(), offset,
                                                          &reference_frame, nullptr, unpack_limit);
    if (offset != frame.size()) {
      return protocol_error(std::to_string(frame.size() - offset) +
                            " trailing bytes after the frame");
    }
    Envelope envelope;
    Decoder decoder(limits, attachments);
    if (!decoder.envelope(handle.get(), envelope) || !decoder.all_attachments_used()) {
      return protocol_error(decoder.take_error());
    }
    return envelope;
  } catch (const msgpack::depth_size_overflow&) {
    return protocol_error("frame nests deeper than the limit of " +
                          std::to_string(limits.max_depth));
  } catch (const msgpack::array_size_overflow&) {
    return protocol_error("an array claims more items than the limit of " +
                          std::to_string(limits.max_array_items) + " or than the frame holds");
  } catch (const msgpack::map_size_overflow&) {
    return protocol_error("frame holds a map, which the peer protocol never uses");
  } catch (const msgpack::ext_size_overflow&) {
    return protocol_error("frame holds an ext, which the peer protocol never uses");
  } catch (const msgpack::size_overflow& e) {
    return protocol_error(std::string("frame exceeds a size limit: ") + e.what());
  } catch (const msgpack::insufficient_bytes&) {
    return protocol_error("truncated frame");
  } catch (const msgpack::parse_error&) {
    return protocol_error("frame is not valid msgpack");
  } catch (const msgpack::unpack_error& e) {
    return protocol_error(std::string("frame is not valid msgpack: ") + e.what());
  } catch (const std::bad_alloc&) {
    // The limits bound what a frame can make us allocate, but the process may still be short
    // of memory: drop the frame rather than the daemon.
    return protocol_error("out of memory decoding a frame of " + std::to_string(frame.size()) +
                          " bytes");
  }
}

}  // namespace bcast::codec
