#include "core/rng.hpp"

#include <cassert>

namespace bcast {
namespace {

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(std::uint64_t seed) {
  for (auto& word : state_) word = splitmix64(seed);
}

std::uint64_t Rng::next() {
  const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const std::uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

std::uint64_t Rng::uniform(std::uint64_t low, std::uint64_t high) {
  assert(low <= high);
  const std::uint64_t span = high - low;
  if (span == UINT64_MAX) return next();
  const std::uint64_t range = span + 1;
  // Rejection sampling: 2^64 mod range values at the bottom would make some results more
  // likely than others, so they are drawn again.
  const std::uint64_t threshold = (0 - range) % range;
  std::uint64_t draw = next();
  while (draw < threshold) draw = next();
  return low + draw % range;
}

bool Rng::chance(std::uint64_t numerator, std::uint64_t denominator) {
  if (numerator == 0) return false;
  if (numerator >= denominator) return true;
  return uniform(0, denominator - 1) < numerator;
}

double Rng::unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

Rng Rng::fork() { return Rng(next()); }

}  // namespace bcast
