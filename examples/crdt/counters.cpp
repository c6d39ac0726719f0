#include "counters.hpp"

#include <limits>
#include <utility>

namespace bcast::crdt {

namespace {
constexpr std::uint64_t kMaxU64 = std::numeric_limits<std::uint64_t>::max();
}

Result<GCounter> GCounter::increment(ReplicaId self, std::uint64_t n) {
  if (n == 0) return make_error(ErrorCode::kInvalidArgument, "increment by 0 changes nothing");
  if (value() > kMaxU64 - n) {
    return make_error(ErrorCode::kInvalidArgument, "increment would overflow the counter");
  }
  GCounter delta;
  delta.entries_.set(self, entries_.get(self) + n);
  merge(delta);
  return delta;
}

void GCounter::merge(const GCounter& other) { entries_.merge(other.entries_); }

std::uint64_t GCounter::value() const {
  std::uint64_t sum = 0;
  for (const auto& [replica, count] : entries_.entries()) {
    if (sum > kMaxU64 - count) return kMaxU64;
    sum += count;
  }
  return sum;
}

GCounter GCounter::from_entries(VersionVector entries) {
  GCounter counter;
  counter.entries_ = std::move(entries);
  return counter;
}

Result<PNCounter> PNCounter::add(ReplicaId self, std::int64_t delta) {
  if (delta == 0) return make_error(ErrorCode::kInvalidArgument, "adding 0 changes nothing");
  // The magnitude of INT64_MIN does not fit an int64 but does fit a uint64.
  const std::uint64_t magnitude =
      delta > 0 ? static_cast<std::uint64_t>(delta) : 0 - static_cast<std::uint64_t>(delta);
  PNCounter result;
  if (delta > 0) {
    auto part = increments_.increment(self, magnitude);
    if (!part) return part.error();
    result.increments_ = std::move(part).value();
  } else {
    auto part = decrements_.increment(self, magnitude);
    if (!part) return part.error();
    result.decrements_ = std::move(part).value();
  }
  return result;
}

void PNCounter::merge(const PNCounter& other) {
  increments_.merge(other.increments_);
  decrements_.merge(other.decrements_);
}

std::int64_t PNCounter::value() const {
  const __int128 difference =
      static_cast<__int128>(increments_.value()) - static_cast<__int128>(decrements_.value());
  if (difference > std::numeric_limits<std::int64_t>::max()) {
    return std::numeric_limits<std::int64_t>::max();
  }
  if (difference < std::numeric_limits<std::int64_t>::min()) {
    return std::numeric_limits<std::int64_t>::min();
  }
  return static_cast<std::int64_t>(difference);
}

PNCounter PNCounter::from_parts(GCounter increments, GCounter decrements) {
  PNCounter counter;
  counter.increments_ = std::move(increments);
  counter.decrements_ = std::move(decrements);
  return counter;
}

}  // namespace bcast::crdt
