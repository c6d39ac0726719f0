// Replica ids and version vectors: the causal bookkeeping the CRDTs of this example share.
//
// A version vector maps each replica to how many of its updates are covered. It is a join
// semilattice under the pointwise maximum, which is what makes the merges below commutative,
// associative and idempotent (so any delivery order and any duplicate converge).
#pragma once

#include <compare>
#include <cstdint>
#include <map>

namespace bcast::crdt {

// A replica is one writer. Over bcastd it is the client's SenderId: unique in the cluster and
// never reused (a restarted process is a new sender), so one replica's counters never restart.
using ReplicaId = std::uint64_t;

class VersionVector {
 public:
  std::uint64_t get(ReplicaId replica) const;
  void set(ReplicaId replica, std::uint64_t counter);  // 0 erases: entries are never 0
  std::uint64_t increment(ReplicaId replica);          // the new counter
  void merge(const VersionVector& other);              // pointwise maximum
  // Every entry <= the other's (this happened before or equals it).
  bool covered_by(const VersionVector& other) const;
  const std::map<ReplicaId, std::uint64_t>& entries() const { return entries_; }
  auto operator<=>(const VersionVector&) const = default;

 private:
  std::map<ReplicaId, std::uint64_t> entries_;
};

}  // namespace bcast::crdt
