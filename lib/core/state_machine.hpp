// The application replicated by Raft: it sees every committed entry exactly once, in log order,
// and can be captured in (and restored from) a snapshot image.
#pragma once

#include <memory>
#include <string>

#include "bcast/result.hpp"
#include "core/outbox.hpp"
#include "core/raft/types.hpp"

namespace bcast {

class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // Applies the next committed entry. Every entry type is passed (no-ops and configuration
  // changes too) so that a state machine may track log positions; most ignore all but kNormal.
  virtual void apply(const raft::Entry& entry, Outbox& out) = 0;
  // An image of the state after the last applied entry.
  virtual std::shared_ptr<const std::string> snapshot() const = 0;
  // Replaces the state by an image made by snapshot(). An error means the image is unusable.
  virtual Result<void> restore(const std::string& image) = 0;
};

}  // namespace bcast
