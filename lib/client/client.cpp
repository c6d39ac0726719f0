#include "bcast/client.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <thread>
#include <utility>
#include <zmq.hpp>

#include "codec/client_protocol.hpp"

namespace bcast {

using protocol::Header;
using protocol::MessageType;
using Clock = std::chrono::steady_clock;

namespace {

// A message from the daemon has a header frame and at most one payload frame; more frames than
// this are read and discarded so the socket stays in step.
constexpr std::size_t kMaxFrames = 2;

// The window is also the socket's send high-water mark, an int.
constexpr std::size_t kMaxInFlight = 1 << 20;

std::string endpoint_of(const std::string& socket_path) {
  if (socket_path.find("://") != std::string::npos) return socket_path;
  return "ipc://" + socket_path;
}

// For the "no daemon answered" error: a missing socket file is the usual reason.
std::string missing_socket_hint(const std::string& socket_path) {
  if (socket_path.find("://") != std::string::npos) return "";
  struct stat info {};
  if (::stat(socket_path.c_str(), &info) != 0) return " (" + socket_path + " does not exist)";
  return "";
}

// With ZeroMQ, connecting where nobody listens does not fail: it waits. So before that, a plain
// connect(2) to the ipc path tells at once whether anything listens there: no file (ENOENT), or
// a file left behind by a daemon that is gone (ECONNREFUSED), or a socket this user may not open
// (EACCES). Anything else is left to ZeroMQ.
Result<void> check_listening(const std::string& endpoint) {
  constexpr std::string_view kIpc = "ipc://";
  if (!endpoint.starts_with(kIpc)) return {};
  const std::string path = endpoint.substr(kIpc.size());
  sockaddr_un address{};
  if (path.empty() || path.size() >= sizeof address.sun_path) return {};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  int rc = 0;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  } while (rc != 0 && errno == EINTR);
  const int connect_errno = rc == 0 ? 0 : errno;
  ::close(fd);
  if (connect_errno == ENOENT) {
    return make_error(ErrorCode::kUnavailable, "no bcastd is listening on " + endpoint + ": " +
                                                   path +
                                                   " does not exist (is bcastd running "
                                                   "with this --client-socket?)");
  }
  if (connect_errno == EACCES || connect_errno == EPERM) {
    return make_error(ErrorCode::kInvalidArgument,
                      "permission denied: cannot connect to " + path +
                          " (the socket's mode and group, set by bcastd --client-socket-mode and "
                          "--client-socket-group, or its directory's, do not let this user in)");
  }
  if (connect_errno == ECONNREFUSED) {
    return make_error(ErrorCode::kUnavailable,
                      "no bcastd is listening on " + endpoint + ": connection refused (" + path +
                          " is left over from a daemon that is no longer running)");
  }
  return {};
}

std::string ms_text(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

}  // namespace

struct Client::Impl {
  enum class Wait { kMessage, kTimeout, kInterrupted };

  ClientOptions options;
  zmq::context_t context{1};
  zmq::socket_t socket{context, zmq::socket_type::dealer};
  // Reports the DEALER's disconnections. ZeroMQ would reconnect silently, but the daemon forgets
  // a client whose connection dropped (its sender, groups and pending receipts), so a drop ends
  // this Client rather than leave it waiting for replies that will never come.
  zmq::socket_t monitor{context, zmq::socket_type::pair};
  std::string endpoint;
  bool lost = false;
  std::string lost_reason;  // what the daemon said when it closed this client, if it did
  std::uint64_t next_id = 1;
  SenderId sender = 0;
  NodeId node_id = kNoNode;
  std::uint64_t max_message_bytes = 0;
  std::set<std::uint64_t> in_flight;  // publish ids awaiting a receipt or an error
  std::deque<Event> events;
  // The request a blocking call waits for; dispatch() hands its reply over here instead of
  // queueing it.
  std::uint64_t awaited_id = 0;
  std::optional<Header> awaited_reply;
  // Joined groups, and the gseq each one's total order would be replayed from after a lost
  // connection (options.resume): one past the last delivered or skipped, 0 for the oldest held.
  std::map<std::string, std::uint64_t> resume_from;
  std::uint64_t connections = 0;  // opened so far (names the monitor of each)

