// Checks that guard acknowledged data, on in every build type.
//
// assert() vanishes in Release builds, but some rules must never be broken silently: truncating
// a committed entry, committing past the end of the log, compacting what was not applied. When
// one breaks, the node's state can no longer be trusted, and continuing could hand out a
// committed position twice or lose an acknowledged message; stopping with a message that says
// which rule broke is the only safe answer. Expected failures are Results, never invariants.
#pragma once

namespace bcast {

[[noreturn]] void invariant_failed(const char* rule, const char* file, int line);

}  // namespace bcast

#define BCAST_INVARIANT(condition, rule)                                     \
  do {                                                                       \
    if (!(condition)) ::bcast::invariant_failed((rule), __FILE__, __LINE__); \
  } while (false)
