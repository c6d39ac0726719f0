#include "codec/client_protocol.hpp"

#include <array>
#include <exception>
#include <limits>
#include <msgpack.hpp>
#include <utility>

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
  kKeyCount,
};

constexpr std::array<std::string_view, kKeyCount> kFieldNames = {
    "type",         "id",   "version", "client_name",       "group", "mode", "order",  "sender",
    "seq",          "gseq", "node_id", "max_message_bytes", "role",  "term", "leader", "members",
    "commit_index", "code", "message",
};

using FieldSet = std::uint32_t;
constexpr FieldSet bit(Field field) { return FieldSet{1} << field; }

// Which keys each type requires and which it may carry; the encoder writes both.
struct TypeFields {
  FieldSet required;
  FieldSet optional;
};

TypeFields fields_of(MessageType type) {
  switch (type) {
    case MessageType::kHello:
      return {bit(kKeyId) | bit(kKeyVersion), bit(kKeyClientName)};
    case MessageType::kJoin:
    case MessageType::kLeave:
      return {bit(kKeyId) | bit(kKeyGroup), 0};
    case MessageType::kPublish:
      return {bit(kKeyId) | bit(kKeyGroup) | bit(kKeyMode) | bit(kKeyOrder), 0};
    case MessageType::kStatus:
    case MessageType::kOk:
      return {bit(kKeyId), 0};
    case MessageType::kWelcome:
      return {bit(kKeyId) | bit(kKeySender) | bit(kKeyNodeId) | bit(kKeyVersion) |
                  bit(kKeyMaxMessageBytes),
              0};
    case MessageType::kReceipt:
      return {bit(kKeyId) | bit(kKeySeq), bit(kKeyGseq)};
    case MessageType::kStatusReply:
      return {bit(kKeyId) | bit(kKeyNodeId) | bit(kKeyRole) | bit(kKeyTerm) | bit(kKeyMembers) |
                  bit(kKeyCommitIndex),
              bit(kKeyLeader)};
    case MessageType::kDelivery:
      return {bit(kKeyGroup) | bit(kKeySender) | bit(kKeySeq) | bit(kKeyMode) | bit(kKeyOrder),
              bit(kKeyGseq)};
    case MessageType::kView:
      return {bit(kKeyGroup) | bit(kKeyMembers), 0};
    case MessageType::kError:
      return {bit(kKeyId) | bit(kKeyCode), bit(kKeyMessage)};
  }
  return {0, 0};
}

// Requests must carry a non-zero id: 0 is what the daemon uses for events and for errors about
// frames whose id it could not read, so a request with id 0 could not be told apart from them.
bool needs_nonzero_id(MessageType type) {
  return type != MessageType::kError && type != MessageType::kDelivery &&
         type != MessageType::kView;
}

constexpr std::array<MessageType, 12> kAllTypes = {
    MessageType::kHello,       MessageType::kJoin,     MessageType::kLeave, MessageType::kPublish,
    MessageType::kStatus,      MessageType::kWelcome,  MessageType::kOk,    MessageType::kReceipt,
    MessageType::kStatusReply, MessageType::kDelivery, MessageType::kView,  MessageType::kError,
};