  void start_monitor() {
    const std::string address = "inproc://bcast-client-monitor-" +
                                std::to_string(reinterpret_cast<std::uintptr_t>(this)) + "-" +
                                std::to_string(++connections);
    if (zmq_socket_monitor(socket.handle(), address.c_str(), ZMQ_EVENT_DISCONNECTED) != 0) {
      throw zmq::error_t();
    }
    monitor.set(zmq::sockopt::linger, 0);
    monitor.connect(address);
  }

  // True once the connection to the daemon dropped.
  bool check_lost() {
    zmq::message_t event;
    while (!lost && monitor.recv(event, zmq::recv_flags::dontwait)) {
      // Frame 1: a 16-bit event id and a 32-bit value; frame 2: the endpoint.
      std::uint16_t id = 0;
      if (event.size() >= sizeof id) std::memcpy(&id, event.data(), sizeof id);
      while (event.more()) (void)monitor.recv(event, zmq::recv_flags::none);
      if (id == ZMQ_EVENT_DISCONNECTED) lost = true;
    }
    return lost;
  }

  Error lost_error() const {
    return make_error(ErrorCode::kUnavailable,
                      "the connection to bcastd at " + endpoint + " was lost (" +
                          (lost_reason.empty() ? "the daemon stopped or closed it" : lost_reason) +
                          ")");
  }

  Result<void> send(const Header& header, const std::string_view* payload) {
    if (lost) return lost_error();
    const std::string encoded = protocol::encode_header(header);
    try {
      // ZMQ_SNDTIMEO bounds these: sends block only when the daemon stopped reading.
      if (!socket.send(zmq::buffer(encoded),
                       payload ? zmq::send_flags::sndmore : zmq::send_flags::none)) {
        return make_error(ErrorCode::kTimeout, "the daemon is not reading its client socket");
      }
      if (payload &&
          !socket.send(zmq::buffer(payload->data(), payload->size()), zmq::send_flags::none)) {
        return make_error(ErrorCode::kTimeout, "the daemon is not reading its client socket");
      }
    } catch (const zmq::error_t& e) {
      return make_error(ErrorCode::kIo, std::string("client socket: ") + e.what());
    }
    return {};
  }

  // Reads and dispatches one message if one arrives before `deadline`.
  Result<Wait> receive(Clock::time_point deadline) {
    for (;;) {
      try {
        // What arrived before a disconnection is still read first.
        zmq::message_t first;
        if (socket.recv(first, zmq::recv_flags::dontwait)) {
          std::vector<zmq::message_t> frames;
          bool more = first.more();
          frames.push_back(std::move(first));
          // The rest of a multipart message is already there: ZeroMQ delivers it whole.
          while (more) {
            zmq::message_t next;
            (void)socket.recv(next, zmq::recv_flags::none);
            more = next.more();
            if (frames.size() <= kMaxFrames) frames.push_back(std::move(next));
          }
          dispatch(frames);
          return Wait::kMessage;
        }
        if (check_lost()) return lost_error();
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) return Wait::kInterrupted;
        return make_error(ErrorCode::kIo, std::string("client socket: ") + e.what());
      }
      const auto now = Clock::now();
      if (now >= deadline) return Wait::kTimeout;
      // Round up so a wait never spins on a sub-millisecond remainder.
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
      zmq_pollitem_t items[] = {{socket.handle(), 0, ZMQ_POLLIN, 0},
                                {monitor.handle(), 0, ZMQ_POLLIN, 0}};
      if (zmq_poll(items, 2, static_cast<long>(left)) < 0) {
        if (zmq_errno() == EINTR) return Wait::kInterrupted;
        return make_error(ErrorCode::kIo,
                          std::string("client socket: ") + zmq_strerror(zmq_errno()));
      }
    }
  }

  void protocol_event(std::string message) {
    events.emplace_back(RequestError{0, make_error(ErrorCode::kProtocol, std::move(message))});
  }

  static Gap gap_of(Header&& header) {
    Gap gap;
    gap.group = std::move(header.group);
    gap.reason = std::move(header.reason);
    if (header.origin) {
      gap.kind = Gap::Kind::kStream;
      gap.origin = static_cast<std::uint32_t>(*header.origin);
      gap.mode = header.mode;
      gap.from = header.from_seq;
      gap.to = header.to_seq;
    } else {
      gap.kind = Gap::Kind::kTotal;
      gap.from = header.from_gseq.value_or(0);
      gap.to = header.to_gseq;
    }
    return gap;
  }

