#include "store.hpp"

#include <array>

namespace bcast::crdt {

namespace {

constexpr std::array<const char*, 6> kTypeNames = {"gcounter",   "pncounter", "max",
                                                   "mvregister", "gset",      "orset"};

template <typename T>
constexpr Type type_index() {
  return static_cast<Type>(Object(T{}).index());
}

std::string join_texts(const auto& texts) {
  std::string text = "[";
  bool first = true;
  for (const auto& item : texts) {
    if (!first) text += ", ";
    text += item;
    first = false;
  }
  return text + "]";
}

}  // namespace

const char* type_name(Type type) { return kTypeNames.at(static_cast<std::size_t>(type)); }

std::optional<Type> parse_type(std::string_view name) {
  for (std::size_t i = 0; i < kTypeNames.size(); ++i) {
    if (name == kTypeNames[i]) return static_cast<Type>(i);
  }
  return std::nullopt;
}

template <typename T>
T& Store::object(std::string_view name) {
  auto key = std::make_pair(type_index<T>(), std::string(name));
  auto it = objects_.try_emplace(std::move(key), T{}).first;
  return std::get<T>(it->second);
}

// Zero is refused before the object is made, so a refused operation leaves no trace.
Result<Update> Store::gcounter_increment(std::string_view name, std::uint64_t n) {
  if (n == 0) return make_error(ErrorCode::kInvalidArgument, "increment by 0 changes nothing");
  auto delta = object<GCounter>(name).increment(self_, n);
  if (!delta) return delta.error();
  return Update{std::string(name), std::move(delta).value()};
}

Result<Update> Store::pncounter_add(std::string_view name, std::int64_t delta) {
  if (delta == 0) return make_error(ErrorCode::kInvalidArgument, "adding 0 changes nothing");
  auto change = object<PNCounter>(name).add(self_, delta);
  if (!change) return change.error();
  return Update{std::string(name), std::move(change).value()};
}

Update Store::max_propose(std::string_view name, std::int64_t value) {
  return Update{std::string(name), object<MaxRegister>(name).propose(value)};
}

Update Store::mvregister_write(std::string_view name, std::string value) {
  return Update{std::string(name), object<MVRegister>(name).write(self_, std::move(value))};
}

Update Store::gset_add(std::string_view name, std::string element) {
  return Update{std::string(name), object<GSet>(name).add(std::move(element))};
}

Update Store::orset_add(std::string_view name, const std::string& element) {
  return Update{std::string(name), object<ORSet>(name).add(self_, element)};
}

Update Store::orset_remove(std::string_view name, const std::string& element) {
  return Update{std::string(name), object<ORSet>(name).remove(element)};
}

void Store::merge(const Update& update) {
  std::visit(
      [&](const auto& state) {
        using T = std::decay_t<decltype(state)>;
        object<T>(update.name).merge(state);
      },
      update.state);
}

std::vector<Update> Store::snapshot() const {
  std::vector<Update> updates;
  for (const auto& [key, object] : objects_) updates.push_back(Update{key.second, object});
  return updates;
}

const Object* Store::find(Type type, std::string_view name) const {
  auto it = objects_.find(std::make_pair(type, std::string(name)));
  return it == objects_.end() ? nullptr : &it->second;
}

std::string describe(const Object& object) {
  struct Describe {
    std::string operator()(const GCounter& c) const { return std::to_string(c.value()); }
    std::string operator()(const PNCounter& c) const { return std::to_string(c.value()); }
    std::string operator()(const MaxRegister& r) const {
      return r.value() ? std::to_string(*r.value()) : "(none)";
    }
    std::string operator()(const MVRegister& r) const { return join_texts(r.values()); }
    std::string operator()(const GSet& s) const { return join_texts(s.elements()); }
    std::string operator()(const ORSet& s) const { return join_texts(s.elements()); }
  };
  return std::visit(Describe{}, object);
}

}  // namespace bcast::crdt
