#include "io/listener_guard.hpp"

#include <sys/socket.h>
#include <zmq.h>

#include <chrono>
#include <cstring>
#include <zmq.hpp>

namespace bcast::io {
namespace {

constexpr int kWatchedEvents =
    ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_ACCEPT_FAILED;
constexpr std::int64_t kReportIntervalMs = 10000;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ListenerGuard::ListenerGuard(zmq::context_t& context, zmq::socket_t& socket,
                             const ListenerGuardOptions& options, Log log)
    : socket_(socket),
      options_(options),
      log_(std::move(log)),
      monitor_(std::make_unique<zmq::socket_t>(context, zmq::socket_type::pair)) {}

ListenerGuard::~ListenerGuard() = default;

Result<void> ListenerGuard::attach_monitor(const std::string& endpoint) {
  endpoint_ = endpoint;
  try {
    const std::string address =
        "inproc://bcast-listener-monitor-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
    if (zmq_socket_monitor(socket_.handle(), address.c_str(), kWatchedEvents) != 0) {
      throw zmq::error_t();
    }
    monitor_->set(zmq::sockopt::linger, 0);
    monitor_->connect(address);
  } catch (const zmq::error_t& e) {
    return make_error(ErrorCode::kIo,
                      "cannot watch the connections on " + endpoint + ": " + e.what());
  }
  return {};
}

Result<void> ListenerGuard::watch(const std::string& endpoint) { return attach_monitor(endpoint); }

Result<void> ListenerGuard::bind(const std::string& endpoint) {
  if (auto attached = attach_monitor(endpoint); !attached) return attached;
  try {
    // ZeroMQ copies a socket's options into a listener when it binds: set before.
    socket_.set(zmq::sockopt::handshake_ivl, options_.handshake_timeout_ms);
    socket_.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return make_error(ErrorCode::kIo, "cannot listen on " + endpoint + ": " + e.what());
  }
  return {};
}

zmq::socket_t& ListenerGuard::monitor() { return *monitor_; }

void ListenerGuard::poll_events(const std::function<void(int fd)>& on_closed) {
  std::vector<int> accepted;  // in order; acted on once every waiting event is read
  for (;;) {
    zmq::message_t event;
    if (!monitor_->recv(event, zmq::recv_flags::dontwait)) break;
    // Frame 1: a 16-bit event id and a 32-bit value (here a descriptor); frame 2: the endpoint.
    std::uint16_t id = 0;
    std::uint32_t value = 0;
    if (event.size() >= sizeof id + sizeof value) {
      std::memcpy(&id, event.data(), sizeof id);
      std::memcpy(&value, static_cast<const char*>(event.data()) + sizeof id, sizeof value);
    }
    while (event.more()) (void)monitor_->recv(event, zmq::recv_flags::none);
    const int fd = static_cast<int>(value);
    if (id == ZMQ_EVENT_ACCEPTED) {
      open_.insert(fd);
      accepted.push_back(fd);
    } else if (id == ZMQ_EVENT_DISCONNECTED) {
      // Only accepted connections count; a bound socket has no others.
      if (open_.erase(fd) == 0) continue;
      refused_.erase(fd);
      std::erase(accepted, fd);
      if (on_closed) on_closed(fd);
    } else if (id == ZMQ_EVENT_ACCEPT_FAILED) {
      // Mostly the accept ceiling at work (ECONNABORTED): counted, reported with the refusals.
      ++accept_failures_;
      last_accept_error_ = static_cast<int>(value);
    }
  }
  refuse_excess(accepted);
}

void ListenerGuard::refuse_excess(const std::vector<int>& accepted) {
  // The newest connections go: the ones that have not been served yet.
  for (auto it = accepted.rbegin();
       it != accepted.rend() && open_.size() - refused_.size() > options_.max_connections; ++it) {
    if (refused_.insert(*it).second) {
      // The descriptor stays ZeroMQ's: shutdown(2) only makes it see the connection end, and
      // it then closes it (reported as DISCONNECTED).
      ::shutdown(*it, SHUT_RDWR);
      ++refused_total_;
    }
  }
  const bool news = refused_total_ > refused_reported_ || accept_failures_ > failures_reported_;
  if (news && now_ms() >= next_report_ms_) {
    std::string line = "refused " + std::to_string(refused_total_ - refused_reported_) + " " +
                       options_.what + " on " + endpoint_ + " (" +
                       std::to_string(open_.size() - refused_.size()) + " open, the limit is " +
                       std::to_string(options_.max_connections) + ")";
    if (accept_failures_ > failures_reported_) {
      line += "; " + std::to_string(accept_failures_ - failures_reported_) +
              " accepts failed (last: " + zmq_strerror(last_accept_error_) +
              "; near the file descriptor limit new connections are closed at once)";
    }
    log_(line);
    refused_reported_ = refused_total_;
    failures_reported_ = accept_failures_;
    next_report_ms_ = now_ms() + kReportIntervalMs;
  }
}

}  // namespace bcast::io
