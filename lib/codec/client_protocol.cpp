#include "codec/client_protocol.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <limits>
#include <msgpack.hpp>
#include <utility>

#include "codec/msgpack_wire.hpp"

namespace bcast::protocol {
namespace {

// Every key the protocol knows. A header's keys are looked up through this table once, so each
// type below only names the fields it uses.
enum Field : std::uint8_t {
  kKeyType,
  kKeyId,
  kKeyVersion,
  kKeyClientName,
  kKeyGroup,
  kKeyMode,
  kKeyOrder,
  kKeySender,
  kKeySeq,
  kKeyGseq,
  kKeyNodeId,
  kKeyMaxMessageBytes,
  kKeyRole,
  kKeyTerm,
  kKeyLeader,
  kKeyMembers,
  kKeyCommitIndex,
  kKeyCode,
  kKeyMessage,
  kKeySupportedVersions,
  kKeyClusterId,
  kKeyProblems,
  kKeyOp,
  kKeyAddress,
  kKeyLearner,
  kKeyNodes,
  kKeyViewId,
  kKeyClients,
  kKeyJoined,
  kKeyLeft,
  kKeyCause,
  kKeyGroupViews,
  kKeyPeers,
  kKeyDaemonsDown,
  kKeyStreamSeq,
  kKeyReason,
  kKeyOrigin,
  kKeyFromSeq,
  kKeyToSeq,
  kKeyFromGseq,
  kKeyToGseq,
  kKeyPublicKey,
  kKeyCount,
};

constexpr std::array<std::string_view, kKeyCount> kFieldNames = {
    "type",         "id",           "version",    "client_name",
    "group",        "mode",         "order",      "sender",
    "seq",          "gseq",         "node_id",    "max_message_bytes",
    "role",         "term",         "leader",     "members",
    "commit_index", "code",         "message",    "supported_versions",
    "cluster_id",   "problems",     "op",         "address",
    "learner",      "nodes",        "view_id",    "clients",
    "joined",       "left",         "cause",      "group_views",
    "peers",        "daemons_down", "stream_seq", "reason",
    "origin",       "from_seq",     "to_seq",     "from_gseq",
    "to_gseq",      "public_key",
};

using FieldSet = std::uint64_t;
constexpr FieldSet bit(Field field) { return FieldSet{1} << field; }

// Which keys each type requires and which it may carry; the encoder writes both.
struct TypeFields {
  FieldSet required;
  FieldSet optional;
};

TypeFields fields_of(MessageType type) {
  switch (type) {
    case MessageType::kHello:
      return {bit(kKeyId) | bit(kKeyVersion), bit(kKeyClientName) | bit(kKeyGroupViews)};
    case MessageType::kJoin:
      // from_gseq: replay the group's total order from there (0: the oldest retained).
      return {bit(kKeyId) | bit(kKeyGroup), bit(kKeyFromGseq)};
    case MessageType::kLeave:
      return {bit(kKeyId) | bit(kKeyGroup), 0};
    case MessageType::kPublish:
      return {bit(kKeyId) | bit(kKeyGroup) | bit(kKeyMode) | bit(kKeyOrder), 0};
    case MessageType::kStatus:
      return {bit(kKeyId), 0};
    case MessageType::kOk:
      // gseq, answering a join: the last total-order position before its live deliveries.
      return {bit(kKeyId), bit(kKeyGseq)};
    case MessageType::kWelcome:
      return {bit(kKeyId) | bit(kKeySender) | bit(kKeyNodeId) | bit(kKeyVersion) |
                  bit(kKeyMaxMessageBytes),
              0};
    case MessageType::kReceipt:
      return {bit(kKeyId) | bit(kKeySeq), bit(kKeyGseq)};
    case MessageType::kStatusReply:
      return {bit(kKeyId) | bit(kKeyNodeId) | bit(kKeyRole) | bit(kKeyTerm) | bit(kKeyMembers) |
                  bit(kKeyCommitIndex),
              bit(kKeyLeader) | bit(kKeyClusterId) | bit(kKeyProblems) | bit(kKeyPeers) |
                  bit(kKeyDaemonsDown)};
    case MessageType::kCluster:
      return {bit(kKeyId) | bit(kKeyOp),
              bit(kKeyNodeId) | bit(kKeyAddress) | bit(kKeyLearner) | bit(kKeyPublicKey)};
    case MessageType::kClusterReply:
      return {bit(kKeyId) | bit(kKeyClusterId) | bit(kKeyNodes), bit(kKeyLeader)};
    case MessageType::kDelivery:
      return {bit(kKeyGroup) | bit(kKeySender) | bit(kKeySeq) | bit(kKeyMode) | bit(kKeyOrder),
              bit(kKeyGseq) | bit(kKeyStreamSeq)};
    case MessageType::kGap:
      // Which of the two ranges is required depends on the gap's kind (read_gap checks it).
      return {bit(kKeyReason), bit(kKeyGroup) | bit(kKeyOrigin) | bit(kKeyMode) | bit(kKeyFromSeq) |
                                   bit(kKeyToSeq) | bit(kKeyFromGseq) | bit(kKeyToGseq)};
    case MessageType::kView:
      return {bit(kKeyGroup) | bit(kKeyMembers), bit(kKeyViewId) | bit(kKeyClients) |
                                                     bit(kKeyJoined) | bit(kKeyLeft) |
                                                     bit(kKeyCause) | bit(kKeyGseq)};
    case MessageType::kError:
      return {bit(kKeyId) | bit(kKeyCode), bit(kKeyMessage) | bit(kKeySupportedVersions)};
  }
  return {0, 0};
}

// Requests must carry a non-zero id: 0 is what the daemon uses for events and for errors about
// frames whose id it could not read, so a request with id 0 could not be told apart from them.
bool needs_nonzero_id(MessageType type) {
  return type != MessageType::kError && type != MessageType::kDelivery &&
         type != MessageType::kView && type != MessageType::kGap;
}

constexpr std::array<MessageType, 15> kAllTypes = {
    MessageType::kHello,    MessageType::kJoin,         MessageType::kLeave,
    MessageType::kPublish,  MessageType::kStatus,       MessageType::kWelcome,
    MessageType::kOk,       MessageType::kReceipt,      MessageType::kStatusReply,
    MessageType::kDelivery, MessageType::kView,         MessageType::kError,
    MessageType::kCluster,  MessageType::kClusterReply, MessageType::kGap,
};

constexpr std::array<ErrorCode, 11> kAllCodes = {
    ErrorCode::kInvalidArgument, ErrorCode::kNotLeader,        ErrorCode::kBusy,
    ErrorCode::kTooLarge,        ErrorCode::kCorrupt,          ErrorCode::kIo,
    ErrorCode::kTimeout,         ErrorCode::kUnavailable,      ErrorCode::kProtocol,
    ErrorCode::kNotFound,        ErrorCode::kPermissionDenied,
};

std::optional<ErrorCode> parse_error_code(std::string_view name) {
  for (ErrorCode code : kAllCodes) {
    if (name == error_code_name(code)) return code;
  }
  return std::nullopt;
}

// Bounds on what a header may hold besides its total size. Headers are small flat maps; the only
// nested value is "members" (at most one entry per possible node id). The depth allows unknown
// keys a little structure so that later versions can add some.
constexpr std::size_t kMaxKeys = 64;
constexpr std::size_t kMaxArray = kMaxNodeId;
constexpr std::size_t kMaxDepth = 4;
constexpr std::size_t kMaxClientNameBytes = 255;
constexpr std::size_t kMaxRoleBytes = 64;
constexpr std::size_t kMaxAddressBytes = 1024;
constexpr std::size_t kMaxPublicKeyBytes = 64;  // a Z85 key is 40

// ---- encoding ----

// Packs key/value pairs into a body and counts them, so the map header written in front of them
// can never disagree with what follows.
class MapWriter {
 public:
  MapWriter() : packer_(&body_) {}

