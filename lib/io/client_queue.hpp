// Everything the daemon holds for one client, bounded in bytes: the messages waiting for their
// turn (this queue) plus those already handed to ZeroMQ that it has not yet written to the
// client's connection.
//
// Why bytes: ZeroMQ bounds a connection's queue only in messages (ZMQ_SNDHWM), so a client that
// stops reading could pin 100000 messages of up to 64 MiB each. Here every message costs its
// header, its payload and a fixed overhead; payloads are shared with the other readers of the
// same delivery, so the cost is what this client pins, not necessarily what it alone uses.
//
// What ZeroMQ holds is known exactly: a message's last frame is handed over without a copy, and
// ZeroMQ's I/O thread calls back when it has written (or discarded) it, which lowers the count.
// Only `zmq_budget_bytes` (at most a quarter of the bound) of a client's messages are handed to
// ZeroMQ at a time (always at least one message), so most of what a slow client has waiting stays
// here, where the oldest best-effort deliveries can still be dropped.
//
// Overflow, when a new message would take the total beyond `bound_bytes` (a message larger
// than the bound still goes through when nothing else is held):
//  * the oldest best-effort deliveries still in this queue are dropped to make room, and
//    recorded by their place in their origin's stream (the caller reports them to the client at
//    once, as gap events naming exactly those messages);
//  * a best-effort delivery that still does not fit is dropped itself, and recorded;
//  * any other message (a reliable, gossip or total-order delivery, a reply) that does not fit
//    means the client cannot be served without losing something it was promised: push()
//    returns kOverflow and the caller disconnects the client, telling it why.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace bcast::io {

class ClientQueue {
 public:
  enum class Kind : std::uint8_t {
    kReply,               // a reply or an event: never dropped
    kDelivery,            // reliable, gossip or total order: never dropped
    kBestEffortDelivery,  // may be dropped, oldest first
  };
  // Where a best-effort delivery sits in its origin's best-effort stream: what a gap event
  // names if it is dropped. Made once per delivery and shared by its readers.
  struct StreamPosition {
    std::string group;
    std::uint32_t origin = 0;  // OriginId
    std::uint64_t stream_seq = 0;
  };
  struct Message {
    std::string header;                          // encoded
    std::shared_ptr<const std::string> payload;  // deliveries only
    Kind kind = Kind::kReply;
    std::shared_ptr<const StreamPosition> position;  // best-effort deliveries only
  };
  // Consecutive dropped best-effort deliveries of one origin and group: stream_seq from..to.
  struct DroppedRun {
    std::string group;
    std::uint32_t origin = 0;
    std::uint64_t from_seq = 0;
    std::uint64_t to_seq = 0;
  };
  enum class Admission : std::uint8_t {
    kQueued,    // queued, possibly after dropping older best-effort deliveries
    kDropped,   // a best-effort delivery that did not fit: dropped (and counted)
    kOverflow,  // a message that may not be dropped did not fit: disconnect the client
  };

  // The fixed cost of a message beside its bytes: ZeroMQ's message and pipe bookkeeping.
  static constexpr std::uint64_t kMessageOverheadBytes = 128;

  ClientQueue(std::uint64_t bound_bytes, std::uint64_t zmq_budget_bytes);

  static std::uint64_t cost_bytes(const Message& message);

  Admission push(Message message);
  // Queues `message` whatever the bound (a disconnect notice: small, and the last message).
  void push_unbounded(Message message);
  // Drops every queued message (the client is being disconnected); not counted as dropped.
  void discard();
  bool empty() const { return queue_.empty(); }
  std::size_t queued_messages() const { return queue_.size(); }
  // A message of `cost` bytes may skip the queue and go to ZeroMQ at once: nothing waits before
  // it and ZeroMQ's budget has room (or ZeroMQ holds nothing).
  bool may_go_now(std::uint64_t cost) const;
  const Message& front() const { return queue_.front(); }
  // The front message may be handed to ZeroMQ now (its budget has room, or ZeroMQ holds none).
  bool front_may_go() const;
  // Takes the front message off to hand it to ZeroMQ; the caller must make a ticket for it
  // (below) so that ZeroMQ's bytes are counted.
  Message pop_front();

  // What ZeroMQ holds of this client's messages, and how many it has released (written to the
  // connection, or discarded) since the start: updated by ZeroMQ's I/O thread.
  struct Written {
    std::atomic<std::uint64_t> in_zmq_bytes{0};
    std::atomic<std::uint64_t> released_messages{0};
  };
  // A ticket travels with a message handed to ZeroMQ and counts it until ZeroMQ releases it.
  struct Ticket {
    std::string header;
    std::shared_ptr<const std::string> payload;
    std::shared_ptr<Written> written;
    std::uint64_t cost_bytes = 0;
  };
  // Counts `message` as held by ZeroMQ; release_ticket() (ZeroMQ's free callback) undoes it.
  Ticket* make_ticket(Message message);
  static void release_ticket(void* data, void* hint);

  std::uint64_t queued_bytes() const { return queued_bytes_; }
  std::uint64_t in_zmq_bytes() const { return written_->in_zmq_bytes.load(); }
  // Grows whenever ZeroMQ has written one of this client's messages: the client is reading.
  std::uint64_t released_messages() const { return written_->released_messages.load(); }
  std::uint64_t held_bytes() const { return queued_bytes_ + in_zmq_bytes(); }
  std::uint64_t bound_bytes() const { return bound_bytes_; }
  // Best-effort deliveries dropped and not yet reported, counted and by stream position (runs in
  // the order they were dropped). The caller removes the runs it reported; take_dropped() reads
  // and resets the count.
  std::uint64_t dropped() const { return dropped_; }
  std::uint64_t take_dropped();
  std::vector<DroppedRun>& dropped_runs() { return dropped_runs_; }

 private:
  bool fits(std::uint64_t cost) const;
  // Drops the oldest queued best-effort deliveries until `cost` fits; true if it then fits.
  bool make_room(std::uint64_t cost);
  // Counts a dropped best-effort delivery and records its stream position.
  void record_drop(const Message& message);

  std::uint64_t bound_bytes_;
  std::uint64_t zmq_budget_bytes_;
  std::deque<Message> queue_;
  std::uint64_t queued_bytes_ = 0;
  std::uint64_t best_effort_queued_ = 0;  // how many queued messages are best-effort
  std::shared_ptr<Written> written_;
  std::uint64_t dropped_ = 0;
  std::vector<DroppedRun> dropped_runs_;
};

}  // namespace bcast::io
