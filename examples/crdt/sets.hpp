// Sets: grow-only, and observed-remove (add wins over a concurrent remove).
//
// The OR-set is the delta-state form with a causal context (Almeida, Shoker, Baquero, "Delta
// State Replicated Data Types", 2018): every add is a unique dot (replica, n); a remove sends
// only the dots it saw, as context without entries. Merge keeps a dot that both sides hold, or
// that one side holds and the other has never seen. Because "seen" is recorded in the context
// and never forgotten, a remove that arrives before the add it removed still wins, and an add
// the remover had not seen still survives: no causal delivery is needed, any order converges.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "version_vector.hpp"

namespace bcast::crdt {

class GSet {
 public:
  GSet add(std::string element);  // the delta: {element}
  void merge(const GSet& other);
  bool contains(const std::string& element) const { return elements_.count(element) != 0; }
  const std::set<std::string>& elements() const { return elements_; }
  static GSet of(std::set<std::string> elements);
  bool operator==(const GSet&) const = default;

 private:
  std::set<std::string> elements_;
};

// One event of one replica: its n-th add.
struct Dot {
  ReplicaId replica = 0;
  std::uint64_t counter = 0;
  auto operator<=>(const Dot&) const = default;
};

// The set of dots a replica has seen: a contiguous prefix per replica (a version vector) plus
// the dots beyond a hole (`cloud`), kept compact so that equal sets have equal forms.
class DotContext {
 public:
  bool contains(const Dot& dot) const;
  void insert(const Dot& dot);
  void merge(const DotContext& other);
  Dot next(ReplicaId self) const;  // the next dot `self` may use
  const VersionVector& prefix() const { return prefix_; }
  const std::set<Dot>& cloud() const { return cloud_; }
  static DotContext of(VersionVector prefix, std::set<Dot> cloud);
  bool operator==(const DotContext&) const = default;

 private:
  void compact();
  VersionVector prefix_;
  std::set<Dot> cloud_;
};

class ORSet {
 public:
  // Adds `element` at `self` with a new dot; the delta also covers the element's older dots
  // (this add supersedes them).
  ORSet add(ReplicaId self, const std::string& element);
  // Removes the adds of `element` seen here; adds not seen yet survive. The delta holds no
  // entries, only those dots as context.
  ORSet remove(const std::string& element);
  void merge(const ORSet& other);
  bool contains(const std::string& element) const { return entries_.count(element) != 0; }
  std::set<std::string> elements() const;
  const std::map<std::string, std::set<Dot>>& entries() const { return entries_; }
  const DotContext& context() const { return context_; }
  // A state from its parts, e.g. decoded from a message. Every dot must be in the context.
  static ORSet of(std::map<std::string, std::set<Dot>> entries, DotContext context);
  bool operator==(const ORSet&) const = default;

 private:
  std::map<std::string, std::set<Dot>> entries_;  // element -> its live adds; never empty sets
  DotContext context_;                            // every dot ever seen, live or removed
};

}  // namespace bcast::crdt