  msgpack::packer<msgpack::sbuffer>& key(Field field) {
    ++count_;
    const std::string_view name = kFieldNames[field];
    packer_.pack_str(static_cast<std::uint32_t>(name.size()));
    packer_.pack_str_body(name.data(), static_cast<std::uint32_t>(name.size()));
    return packer_;
  }
  void string(Field field, std::string_view value) {
    key(field);
    packer_.pack_str(static_cast<std::uint32_t>(value.size()));
    packer_.pack_str_body(value.data(), static_cast<std::uint32_t>(value.size()));
  }
  void uint(Field field, std::uint64_t value) { key(field).pack_uint64(value); }
  void optional_uint(Field field, std::optional<std::uint64_t> value) {
    if (value) {
      uint(field, *value);
    } else {
      key(field).pack_nil();
    }
  }

  std::string finish() const {
    msgpack::sbuffer out;
    msgpack::packer<msgpack::sbuffer> packer(&out);
    packer.pack_map(count_);
    std::string result;
    result.reserve(out.size() + body_.size());
    result.append(out.data(), out.size());
    result.append(body_.data(), body_.size());
    return result;
  }

 private:
  msgpack::sbuffer body_;
  msgpack::packer<msgpack::sbuffer> packer_;
  std::uint32_t count_ = 0;
};

// ---- decoding ----

Error protocol_error(MessageType type, Field field, std::string_view what) {
  std::string text = "client protocol: ";
  text += message_type_name(type);
  text += ": \"";
  text += kFieldNames[field];
  text += "\" ";
  text += what;
  return make_error(ErrorCode::kProtocol, std::move(text));
}

using Values = std::array<const msgpack::object*, kKeyCount>;
// The encoded bytes of each known key's value: msgpack-c's objects do not say whether an integer
// came in an unsigned or a signed format.
using RawValues = std::array<std::string_view, kKeyCount>;

// The values of one header's known keys, each validated on demand for the type that uses it.
class FieldReader {
 public:
  FieldReader(MessageType type, const Values& values, const RawValues& raw)
      : type_(type), values_(values), raw_(raw) {}

  bool has(Field field) const { return values_[field] != nullptr; }
  bool is_nil(Field field) const { return values_[field]->type == msgpack::type::NIL; }

  Result<std::uint64_t> uint(Field field, std::uint64_t min = 0,
                             std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) const {
    const msgpack::object& value = *values_[field];
    // Signed formats are refused even for non-negative values: the protocol says unsigned, and
    // one value should have one encoding.
    if (value.type != msgpack::type::POSITIVE_INTEGER ||
        !is_unsigned_format(static_cast<std::uint8_t>(raw_[field].front()))) {
      return protocol_error(type_, field, "must be an unsigned integer (msgpack uint format)");
    }
    if (value.via.u64 < min || value.via.u64 > max) {
      return protocol_error(type_, field,
                            "must be in " + std::to_string(min) + ".." + std::to_string(max) +
                                ", got " + std::to_string(value.via.u64));
    }
    return value.via.u64;
  }

