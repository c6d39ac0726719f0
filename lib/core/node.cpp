#include "core/node.hpp"

#include <cstdio>
#include <cstdlib>
#include <utility>
#include <variant>

namespace bcast {
namespace {

// A snapshot this node or its leader made must restore; failing to is a broken invariant.
void restore_or_abort(StateMachine& state_machine, const raft::Snapshot& snapshot) {
  if (!snapshot.data) return;
  if (auto restored = state_machine.restore(*snapshot.data); !restored) {
    std::fprintf(stderr, "bcast: cannot restore snapshot at index %llu: %s\n",
                 static_cast<unsigned long long>(snapshot.meta.index),
                 restored.error().message.c_str());
    std::abort();
  }
}

raft::RaftState restored_first(raft::RaftState recovered, StateMachine& state_machine) {
  if (recovered.snapshot) restore_or_abort(state_machine, *recovered.snapshot);
  return recovered;
}

}  // namespace

Node::Node(const NodeOptions& options, Rng rng, const raft::ConfState& initial_conf,
           raft::RaftState recovered, StateMachine& state_machine)
    : options_(options),
      state_machine_(state_machine),
      raft_(options.raft, rng, initial_conf, restored_first(std::move(recovered), state_machine)) {}

void Node::tick(Outbox& out) {
  raft_.tick(out);
  apply_committed(out);
}

void Node::step(const Envelope& envelope, Outbox& out) {
  if (const auto* message = std::get_if<raft::Message>(&envelope.message)) {
    raft_.step(*message, out);
  }
  apply_committed(out);
}

Result<LogIndex> Node::propose(std::string data, Outbox& out) {
  return raft_.propose(std::move(data), out);
}

Result<LogIndex> Node::propose_conf_change(const raft::ConfChange& change, Outbox& out) {
  return raft_.propose_conf_change(change, out);
}

Result<void> Node::transfer_leadership(NodeId target, Outbox& out) {
  return raft_.transfer_leadership(target, out);
}

void Node::on_persisted(LogIndex index, Term term, Outbox& out) {
  raft_.on_persisted(index, term, out);
  apply_committed(out);
}

void Node::flush(Outbox& out) {
  raft_.flush(out);
  apply_committed(out);
}

void Node::apply_committed(Outbox& out) {
  raft::CommittedWork work = raft_.take_committed();
  if (work.empty()) return;
  if (work.restore) {
    restore_or_abort(state_machine_, *work.restore);
    applied_since_snapshot_ = 0;
  }
  for (const raft::Entry& entry : work.entries) state_machine_.apply(entry, out);
  applied_since_snapshot_ += work.entries.size();
  if (applied_since_snapshot_ >= options_.snapshot_interval_entries) {
    applied_since_snapshot_ = 0;
    auto compacted = raft_.compact(raft_.log().applied(), state_machine_.snapshot(), out);
    (void)compacted;  // fails only if nothing new was applied, which the counter rules out
  }
}

}  // namespace bcast
