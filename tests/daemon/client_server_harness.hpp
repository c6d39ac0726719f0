// A ClientServer served in the test's own thread over a real ipc socket, read by raw protocol
// clients (docs/protocol.md): the fixture of the client server's fan-out tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "codec/client_protocol.hpp"
#include "io/client_server.hpp"

namespace bcast::io::testing {

using namespace std::chrono_literals;
using protocol::Header;
using protocol::MessageType;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "bcast-clients-XXXXXX");
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_; }

 private:
  std::string path_;
};

// Serves clients of node 1. Publishes are refused unless `accept_publishes`; then each is
// recorded and given the next seq (its receipt is the test's to send). `credit` is what flow
// control answers; the rooms the server reports are kept.
class Handler final : public ClientHandler {
 public:
  SenderId open_sender() override { return make_sender_id(1, 1, ++clients_); }
  void close_sender(SenderId) override {}
  Result<std::uint64_t> publish(const PublishRequest& request) override {
    if (!accept_publishes) return make_error(ErrorCode::kUnavailable, "not in this test");
    published.push_back(*request.payload);
    return ++seqs_[request.sender];
  }
  bool has_credit(const PublishRequest&) const override { return credit; }
  void set_delivery_rooms(std::map<std::string, std::uint64_t> free_bytes_by_group) override {
    rooms = std::move(free_bytes_by_group);
  }
  protocol::Header status() override { return {}; }
  std::vector<NodeId> members() override { return {1, 2, 3}; }
  NodeId node_id() const override { return 1; }
  std::uint64_t max_message_bytes() const override { return 1 << 20; }
  std::size_t max_group_bytes() const override { return 255; }
  protocol::Header cluster_list() override { return {}; }
  void admin(std::uint64_t, const AdminRequest&) override {}
  HistoryStore* history() override { return history_store; }

  HistoryStore* history_store = nullptr;  // what replays read (none by default)
  bool accept_publishes = false;
  bool credit = true;
  std::vector<std::string> published;          // payloads, in publish order
  std::map<std::string, std::uint64_t> rooms;  // the last report

 private:
  std::uint32_t clients_ = 0;
  std::map<SenderId, std::uint64_t> seqs_;
};

class ClientServerTest : public ::testing::Test {
 protected:
  explicit ClientServerTest(const ClientServerOptions& options = {})
      : server_(context_, handler_, options) {
    EXPECT_TRUE(server_.start(dir_.path() + "/bcastd.sock").ok());
  }

  // A raw client (docs/protocol.md): says hello, joins `groups`, and is then read by `drain`.
  // A `slow` one takes at most one message off the connection until it reads (ZMQ_RCVHWM 1), so
  // what it does not read stays with the daemon.
  std::unique_ptr<zmq::socket_t> connect(const std::vector<std::string>& groups,
                                         bool slow = false) {
    auto client = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
    client->set(zmq::sockopt::linger, 0);
    if (slow) {
      client->set(zmq::sockopt::rcvhwm, 1);
      client->set(zmq::sockopt::rcvbuf, 64 << 10);
    }
    client->connect("ipc://" + dir_.path() + "/bcastd.sock");
    std::uint64_t id = 1;
    request(*client, hello(id++), MessageType::kWelcome);
    for (const std::string& group : groups) {
      Header join;
      join.type = MessageType::kJoin;
      join.id = id++;
      join.group = group;
      request(*client, join, MessageType::kOk);
      EXPECT_EQ(next(*client).type, MessageType::kView);
    }
    return client;
  }

  static Header hello(std::uint64_t id) {
    Header h;
    h.type = MessageType::kHello;
    h.id = id;
    return h;
  }

  void request(zmq::socket_t& client, const Header& header, MessageType expected) {
    client.send(zmq::buffer(protocol::encode_header(header)), zmq::send_flags::none);
    EXPECT_EQ(next(client).type, expected);
  }

  // The next message for `client`, serving the socket meanwhile (one thread: the test is the
  // daemon's loop). Fails the test after 5 s.
  Header next(zmq::socket_t& client) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      server_.on_readable();
      server_.flush();
      zmq::message_t frame;
      if (client.recv(frame, zmq::recv_flags::dontwait)) {
        const bool more = frame.more();
        auto header = protocol::decode_header(frame.to_string_view());
        if (more) {
          zmq::message_t payload;
          (void)client.recv(payload, zmq::recv_flags::none);
        }
        EXPECT_TRUE(header.ok()) << header.error().message;
        return header.ok() ? header.value() : Header{};
      }
      zmq::pollitem_t items[] = {{server_.socket().handle(), 0, ZMQ_POLLIN, 0},
                                 {client.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 2, 10ms);
    }
    ADD_FAILURE() << "nothing arrived within 5 s";
    return Header{};
  }

  // Everything that arrives for `client` until it has been quiet for 200 ms.
  std::vector<Header> drain(zmq::socket_t& client) {
    std::vector<Header> got;
    for (int idle = 0; idle < 20; ++idle) {
      server_.on_readable();
      server_.flush();
      zmq::message_t frame;
      if (!client.recv(frame, zmq::recv_flags::dontwait)) {
        zmq::pollitem_t item{client.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, 10ms);
        continue;
      }
      idle = 0;
      if (frame.more()) {
        zmq::message_t payload;
        (void)client.recv(payload, zmq::recv_flags::none);
      }
      auto header = protocol::decode_header(frame.to_string_view());
      EXPECT_TRUE(header.ok()) << header.error().message;
      if (header.ok()) got.push_back(header.value());
    }
    return got;
  }

  TempDir dir_;
  zmq::context_t context_;
  Handler handler_;
  ClientServer server_;
};

}  // namespace bcast::io::testing
