// Counters that every replica updates with relative changes (increment by n, add -3), never by
// setting a value, so concurrent updates all count.
//
// Delta-state style: a mutator changes the local state and returns a delta, a small state
// holding only what changed (here the writer's own entry). Deltas and full states are the same
// type and merge the same way, so a replica may send either; merge is commutative, associative
// and idempotent, so deltas may arrive in any order, late, or twice.
#pragma once

#include <cstdint>

#include "bcast/result.hpp"
#include "version_vector.hpp"

namespace bcast::crdt {

// Grow-only counter: one entry per replica (how much it added); the value is their sum.
class GCounter {
 public:
  // Adds n at `self`. kInvalidArgument if n is 0 or would overflow the value.
  Result<GCounter> increment(ReplicaId self, std::uint64_t n);
  void merge(const GCounter& other);
  // The sum; saturates at 2^64-1 (concurrent increments can pass what one replica checked).
  std::uint64_t value() const;
  const VersionVector& entries() const { return entries_; }
  static GCounter from_entries(VersionVector entries);
  bool operator==(const GCounter&) const = default;

 private:
  VersionVector entries_;  // pointwise max is exactly the counter's merge
};

// Positive-negative counter: two grow-only counters, additions and subtractions.
class PNCounter {
 public:
  // Adds `delta` (negative subtracts) at `self`. kInvalidArgument for 0 or an overflow.
  Result<PNCounter> add(ReplicaId self, std::int64_t delta);
  void merge(const PNCounter& other);
  // increments - decrements, clamped to the int64 range.
  std::int64_t value() const;
  const GCounter& increments() const { return increments_; }
  const GCounter& decrements() const { return decrements_; }
  static PNCounter from_parts(GCounter increments, GCounter decrements);
  bool operator==(const PNCounter&) const = default;

 private:
  GCounter increments_;
  GCounter decrements_;
};

}  // namespace bcast::crdt
