#include "core/invariant.hpp"

#include <cstdio>
#include <cstdlib>

namespace bcast {

void invariant_failed(const char* rule, const char* file, int line) {
  std::fprintf(stderr, "bcast: FATAL: broken invariant at %s:%d: %s\n", file, line, rule);
  std::fflush(stderr);
  std::abort();
}

}  // namespace bcast
