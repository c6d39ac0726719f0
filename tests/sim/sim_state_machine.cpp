#include "sim_state_machine.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

#include "raft_checker.hpp"

namespace bcast::sim {

void SimStateMachine::apply(const raft::Entry& entry, Outbox& out) {
  (void)out;
  if (entry.index != applied_index_ + 1) {
    // Raft hands every committed entry over exactly once, in order; anything else is a bug the
    // simulator must stop on.
    std::fprintf(stderr, "sim: applied index %" PRIu64 " after %" PRIu64 "\n", entry.index,
                 applied_index_);
    std::abort();
  }
  applied_index_ = entry.index;
  chain_ = chain_hash(chain_, entry);
  on_apply_(entry);
}

std::shared_ptr<const std::string> SimStateMachine::snapshot() const {
  return std::make_shared<const std::string>(std::to_string(applied_index_) + " " +
                                             std::to_string(chain_));
}

Result<void> SimStateMachine::restore(const std::string& image) {
  unsigned long long index = 0;
  unsigned long long chain = 0;
  if (std::sscanf(image.c_str(), "%llu %llu", &index, &chain) != 2) {
    return make_error(ErrorCode::kCorrupt, "unreadable simulator snapshot '" + image + "'");
  }
  applied_index_ = index;
  chain_ = chain;
  on_restore_(applied_index_, chain_);
  return {};
}

}  // namespace bcast::sim
