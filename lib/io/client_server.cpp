#include "io/client_server.hpp"

#include <unistd.h>

#include <algorithm>
#include <zmq.hpp>

namespace bcast::io {

using protocol::Header;
using protocol::MessageType;

ClientServer::ClientServer(zmq::context_t& context, ClientHandler& handler,
                           const ClientServerOptions& options)
    : context_(context), handler_(handler), options_(options) {}

ClientServer::~ClientServer() = default;

Result<void> ClientServer::start(const std::string& path) {
  try {
    socket_ = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::router);
    socket_->set(zmq::sockopt::linger, 0);
    socket_->set(zmq::sockopt::sndhwm, options_.send_queue);
    socket_->set(zmq::sockopt::router_mandatory, 1);
    // Larger than any valid request, so an oversized message still gets a clear error reply;
    // only an absurd frame closes the connection.
    const std::uint64_t max_frame = 2 * handler_.max_message_bytes() + options_.max_header_bytes;
    socket_->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(max_frame));
    ::unlink(path.c_str());  // a stale socket file of a dead daemon would make bind fail
    socket_->bind("ipc://" + path);
  } catch (const zmq::error_t& e) {
    return make_error(ErrorCode::kIo,
                      "cannot bind the client socket ipc://" + path + ": " + e.what());
  }
  return {};
}

zmq::socket_t& ClientServer::socket() { return *socket_; }

void ClientServer::on_readable() {
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
    handle(identity, frames);
  }
}

