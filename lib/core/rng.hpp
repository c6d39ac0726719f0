// The only source of randomness in the core: a seeded xoshiro256** generator.
//
// Why not <random>: std::uniform_int_distribution's algorithm is unspecified and differs between
// standard libraries, and one seed must reproduce one run everywhere. Every draw here is defined
// by this file alone.
#pragma once

#include <cstdint>

namespace bcast {

class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  // The next raw 64-bit output.
  std::uint64_t next();

  // A uniformly distributed integer in [low, high], both inclusive. Requires low <= high.
  std::uint64_t uniform(std::uint64_t low, std::uint64_t high);

  // True with probability numerator / denominator (denominator > 0).
  bool chance(std::uint64_t numerator, std::uint64_t denominator);

  // A uniformly distributed double in [0, 1).
  double unit();

  // An independent generator derived from this one, for giving each component its own stream
  // so that adding draws in one component does not shift the draws of another.
  Rng fork();

 private:
  std::uint64_t state_[4];
};

}  // namespace bcast
