// The terms of the stored log, kept as the index at which each term begins: a few bytes per
// term instead of per entry, yet enough to tell the term of any stored entry. Storage uses it to
// refuse a request that would make terms go down, which recovery would reject as corruption.
#pragma once

#include <iterator>
#include <map>
#include <optional>

#include "bcast/types.hpp"

namespace bcast::io {

class TermRuns {
 public:
  // Records the entry `index` (which follows the last one recorded) with `term`.
  void append(LogIndex index, Term term) {
    if (starts_.empty() || starts_.rbegin()->second != term) starts_[index] = term;
  }

  // The term of a recorded entry, or nullopt if `index` is below every recorded one.
  std::optional<Term> term_at(LogIndex index) const {
    auto it = starts_.upper_bound(index);
    if (it == starts_.begin()) return std::nullopt;
    return std::prev(it)->second;
  }

  // Forgets the entries from `index` on.
  void truncate_from(LogIndex index) { starts_.erase(starts_.lower_bound(index), starts_.end()); }

  // Forgets the entries at or below `index`; `last_index` is the last entry recorded.
  void compact_through(LogIndex index, LogIndex last_index) {
    const std::optional<Term> next_term =
        index < last_index ? term_at(index + 1) : std::optional<Term>();
    starts_.erase(starts_.begin(), starts_.upper_bound(index));
    if (next_term) starts_.emplace(index + 1, *next_term);
  }

  void clear() { starts_.clear(); }

 private:
  std::map<LogIndex, Term> starts_;  // first index of a run of entries -> their term
};

}  // namespace bcast::io