constexpr std::array<ErrorCode, 10> kAllCodes = {
    ErrorCode::kInvalidArgument, ErrorCode::kNotLeader,   ErrorCode::kBusy,
    ErrorCode::kTooLarge,        ErrorCode::kCorrupt,     ErrorCode::kIo,
    ErrorCode::kTimeout,         ErrorCode::kUnavailable, ErrorCode::kProtocol,
    ErrorCode::kNotFound,
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

// The values of one header's known keys, each validated on demand for the type that uses it.
class FieldReader {
 public:
  FieldReader(MessageType type, const std::array<const msgpack::object*, kKeyCount>& values)
      : type_(type), values_(values) {}

  bool has(Field field) const { return values_[field] != nullptr; }

  Result<std::uint64_t> uint(Field field, std::uint64_t min = 0,
                             std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) const {
    const msgpack::object& value = *values_[field];
    if (value.type != msgpack::type::POSITIVE_INTEGER) {
      return protocol_error(type_, field, "must be an unsigned integer");
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

  Result<std::vector<NodeId>> node_list(Field field) const {
    const msgpack::object& value = *values_[field];
    if (value.type != msgpack::type::ARRAY) {
      return protocol_error(type_, field, "must be an array of node ids");
    }
    std::vector<NodeId> nodes;
    nodes.reserve(value.via.array.size);
    for (std::uint32_t i = 0; i < value.via.array.size; ++i) {
      const msgpack::object& node = value.via.array.ptr[i];
      if (node.type != msgpack::type::POSITIVE_INTEGER || node.via.u64 == kNoNode ||
          node.via.u64 > kMaxNodeId) {
        return protocol_error(type_, field,
                              "must hold node ids in 1.." + std::to_string(kMaxNodeId));
      }
      nodes.push_back(node.via.u64);
    }
    return nodes;
  }

 private:
  MessageType type_;
  const std::array<const msgpack::object*, kKeyCount>& values_;
};

// Moves a read value into `target`, or hands back the error that stops decoding.
template <typename T, typename U>
std::optional<Error> assign(T& target, Result<U> read) {
  if (!read) return read.error();
  target = std::move(read).value();
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
  // Reads a key this type uses and the header holds (absent optional keys keep their default);
  // the first error stops the rest.
  auto read = [&](Field field, auto& target, auto reader) {
    if (error || ((fields.required | fields.optional) & bit(field)) == 0 || !in.has(field)) {
      return;
    }
    error = assign(target, reader(field));
  };
  read(kKeyId, h.id, [&](Field f) { return in.uint(f, needs_nonzero_id(type) ? 1 : 0); });
  read(kKeyVersion, h.version,
       [&](Field f) { return in.uint(f, 1, std::numeric_limits<std::uint32_t>::max()); });
  read(kKeyClientName, h.client_name,
       [&](Field f) { return in.string(f, 0, kMaxClientNameBytes); });
  read(kKeyGroup, h.group, [&](Field f) { return in.string(f, 1); });
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
  read(kKeyMembers, h.members, [&](Field f) { return in.node_list(f); });
  read(kKeyCommitIndex, h.commit_index, [&](Field f) { return in.uint(f); });
  read(kKeyCode, h.code, [&](Field f) { return in.code(f); });
  read(kKeyMessage, h.message, [&](Field f) { return in.string(f); });
  if (error) return *error;
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
  if (uses(kKeyGroup)) out.string(kKeyGroup, h.group);
  if (uses(kKeyMode)) out.string(kKeyMode, mode_name(h.mode));
  if (uses(kKeyOrder)) out.string(kKeyOrder, order_name(h.order));
  if (uses(kKeySender)) out.uint(kKeySender, h.sender);
  if (uses(kKeySeq)) out.uint(kKeySeq, h.seq);
  if (uses(kKeyGseq)) out.optional_uint(kKeyGseq, h.gseq);
  if (uses(kKeyNodeId)) out.uint(kKeyNodeId, h.node_id);
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
  return out.finish();
}

Result<Header> decode_header(std::string_view frame, std::size_t max_bytes) {
  auto unpacked = unpack_frame(frame, max_bytes);
  if (!unpacked) return unpacked.error();
  const msgpack::object& root = unpacked.value().get();
  if (root.type != msgpack::type::MAP) {
    return make_error(ErrorCode::kProtocol, "client protocol: header is not a msgpack map");
  }

  std::array<const msgpack::object*, kKeyCount> values{};
  for (std::uint32_t i = 0; i < root.via.map.size; ++i) {
    const msgpack::object_kv& kv = root.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) {
      return make_error(ErrorCode::kProtocol, "client protocol: header has a non-string key");
    }
    const std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
    for (std::uint8_t f = 0; f < kKeyCount; ++f) {
      if (key != kFieldNames[f]) continue;
      // A repeated key would let two readers of one frame see different values.
      if (values[f] != nullptr) {
        return make_error(ErrorCode::kProtocol,
                          "client protocol: header repeats key \"" + std::string(key) + "\"");
      }
      values[f] = &kv.val;
      break;
    }
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
  return read_fields(*type, FieldReader(*type, values));
}

std::uint64_t peek_request_id(std::string_view frame, std::size_t max_bytes) {
  auto unpacked = unpack_frame(frame, max_bytes);
  if (!unpacked) return 0;
  const msgpack::object& root = unpacked.value().get();
  if (root.type != msgpack::type::MAP) return 0;
  for (std::uint32_t i = 0; i < root.via.map.size; ++i) {
    const msgpack::object_kv& kv = root.via.map.ptr[i];
    if (kv.key.type == msgpack::type::STR &&
        std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == kFieldNames[kKeyId]) {
      return kv.val.type == msgpack::type::POSITIVE_INTEGER ? kv.val.via.u64 : 0;
    }
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