  // nil stands for "none".
  Result<std::optional<std::uint64_t>> optional_uint(
      Field field, std::uint64_t min,
      std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) const {
    if (values_[field]->type == msgpack::type::NIL) return std::optional<std::uint64_t>();
    auto value = uint(field, min, max);
    if (!value) return value.error();
    return std::optional<std::uint64_t>(value.value());
  }

  Result<Mode> mode(Field field) const {
    auto name = string(field);
    if (!name) return name.error();
    if (auto mode = parse_mode(name.value())) return *mode;
    return protocol_error(
        type_, field,
        "must be \"best-effort\", \"reliable\" or \"gossip\", got \"" + name.value() + "\"");
  }

  Result<Order> order(Field field) const {
    auto name = string(field);
    if (!name) return name.error();
    if (auto order = parse_order(name.value())) return *order;
    return protocol_error(
        type_, field,
        "must be \"none\", \"fifo\", \"causal\" or \"total\", got \"" + name.value() + "\"");
  }

  Result<ErrorCode> code(Field field) const {
    auto name = string(field);
    if (!name) return name.error();
    if (auto code = parse_error_code(name.value())) return *code;
    return protocol_error(type_, field, "is not a known error code: \"" + name.value() + "\"");
  }

  Result<std::string> string(
      Field field, std::size_t min_bytes = 0,
      std::size_t max_bytes = std::numeric_limits<std::size_t>::max()) const {
    const msgpack::object& value = *values_[field];
    if (value.type != msgpack::type::STR) return protocol_error(type_, field, "must be a string");
    if (value.via.str.size < min_bytes || value.via.str.size > max_bytes) {
      return protocol_error(type_, field,
                            min_bytes > 0
                                ? "must be " + std::to_string(min_bytes) + " to " +
                                      std::to_string(max_bytes) + " bytes"
                                : "must be at most " + std::to_string(max_bytes) + " bytes");
    }
    return std::string(value.via.str.ptr, value.via.str.size);
  }

  Result<bool> boolean(Field field) const {
    const msgpack::object& value = *values_[field];
    if (value.type != msgpack::type::BOOLEAN) return protocol_error(type_, field, "must be a bool");
    return value.via.boolean;
  }

  Result<std::vector<std::string>> string_list(Field field) const {
    const msgpack::object& value = *values_[field];
    if (value.type != msgpack::type::ARRAY) {
      return protocol_error(type_, field, "must be an array of strings");
    }
    std::vector<std::string> list;
    for (std::uint32_t i = 0; i < value.via.array.size; ++i) {
      const msgpack::object& element = value.via.array.ptr[i];
      if (element.type != msgpack::type::STR) {
        return protocol_error(type_, field, "must be an array of strings");
      }
      list.emplace_back(element.via.str.ptr, element.via.str.size);
    }
    return list;
  }

  // cluster_reply "nodes": an array of maps (node, address, role, identity_bound,
  // promote_when_caught_up; match_index and reachable may be nil).
  Result<std::vector<ClusterNode>> cluster_nodes(Field field) const {
    const msgpack::object& value = *values_[field];
    const auto bad = [&] {
      return protocol_error(type_, field,
                            "must be an array of maps with node, address, role, identity_bound, "
                            "promote_when_caught_up, match_index and reachable");
    };
    if (value.type != msgpack::type::ARRAY) return bad();
    std::vector<ClusterNode> nodes;
    for (std::uint32_t i = 0; i < value.via.array.size; ++i) {
      const msgpack::object& map = value.via.array.ptr[i];
      if (map.type != msgpack::type::MAP) return bad();
      ClusterNode node;
      int seen = 0;
      for (std::uint32_t k = 0; k < map.via.map.size; ++k) {
        const msgpack::object& key = map.via.map.ptr[k].key;
        const msgpack::object& v = map.via.map.ptr[k].val;
        if (key.type != msgpack::type::STR) return bad();
        const std::string_view name(key.via.str.ptr, key.via.str.size);
        const bool is_uint = v.type == msgpack::type::POSITIVE_INTEGER;
        const bool is_nil = v.type == msgpack::type::NIL;
        if (name == "node" && is_uint && v.via.u64 >= 1 && v.via.u64 <= kMaxNodeId) {
          node.node = v.via.u64;
        } else if (name == "address" && v.type == msgpack::type::STR) {
          node.address.assign(v.via.str.ptr, v.via.str.size);
        } else if (name == "role" && v.type == msgpack::type::STR) {
          node.role.assign(v.via.str.ptr, v.via.str.size);
        } else if (name == "identity_bound" && v.type == msgpack::type::BOOLEAN) {
          node.identity_bound = v.via.boolean;
        } else if (name == "promote_when_caught_up" && v.type == msgpack::type::BOOLEAN) {
          node.promote_when_caught_up = v.via.boolean;
        } else if (name == "match_index" && (is_uint || is_nil)) {
          if (is_uint) node.match_index = v.via.u64;
        } else if (name == "reachable" && (v.type == msgpack::type::BOOLEAN || is_nil)) {
          if (!is_nil) node.reachable = v.via.boolean;
        } else if (name == "public_key" && v.type == msgpack::type::STR) {
          node.public_key.assign(v.via.str.ptr, v.via.str.size);
        } else {
          continue;  // unknown keys are ignored, as at the top level
        }
        ++seen;
      }
      if (node.node == kNoNode || node.role.empty() || seen < 5) return bad();
      nodes.push_back(std::move(node));
    }
    return nodes;
  }

