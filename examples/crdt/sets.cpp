#include "sets.hpp"

#include <algorithm>
#include <iterator>
#include <limits>
#include <utility>

namespace bcast::crdt {

GSet GSet::add(std::string element) {
  elements_.insert(element);
  return of({std::move(element)});
}

void GSet::merge(const GSet& other) {
  elements_.insert(other.elements_.begin(), other.elements_.end());
}

GSet GSet::of(std::set<std::string> elements) {
  GSet set;
  set.elements_ = std::move(elements);
  return set;
}

bool DotContext::contains(const Dot& dot) const {
  return dot.counter <= prefix_.get(dot.replica) || cloud_.count(dot) != 0;
}

void DotContext::insert(const Dot& dot) {
  if (dot.counter == 0 || contains(dot)) return;
  cloud_.insert(dot);
  compact();
}

void DotContext::merge(const DotContext& other) {
  prefix_.merge(other.prefix_);
  cloud_.insert(other.cloud_.begin(), other.cloud_.end());
  compact();
}

Dot DotContext::next(ReplicaId self) const {
  std::uint64_t highest = prefix_.get(self);
  auto it = cloud_.upper_bound(Dot{self, std::numeric_limits<std::uint64_t>::max()});
  if (it != cloud_.begin() && std::prev(it)->replica == self) {
    highest = std::max(highest, std::prev(it)->counter);
  }
  return Dot{self, highest + 1};
}

// Moves every cloud dot that extends its replica's prefix into the prefix. The cloud is
// sorted by (replica, counter), so one pass sees each replica's dots in order.
void DotContext::compact() {
  for (auto it = cloud_.begin(); it != cloud_.end();) {
    const std::uint64_t prefix = prefix_.get(it->replica);
    if (it->counter == prefix + 1) {
      prefix_.set(it->replica, it->counter);
      it = cloud_.erase(it);
    } else if (it->counter <= prefix) {
      it = cloud_.erase(it);
    } else {
      ++it;
    }
  }
}

DotContext DotContext::of(VersionVector prefix, std::set<Dot> cloud) {
  DotContext context;
  context.prefix_ = std::move(prefix);
  context.cloud_ = std::move(cloud);
  context.compact();
  return context;
}

ORSet ORSet::add(ReplicaId self, const std::string& element) {
  const Dot dot = context_.next(self);
  ORSet delta = remove(element);
  delta.entries_[element].insert(dot);
  delta.context_.insert(dot);
  merge(delta);
  return delta;
}

ORSet ORSet::remove(const std::string& element) {
  ORSet delta;
  auto it = entries_.find(element);
  if (it == entries_.end()) return delta;
  for (const Dot& dot : it->second) delta.context_.insert(dot);
  merge(delta);
  return delta;
}

void ORSet::merge(const ORSet& other) {
  std::map<std::string, std::set<Dot>> merged;
  auto keep = [&](const std::string& element, const std::set<Dot>& dots,
                  const std::set<Dot>* other_dots, const DotContext& other_context) {
    for (const Dot& dot : dots) {
      const bool in_both = other_dots != nullptr && other_dots->count(dot) != 0;
      if (in_both || !other_context.contains(dot)) merged[element].insert(dot);
    }
  };
  for (const auto& [element, dots] : entries_) {
    auto theirs = other.entries_.find(element);
    keep(element, dots, theirs == other.entries_.end() ? nullptr : &theirs->second, other.context_);
  }
  for (const auto& [element, dots] : other.entries_) {
    auto mine = entries_.find(element);
    keep(element, dots, mine == entries_.end() ? nullptr : &mine->second, context_);
  }
  entries_ = std::move(merged);
  context_.merge(other.context_);
}

std::set<std::string> ORSet::elements() const {
  std::set<std::string> elements;
  for (const auto& entry : entries_) elements.insert(entry.first);
  return elements;
}

ORSet ORSet::of(std::map<std::string, std::set<Dot>> entries, DotContext context) {
  ORSet set;
  for (auto& [element, dots] : entries) {
    if (!dots.empty()) set.entries_.emplace(element, std::move(dots));
  }
  set.context_ = std::move(context);
  return set;
}

}  // namespace bcast::crdt