  void dispatch(std::vector<zmq::message_t>& frames) {
    if (frames.size() > kMaxFrames) {
      protocol_event("the daemon sent a message of more than two frames");
      return;
    }
    auto decoded = protocol::decode_header(frames[0].to_string_view());
    if (!decoded) {
      events.emplace_back(RequestError{0, decoded.error()});
      return;
    }
    Header& header = decoded.value();
    const bool has_payload = frames.size() == 2;
    if (has_payload != (header.type == MessageType::kDelivery)) {
      protocol_event(std::string("the daemon sent a ") + protocol::message_type_name(header.type) +
                     (has_payload ? " with" : " without") + " a payload frame");
      return;
    }
    const bool reply_to_us = header.type != MessageType::kDelivery &&
                             header.type != MessageType::kView && header.type != MessageType::kGap;
    if (reply_to_us && header.id != 0) in_flight.erase(header.id);
    if (reply_to_us && header.id != 0 && header.id == awaited_id) {
      awaited_reply = std::move(header);
      awaited_id = 0;
      return;
    }
    switch (header.type) {
      case MessageType::kReceipt:
        events.emplace_back(Receipt{header.id, header.seq, header.gseq});
        return;
      case MessageType::kDelivery:
        if (header.gseq) advance_resume(header.group, *header.gseq);
        events.emplace_back(Delivery{std::move(header.group), header.sender, header.seq,
                                     header.gseq, header.mode, header.order, frames[1].to_string(),
                                     header.stream_seq});
        return;
      case MessageType::kGap:
        if (header.to_gseq) {
          // A total-order gap covers every group unless it names one.
          if (!header.group.empty()) advance_resume(header.group, *header.to_gseq);
          for (auto& [group, from] : resume_from) {
            if (header.group.empty()) advance_resume(group, *header.to_gseq);
          }
        }
        events.emplace_back(gap_of(std::move(header)));
        return;
      case MessageType::kView: {
        const auto members = [](std::vector<protocol::ViewMember>& wire) {
          std::vector<ViewMember> list;
          for (auto& m : wire) list.push_back(ViewMember{m.sender, m.node, std::move(m.name)});
          return list;
        };
        View view{std::move(header.group), std::move(header.members)};
        view.view_id = header.view_id;
        view.group_members = members(header.clients);
        view.joined = members(header.joined);
        view.left = members(header.left);
        view.cause = std::move(header.cause);
        view.gseq = header.gseq.value_or(0);
        events.emplace_back(std::move(view));
        return;
      }
      case MessageType::kError:
        if (header.id == 0 && header.code == ErrorCode::kUnavailable) {
          // The daemon closed this client (it fell too far behind, or the daemon is stopping):
          // the event says why, and every later call fails.
          lost = true;
          lost_reason = header.message;
        }
        events.emplace_back(
            RequestError{header.id, make_error(header.code, std::move(header.message))});
        return;
      case MessageType::kWelcome:
      case MessageType::kOk:
      case MessageType::kStatusReply:
      case MessageType::kClusterReply:
        // The reply to a request whose caller stopped waiting (it timed out): nobody wants it.
        return;
      case MessageType::kHello:
      case MessageType::kJoin:
      case MessageType::kLeave:
      case MessageType::kPublish:
      case MessageType::kStatus:
      case MessageType::kCluster:
        protocol_event(std::string("the daemon sent a request (") +
                       protocol::message_type_name(header.type) + ")");
        return;
    }
  }

  // Sends `request` (its id assigned here) and waits for the reply with its id; other messages
  // are dispatched as usual meanwhile. An error reply becomes the returned error.
  Result<Header> call(Header request, const std::string_view* payload,
                      std::chrono::milliseconds timeout) {
    request.id = next_id++;
    if (auto sent = send(request, payload); !sent) return sent.error();
    return await(request.id, timeout, protocol::message_type_name(request.type));
  }

  Result<Header> await(std::uint64_t id, std::chrono::milliseconds timeout, std::string what) {
    awaited_id = id;
    awaited_reply.reset();
    const auto deadline = Clock::now() + timeout;
    while (!awaited_reply) {
      auto waited = receive(deadline);
      if (!waited) {
        awaited_id = 0;
        return waited.error();
      }
      // A signal does not end a blocking call: only the deadline does.
      if (waited.value() == Wait::kTimeout) {
        awaited_id = 0;
        return make_error(ErrorCode::kTimeout,
                          "no reply to " + what + " within " + ms_text(timeout));
      }
    }
    Header reply = std::move(*awaited_reply);
    awaited_reply.reset();
    if (reply.type == MessageType::kError) {
      return make_error(reply.code, std::move(reply.message));
    }
    return reply;
  }

