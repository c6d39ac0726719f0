// Registers that take concurrent writes without losing any: the largest value wins (max
// register), or every concurrent value is kept until a later write covers them (multi-value
// register). Same delta-state rules as counters.hpp: mutators return the delta to send.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "version_vector.hpp"

namespace bcast::crdt {

// The largest value ever proposed anywhere (a high-water mark, a "last seen" time).
class MaxRegister {
 public:
  // Proposes `value`; the delta carries the register's new value.
  MaxRegister propose(std::int64_t value);
  void merge(const MaxRegister& other);
  std::optional<std::int64_t> value() const { return value_; }  // empty: nothing proposed
  static MaxRegister of(std::optional<std::int64_t> value);
  bool operator==(const MaxRegister&) const = default;

 private:
  std::optional<std::int64_t> value_;
};

// Multi-value register: a write replaces every value its writer had seen; writes that did not
// see each other (concurrent) are all kept, and the reader decides. Each value carries the
// version vector of its write: a value whose vector is covered by another's was overwritten.
class MVRegister {
 public:
  struct Entry {
    std::string value;
    VersionVector version;
    auto operator<=>(const Entry&) const = default;
  };
  // Writes `value` at `self`, replacing every value seen here; the delta is that one entry.
  MVRegister write(ReplicaId self, std::string value);
  void merge(const MVRegister& other);
  std::vector<std::string> values() const;  // sorted; empty: never written
  const std::vector<Entry>& entries() const { return entries_; }
  // The entries as a state (kept: the ones no other covers), e.g. decoded from a message.
  static MVRegister of(std::vector<Entry> entries);
  bool operator==(const MVRegister&) const = default;

 private:
  void keep_maximal();
  std::vector<Entry> entries_;  // pairwise concurrent, sorted: one canonical form per state
};

}  // namespace bcast::crdt
