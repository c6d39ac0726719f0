#include "version_vector.hpp"

#include <algorithm>

namespace bcast::crdt {

std::uint64_t VersionVector::get(ReplicaId replica) const {
  auto it = entries_.find(replica);
  return it == entries_.end() ? 0 : it->second;
}

void VersionVector::set(ReplicaId replica, std::uint64_t counter) {
  if (counter == 0) {
    entries_.erase(replica);
  } else {
    entries_[replica] = counter;
  }
}

std::uint64_t VersionVector::increment(ReplicaId replica) { return ++entries_[replica]; }

void VersionVector::merge(const VersionVector& other) {
  for (const auto& [replica, counter] : other.entries_) {
    auto& mine = entries_[replica];
    mine = std::max(mine, counter);
  }
}

bool VersionVector::covered_by(const VersionVector& other) const {
  return std::all_of(entries_.begin(), entries_.end(),
                     [&](const auto& entry) { return entry.second <= other.get(entry.first); });
}

}  // namespace bcast::crdt
