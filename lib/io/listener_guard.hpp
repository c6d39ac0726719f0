// Watches the connections a bound ZeroMQ socket accepts, through a ZeroMQ socket monitor, and
// keeps their number under a cap.
//
// Why: every accepted connection costs a file descriptor, and libzmq 4.3 aborts the whole
// process ("Too many open files", src/ipc_listener.cpp) when an ipc:// accept fails with
// EMFILE; a full descriptor table would also make storage fail. ZeroMQ has no limit on the
// connections a socket accepts, and stopping a listener (zmq_unbind) closes every connection it
// accepted. So a connection accepted beyond `max_connections` is shut down (shutdown(2) on its
// descriptor) as soon as its accept is reported; ZeroMQ then closes it. Together with a reserve
// of spare descriptors for the accepts that happen before the report is read
// (descriptor_budget.hpp), connections can never exhaust the descriptors. A connection that
// never completes ZeroMQ's handshake (a raw TCP or ipc connect) is closed by ZeroMQ after
// `handshake_timeout_ms`, so such connections hold a place under the cap only that long.
//
// It also reports each closed connection by its descriptor, which is what lets ClientServer
// forget a client the moment its connection closes: a message's ZMQ_SRCFD names the
// connection it came on, and the monitor's DISCONNECTED event names the same descriptor.
// Ordering rule for callers that match the two: read a message, then call poll_events(), then
// act on the message. ZeroMQ reports a connection's close before its descriptor can be reused,
// and reports the new connection's accept before that connection's first message, so a message
// read before poll_events() can never be taken for a connection that already closed.
//
// Not thread-safe; use it from the thread that uses the socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bcast/result.hpp"

namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace bcast::io {

struct ListenerGuardOptions {
  std::size_t max_connections = 1024;
  int handshake_timeout_ms = 5000;   // ZMQ_HANDSHAKE_IVL
  std::string what = "connections";  // for log lines: "client connections", "peer connections"
};

class ListenerGuard {
 public:
  using Log = std::function<void(const std::string& line)>;

  ListenerGuard(zmq::context_t& context, zmq::socket_t& socket, const ListenerGuardOptions& options,
                Log log);
  ~ListenerGuard();
  ListenerGuard(const ListenerGuard&) = delete;
  ListenerGuard& operator=(const ListenerGuard&) = delete;

  // Attaches the monitor and binds the socket to `endpoint`.
  Result<void> bind(const std::string& endpoint);
  // Attaches the monitor to a socket its owner already bound to `endpoint` (and that has
  // accepted nothing yet); ZeroMQ's default handshake timeout (30 s) then applies.
  Result<void> watch(const std::string& endpoint);

  // Reads every event the monitor has; calls `on_closed(fd)` for each connection that closed,
  // and shuts down the connections accepted beyond the cap.
  void poll_events(const std::function<void(int fd)>& on_closed = {});

  // The monitor socket, for zmq::poll: readable when events wait.
  zmq::socket_t& monitor();

  std::size_t open_connections() const { return open_.size(); }
  std::uint64_t refused_connections() const { return refused_total_; }
  std::size_t max_connections() const { return options_.max_connections; }
  void set_max_connections(std::size_t max_connections) {
    options_.max_connections = max_connections;
  }

 private:
  Result<void> attach_monitor(const std::string& endpoint);
  void refuse_excess(const std::vector<int>& accepted);

  zmq::socket_t& socket_;
  ListenerGuardOptions options_;
  Log log_;
  std::unique_ptr<zmq::socket_t> monitor_;
  std::string endpoint_;
  std::set<int> open_;     // descriptors of the accepted connections still open
  std::set<int> refused_;  // of those, the ones shut down for being beyond the cap
  std::uint64_t refused_total_ = 0;
  std::uint64_t refused_reported_ = 0;
  std::uint64_t accept_failures_ = 0;  // ZMQ_EVENT_ACCEPT_FAILED
  std::uint64_t failures_reported_ = 0;
  int last_accept_error_ = 0;
  std::int64_t next_report_ms_ = 0;  // steady clock, for rate-limited log lines
};

}  // namespace bcast::io