  // status_reply "peers": an array of maps (node, reachable, last_heard_ms (uint or nil)).
  Result<std::vector<PeerReach>> peer_reach(Field field) const {
    const msgpack::object& value = *values_[field];
    const auto bad = [&] {
      return protocol_error(type_, field,
                            "must be an array of maps with node, reachable and last_heard_ms");
    };
    if (value.type != msgpack::type::ARRAY) return bad();
    std::vector<PeerReach> peers;
    for (std::uint32_t i = 0; i < value.via.array.size; ++i) {
      const msgpack::object& map = value.via.array.ptr[i];
      if (map.type != msgpack::type::MAP) return bad();
      PeerReach peer;
      int seen = 0;
      for (std::uint32_t k = 0; k < map.via.map.size; ++k) {
        const msgpack::object& key = map.via.map.ptr[k].key;
        const msgpack::object& v = map.via.map.ptr[k].val;
        if (key.type != msgpack::type::STR) return bad();
        const std::string_view name(key.via.str.ptr, key.via.str.size);
        const bool is_uint = v.type == msgpack::type::POSITIVE_INTEGER;
        if (name == "node" && is_uint && v.via.u64 >= 1 && v.via.u64 <= kMaxNodeId) {
          peer.node = v.via.u64;
        } else if (name == "reachable" && v.type == msgpack::type::BOOLEAN) {
          peer.reachable = v.via.boolean;
        } else if (name == "last_heard_ms" && (is_uint || v.type == msgpack::type::NIL)) {
          if (is_uint) peer.last_heard_ms = v.via.u64;
        } else if (name == "node" || name == "reachable" || name == "last_heard_ms") {
          return bad();
        } else {
          continue;  // unknown keys are ignored, as at the top level
        }
        ++seen;
      }
      if (seen < 3) return bad();
      peers.push_back(peer);
    }
    return peers;
  }

  // view "clients", "joined", "left": an array of maps (sender, node, name).
  Result<std::vector<ViewMember>> view_members(Field field) const {
    const msgpack::object& value = *values_[field];
    const auto bad = [&] {
      return protocol_error(type_, field, "must be an array of maps with sender, node and name");
    };
    if (value.type != msgpack::type::ARRAY) return bad();
    std::vector<ViewMember> members;
    for (std::uint32_t i = 0; i < value.via.array.size; ++i) {
      const msgpack::object& map = value.via.array.ptr[i];
      if (map.type != msgpack::type::MAP) return bad();
      ViewMember member;
      int seen = 0;
      for (std::uint32_t k = 0; k < map.via.map.size; ++k) {
        const msgpack::object& key = map.via.map.ptr[k].key;
        const msgpack::object& v = map.via.map.ptr[k].val;
        if (key.type != msgpack::type::STR) return bad();
        const std::string_view name(key.via.str.ptr, key.via.str.size);
        const bool is_uint = v.type == msgpack::type::POSITIVE_INTEGER;
        if (name == "sender" && is_uint && v.via.u64 >= (SenderId{1} << 48)) {
          member.sender = v.via.u64;
        } else if (name == "node" && is_uint && v.via.u64 >= 1 && v.via.u64 <= kMaxNodeId) {
          member.node = v.via.u64;
        } else if (name == "name" && v.type == msgpack::type::STR &&
                   v.via.str.size <= kMaxClientNameBytes) {
          member.name.assign(v.via.str.ptr, v.via.str.size);
        } else if (name == "sender" || name == "node" || name == "name") {
          return bad();
        } else {
          continue;  // unknown keys are ignored, as at the top level
        }
        ++seen;
      }
      if (seen < 3) return bad();
      members.push_back(std::move(member));
    }
    return members;
  }

  // An array of unsigned integers in min..max, each one of what `noun` names.
  Result<std::vector<std::uint64_t>> uint_list(Field field, std::uint64_t min, std::uint64_t max,
                                               const char* noun) const {
    const msgpack::object& value = *values_[field];
    const std::string range = std::string(noun) + " in " + std::to_string(min) + ".." +
                              std::to_string(max) + " (msgpack uint format)";
    if (value.type != msgpack::type::ARRAY) {
      return protocol_error(type_, field, "must be an array of " + range);
    }
    WireReader elements(raw_[field]);
    (void)elements.array_header();
    std::vector<std::uint64_t> list;
    list.reserve(value.via.array.size);
    for (std::uint32_t i = 0; i < value.via.array.size; ++i) {
      const msgpack::object& element = value.via.array.ptr[i];
      const auto format = elements.peek_format();
      if (element.type != msgpack::type::POSITIVE_INTEGER || !format ||
          !is_unsigned_format(*format) || element.via.u64 < min || element.via.u64 > max) {
        return protocol_error(type_, field, "must hold " + range);
      }
      (void)elements.skip();
      list.push_back(element.via.u64);
    }
    return list;
  }