void ClientServer::handle(const std::string& identity, std::vector<zmq::message_t>& frames) {
  // Every refusal answers the request by its id whenever that much can be read, so a client
  // waiting on the id learns its fate.
  const auto refuse = [&](ErrorCode code, const std::string& message) {
    const std::uint64_t id = protocol::peek_request_id(frames[0].to_string_view());
    send(identity, protocol::error_reply(id, code, message));
  };
  if (frames.size() > 2) {
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
  handle_request(identity, header.value(), frames);
}

std::optional<Error> ClientServer::invalid_group(const std::string& group) const {
  if (!group.empty() && group.size() <= handler_.max_group_bytes()) return std::nullopt;
  return make_error(
      ErrorCode::kInvalidArgument,
      "group name must be 1 to " + std::to_string(handler_.max_group_bytes()) + " bytes");
}

void ClientServer::handle_request(const std::string& identity, const Header& request,
                                  std::vector<zmq::message_t>& frames) {
  auto found = clients_.find(identity);
  if (request.type == MessageType::kHello) {
    if (request.version != protocol::kVersion) {
      // Refused, the connection is not connected, even if an earlier hello had succeeded.
      if (found != clients_.end()) forget(identity);
      Header refusal = protocol::error_reply(request.id, ErrorCode::kProtocol,
                                             "protocol version " + std::to_string(request.version) +
                                                 " is not supported; this daemon speaks " +
                                                 std::to_string(protocol::kVersion));
      refusal.supported_versions = {protocol::kVersion};
      send(identity, refusal);
      return;
    }
    if (found == clients_.end() && clients_.size() >= options_.max_clients) {
      send(identity,
           protocol::error_reply(request.id, ErrorCode::kBusy, "too many clients connected"));
      return;
    }
    if (found != clients_.end()) forget(identity);  // a second hello starts over
    Client& client = clients_[identity];
    client.sender = handler_.open_sender();
    identity_of_[client.sender] = identity;
    Header welcome;
    welcome.type = MessageType::kWelcome;
    welcome.id = request.id;
    welcome.sender = client.sender;
    welcome.node_id = handler_.node_id();
    welcome.max_message_bytes = handler_.max_message_bytes();
    send(identity, welcome);
    return;
  }
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
      reply.type = MessageType::kOk;
      if (request.type == MessageType::kJoin) {
        client.groups.insert(request.group);
      } else {
        client.groups.erase(request.group);
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
  handler_.admin(admin_id,
                 AdminRequest{op->second, request.node_id, request.address, request.learner});
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

void ClientServer::publish(const std::string& identity, Client& client, const Header& request,
                           std::vector<zmq::message_t>& frames) {
  PublishRequest publish;
  publish.sender = client.sender;
  publish.group = request.group;
  publish.mode = request.mode;
  publish.order = request.order;
  publish.payload = std::make_shared<const std::string>(frames.size() > 1 ? frames[1].to_string()
                                                                          : std::string());
  // Registered first: the receipt may be produced before publish() returns.
  const std::uint64_t seq = client.next_seq;
  client.pending[seq] = request.id;
  auto published = handler_.publish(publish);
  if (!published.ok()) {
    client.pending.erase(seq);
    send(identity,
         protocol::error_reply(request.id, published.error().code, published.error().message));
    return;
  }
  client.next_seq = published.value() + 1;
}

void ClientServer::deliver(const Delivery& delivery) {
  Header header;
  header.type = MessageType::kDelivery;
  header.group = delivery.group;
  header.sender = delivery.sender;
  header.seq = delivery.seq;
  header.gseq = delivery.gseq;
  header.mode = delivery.mode;
  header.order = delivery.order;
  static const std::string kEmpty;
  const std::string& payload = delivery.payload ? *delivery.payload : kEmpty;
  const std::string encoded = protocol::encode_header(header);  // once for every reader
  std::vector<std::string> readers;  // sending may forget a client: no iterating clients_ then
  for (const auto& [identity, client] : clients_) {
    if (client.groups.contains(delivery.group)) readers.push_back(identity);
  }
  for (const std::string& identity : readers) {
    // Deliveries lost to a full queue are reported before the next one gets through.
    const bool sent = report_dropped(identity) && try_send(identity, encoded, &payload);
    if (!sent && clients_.contains(identity)) {
      ++clients_[identity].dropped;
      ++deliveries_dropped_total_;
    }
  }
}

ClientServerStats ClientServer::stats() const {
  ClientServerStats stats;
  stats.clients = clients_.size();
  stats.deliveries_dropped_total = deliveries_dropped_total_;
  for (const auto& [identity, client] : clients_) {
    stats.backlog_replies += client.backlog.size();
    stats.max_backlog_replies = std::max(stats.max_backlog_replies, client.backlog.size());
    for (const std::string& group : client.groups) ++stats.group_clients[group];
  }
  return stats;
}

bool ClientServer::report_dropped(const std::string& identity) {
  auto it = clients_.find(identity);
  if (it == clients_.end()) return false;
  const std::uint64_t dropped = it->second.dropped;
  if (dropped == 0) return true;
  if (!send(identity, protocol::error_reply(0, ErrorCode::kBusy,
                                            std::to_string(dropped) +
                                                " deliveries dropped: this client reads too "
                                                "slowly"))) {
    return false;
  }
  clients_.at(identity).dropped -= dropped;
  return true;
}

void ClientServer::acknowledge(const Receipt& receipt) {
  auto who = identity_of_.find(receipt.sender);
  if (who == identity_of_.end()) return;  // the client went away
  const std::string identity = who->second;
  Client& client = clients_.at(identity);
  auto pending = client.pending.find(receipt.seq);
  if (pending == client.pending.end()) return;
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

bool ClientServer::send(const std::string& identity, const Header& header,
                        const std::string* payload) {
  auto client = clients_.find(identity);
  std::string encoded = protocol::encode_header(header);
  const bool droppable = header.type == MessageType::kDelivery ||
                         (header.type == MessageType::kError && header.id == 0);
  if (client == clients_.end() || droppable) return try_send(identity, encoded, payload);
  // Replies are never dropped: behind a full queue they wait, in order, for the next round.
  Client& c = client->second;
  if (c.backlog.empty() && try_send(identity, encoded, payload)) return true;
  if (!clients_.contains(identity)) return false;  // it went away
  if (c.backlog.size() >= options_.max_backlog) {
    forget(identity);  // it has not read for a long time
    return false;
  }
  c.backlog.push_back(Reply{std::move(encoded), payload ? std::optional(*payload) : std::nullopt});
  return true;
}

bool ClientServer::try_send(const std::string& identity, const std::string& encoded,
                            const std::string* payload) {
  try {
    if (!socket_->send(zmq::buffer(identity),
                       zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return false;  // the client's queue is full
    }
    socket_->send(zmq::buffer(encoded), payload ? zmq::send_flags::sndmore : zmq::send_flags::none);
    if (payload) socket_->send(zmq::buffer(*payload), zmq::send_flags::none);
    return true;
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) forget(identity);  // the client disconnected
    return false;
  }
}

void ClientServer::flush_backlogs() {
  std::vector<std::string> waiting;
  std::vector<std::string> dropped;
  for (const auto& [identity, client] : clients_) {
    if (!client.backlog.empty()) waiting.push_back(identity);
    if (client.dropped > 0) dropped.push_back(identity);
  }
  // Drops are reported as soon as there is room, not only before a next delivery: after the
  // last one of a burst there may be none.
  for (const std::string& identity : dropped) (void)report_dropped(identity);
  for (const std::string& identity : waiting) {
    for (;;) {
      auto client = clients_.find(identity);
      if (client == clients_.end() || client->second.backlog.empty()) break;
      const Reply& next = client->second.backlog.front();
      if (!try_send(identity, next.header, next.payload ? &*next.payload : nullptr)) break;
      clients_.at(identity).backlog.pop_front();
    }
  }
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
