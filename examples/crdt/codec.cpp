#include "codec.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>

namespace bcast::crdt {

namespace {

using nlohmann::json;
constexpr int kVersion = 1;

// Thrown by the readers below for a well-formed JSON document of the wrong shape.
struct ShapeError {
  std::string what;
};

json encode_vector(const VersionVector& vector) {
  json pairs = json::array();
  for (const auto& [replica, counter] : vector.entries()) pairs.push_back({replica, counter});
  return pairs;
}

json encode_dots(const std::set<Dot>& dots) {
  json pairs = json::array();
  for (const Dot& dot : dots) pairs.push_back({dot.replica, dot.counter});
  return pairs;
}

json encode_state(const Object& object) {
  struct Encode {
    json operator()(const GCounter& c) const { return {{"entries", encode_vector(c.entries())}}; }
    json operator()(const PNCounter& c) const {
      return {{"inc", encode_vector(c.increments().entries())},
              {"dec", encode_vector(c.decrements().entries())}};
    }
    json operator()(const MaxRegister& r) const {
      return {{"value", r.value() ? json(*r.value()) : json(nullptr)}};
    }
    json operator()(const MVRegister& r) const {
      json entries = json::array();
      for (const auto& entry : r.entries()) {
        entries.push_back({{"value", entry.value}, {"version", encode_vector(entry.version)}});
      }
      return {{"entries", entries}};
    }
    json operator()(const GSet& s) const { return {{"elements", s.elements()}}; }
    json operator()(const ORSet& s) const {
      json entries = json::array();
      for (const auto& [element, dots] : s.entries()) {
        entries.push_back({element, encode_dots(dots)});
      }
      return {{"entries", entries},
              {"context",
               {{"prefix", encode_vector(s.context().prefix())},
                {"cloud", encode_dots(s.context().cloud())}}}};
    }
  };
  return std::visit(Encode{}, object);
}

const json& field(const json& object, const char* key) {
  if (!object.is_object())
    throw ShapeError{std::string("expected an object around \"") + key + "\""};
  auto it = object.find(key);
  if (it == object.end()) throw ShapeError{std::string("missing \"") + key + "\""};
  return *it;
}

std::uint64_t positive(const json& value, const char* what) {
  if (!value.is_number_unsigned() || value.get<std::uint64_t>() == 0) {
    throw ShapeError{std::string(what) + " must be a positive integer"};
  }
  return value.get<std::uint64_t>();
}

const json& array(const json& value, const char* what) {
  if (!value.is_array()) throw ShapeError{std::string(what) + " must be an array"};
  return value;
}

std::string text(const json& value, const char* what) {
  if (!value.is_string()) throw ShapeError{std::string(what) + " must be a string"};
  return value.get<std::string>();
}

std::pair<std::uint64_t, std::uint64_t> pair_of(const json& value, const char* what) {
  if (!value.is_array() || value.size() != 2) {
    throw ShapeError{std::string(what) + " must be [replica, counter] pairs"};
  }
  if (!value[0].is_number_unsigned()) throw ShapeError{std::string(what) + ": bad replica id"};
  return {value[0].get<std::uint64_t>(), positive(value[1], what)};
}

VersionVector decode_vector(const json& value, const char* what) {
  VersionVector vector;
  for (const json& item : array(value, what)) {
    auto [replica, counter] = pair_of(item, what);
    if (vector.get(replica) != 0) throw ShapeError{std::string(what) + ": a replica twice"};
    vector.set(replica, counter);
  }
  return vector;
}

std::set<Dot> decode_dots(const json& value, const char* what) {
  std::set<Dot> dots;
  for (const json& item : array(value, what)) {
    auto [replica, counter] = pair_of(item, what);
    dots.insert(Dot{replica, counter});
  }
  return dots;
}

ORSet decode_orset(const json& state) {
  const json& context_json = field(state, "context");
  DotContext context = DotContext::of(decode_vector(field(context_json, "prefix"), "prefix"),
                                      decode_dots(field(context_json, "cloud"), "cloud"));
  std::map<std::string, std::set<Dot>> entries;
  for (const json& item : array(field(state, "entries"), "entries")) {
    if (!item.is_array() || item.size() != 2) {
      throw ShapeError{"OR-set entries must be [element, dots] pairs"};
    }
    std::set<Dot> dots = decode_dots(item[1], "dots");
    for (const Dot& dot : dots) {
      // An add the context does not record would be resurrected by any later merge.
      if (!context.contains(dot)) throw ShapeError{"an OR-set dot missing from its context"};
    }
    entries[text(item[0], "element")].insert(dots.begin(), dots.end());
  }
  return ORSet::of(std::move(entries), std::move(context));
}

Object decode_state(Type type, const json& state) {
  switch (type) {
    case Type::kGCounter:
      return GCounter::from_entries(decode_vector(field(state, "entries"), "entries"));
    case Type::kPNCounter:
      return PNCounter::from_parts(
          GCounter::from_entries(decode_vector(field(state, "inc"), "inc")),
          GCounter::from_entries(decode_vector(field(state, "dec"), "dec")));
    case Type::kMaxRegister: {
      const json& value = field(state, "value");
      if (value.is_null()) return MaxRegister{};
      if (!value.is_number_integer()) throw ShapeError{"max value must be an integer"};
      if (value.is_number_unsigned() &&
          value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
        throw ShapeError{"max value out of the int64 range"};
      }
      return MaxRegister::of(value.get<std::int64_t>());
    }
    case Type::kMVRegister: {
      std::vector<MVRegister::Entry> entries;
      for (const json& item : array(field(state, "entries"), "entries")) {
        entries.push_back(MVRegister::Entry{text(field(item, "value"), "value"),
                                            decode_vector(field(item, "version"), "version")});
        if (entries.back().version.entries().empty()) throw ShapeError{"an empty version"};
      }
      return MVRegister::of(std::move(entries));
    }
    case Type::kGSet: {
      std::set<std::string> elements;
      for (const json& item : array(field(state, "elements"), "elements")) {
        elements.insert(text(item, "element"));
      }
      return GSet::of(std::move(elements));
    }
    case Type::kORSet:
      return decode_orset(state);
  }
  throw ShapeError{"unknown type"};
}

}  // namespace

Result<std::string> encode(const Message& message) {
  json document = {{"crdt", kVersion}};
  if (const auto* update = std::get_if<Update>(&message)) {
    document["update"] = {{"type", type_name(type_of(update->state))},
                          {"name", update->name},
                          {"state", encode_state(update->state)}};
  } else {
    document["sync"] = true;
  }
  try {
    return document.dump();
  } catch (const json::type_error& error) {  // 316: a string that is not UTF-8
    return make_error(
        ErrorCode::kInvalidArgument,
        std::string("names, values and elements must be UTF-8 text: ") + error.what());
  }
}

Result<Message> decode(std::string_view payload) {
  const json document = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) {
    return make_error(ErrorCode::kInvalidArgument, "not a CRDT message: not JSON");
  }
  try {
    const json& version = field(document, "crdt");
    if (version != kVersion) {
      return make_error(ErrorCode::kInvalidArgument,
                        "unsupported CRDT message version " + version.dump());
    }
    if (document.contains("sync")) return Message{SyncRequest{}};
    const json& update = field(document, "update");
    const std::string type_text = text(field(update, "type"), "type");
    auto type = parse_type(type_text);
    if (!type) return make_error(ErrorCode::kInvalidArgument, "unknown CRDT type " + type_text);
    std::string name = text(field(update, "name"), "name");
    return Message{Update{std::move(name), decode_state(*type, field(update, "state"))}};
  } catch (const ShapeError& error) {
    return make_error(ErrorCode::kInvalidArgument, "malformed CRDT message: " + error.what);
  } catch (const json::exception& error) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string("malformed CRDT message: ") + error.what());
  }
}

}  // namespace bcast::crdt
