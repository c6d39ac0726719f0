// The replicated application in the simulator: it folds every applied entry into a chain hash,
// so two nodes agree on their applied histories exactly when their chains agree, and tells the
// cluster about each application (acknowledgements, checkers).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/state_machine.hpp"

namespace bcast::sim {

class SimStateMachine : public StateMachine {
 public:
  using ApplyHook = std::function<void(const raft::Entry&)>;
  using RestoreHook = std::function<void(LogIndex index, std::uint64_t chain)>;

  SimStateMachine(ApplyHook on_apply, RestoreHook on_restore)
      : on_apply_(std::move(on_apply)), on_restore_(std::move(on_restore)) {}

  void apply(const raft::Entry& entry, Outbox& out) override;
  std::shared_ptr<const std::string> snapshot() const override;
  Result<void> restore(const std::string& image) override;

  LogIndex applied_index() const { return applied_index_; }
  std::uint64_t chain() const { return chain_; }

 private:
  ApplyHook on_apply_;
  RestoreHook on_restore_;
  LogIndex applied_index_ = 0;
  std::uint64_t chain_ = 0;
};

}  // namespace bcast::sim