  Result<void> expect_type(const Header& reply, MessageType type) {
    if (reply.type == type) return {};
    return make_error(ErrorCode::kProtocol, std::string("the daemon answered with ") +
                                                protocol::message_type_name(reply.type) +
                                                " instead of " + protocol::message_type_name(type));
  }

  void advance_resume(const std::string& group, std::uint64_t gseq) {
    auto it = resume_from.find(group);
    if (it != resume_from.end()) it->second = std::max(it->second, gseq + 1);
  }

  Result<void> membership(MessageType type, std::string_view group,
                          std::optional<std::uint64_t> from_gseq = std::nullopt) {
    Header request;
    request.type = type;
    request.group = std::string(group);
    request.from_gseq = from_gseq;
    auto reply = call(std::move(request), nullptr, options.request_timeout);
    if (!reply) return reply.error();
    if (auto ok = expect_type(reply.value(), MessageType::kOk); !ok) return ok;
    if (type == MessageType::kLeave) {
      resume_from.erase(std::string(group));
    } else {
      // Live: after the position the daemon names (its total order so far is not ours).
      resume_from[std::string(group)] = from_gseq ? *from_gseq : reply.value().gseq.value_or(0) + 1;
    }
    return {};
  }

  // A new socket to the daemon and its hello; sets sender, node_id, max_message_bytes.
  Result<void> open() {
    if (auto listening = check_listening(endpoint); !listening) return listening.error();
    try {
      start_monitor();
      // Closing must never wait for unsent messages: the daemon owns their fate once sent, and
      // unsent ones were never acknowledged.
      socket.set(zmq::sockopt::linger, 0);
      socket.set(zmq::sockopt::maxmsgsize, options.max_frame_bytes);
      socket.set(zmq::sockopt::sndtimeo, static_cast<int>(options.request_timeout.count()));
      // A full window of publishes (plus a few requests) fits under the high-water mark, so a
      // publish with room in the window never blocks in send.
      socket.set(zmq::sockopt::sndhwm, static_cast<int>(options.max_in_flight + 64));
      socket.connect(endpoint);
    } catch (const zmq::error_t& e) {
      return make_error(ErrorCode::kIo, "cannot connect to " + endpoint + ": " + e.what());
    }
    Header hello;
    hello.type = MessageType::kHello;
    hello.version = protocol::kVersion;
    hello.client_name = options.client_name;
    hello.group_views = options.group_views;
    auto welcome = call(std::move(hello), nullptr, options.request_timeout);
    if (!welcome) {
      const Error& error = welcome.error();
      if (error.code == ErrorCode::kTimeout) {
        return make_error(ErrorCode::kUnavailable, "no bcastd answered on " + endpoint +
                                                       " within " +
                                                       ms_text(options.request_timeout) +
                                                       missing_socket_hint(options.socket_path));
      }
      if (lost) return error;
      return make_error(error.code,
                        "bcastd at " + endpoint + " refused the connection: " + error.message);
    }
    if (auto ok = expect_type(welcome.value(), MessageType::kWelcome); !ok) return ok.error();
    if (welcome.value().version != protocol::kVersion) {
      return make_error(ErrorCode::kProtocol, "bcastd speaks client protocol version " +
                                                  std::to_string(welcome.value().version) +
                                                  ", this client " +
                                                  std::to_string(protocol::kVersion));
    }
    sender = welcome.value().sender;
    node_id = welcome.value().node_id;
    max_message_bytes = welcome.value().max_message_bytes;
    return {};
  }

