// A lease-lock client over bcastd: it sends lock commands in total order (Mode::kReliable,
// Order::kTotal) to a group and is itself a replica of the lock table (lock_table.hpp): it
// replays the group's whole history when it starts (Client::join(group, 0)), applies every
// command in gseq order, and learns the outcome of its own command from its own delivery.
// No server, no reply messages: every replica computes the same outcome.
//
// Leave and disconnect: the client asks for agreed group views; when a view says members left
// (cause leave, disconnect, daemon-failed) and one of them holds a lock, it publishes an evict
// command for that sender. The release then happens at that command's position in the total
// order, the same at every replica and in every replay (views themselves are not replayed).
// Every replica that sees the view sends one; the duplicates change nothing. If none gets
// through, the lease still expires.
//
// The state is only as complete as the history: a total-order gap in the group (history
// trimmed, a snapshot) makes this client refuse further commands (kUnavailable).
//
// Threading: as bcast::Client, one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "bcast/client.hpp"
#include "lock_table.hpp"

namespace bcast::lock {

class LockClient {
 public:
  // Connects with `options` (group_views is switched on), replays `group`, and returns once
  // an agreed view of the group names this client (kTimeout after options.request_timeout).
  static Result<LockClient> start(ClientOptions options, std::string group = "locks");

  // One attempt: kGranted (the lease carries the fencing token) or kBusy.
  Result<Outcome> acquire(const std::string& lock, std::chrono::milliseconds lease);
  // Attempts every `retry` while busy (each attempt also carries time forward, which is what
  // expires a lease whose holder went silent); kTimeout after `timeout`.
  Result<Outcome> acquire_wait(const std::string& lock, std::chrono::milliseconds lease,
                               std::chrono::milliseconds timeout,
                               std::chrono::milliseconds retry = std::chrono::milliseconds(100));
  Result<Outcome> renew(const std::string& lock, std::chrono::milliseconds lease);
  Result<Outcome> release(const std::string& lock);

  // Applies whatever arrives within `timeout` (other clients' commands, views).
  Result<void> poll(std::chrono::milliseconds timeout);

  const LockTable& table() const { return table_; }
  SenderId self() const { return client_.sender(); }
  Client& client() { return client_; }

 private:
  LockClient(Client client, std::string group);
  Result<Outcome> submit(Command command);
  Result<void> handle(const Event& event);
  void evict_departed(const View& view);
  Result<void> wait_for_own_view(std::chrono::milliseconds timeout);

  Client client_;
  std::string group_;
  LockTable table_;
  std::map<std::uint64_t, Outcome> own_outcomes_;  // by seq, until submit() takes them
  std::set<SenderId> evicts_sent_;
  bool in_view_ = false;    // an agreed view of the group names this client
  std::string incomplete_;  // why the table may be missing commands; empty: complete
  std::chrono::milliseconds request_timeout_{5000};  // from ClientOptions, set by start()
};

std::int64_t wall_clock_ms();

}  // namespace bcast::lock