 private:
  MessageType type_;
  const Values& values_;
  const RawValues& raw_;
};

// Moves a read value into `target`, or hands back the error that stops decoding.
template <typename T, typename U>
std::optional<Error> assign(T& target, Result<U> read) {
  if (!read) return read.error();
  target = std::move(read).value();
  return std::nullopt;
}

// A gap names one range: of an origin's stream (origin, mode, from_seq, to_seq: nil for no end)
// or of the total order (from_gseq, to_gseq); never both, never backwards. A total-order gap has
// no mode: one given is ignored like any key a message does not use.
std::optional<Error> check_gap(Header& h, const FieldReader& in) {
  const auto bad = [](const std::string& why) {
    return make_error(ErrorCode::kProtocol, "client protocol: gap " + why);
  };
  if (h.origin) {
    if (!in.has(kKeyMode) || h.from_seq == 0) {
      return bad("with \"origin\" needs \"mode\" and \"from_seq\"");
    }
    if (h.from_gseq || h.to_gseq) return bad("names both a stream range and a gseq range");
    if (h.to_seq && *h.to_seq < h.from_seq) return bad("has \"to_seq\" below \"from_seq\"");
    return std::nullopt;
  }
  if (!h.from_gseq || !h.to_gseq) {
    return bad("needs \"origin\", \"mode\", \"from_seq\" or \"from_gseq\", \"to_gseq\"");
  }
  if (h.from_seq != 0 || h.to_seq) return bad("names both a stream range and a gseq range");
  if (*h.from_gseq == 0) return bad("has \"from_gseq\" 0 (gseqs start at 1)");
  h.mode = Header{}.mode;
  if (*h.to_gseq < *h.from_gseq) return bad("has \"to_gseq\" below \"from_gseq\"");
  return std::nullopt;
}

Result<Header> read_fields(MessageType type, const FieldReader& in) {
  const TypeFields fields = fields_of(type);
  for (std::uint8_t f = 0; f < kKeyCount; ++f) {
    const auto field = static_cast<Field>(f);
    if ((fields.required & bit(field)) != 0 && !in.has(field)) {
      return protocol_error(type, field, "is missing");
    }
  }

  Header h;
  h.type = type;
  std::optional<Error> error;
  // Reads a key this type uses and the header holds. An optional key that is absent or nil keeps
  // its default ("none"), whatever its type; the first error stops the rest.
  auto read = [&](Field field, auto& target, auto reader) {
    if (error || ((fields.required | fields.optional) & bit(field)) == 0 || !in.has(field)) {
      return;
    }
    if ((fields.optional & bit(field)) != 0 && in.is_nil(field)) return;
    error = assign(target, reader(field));
  };
  read(kKeyId, h.id, [&](Field f) { return in.uint(f, needs_nonzero_id(type) ? 1 : 0); });
  read(kKeyVersion, h.version,
       [&](Field f) { return in.uint(f, 1, std::numeric_limits<std::uint32_t>::max()); });
  read(kKeyClientName, h.client_name,
       [&](Field f) { return in.string(f, 0, kMaxClientNameBytes); });
  // Group names are checked by the daemon (1..max_group_bytes, invalid_argument), the same way
  // for join, leave and publish.
  read(kKeyGroup, h.group, [&](Field f) { return in.string(f); });
  read(kKeyMode, h.mode, [&](Field f) { return in.mode(f); });
  read(kKeyOrder, h.order, [&](Field f) { return in.order(f); });
  // A sender id's top 16 bits are its daemon's node id, which is never 0.
  read(kKeySender, h.sender, [&](Field f) { return in.uint(f, SenderId{1} << 48); });
  read(kKeySeq, h.seq, [&](Field f) { return in.uint(f, 1); });
  read(kKeyGseq, h.gseq, [&](Field f) { return in.optional_uint(f, 1); });
  read(kKeyNodeId, h.node_id, [&](Field f) { return in.uint(f, 1, kMaxNodeId); });
  read(kKeyMaxMessageBytes, h.max_message_bytes, [&](Field f) { return in.uint(f, 1); });
  read(kKeyRole, h.role, [&](Field f) { return in.string(f, 1, kMaxRoleBytes); });
  read(kKeyTerm, h.term, [&](Field f) { return in.uint(f); });
  read(kKeyLeader, h.leader, [&](Field f) { return in.optional_uint(f, 1, kMaxNodeId); });
  read(kKeyMembers, h.members, [&](Field f) { return in.uint_list(f, 1, kMaxNodeId, "node ids"); });
  read(kKeyCommitIndex, h.commit_index, [&](Field f) { return in.uint(f); });
  read(kKeyCode, h.code, [&](Field f) { return in.code(f); });
  read(kKeyMessage, h.message, [&](Field f) { return in.string(f); });
  read(kKeySupportedVersions, h.supported_versions, [&](Field f) {
    return in.uint_list(f, 1, std::numeric_limits<std::uint32_t>::max(), "protocol versions");
  });
  read(kKeyClusterId, h.cluster_id, [&](Field f) { return in.uint(f); });
  read(kKeyProblems, h.problems, [&](Field f) { return in.string_list(f); });
  read(kKeyOp, h.op, [&](Field f) { return in.string(f, 1, kMaxRoleBytes); });
  read(kKeyAddress, h.address, [&](Field f) { return in.string(f, 0, kMaxAddressBytes); });
  read(kKeyLearner, h.learner, [&](Field f) { return in.boolean(f); });
  read(kKeyPublicKey, h.public_key, [&](Field f) { return in.string(f, 0, kMaxPublicKeyBytes); });
  read(kKeyNodes, h.nodes, [&](Field f) { return in.cluster_nodes(f); });
  read(kKeyViewId, h.view_id, [&](Field f) { return in.optional_uint(f, 1); });
  read(kKeyClients, h.clients, [&](Field f) { return in.view_members(f); });
  read(kKeyJoined, h.joined, [&](Field f) { return in.view_members(f); });
  read(kKeyLeft, h.left, [&](Field f) { return in.view_members(f); });
  read(kKeyCause, h.cause, [&](Field f) { return in.string(f, 1, kMaxRoleBytes); });
  read(kKeyGroupViews, h.group_views, [&](Field f) { return in.boolean(f); });
  read(kKeyPeers, h.peers, [&](Field f) { return in.peer_reach(f); });
  read(kKeyDaemonsDown, h.daemons_down,
       [&](Field f) { return in.uint_list(f, 1, kMaxNodeId, "node ids"); });
  read(kKeyStreamSeq, h.stream_seq, [&](Field f) { return in.uint(f, 1); });
  read(kKeyReason, h.reason, [&](Field f) { return in.string(f, 1, kMaxRoleBytes); });
  // An origin is a daemon incarnation: node id (never 0) and boot count, as one 32-bit number.
  read(kKeyOrigin, h.origin, [&](Field f) {
    return in.optional_uint(f, std::uint64_t{1} << 16, std::numeric_limits<std::uint32_t>::max());
  });
  read(kKeyFromSeq, h.from_seq, [&](Field f) { return in.uint(f, 1); });
  read(kKeyToSeq, h.to_seq, [&](Field f) { return in.optional_uint(f, 1); });
  read(kKeyFromGseq, h.from_gseq, [&](Field f) { return in.optional_uint(f, 0); });
  read(kKeyToGseq, h.to_gseq, [&](Field f) { return in.optional_uint(f, 1); });
  if (error) return *error;
  if (type == MessageType::kGap) {
    if (auto bad = check_gap(h, in)) return *bad;
  }
  return h;
}

// Unpacks one msgpack value spanning the whole frame, within the limits above.
Result<msgpack::object_handle> unpack_frame(std::string_view frame, std::size_t max_bytes) {
  if (frame.size() > max_bytes) {
    return make_error(ErrorCode::kTooLarge,
                      "client protocol: header of " + std::to_string(frame.size()) +
                          " bytes exceeds the limit of " + std::to_string(max_bytes));
  }
  try {
    std::size_t offset = 0;
    const msgpack::unpack_limit limit(kMaxArray, kMaxKeys, max_bytes, max_bytes, max_bytes,
                                      kMaxDepth);
    msgpack::object_handle handle =
        msgpack::unpack(frame.data(), frame.size(), offset, nullptr, nullptr, limit);
    if (offset != frame.size()) {
      return make_error(ErrorCode::kProtocol,
                        "client protocol: header has trailing bytes after the map");
    }
    return handle;
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kProtocol,
                      std::string("client protocol: header is not valid msgpack: ") + e.what());
  }
}

std::optional<Field> field_named(std::string_view key) {
  for (std::uint8_t f = 0; f < kKeyCount; ++f) {
    if (key == kFieldNames[f]) return static_cast<Field>(f);
  }
  return std::nullopt;
}

// Walks the top-level map of a frame msgpack-c unpacked (so its structure is sound): every key
// must be a string and appear once -- a repeated key, known or not, would let two readers of one
// frame see different values -- and each known key's value is kept as its bytes.
Result<RawValues> raw_values(std::string_view frame) {
  WireReader in(frame);
  const std::uint64_t count = in.map_header().value_or(0);
  RawValues raw{};
  std::vector<std::string_view> keys;
  keys.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto key = in.str();
    if (!key)
      return make_error(ErrorCode::kProtocol, "client protocol: header has a non-string key");
    keys.push_back(*key);
    const std::size_t start = in.offset();
    if (!in.skip()) return make_error(ErrorCode::kProtocol, "client protocol: header is cut short");
    if (auto field = field_named(*key)) raw[*field] = frame.substr(start, in.offset() - start);
  }
  std::sort(keys.begin(), keys.end());
  if (auto repeated = std::adjacent_find(keys.begin(), keys.end()); repeated != keys.end()) {
    return make_error(ErrorCode::kProtocol,
                      "client protocol: header repeats key \"" + std::string(*repeated) + "\"");
  }
  return raw;
}

}  // namespace

