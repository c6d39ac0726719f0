// A replica's named CRDT objects, I/O free: local operations return the update to publish,
// received updates are merged. An object is named by its type and a name, so two replicas that
// create "x" as different types concurrently create two objects, never a conflict.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "bcast/result.hpp"
#include "counters.hpp"
#include "registers.hpp"
#include "sets.hpp"

namespace bcast::crdt {

// The alternatives' order is the wire's type names' order (type_name below).
using Object = std::variant<GCounter, PNCounter, MaxRegister, MVRegister, GSet, ORSet>;
enum class Type : std::uint8_t { kGCounter, kPNCounter, kMaxRegister, kMVRegister, kGSet, kORSet };

const char* type_name(Type type);  // "gcounter", "pncounter", "max", "mvregister", "gset", "orset"
std::optional<Type> parse_type(std::string_view name);
inline Type type_of(const Object& object) { return static_cast<Type>(object.index()); }

// A delta or a whole state of one object: both merge the same way.
struct Update {
  std::string name;
  Object state;
  bool operator==(const Update&) const = default;
};

class Store {
 public:
  explicit Store(ReplicaId self) : self_(self) {}
  ReplicaId self() const { return self_; }

  // Local operations; each returns the delta to publish (already merged here).
  Result<Update> gcounter_increment(std::string_view name, std::uint64_t n);
  Result<Update> pncounter_add(std::string_view name, std::int64_t delta);
  Update max_propose(std::string_view name, std::int64_t value);
  Update mvregister_write(std::string_view name, std::string value);
  Update gset_add(std::string_view name, std::string element);
  Update orset_add(std::string_view name, const std::string& element);
  Update orset_remove(std::string_view name, const std::string& element);

  void merge(const Update& update);
  // Every object's whole state, sorted by (type, name): what a replica that missed updates
  // needs, and a canonical form to compare replicas by.
  std::vector<Update> snapshot() const;
  const Object* find(Type type, std::string_view name) const;
  bool operator==(const Store& other) const { return objects_ == other.objects_; }

 private:
  template <typename T>
  T& object(std::string_view name);

  ReplicaId self_;
  std::map<std::pair<Type, std::string>, Object, std::less<>> objects_;
};

// The object's value as text: "7", "[a, b]", "(none)".
std::string describe(const Object& object);

}  // namespace bcast::crdt
