#include "registers.hpp"

#include <algorithm>
#include <utility>

namespace bcast::crdt {

MaxRegister MaxRegister::propose(std::int64_t value) {
  merge(of(value));
  return *this;
}

void MaxRegister::merge(const MaxRegister& other) {
  if (other.value_ && (!value_ || *other.value_ > *value_)) value_ = other.value_;
}

MaxRegister MaxRegister::of(std::optional<std::int64_t> value) {
  MaxRegister reg;
  reg.value_ = value;
  return reg;
}

MVRegister MVRegister::write(ReplicaId self, std::string value) {
  VersionVector version;
  for (const Entry& entry : entries_) version.merge(entry.version);
  version.increment(self);
  MVRegister delta;
  delta.entries_.push_back(Entry{std::move(value), std::move(version)});
  merge(delta);
  return delta;
}

void MVRegister::merge(const MVRegister& other) {
  entries_.insert(entries_.end(), other.entries_.begin(), other.entries_.end());
  keep_maximal();
}

void MVRegister::keep_maximal() {
  std::sort(entries_.begin(), entries_.end());
  entries_.erase(std::unique(entries_.begin(), entries_.end()), entries_.end());
  std::vector<Entry> kept;
  for (const Entry& entry : entries_) {
    const bool overwritten = std::any_of(entries_.begin(), entries_.end(), [&](const Entry& other) {
      return other.version != entry.version && entry.version.covered_by(other.version);
    });
    if (!overwritten) kept.push_back(entry);
  }
  entries_ = std::move(kept);
}

std::vector<std::string> MVRegister::values() const {
  std::vector<std::string> values;
  for (const Entry& entry : entries_) values.push_back(entry.value);
  std::sort(values.begin(), values.end());
  return values;
}

MVRegister MVRegister::of(std::vector<Entry> entries) {
  MVRegister reg;
  reg.entries_ = std::move(entries);
  reg.keep_maximal();
  return reg;
}

}  // namespace bcast::crdt