const char* message_type_name(MessageType type) {
  switch (type) {
    case MessageType::kHello:
      return "hello";
    case MessageType::kJoin:
      return "join";
    case MessageType::kLeave:
      return "leave";
    case MessageType::kPublish:
      return "publish";
    case MessageType::kStatus:
      return "status";
    case MessageType::kWelcome:
      return "welcome";
    case MessageType::kOk:
      return "ok";
    case MessageType::kReceipt:
      return "receipt";
    case MessageType::kStatusReply:
      return "status_reply";
    case MessageType::kDelivery:
      return "delivery";
    case MessageType::kView:
      return "view";
    case MessageType::kError:
      return "error";
    case MessageType::kCluster:
      return "cluster";
    case MessageType::kClusterReply:
      return "cluster_reply";
    case MessageType::kGap:
      return "gap";
  }
  return "unknown";
}

std::optional<MessageType> parse_message_type(std::string_view name) {
  for (MessageType type : kAllTypes) {
    if (name == message_type_name(type)) return type;
  }
  return std::nullopt;
}

std::string encode_header(const Header& h) {
  MapWriter out;
  out.string(kKeyType, message_type_name(h.type));
  const TypeFields fields = fields_of(h.type);
  const FieldSet used = fields.required | fields.optional;
  auto uses = [&](Field field) { return (used & bit(field)) != 0; };
  if (uses(kKeyId)) out.uint(kKeyId, h.id);
  if (uses(kKeyVersion)) out.uint(kKeyVersion, h.version);
  if (uses(kKeyClientName)) out.string(kKeyClientName, h.client_name);
  // A gap names a group only when it is known to concern that group alone; a mode only for an
  // origin's stream.
  const bool gap = h.type == MessageType::kGap;
  if (uses(kKeyGroup) && !(gap && h.group.empty())) out.string(kKeyGroup, h.group);
  if (uses(kKeyMode) && !(gap && !h.origin)) out.string(kKeyMode, mode_name(h.mode));
  if (uses(kKeyOrder)) out.string(kKeyOrder, order_name(h.order));
  if (uses(kKeySender)) out.uint(kKeySender, h.sender);
  if (uses(kKeySeq)) out.uint(kKeySeq, h.seq);
  // A view carries gseq only when it is an agreed group view, an ok only when it has one.
  const bool writes_gseq = h.type == MessageType::kView ? h.view_id.has_value()
                           : h.type == MessageType::kOk ? h.gseq.has_value()
                                                        : true;
  if (uses(kKeyGseq) && writes_gseq) {
    out.optional_uint(kKeyGseq, h.gseq);
  }
  // node_id is optional only in a cluster request ("list" names no node).
  const bool optional_node = (fields.optional & bit(kKeyNodeId)) != 0;
  if (uses(kKeyNodeId) && !(optional_node && h.node_id == kNoNode)) {
    out.uint(kKeyNodeId, h.node_id);
  }
  if (uses(kKeyMaxMessageBytes)) out.uint(kKeyMaxMessageBytes, h.max_message_bytes);
  if (uses(kKeyRole)) out.string(kKeyRole, h.role);
  if (uses(kKeyTerm)) out.uint(kKeyTerm, h.term);
  if (uses(kKeyLeader)) out.optional_uint(kKeyLeader, h.leader);
  if (uses(kKeyMembers)) {
    auto& packer = out.key(kKeyMembers);
    packer.pack_array(static_cast<std::uint32_t>(h.members.size()));
    for (NodeId node : h.members) packer.pack_uint64(node);
  }
  if (uses(kKeyCommitIndex)) out.uint(kKeyCommitIndex, h.commit_index);
  if (uses(kKeyCode)) out.string(kKeyCode, error_code_name(h.code));
  if (uses(kKeyMessage)) out.string(kKeyMessage, h.message);
  if (uses(kKeyClusterId)) out.uint(kKeyClusterId, h.cluster_id);
  if (uses(kKeyProblems) && !h.problems.empty()) {
    auto& packer = out.key(kKeyProblems);
    packer.pack_array(static_cast<std::uint32_t>(h.problems.size()));
    for (const std::string& problem : h.problems) {
      packer.pack_str(static_cast<std::uint32_t>(problem.size()));
      packer.pack_str_body(problem.data(), static_cast<std::uint32_t>(problem.size()));
    }
  }
  if (uses(kKeyOp)) out.string(kKeyOp, h.op);
  if (uses(kKeyAddress) && !h.address.empty()) out.string(kKeyAddress, h.address);
  if (uses(kKeyLearner)) {
    auto& packer = out.key(kKeyLearner);
    h.learner ? packer.pack_true() : packer.pack_false();
  }
  if (uses(kKeyPublicKey) && !h.public_key.empty()) out.string(kKeyPublicKey, h.public_key);
  if (uses(kKeyNodes)) {
    auto& packer = out.key(kKeyNodes);
    packer.pack_array(static_cast<std::uint32_t>(h.nodes.size()));
    for (const ClusterNode& n : h.nodes) {
      packer.pack_map(8);
      const auto str = [&](std::string_view key, std::string_view value) {
        packer.pack_str(static_cast<std::uint32_t>(key.size()));
        packer.pack_str_body(key.data(), static_cast<std::uint32_t>(key.size()));
        packer.pack_str(static_cast<std::uint32_t>(value.size()));
        packer.pack_str_body(value.data(), static_cast<std::uint32_t>(value.size()));
      };
      const auto key = [&](std::string_view name) {
        packer.pack_str(static_cast<std::uint32_t>(name.size()));
        packer.pack_str_body(name.data(), static_cast<std::uint32_t>(name.size()));
      };
      key("node");
      packer.pack_uint64(n.node);
      str("address", n.address);
      str("role", n.role);
      key("identity_bound");
      n.identity_bound ? packer.pack_true() : packer.pack_false();
      key("promote_when_caught_up");
      n.promote_when_caught_up ? packer.pack_true() : packer.pack_false();
      key("match_index");
      n.match_index ? packer.pack_uint64(*n.match_index) : packer.pack_nil();
      key("reachable");
      n.reachable ? (*n.reachable ? packer.pack_true() : packer.pack_false()) : packer.pack_nil();
      str("public_key", n.public_key);
    }
  }
  // An agreed view (view_id set) lists its clients; the view after a join (daemons only) not.
  if (uses(kKeyViewId) && h.view_id) {
    out.uint(kKeyViewId, *h.view_id);
    const auto members = [&](Field field, const std::vector<ViewMember>& list) {
      auto& packer = out.key(field);
      packer.pack_array(static_cast<std::uint32_t>(list.size()));
      const auto key = [&](std::string_view name) {
        packer.pack_str(static_cast<std::uint32_t>(name.size()));
        packer.pack_str_body(name.data(), static_cast<std::uint32_t>(name.size()));
      };
      for (const ViewMember& m : list) {
        packer.pack_map(3);
        key("sender");
        packer.pack_uint64(m.sender);
        key("node");
        packer.pack_uint64(m.node);
        key("name");
        key(m.name);
      }
    };
    members(kKeyClients, h.clients);
    members(kKeyJoined, h.joined);
    members(kKeyLeft, h.left);
    out.string(kKeyCause, h.cause);
  }
  if (uses(kKeyPeers) && !h.peers.empty()) {
    auto& packer = out.key(kKeyPeers);
    packer.pack_array(static_cast<std::uint32_t>(h.peers.size()));
    const auto key = [&](std::string_view name) {
      packer.pack_str(static_cast<std::uint32_t>(name.size()));
      packer.pack_str_body(name.data(), static_cast<std::uint32_t>(name.size()));
    };
    for (const PeerReach& peer : h.peers) {
      packer.pack_map(3);
      key("node");
      packer.pack_uint64(peer.node);
      key("reachable");
      peer.reachable ? packer.pack_true() : packer.pack_false();
      key("last_heard_ms");
      peer.last_heard_ms ? packer.pack_uint64(*peer.last_heard_ms) : packer.pack_nil();
    }
  }
  if (uses(kKeyDaemonsDown) && !h.daemons_down.empty()) {
    auto& packer = out.key(kKeyDaemonsDown);
    packer.pack_array(static_cast<std::uint32_t>(h.daemons_down.size()));
    for (NodeId node : h.daemons_down) packer.pack_uint64(node);
  }
  if (uses(kKeyGroupViews) && h.group_views) {
    out.key(kKeyGroupViews).pack_true();
  }
  if (uses(kKeyStreamSeq) && h.stream_seq != 0) out.uint(kKeyStreamSeq, h.stream_seq);
  if (uses(kKeyReason)) out.string(kKeyReason, h.reason);
  if (gap && h.origin) {
    out.uint(kKeyOrigin, *h.origin);
    out.uint(kKeyFromSeq, h.from_seq);
    out.optional_uint(kKeyToSeq, h.to_seq);
  } else if (gap) {
    out.optional_uint(kKeyFromGseq, h.from_gseq);
    out.optional_uint(kKeyToGseq, h.to_gseq);
  } else if (uses(kKeyFromGseq) && h.from_gseq) {
    out.uint(kKeyFromGseq, *h.from_gseq);  // a join that replays
  }
  // Only a refused hello has versions to offer.
  if (uses(kKeySupportedVersions) && !h.supported_versions.empty()) {
    auto& packer = out.key(kKeySupportedVersions);
    packer.pack_array(static_cast<std::uint32_t>(h.supported_versions.size()));
    for (std::uint64_t version : h.supported_versions) packer.pack_uint64(version);
  }
  return out.finish();
}

