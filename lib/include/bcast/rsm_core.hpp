// The I/O-free heart of the replicated-state-machine helper (replicated_state_machine.hpp):
// which delivered message is applied, when, and to whom a result or a state belongs. It sees
// only what the client library hands it (total-order deliveries with their gseq, total-order
// gaps, state replies) and returns what to publish; it never touches a socket, a clock or a
// file, so tests drive it with hand-made sequences (examples/kv/tests/rsm_core_test.cpp).
//
// The group's messages (every one published by a replica; anything else is skipped):
//   Command      'C' replica token, command id, body      total order; applied by everyone
//   StateRequest 'Q' replica token, nonce                 total order; "send me your state"
//   StateReply   'S' requester token, nonce, as-of gseq,  reliable fifo; the state after
//                    state bytes                          applying everything up to as-of
//
// Rules:
//  * Commands are applied in gseq order, each once: a delivery at or below applied_gseq() (a
//    replay overlapping a snapshot) is skipped. gseqs are global across groups, so holes
//    between a group's gseqs are normal; only a Gap event says something is missing.
//  * A command's result goes to its submitter alone: the one whose replica token is in it
//    (a token, not the sender id, because a resumed connection gets a new sender id).
//  * State transfer (JGroups' getState through the total order): a replica without a valid
//    state publishes a StateRequest; every live replica that applies it at gseq R answers with
//    snapshot() taken right then, i.e. the state as of exactly R. The requester keeps every
//    delivery from the moment it asked; once it has both its own request's delivery (at R) and
//    a reply to it, it restores the state, sets applied to R and applies its buffer past R. Its
//    own commands at or below R are reported as covered (applied, result unknown).
//  * A total-order gap that reaches past applied_gseq() means commands this replica will never
//    see: it cannot continue safely, so it drops back to awaiting a state and asks for one
//    (automatically; the shell only publishes the request). A gap while awaiting empties the
//    buffer and asks again.
//  * An empty command body is a barrier: it takes a position and completes for its submitter,
//    but apply() never sees it (ReplicatedStateMachine::sync).
//  * Each live replica answers every request (the requester uses the first usable reply):
//    simple and robust to replicas dying, at the cost of one snapshot per replica per request.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bcast {

// What the application replicates. apply() must be deterministic: the same commands in the same
// order give every replica the same state and the same results.
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  virtual std::string apply(std::string_view command) = 0;
  virtual std::string snapshot() = 0;
  virtual void restore(std::string_view state) = 0;
};

namespace rsm {

struct Command {
  std::uint64_t replica = 0;
  std::uint64_t command_id = 0;
  std::string body;
};
struct StateRequest {
  std::uint64_t replica = 0;
  std::uint64_t nonce = 0;
};
struct StateReply {
  std::uint64_t requester = 0;
  std::uint64_t nonce = 0;
  std::uint64_t as_of_gseq = 0;
  std::string state;
};
using Message = std::variant<Command, StateRequest, StateReply>;

std::string encode(const Message& message);
// nullopt: not a message of this protocol (truncated, unknown kind).
std::optional<Message> decode(std::string_view bytes);

// A command of this replica, applied.
struct Completed {
  std::uint64_t command_id = 0;
  std::uint64_t gseq = 0;
  std::string result;
};

// What the shell must do after an input, in this order.
struct Outbox {
  std::vector<StateRequest> requests;  // publish with total order
  std::vector<StateReply> replies;     // publish with reliable fifo
  std::vector<Completed> completed;    // hand to the submitters
  // This replica's commands that a state transfer covered: their effect is in the installed
  // state, their result is unknown here (a barrier among them is simply passed).
  std::vector<std::uint64_t> covered;
  std::uint64_t applied_commands = 0;  // commands applied by this input (snapshot cadence)
};

class RsmCore {
 public:
  enum class Phase : std::uint8_t {
    kLive,           // applying in order from a valid state
    kAwaitingState,  // buffering; waiting for a state reply
    kFailed,         // the buffer overflowed: the replica must be opened again
  };

  RsmCore(std::uint64_t replica_token, StateMachine& machine, std::size_t max_buffered_bytes);

  // The machine holds the state as of `applied_gseq` (0: the empty state before gseq 1).
  void start_live(std::uint64_t applied_gseq);
  // The machine holds no valid state: asks for one (a request in `out`).
  void start_awaiting_state(Outbox& out);

  void on_total_delivery(std::uint64_t gseq, std::string_view payload, Outbox& out);
  // A message of the group in any other order (state replies).
  void on_other_delivery(std::string_view payload, Outbox& out);
  // Total-order positions from..to (inclusive) will never be delivered.
  void on_total_gap(std::uint64_t from, std::uint64_t to, Outbox& out);
  // Awaiting a state for too long (the replies or the responders were lost): asks once more.
  void ask_again(Outbox& out);

  Phase phase() const { return phase_; }
  std::uint64_t applied_gseq() const { return applied_gseq_; }
  std::uint64_t replica_token() const { return token_; }
  std::size_t buffered_bytes() const { return buffered_bytes_; }
  std::uint64_t skipped_messages() const { return skipped_; }  // not of this protocol
  std::uint64_t state_transfers() const { return state_transfers_; }
  const std::string& failure() const { return failure_; }

 private:
  void apply_in_order(std::uint64_t gseq, std::string_view payload, Outbox& out);
  void ask_for_state(Outbox& out);
  void install_if_ready(Outbox& out);

  std::uint64_t token_;
  StateMachine& machine_;
  std::size_t max_buffered_bytes_;
  Phase phase_ = Phase::kLive;
  std::uint64_t applied_gseq_ = 0;
  std::uint64_t next_nonce_ = 1;
  // Awaiting a state: every total-order delivery since the request (or the last gap), and for
  // each outstanding request nonce its delivered gseq and the first reply to it.
  std::vector<std::pair<std::uint64_t, std::string>> buffer_;
  std::size_t buffered_bytes_ = 0;
  std::map<std::uint64_t, std::uint64_t> request_gseq_;  // nonce -> gseq of its delivery
  std::map<std::uint64_t, StateReply> replies_;          // nonce -> first reply
  std::uint64_t skipped_ = 0;
  std::uint64_t state_transfers_ = 0;
  std::string failure_;
};

}  // namespace rsm
}  // namespace bcast
