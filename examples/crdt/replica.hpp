// A CRDT replica on a bcastd group: local operations are merged here and published as deltas;
// every delta or state received from the group is merged. Writes go anywhere, at any time,
// including on both sides of a partition: nothing waits for a quorum.
//
// Service: Mode::kGossip with Order::kNone. The merges are commutative, associative and
// idempotent and the OR-set's causal context records what a remove saw, so any order of
// arrival and any duplicate converge (tests/crdt_property_test.cpp): fifo or causal order would
// only add hold-back delay (and a causal hold waits for a lost dependency until its gap), and
// total order would need a majority, which is what a CRDT exists to avoid.
//
// Missed messages: a replica that starts, or that the daemon tells of a Gap (it was excluded,
// an origin died with messages nobody holds), publishes a sync request; every replica answers
// with its whole state, one message per object, and merging those repairs whatever was missed.
// Answers are not coordinated: with R replicas one request costs R x objects messages.
//
// Threading: as bcast::Client, one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "bcast/client.hpp"
#include "codec.hpp"
#include "store.hpp"

namespace bcast::crdt {

class Replica {
 public:
  // Joins `group` on `client` (whose sender id becomes the replica id) and asks the group's
  // other replicas for their state.
  static Result<Replica> start(Client client, std::string group);

  Store& store() { return store_; }
  const Store& store() const { return store_; }
  Client& client() { return client_; }
  const std::string& group() const { return group_; }

  // Publishes an update an operation of store() returned (it is already merged here).
  // kInvalidArgument: not UTF-8 text; otherwise the client's publish errors (kTooLarge, ...).
  Result<void> publish(const Update& update);

  // Handles one event of the client. Returns the update merged, if the event carried one.
  // Errors: a publish the daemon refused (its RequestError), or the connection lost. A
  // malformed message of the group is not an error: it is dropped and counted (dropped()).
  Result<std::optional<Update>> handle(const Event& event);
  // Waits up to `timeout` for one event and handles it; empty: none came.
  Result<std::optional<Update>> poll(std::chrono::milliseconds timeout);

  std::uint64_t dropped() const { return dropped_; }
  const std::string& last_dropped_reason() const { return last_dropped_reason_; }
  std::uint64_t sync_requests_answered() const { return sync_answers_; }

 private:
  Replica(Client client, std::string group);
  Result<void> send(const Message& message);
  Result<void> answer_sync();

  Client client_;
  std::string group_;
  Store store_;
  std::uint64_t dropped_ = 0;
  std::string last_dropped_reason_;
  std::uint64_t sync_answers_ = 0;
};

}  // namespace bcast::crdt