  // After a lost connection (options.resume): every publish awaiting its receipt ends in an
  // error, then a new connection (backing off, for at most options.resume_timeout) joins every
  // group again, replaying its total order from where it stopped; what other orders may have
  // missed meanwhile is reported as a Gap.
  Result<void> resume() {
    for (std::uint64_t id : in_flight) {
      events.emplace_back(RequestError{
          id, make_error(ErrorCode::kUnavailable,
                         "the connection to bcastd was lost before this publish's receipt: it "
                         "may or may not be delivered")});
    }
    in_flight.clear();
    const Error cause = lost_error();
    const auto give_up = Clock::now() + options.resume_timeout;
    auto backoff = std::chrono::milliseconds(50);
    for (;;) {
      auto reopened = reopen();
      if (reopened) return {};
      if (Clock::now() + backoff >= give_up) {
        lost = true;
        return make_error(ErrorCode::kUnavailable, cause.message + "; no reconnection within " +
                                                       ms_text(options.resume_timeout) + ": " +
                                                       reopened.error().message);
      }
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }

  Result<void> reopen() {
    socket = zmq::socket_t(context, zmq::socket_type::dealer);
    monitor = zmq::socket_t(context, zmq::socket_type::pair);
    lost = false;
    lost_reason.clear();
    if (auto opened = open(); !opened) {
      lost = true;
      return opened;
    }
    const std::map<std::string, std::uint64_t> groups = resume_from;
    for (const auto& [group, from] : groups) {
      Gap missed;
      missed.kind = Gap::Kind::kStream;
      missed.group = group;
      missed.reason = "disconnected";
      missed.from = 1;  // origin 0: any origin's stream, any position, while disconnected
      events.emplace_back(std::move(missed));
      if (auto joined = membership(MessageType::kJoin, group, from); !joined) {
        if (lost) return joined;
        // No history to replay from: live from now on, and the total order missed is a gap.
        if (auto live = membership(MessageType::kJoin, group); !live) return live;
        const std::uint64_t now_from = resume_from[group];
        if (now_from > from) {
          Gap total;
          total.kind = Gap::Kind::kTotal;
          total.group = group;
          total.reason = "disconnected";
          total.from = std::max<std::uint64_t>(from, 1);
          total.to = now_from - 1;
          events.emplace_back(std::move(total));
        }
      }
    }
    return {};
  }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

Result<Client> Client::connect(const ClientOptions& options) {
  if (options.socket_path.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "no daemon socket given (bcastctl: --socket PATH or BCAST_SOCKET)");
  }
  if (options.max_in_flight == 0 || options.max_in_flight > kMaxInFlight) {
    return make_error(ErrorCode::kInvalidArgument,
                      "max_in_flight must be 1 to " + std::to_string(kMaxInFlight));
  }
  if (options.client_name.size() > 255) {
    return make_error(ErrorCode::kInvalidArgument, "client_name must be at most 255 bytes");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->endpoint = endpoint_of(options.socket_path);
  if (auto opened = impl->open(); !opened) return opened.error();
  return Client(std::move(impl));
}

Result<void> Client::join(std::string_view group) {
  return impl_->membership(MessageType::kJoin, group);
}

Result<void> Client::join(std::string_view group, std::uint64_t from_gseq) {
  return impl_->membership(MessageType::kJoin, group, from_gseq);
}

Result<void> Client::leave(std::string_view group) {
  return impl_->membership(MessageType::kLeave, group);
}

Result<std::uint64_t> Client::publish(std::string_view group, Mode mode, Order order,
                                      std::string_view payload) {
  if (payload.size() > impl_->max_message_bytes) {
    return make_error(ErrorCode::kTooLarge, "payload of " + std::to_string(payload.size()) +
                                                " bytes exceeds the daemon's limit of " +
                                                std::to_string(impl_->max_message_bytes));
  }
  // Backpressure: the window is full until receipts come back, which flow control at the
  // daemon may delay (a slow subscriber paces the group's publishers).
  const std::chrono::milliseconds window_wait = impl_->options.publish_window_timeout;
  const auto deadline = Clock::now() + window_wait;
  while (impl_->in_flight.size() >= impl_->options.max_in_flight) {
    auto waited = impl_->receive(deadline);
    if (!waited) return waited.error();
    if (waited.value() == Impl::Wait::kTimeout) {
      return make_error(ErrorCode::kTimeout, std::to_string(impl_->in_flight.size()) +
                                                 " publishes still unacknowledged after " +
                                                 ms_text(window_wait));
    }
  }
  Header request;
  request.type = MessageType::kPublish;
  request.id = impl_->next_id++;
  request.group = std::string(group);
  request.mode = mode;
  request.order = order;
  if (auto sent = impl_->send(request, &payload); !sent) return sent.error();
  impl_->in_flight.insert(request.id);
  return request.id;
}

Result<Receipt> Client::publish_and_wait(std::string_view group, Mode mode, Order order,
                                         std::string_view payload,
                                         std::optional<std::chrono::milliseconds> timeout) {
  auto id = publish(group, mode, order, payload);
  if (!id) return id.error();
  auto reply = impl_->await(id.value(), timeout.value_or(impl_->options.request_timeout),
                            "publish " + std::to_string(id.value()));
  if (!reply) return reply.error();
  if (auto ok = impl_->expect_type(reply.value(), MessageType::kReceipt); !ok) return ok.error();
  return Receipt{reply.value().id, reply.value().seq, reply.value().gseq};
}

Result<std::optional<Event>> Client::next_event(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (impl_->events.empty()) {
    auto waited = impl_->receive(deadline);
    if (!waited && impl_->lost && impl_->options.resume) {
      if (auto resumed = impl_->resume(); !resumed) return resumed.error();
      continue;
    }
    if (!waited) return waited.error();
    if (waited.value() != Impl::Wait::kMessage) return std::optional<Event>();
  }
  Event event = std::move(impl_->events.front());
  impl_->events.pop_front();
  return std::optional<Event>(std::move(event));
}

Result<Status> Client::status() {
  Header request;
  request.type = MessageType::kStatus;
  auto reply = impl_->call(std::move(request), nullptr, impl_->options.request_timeout);
  if (!reply) return reply.error();
  if (auto ok = impl_->expect_type(reply.value(), MessageType::kStatusReply); !ok) {
    return ok.error();
  }
  Header& h = reply.value();
  Status status{h.node_id,    std::move(h.role),    h.term,
                h.leader,     std::move(h.members), h.commit_index,
                h.cluster_id, std::move(h.problems)};
  for (const protocol::PeerReach& p : h.peers) {
    status.peers.push_back(Status::Peer{p.node, p.reachable, p.last_heard_ms});
  }
  status.daemons_down = std::move(h.daemons_down);
  return status;
}

Result<ClusterInfo> Client::cluster_list() {
  Header request;
  request.type = MessageType::kCluster;
  request.op = "list";
  auto reply = impl_->call(std::move(request), nullptr, impl_->options.request_timeout);
  if (!reply) return reply.error();
  if (auto ok = impl_->expect_type(reply.value(), MessageType::kClusterReply); !ok) {
    return ok.error();
  }
  Header& h = reply.value();
  ClusterInfo info;
  info.cluster_id = h.cluster_id;
  info.leader = h.leader;
  for (protocol::ClusterNode& n : h.nodes) {
    info.members.push_back(ClusterMember{n.node, std::move(n.address), std::move(n.role),
                                         n.identity_bound, n.promote_when_caught_up, n.match_index,
                                         n.reachable, std::move(n.public_key)});
  }
  return info;
}

Result<void> Client::change_membership(std::string_view op, NodeId node, std::string_view address,
                                       std::string_view public_key, bool learner,
                                       std::chrono::milliseconds timeout) {
  Header request;
  request.type = MessageType::kCluster;
  request.op = std::string(op);
  request.node_id = node;
  request.address = std::string(address);
  request.learner = learner;
  request.public_key = std::string(public_key);
  auto reply = impl_->call(std::move(request), nullptr, timeout);
  if (!reply) return reply.error();
  return impl_->expect_type(reply.value(), MessageType::kOk);
}

Result<void> Client::cluster_add(NodeId node, std::string_view address, bool learner,
                                 std::chrono::milliseconds timeout) {
  return change_membership("add", node, address, {}, learner, timeout);
}
Result<void> Client::cluster_add_keyed(NodeId node, std::string_view address,
                                       std::string_view public_key, bool learner,
                                       std::chrono::milliseconds timeout) {
  return change_membership("add", node, address, public_key, learner, timeout);
}
Result<void> Client::cluster_promote(NodeId node, std::chrono::milliseconds timeout) {
  return change_membership("promote", node, {}, {}, false, timeout);
}
Result<void> Client::cluster_remove(NodeId node, std::chrono::milliseconds timeout) {
  return change_membership("remove", node, {}, {}, false, timeout);
}
Result<void> Client::transfer_leadership(NodeId node, std::chrono::milliseconds timeout) {
  return change_membership("transfer_leader", node, {}, {}, false, timeout);
}

int Client::fd() const { return impl_->socket.get(zmq::sockopt::fd); }
SenderId Client::sender() const { return impl_->sender; }
NodeId Client::node_id() const { return impl_->node_id; }
std::uint64_t Client::max_message_bytes() const { return impl_->max_message_bytes; }
std::size_t Client::in_flight() const { return impl_->in_flight.size(); }
bool Client::has_queued_events() const { return !impl_->events.empty(); }

}  // namespace bcast