Result<Header> decode_header(std::string_view frame, std::size_t max_bytes) {
  auto unpacked = unpack_frame(frame, max_bytes);
  if (!unpacked) return unpacked.error();
  const msgpack::object& root = unpacked.value().get();
  if (root.type != msgpack::type::MAP) {
    return make_error(ErrorCode::kProtocol, "client protocol: header is not a msgpack map");
  }
  auto raw = raw_values(frame);
  if (!raw) return raw.error();

  Values values{};
  for (std::uint32_t i = 0; i < root.via.map.size; ++i) {
    const msgpack::object_kv& kv = root.via.map.ptr[i];
    const std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
    if (auto field = field_named(key)) values[*field] = &kv.val;
  }

  if (values[kKeyType] == nullptr) {
    return make_error(ErrorCode::kProtocol, "client protocol: header has no \"type\"");
  }
  if (values[kKeyType]->type != msgpack::type::STR) {
    return make_error(ErrorCode::kProtocol, "client protocol: \"type\" must be a string");
  }
  const std::string_view type_name(values[kKeyType]->via.str.ptr, values[kKeyType]->via.str.size);
  const auto type = parse_message_type(type_name);
  if (!type) {
    return make_error(ErrorCode::kProtocol,
                      "client protocol: unknown message type \"" + std::string(type_name) + "\"");
  }
  return read_fields(*type, FieldReader(*type, values, raw.value()));
}

std::uint64_t peek_request_id(std::string_view frame) {
  WireReader in(frame);
  const auto count = in.map_header();
  if (!count) return 0;
  for (std::uint64_t i = 0; i < *count; ++i) {
    const auto key = in.str();
    if (key && *key == kFieldNames[kKeyId]) return in.non_negative_integer().value_or(0);
    if ((!key && !in.skip()) || !in.skip()) return 0;
  }
  return 0;
}

Header error_reply(std::uint64_t id, ErrorCode code, std::string message) {
  Header h;
  h.type = MessageType::kError;
  h.id = id;
  h.code = code;
  h.message = std::move(message);
  return h;
}

}  // namespace bcast::protocol
