#include "io/client_server.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <zmq.hpp>

namespace bcast::io {

using protocol::Header;
using protocol::MessageType;

namespace {

// Messages to connections that are not clients are few and small; their count is only watched
// so that drain() knows when they are written.
constexpr std::uint64_t kUnboundedBytes = ~std::uint64_t{0};

std::string mib_text(std::uint64_t bytes) {
  if (bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

std::string ms_text(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

// The gap reason a client sees for best-effort deliveries dropped because it read too slowly.
constexpr const char* kSlowSubscriberReason = "slow-subscriber";

// What a parked publish costs beside its payload and group name (the request's bookkeeping).
constexpr std::uint64_t kParkedOverheadBytes = 256;

// A publish answered `busy` for lack of credit may be retried after this long.
constexpr std::chrono::milliseconds kRetryAfter{1000};

}  // namespace

ClientServer::ClientServer(zmq::context_t& context, ClientHandler& handler,
                           const ClientServerOptions& options, Log log)
    : context_(context),
      handler_(handler),
      options_(options),
      log_(log ? std::move(log) : Log([](const std::string&) {})),
      unattached_(kUnboundedBytes, kUnboundedBytes) {}

ClientServer::~ClientServer() {
  guard_.reset();
  socket_.reset();
  remove_socket_file();
}

Result<void> ClientServer::start(const std::string& path) {
  path_ = path;
  try {
    socket_ = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::router);
    socket_->set(zmq::sockopt::linger, 0);
    socket_->set(zmq::sockopt::sndhwm, options_.send_queue);
    socket_->set(zmq::sockopt::router_mandatory, 1);
    // Larger than any valid request, so an oversized message still gets a clear error reply;
    // only an absurd frame closes the connection.
    const std::uint64_t max_frame = 2 * handler_.max_message_bytes() + options_.max_header_bytes;
    socket_->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(max_frame));
  } catch (const zmq::error_t& e) {
    return make_error(ErrorCode::kIo, std::string("cannot create the client socket: ") + e.what());
  }
  ListenerGuardOptions guard_options;
  guard_options.max_connections = options_.max_connections;
  guard_options.what = "client connections";
  guard_ = std::make_unique<ListenerGuard>(context_, *socket_, guard_options, log_);
  if (auto free = prepare_socket_path(path); !free) return free.error();
  if (auto bound = with_private_umask([&] { return guard_->bind("ipc://" + path); }); !bound) {
    return make_error(ErrorCode::kIo, "cannot bind the client socket: " + bound.error().message);
  }
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) {
    bound_file_ = std::pair<std::uint64_t, std::uint64_t>(info.st_dev, info.st_ino);
  }
  return secure_socket_file(path, options_.access);
}

void ClientServer::remove_socket_file() {
  // Only the file this server bound: a newer daemon may have taken the path over since.
  if (!bound_file_) return;
  struct stat info {};
  if (::stat(path_.c_str(), &info) != 0) return;
  if (std::pair<std::uint64_t, std::uint64_t>(info.st_dev, info.st_ino) == *bound_file_) {
    ::unlink(path_.c_str());
  }
}

void ClientServer::set_limits(std::size_t max_clients, std::size_t max_connections) {
  options_.max_clients = max_clients;
  options_.max_connections = max_connections;
  if (guard_) guard_->set_max_connections(max_connections);
}

zmq::socket_t& ClientServer::socket() { return *socket_; }
zmq::socket_t& ClientServer::monitor() { return guard_->monitor(); }

void ClientServer::on_readable() {
  auto on_closed = [this](int fd) { on_connection_closed(fd); };
  guard_->poll_events(on_closed);
  for (;;) {
    std::vector<zmq::message_t> frames;
    zmq::message_t frame;
    if (!socket_->recv(frame, zmq::recv_flags::dontwait)) return;
    bool more = frame.more();
    frames.push_back(std::move(frame));
    while (more) {
      zmq::message_t next;
      (void)socket_->recv(next, zmq::recv_flags::none);
      more = next.more();
      frames.push_back(std::move(next));
    }
    const std::string identity = frames.front().to_string();
    frames.erase(frames.begin());
    // The descriptor of the connection the message came on; see listener_guard.hpp for why the
    // monitor is read after the message and before acting on it.
    const int fd = frames.empty() ? -1 : frames.front().get(ZMQ_SRCFD);
    guard_->poll_events(on_closed);
    handle(identity, fd, frames);
  }
}

void ClientServer::handle(const std::string& identity, int fd,
                          std::vector<zmq::message_t>& frames) {
  // Every refusal answers the request by its id whenever that much can be read, so a client
  // waiting on the id learns its fate.
  const auto refuse = [&](ErrorCode code, const std::string& message) {
    const std::uint64_t id =
        frames.empty() ? 0 : protocol::peek_request_id(frames[0].to_string_view());
    send(identity, protocol::error_reply(id, code, message));
  };
  if (frames.empty() || frames.size() > 2) {
    refuse(ErrorCode::kProtocol, "a request is a header frame and at most one payload frame; got " +
                                     std::to_string(frames.size()) + " frames");
    return;
  }
  auto header = protocol::decode_header(frames[0].to_string_view(), options_.max_header_bytes);
  if (!header.ok()) {
    refuse(header.error().code, header.error().message);
    return;
  }
  if (frames.size() == 2 && header.value().type != MessageType::kPublish) {
    refuse(ErrorCode::kProtocol, std::string("a ") +
                                     protocol::message_type_name(header.value().type) +
                                     " takes no payload frame; only publish does");
    return;
  }
  handle_request(identity, fd, header.value(), frames);
}

std::optional<Error> ClientServer::invalid_group(const std::string& group) const {
  if (!group.empty() && group.size() <= handler_.max_group_bytes()) return std::nullopt;
  return make_error(
      ErrorCode::kInvalidArgument,
      "group name must be 1 to " + std::to_string(handler_.max_group_bytes()) + " bytes");
}

void ClientServer::hello(const std::string& identity, int fd, const Header& request) {
  if (request.version != protocol::kVersion) {
    // Refused, the connection is not connected, even if an earlier hello had succeeded.
    forget(identity);
    Header refusal = protocol::error_reply(request.id, ErrorCode::kProtocol,
                                           "protocol version " + std::to_string(request.version) +
                                               " is not supported; this daemon speaks " +
                                               std::to_string(protocol::kVersion));
    refusal.supported_versions = {protocol::kVersion};
    send(identity, refusal);
    return;
  }
  // A second hello starts over; a connection told it was disconnected may start over too.
  forget(identity);
  const std::optional<PeerCredentials> credentials = peer_credentials(fd);
  if (auto denied = refuse_credentials(options_.access, credentials)) {
    // Logged, but a refused user retrying in a loop must not flood the log.
    if (++denied_hellos_ <= 10 || denied_hellos_ % 1000 == 0) {
      log_(*denied + " (" + std::to_string(denied_hellos_) + " refused so far)");
    }
    send(identity, protocol::error_reply(request.id, ErrorCode::kInvalidArgument, *denied));
    return;
  }
  closing_.erase(identity);
  if (clients_.size() >= options_.max_clients) {
    send(identity,
         protocol::error_reply(request.id, ErrorCode::kBusy,
                               "too many clients connected (the limit is " +
                                   std::to_string(options_.max_clients) + ", --max-clients)"));
    return;
  }
  auto [it, inserted] =
      clients_.try_emplace(identity, options_.client_queue_bytes, options_.zmq_budget_bytes);
  Client& client = it->second;
  client.fd = fd;
  client.credentials = credentials;
  client.name = request.client_name;
  client.group_views = request.group_views;
  client.sender = handler_.open_sender();
  identity_of_[client.sender] = identity;
  Header welcome;
  welcome.type = MessageType::kWelcome;
  welcome.id = request.id;
  welcome.sender = client.sender;
  welcome.node_id = handler_.node_id();
  welcome.max_message_bytes = handler_.max_message_bytes();
  send(identity, welcome);
}

void ClientServer::handle_request(const std::string& identity, int fd, const Header& request,
                                  std::vector<zmq::message_t>& frames) {
  if (request.type == MessageType::kHello) {
    hello(identity, fd, request);
    return;
  }
  auto found = clients_.find(identity);
  if (found == clients_.end()) {
    send(identity, protocol::error_reply(request.id, ErrorCode::kProtocol,
                                         std::string("say hello before ") +
                                             protocol::message_type_name(request.type)));
    return;
  }
  Client& client = found->second;
  Header reply;
  reply.id = request.id;
  switch (request.type) {
    case MessageType::kJoin:
    case MessageType::kLeave: {
      // The names publish refuses (Node::validate) are refused here too.
      if (auto invalid = invalid_group(request.group)) {
        send(identity, protocol::error_reply(request.id, invalid->code, invalid->message));
        return;
      }
      if (request.type == MessageType::kJoin &&
          !allowed(identity, client, request, GroupAction::kSubscribe)) {
        return;
      }
      reply.type = MessageType::kOk;
      if (request.type == MessageType::kJoin && request.from_gseq &&
          !start_replay(identity, client, request)) {
        return;
      }
      if (request.type == MessageType::kJoin && !request.from_gseq) {
        // Where its live total order starts: a client that loses its connection resumes the
        // group's total order from the history after this (or after its last delivery).
        const HistoryStore* history = handler_.history();
        const std::uint64_t position =
            std::max(last_live_gseq_, history ? history->last_gseq() : std::uint64_t{0});
        if (position > 0) reply.gseq = position;
      }
      if (request.type == MessageType::kJoin) {
        client.groups.insert(request.group);
        handler_.joined_group(client.sender, request.group, client.name);
      } else {
        client.groups.erase(request.group);
        client.replay_next_gseq.erase(request.group);
        client.live_from_gseq.erase(request.group);
        handler_.left_group(client.sender, request.group);
      }
      send(identity, reply);
      if (request.type == MessageType::kJoin) {
        Header view;
        view.type = MessageType::kView;
        view.group = request.group;
        view.members = handler_.members();
        send(identity, view);
      }
      return;
    }
    case MessageType::kPublish:
      publish(identity, client, request, frames);
      return;
    case MessageType::kStatus:
      reply = handler_.status();
      reply.type = MessageType::kStatusReply;
      reply.id = request.id;
      send(identity, reply);
      return;
    case MessageType::kCluster:
      cluster(identity, request);
      return;
    default:
      send(identity, protocol::error_reply(request.id, ErrorCode::kProtocol,
                                           std::string("a client cannot send ") +
                                               protocol::message_type_name(request.type)));
      return;
  }
}

void ClientServer::cluster(const std::string& identity, const Header& request) {
  if (request.op == "list") {
    Header reply = handler_.cluster_list();
    reply.type = MessageType::kClusterReply;
    reply.id = request.id;
    send(identity, reply);
    return;
  }
  static const std::map<std::string, AdminRequest::Kind> kOps = {
      {"add", AdminRequest::Kind::kAdd},
      {"promote", AdminRequest::Kind::kPromote},
      {"remove", AdminRequest::Kind::kRemove},
      {"transfer_leader", AdminRequest::Kind::kTransferLeader}};
  auto op = kOps.find(request.op);
  if (op == kOps.end()) {
    send(identity, protocol::error_reply(request.id, ErrorCode::kInvalidArgument,
                                         "cluster op '" + request.op +
                                             "': list, add, promote, remove or transfer_leader"));
    return;
  }
  if (request.node_id == kNoNode) {
    send(identity, protocol::error_reply(request.id, ErrorCode::kInvalidArgument,
                                         "cluster " + request.op + " needs node_id"));
    return;
  }
  const std::uint64_t admin_id = next_admin_id_++;
  pending_admin_[admin_id] = {identity, request.id};
  handler_.admin(admin_id, AdminRequest{op->second, request.node_id, request.address,
                                        request.learner, request.public_key});
}

void ClientServer::answer_admin(const AdminResult& result) {
  auto it = pending_admin_.find(result.request_id);
  if (it == pending_admin_.end()) return;
  const auto [identity, request_id] = it->second;
  pending_admin_.erase(it);
  if (!clients_.contains(identity)) return;  // gone meanwhile
  if (result.ok) {
    Header ok;
    ok.type = MessageType::kOk;
    ok.id = request_id;
    send(identity, ok);
  } else {
    send(identity, protocol::error_reply(request_id, result.code, result.message));
  }
}

bool ClientServer::allowed(const std::string& identity, const Client& client, const Header& request,
                           GroupAction action) {
  auto denied =
      refuse_group_action(options_.group_permissions, request.group, action, client.credentials);
  if (!denied) return true;
  // Logged, but a refused client retrying in a loop must not flood the log.
  if (++denied_group_actions_ <= 10 || denied_group_actions_ % 1000 == 0) {
    log_(*denied + " (" + std::to_string(denied_group_actions_) + " refused so far)");
  }
  send(identity, protocol::error_reply(request.id, ErrorCode::kPermissionDenied, *denied));
  return false;
}

void ClientServer::publish(const std::string& identity, Client& client, const Header& request,
                           std::vector<zmq::message_t>& frames) {
  if (refusal_) {
    send(identity, protocol::error_reply(request.id, refusal_->code, refusal_->message));
    return;
  }
  if (!allowed(identity, client, request, GroupAction::kPublish)) return;
  PublishRequest publish;
  publish.sender = client.sender;
  publish.group = request.group;
  publish.mode = request.mode;
  publish.order = request.order;
  publish.payload = std::make_shared<const std::string>(frames.size() > 1 ? frames[1].to_string()
                                                                          : std::string());
  // Behind an earlier parked publish of the same client even if this one has credit: a client's
  // publishes are published in the order it sent them.
  if (options_.flow_control && (!client.parked.empty() || !handler_.has_credit(publish))) {
    park(identity, client, request.id, std::move(publish));
    return;
  }
  submit(identity, client, request.id, publish);
}

void ClientServer::submit(const std::string& identity, Client& client, std::uint64_t request_id,
                          const PublishRequest& publish) {
  // Registered first: the receipt may be produced before publish() returns.
  const std::uint64_t seq = client.next_seq;
  client.pending[seq] = request_id;
  auto published = handler_.publish(publish);
  if (!published.ok()) {
    client.pending.erase(seq);
    send(identity,
         protocol::error_reply(request_id, published.error().code, published.error().message));
    return;
  }
  client.next_seq = published.value() + 1;
}

void ClientServer::park(const std::string& identity, Client& client, std::uint64_t request_id,
                        PublishRequest publish) {
  const std::uint64_t cost = publish.payload->size() + publish.group.size() + kParkedOverheadBytes;
  if (!client.parked.empty() && client.parked_bytes + cost > options_.client_queue_bytes) {
    send(identity,
         protocol::error_reply(
             request_id, ErrorCode::kBusy,
             "no credit: group '" + publish.group +
                 "' is paced by a slow subscriber and this client already has " +
                 std::to_string(client.parked.size()) + " publishes (" +
                 std::to_string(client.parked_bytes) +
                 " bytes) waiting for credit (at most --client-queue-bytes); not published, "
                 "retry after " +
                 ms_text(kRetryAfter)));
    return;
  }
  client.parked_bytes += cost;
  client.parked.push_back(Parked{request_id, std::move(publish), Clock::now(), cost});
}

void ClientServer::refuse_parked(const std::string& identity, Client& client, const Error& error) {
  const std::deque<Parked> parked = std::exchange(client.parked, {});
  client.parked_bytes = 0;
  for (const Parked& p : parked) {
    if (!clients_.contains(identity)) return;  // a reply that did not fit disconnected it
    send(identity, protocol::error_reply(p.request_id, error.code, error.message));
  }
}

void ClientServer::retry_parked() {
  const auto now = Clock::now();
  std::vector<std::string> waiting;  // publishing may forget a client: no iterating clients_ then
  for (const auto& [identity, client] : clients_) {
    if (!client.parked.empty()) waiting.push_back(identity);
  }
  for (const std::string& identity : waiting) {
    for (;;) {
      auto found = clients_.find(identity);
      if (found == clients_.end() || found->second.parked.empty()) break;
      Client& client = found->second;
      Parked& front = client.parked.front();
      if (refusal_) {
        refuse_parked(identity, client, *refusal_);
        break;
      }
      if (handler_.has_credit(front.request)) {
        Parked next = std::move(front);
        client.parked.pop_front();
        client.parked_bytes -= next.cost_bytes;
        submit(identity, client, next.request_id, next.request);
        continue;
      }
      if (now - front.since >= options_.publish_wait) {
        // Those behind it are answered too: publishing them would break the client's order.
        refuse_parked(
            identity, client,
            make_error(ErrorCode::kBusy,
                       "no credit for " + ms_text(options_.publish_wait) +
                           " (--publish-wait-ms): a subscriber of group '" + front.request.group +
                           "' reads more slowly than its publishers publish; not published (nor "
                           "this client's publishes after it), retry after " +
                           ms_text(kRetryAfter)));
      }
      break;
    }
  }
}

ClientQueue::Message ClientServer::delivery_message(const Delivery& delivery) {
  Header header;
  header.type = MessageType::kDelivery;
  header.group = delivery.group;
  header.sender = delivery.sender;
  header.seq = delivery.seq;
  header.gseq = delivery.gseq;
  header.mode = delivery.mode;
  header.order = delivery.order;
  header.stream_seq = delivery.stream_seq;
  static const auto kEmpty = std::make_shared<const std::string>();
  if (delivery.mode != Mode::kBestEffort) {
    return ClientQueue::Message{protocol::encode_header(header),
                                delivery.payload ? delivery.payload : kEmpty,
                                ClientQueue::Kind::kDelivery, nullptr};
  }
  // What a gap event names should it be dropped.
  auto position = std::make_shared<const ClientQueue::StreamPosition>(ClientQueue::StreamPosition{
      delivery.group, sender_origin(delivery.sender), delivery.stream_seq});
  return ClientQueue::Message{protocol::encode_header(header),
                              delivery.payload ? delivery.payload : kEmpty,
                              ClientQueue::Kind::kBestEffortDelivery, std::move(position)};
}

void ClientServer::deliver(const Delivery& delivery) {
  const ClientQueue::Message message = delivery_message(delivery);  // once for every reader
  if (delivery.gseq) last_live_gseq_ = std::max(last_live_gseq_, *delivery.gseq);
  std::vector<std::string> readers;  // sending may forget a client: no iterating clients_ then
  for (const auto& [identity, client] : clients_) {
    if (client.groups.contains(delivery.group) && takes_live(client, delivery)) {
      readers.push_back(identity);
    }
  }
  for (const std::string& identity : readers) {
    auto client = clients_.find(identity);
    if (client == clients_.end()) continue;
    enqueue(identity, client->second, message);
  }
}

void ClientServer::announce_view(const ViewChange& view) {
  const auto to_wire = [](const std::vector<GroupMember>& members) {
    std::vector<protocol::ViewMember> wire;
    for (const GroupMember& m : members) wire.push_back({m.sender, m.node, m.name});
    return wire;
  };
  Header header;
  header.type = MessageType::kView;
  header.group = view.group;
  header.members = handler_.members();
  header.view_id = view.view_id;
  header.clients = to_wire(view.members);
  header.joined = to_wire(view.joined);
  header.left = to_wire(view.left);
  header.cause = view_cause_name(view.cause);
  if (view.gseq != 0) header.gseq = view.gseq;
  const std::string encoded = protocol::encode_header(header);
  std::vector<std::string> readers;  // sending may forget a client: no iterating clients_ then
  for (const auto& [identity, client] : clients_) {
    if (client.group_views && client.groups.contains(view.group)) readers.push_back(identity);
  }
  for (const std::string& identity : readers) {
    auto client = clients_.find(identity);
    if (client == clients_.end()) continue;
    enqueue(identity, client->second,
            ClientQueue::Message{encoded, nullptr, ClientQueue::Kind::kReply});
  }
}

ClientQueue::Message ClientServer::gap_message(const Gap& gap) {
  Header header;
  header.type = MessageType::kGap;
  header.group = gap.group.value_or(std::string());
  header.reason = gap_reason_name(gap.reason);
  if (gap.kind == Gap::Kind::kStream) {
    header.origin = gap.origin;
    header.mode = gap.mode;
    header.from_seq = gap.from;
    if (gap.to != Gap::kOpenEnd) header.to_seq = gap.to;
    return ClientQueue::Message{protocol::encode_header(header), nullptr,
                                ClientQueue::Kind::kReply};
  }
  return total_gap_message(header.group, gap.from, gap.to, header.reason);
}

ClientQueue::Message ClientServer::total_gap_message(const std::string& group,
                                                     std::uint64_t from_gseq, std::uint64_t to_gseq,
                                                     const std::string& reason) {
  Header header;
  header.type = MessageType::kGap;
  header.group = group;
  header.reason = reason;
  header.from_gseq = from_gseq;
  header.to_gseq = to_gseq;
  return ClientQueue::Message{protocol::encode_header(header), nullptr, ClientQueue::Kind::kReply};
}

void ClientServer::announce_gap(const Gap& gap) {
  const ClientQueue::Message message = gap_message(gap);
  std::vector<std::string> readers;  // sending may forget a client: no iterating clients_ then
  for (const auto& [identity, client] : clients_) {
    // A replaying client reads total-order holes from the history, in their place.
    if (gap.kind == Gap::Kind::kTotal && !client.replay_next_gseq.empty()) continue;
    const bool concerned = gap.group ? client.groups.contains(*gap.group) : !client.groups.empty();
    if (concerned) readers.push_back(identity);
  }
  for (const std::string& identity : readers) {
    auto client = clients_.find(identity);
    if (client == clients_.end()) continue;
    enqueue(identity, client->second, message);
  }
}

ClientServerStats ClientServer::stats() const {
  ClientServerStats stats;
  stats.clients = clients_.size();
  stats.deliveries_dropped_total = deliveries_dropped_total_;
  stats.stalled_disconnects_total = stalled_disconnects_total_;
  for (const auto& [identity, client] : clients_) {
    stats.parked_publishes += client.parked.size();
    stats.deliveries_dropped_total += client.queue.dropped();  // not yet reported
    const std::size_t waiting = client.queue.queued_messages();
    stats.backlog_replies += waiting;
    stats.max_backlog_replies = std::max(stats.max_backlog_replies, waiting);
    for (const std::string& group : client.groups) ++stats.group_clients[group];
  }
  return stats;
}

void ClientServer::acknowledge(const Receipt& receipt) {
  auto who = identity_of_.find(receipt.sender);
  if (who == identity_of_.end()) return;  // the client went away
  const std::string identity = who->second;
  Client& client = clients_.at(identity);
  auto pending = client.pending.find(receipt.seq);
  if (pending == client.pending.end()) return;  // already answered (e.g. refused at a full disk)
  const std::uint64_t id = pending->second;
  client.pending.erase(pending);
  if (receipt.error) {
    send(identity, protocol::error_reply(id, receipt.error->code, receipt.error->message));
    return;
  }
  Header reply;
  reply.type = MessageType::kReceipt;
  reply.id = id;
  reply.seq = receipt.seq;
  reply.gseq = receipt.gseq;
  send(identity, reply);
}

void ClientServer::fail_pending_publishes(const Error& error) {
  std::vector<std::string> identities;
  for (const auto& [identity, client] : clients_) {
    if (!client.pending.empty()) identities.push_back(identity);
  }
  for (const std::string& identity : identities) {
    auto client = clients_.find(identity);
    if (client == clients_.end()) continue;
    const auto pending = std::exchange(client->second.pending, {});
    for (const auto& [seq, id] : pending) {
      send(identity, protocol::error_reply(id, error.code, error.message));
    }
  }
}

void ClientServer::send(const std::string& identity, const Header& header) {
  ClientQueue::Message message{protocol::encode_header(header), nullptr, ClientQueue::Kind::kReply};
  auto client = clients_.find(identity);
  if (client != clients_.end()) {
    enqueue(identity, client->second, std::move(message));
  } else {
    // Not a client (an error before hello, a refused hello): sent if ZeroMQ has room, since
    // nothing is kept for a connection that never became a client.
    (void)hand_over(identity, std::move(message), unattached_);
  }
}

void ClientServer::enqueue(const std::string& identity, Client& client,
                           ClientQueue::Message message) {
  ClientQueue& queue = client.queue;
  if (message.kind != ClientQueue::Kind::kReply) {
    client.delivered_payload_bytes += message.payload ? message.payload->size() : 0;
    client.delivered_cost_bytes += ClientQueue::cost_bytes(message);
    // Recent deliveries weigh most: the mix of message sizes may change.
    if (client.delivered_cost_bytes > (std::uint64_t{1} << 32)) {
      client.delivered_payload_bytes /= 2;
      client.delivered_cost_bytes /= 2;
    }
  }
  // In order: a message may go straight to ZeroMQ only when nothing waits before it.
  if (queue.may_go_now(ClientQueue::cost_bytes(message))) {
    switch (hand_over(identity, message, queue)) {
      case HandOver::kSent:
        return;
      case HandOver::kGone:
        forget(identity);
        return;
      case HandOver::kNoRoom:
        break;
    }
  }
  switch (queue.push(std::move(message))) {
    case ClientQueue::Admission::kQueued:
    case ClientQueue::Admission::kDropped:  // reported by flush(), this round
      return;
    case ClientQueue::Admission::kOverflow:
      disconnect(identity,
                 "this client fell more than " + mib_text(queue.bound_bytes()) +
                     " behind (--client-queue-bytes) on messages that may not be dropped; "
                     "connect again",
                 /*keep_queued=*/false);
      return;
  }
}

ClientServer::HandOver ClientServer::pump(const std::string& identity, Client& client) {
  while (!client.queue.empty() && client.queue.front_may_go()) {
    const HandOver result = hand_over(identity, client.queue.front(), client.queue);
    if (result != HandOver::kSent) return result;
    (void)client.queue.pop_front();
  }
  return HandOver::kSent;
}

ClientServer::HandOver ClientServer::hand_over(const std::string& identity,
                                               ClientQueue::Message message,
                                               ClientQueue& accounting) {
  try {
    if (!socket_->send(zmq::buffer(identity),
                       zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return HandOver::kNoRoom;  // the client's ZeroMQ queue is full (ZMQ_SNDHWM)
    }
    const bool has_payload = message.payload != nullptr;
    if (has_payload) socket_->send(zmq::buffer(message.header), zmq::send_flags::sndmore);
    // The last frame goes without a copy; ZeroMQ releases its ticket once it has written it.
    ClientQueue::Ticket* ticket = accounting.make_ticket(std::move(message));
    const std::string& last = has_payload ? *ticket->payload : ticket->header;
    zmq::message_t frame(const_cast<char*>(last.data()), last.size(), &ClientQueue::release_ticket,
                         ticket);
    socket_->send(frame, zmq::send_flags::none);
    return HandOver::kSent;
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) return HandOver::kGone;  // the client disconnected
    return HandOver::kNoRoom;
  }
}

void ClientServer::report_dropped(const std::string& identity, Client& client) {
  std::vector<ClientQueue::DroppedRun>& runs = client.queue.dropped_runs();
  // Not behind the queue: the client learns of the loss as soon as it reads. That is still its
  // place in the best-effort streams: the queue drops the oldest best-effort deliveries first,
  // so every one queued after the dropped ones is newer, and every one before them is already
  // with ZeroMQ.
  std::size_t reported = 0;
  HandOver result = HandOver::kSent;
  for (; reported < runs.size(); ++reported) {
    const ClientQueue::DroppedRun& run = runs[reported];
    Header gap;
    gap.type = MessageType::kGap;
    gap.group = run.group;
    gap.reason = kSlowSubscriberReason;
    gap.origin = run.origin;
    gap.mode = Mode::kBestEffort;
    gap.from_seq = run.from_seq;
    gap.to_seq = run.to_seq;
    result = hand_over(
        identity,
        ClientQueue::Message{protocol::encode_header(gap), nullptr, ClientQueue::Kind::kReply},
        client.queue);
    if (result != HandOver::kSent) break;
  }
  runs.erase(runs.begin(), runs.begin() + static_cast<std::ptrdiff_t>(reported));
  if (runs.empty()) deliveries_dropped_total_ += client.queue.take_dropped();
  if (result == HandOver::kGone) forget(identity);
}

void ClientServer::disconnect_stalled() {
  const auto now = Clock::now();
  // Rounds come at least every tick: a longer pause means this daemon itself did not run
  // (SIGSTOP, a paused VM, a stalled disk), and its clients could not read meanwhile either
  // (GapEvents.ADaemonStoppedPastThePeerTimeoutIsToldOfEverythingItSkipped).
  const bool daemon_paused = now - last_stall_check_ > kDaemonPause;
  last_stall_check_ = now;
  std::vector<std::string> stalled;  // disconnecting changes clients_: no iterating it then
  for (auto& [identity, client] : clients_) {
    const std::uint64_t released = client.queue.released_messages();
    if (daemon_paused || client.queue.held_bytes() == 0 || released != client.released_seen) {
      client.released_seen = released;
      client.progress_at = now;
      continue;
    }
    if (options_.stalled_subscriber.count() > 0 &&
        now - client.progress_at >= options_.stalled_subscriber) {
      stalled.push_back(identity);
    }
  }
  for (const std::string& identity : stalled) {
    auto client = clients_.find(identity);
    if (client == clients_.end()) continue;
    const std::uint64_t held = client->second.queue.held_bytes();
    ++stalled_disconnects_total_;
    disconnect(identity,
               "this client read nothing of the " + std::to_string(held) +
                   " bytes waiting for it for " + ms_text(options_.stalled_subscriber) +
                   " (--stalled-subscriber-ms); a subscriber that stops reading would hold the "
                   "publishers of its groups back; connect again",
               /*keep_queued=*/false);
  }
}

void ClientServer::report_rooms() {
  if (!options_.flow_control) return;
  std::map<std::string, std::uint64_t> rooms;
  for (const auto& [identity, client] : clients_) {
    if (client.groups.empty()) continue;
    // A quarter of the bound is kept back: for replies and events, which share the queue, and
    // for what publishers had sent before they heard this room (flow_control.hpp).
    const std::uint64_t bound = client.queue.bound_bytes();
    const std::uint64_t usable = bound - bound / 4;
    const std::uint64_t held = client.queue.held_bytes();
    std::uint64_t free = usable > held ? usable - held : 0;
    // Its groups share its queue.
    free /= client.groups.size();
    // The node counts payload bytes; the queue also pays for headers and bookkeeping.
    if (client.delivered_cost_bytes > 0) {
      free =
          static_cast<std::uint64_t>(static_cast<unsigned __int128>(free) *
                                     client.delivered_payload_bytes / client.delivered_cost_bytes);
    }
    for (const std::string& group : client.groups) {
      auto [it, inserted] = rooms.try_emplace(group, free);
      if (!inserted) it->second = std::min(it->second, free);
    }
  }
  handler_.set_delivery_rooms(std::move(rooms));
}

void ClientServer::disconnect(const std::string& identity, const std::string& reason,
                              bool keep_queued) {
  auto node = clients_.extract(identity);
  if (node.empty()) return;
  Client& client = node.mapped();
  log_("disconnected client " + std::to_string(client.sender) + ": " + reason);
  handler_.close_sender(client.sender);
  identity_of_.erase(client.sender);
  client.groups.clear();
  client.pending.clear();
  client.parked.clear();  // it is gone: nobody to answer
  client.parked_bytes = 0;
  if (!keep_queued) client.queue.discard();
  // id 0 and `unavailable`: the protocol's "this connection is closed; you are forgotten".
  ClientQueue::Message notice{protocol::encode_header(protocol::error_reply(
                                  0, ErrorCode::kUnavailable, "disconnected: " + reason)),
                              nullptr, ClientQueue::Kind::kReply};
  if (client.queue.empty()) {
    // Small, and the last message: it need not wait for room in the byte budget.
    const HandOver result = hand_over(identity, notice, client.queue);
    if (result == HandOver::kGone) return;
    if (result == HandOver::kSent) {
      closing_.erase(identity);
      if (client.queue.in_zmq_bytes() > 0) closing_.insert(std::move(node));
      return;
    }
  }
  client.queue.push_unbounded(std::move(notice));
  closing_.erase(identity);
  auto it = closing_.insert(std::move(node)).position;
  if (pump(identity, it->second) == HandOver::kGone) closing_.erase(it);
}

void ClientServer::disconnect_all(const std::string& reason) {
  std::vector<std::string> identities;
  for (const auto& [identity, client] : clients_) identities.push_back(identity);
  for (const std::string& identity : identities) disconnect(identity, reason, true);
}

void ClientServer::flush() {
  guard_->poll_events([this](int fd) { on_connection_closed(fd); });
  pump_replays();
  std::vector<std::string> busy;
  for (const auto& [identity, client] : clients_) {
    if (!client.queue.empty() || client.queue.dropped() > 0) busy.push_back(identity);
  }
  for (const std::string& identity : busy) {
    auto client = clients_.find(identity);
    if (client == clients_.end()) continue;
    report_dropped(identity, client->second);
    client = clients_.find(identity);
    if (client == clients_.end()) continue;
    if (pump(identity, client->second) == HandOver::kGone) forget(identity);
  }
  for (auto it = closing_.begin(); it != closing_.end();) {
    const HandOver result = pump(it->first, it->second);
    const bool done = it->second.queue.empty() && it->second.queue.in_zmq_bytes() == 0;
    it = (result == HandOver::kGone || done) ? closing_.erase(it) : std::next(it);
  }
  disconnect_stalled();
  report_rooms();
}

bool ClientServer::drain(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    flush();
    bool held = unattached_.in_zmq_bytes() > 0 || !closing_.empty();
    for (const auto& [identity, client] : clients_) {
      held = held || client.queue.held_bytes() > 0;
    }
    if (!held) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void ClientServer::on_connection_closed(int fd) {
  std::vector<std::string> gone;
  for (const auto& [identity, client] : clients_) {
    if (client.fd == fd) gone.push_back(identity);
  }
  for (const std::string& identity : gone) forget(identity);
  std::erase_if(closing_, [fd](const auto& entry) { return entry.second.fd == fd; });
}

void ClientServer::forget(const std::string& identity) {
  std::erase_if(pending_admin_, [&](const auto& item) { return item.second.first == identity; });
  auto it = clients_.find(identity);
  if (it == clients_.end()) return;
  handler_.close_sender(it->second.sender);
  identity_of_.erase(it->second.sender);
  clients_.erase(it);
}

}  // namespace bcast::io
