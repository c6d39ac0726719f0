// bcast::Client against a fake daemon: a ZeroMQ ROUTER on ipc:// in a temporary directory,
// served by a thread of the test that answers the way docs/protocol.md says a daemon does.
#include "bcast/client.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "codec/client_protocol.hpp"

namespace bcast {
namespace {

using namespace std::chrono_literals;
using protocol::Header;
using protocol::MessageType;

constexpr SenderId kSender = (SenderId{1} << 48) | (SenderId{1} << 32) | 1;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "bcast-client-XXXXXX");
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_; }

 private:
  std::string path_;
};

// Answers hello, join, leave, status and publish like a daemon. Publishes get a receipt with the
// next seq (and a gseq for total order) unless `hold` is set; `refuse_every` > 0 refuses every
// n-th publish as busy instead.
class FakeDaemon {
 public:
  explicit FakeDaemon(const std::string& path) : socket_(context_, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("ipc://" + path);
    thread_ = std::thread([this] { run(); });
  }
  ~FakeDaemon() {
    stop_ = true;
    thread_.join();
  }

  std::atomic<bool> hold{false};
  std::atomic<int> refuse_every{0};
  std::atomic<bool> refuse_hello{false};
  std::atomic<bool> send_garbage_on_join{false};
  // Before the join's delivery: a stream gap with no end, then a total-order gap of the group.
  std::atomic<bool> send_gaps_on_join{false};
  // After the join's delivery: the daemon's "you are disconnected" event.
  std::atomic<bool> disconnect_after_join{false};

  std::vector<std::string> payloads() {
    std::lock_guard lock(mutex_);
    return payloads_;
  }
  std::size_t publishes() {
    std::lock_guard lock(mutex_);
    return payloads_.size();
  }

 private:
  void run() {
    while (!stop_) {
      zmq_pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      zmq_poll(&item, 1, 5);
      if (!hold) release();
      std::vector<zmq::message_t> frames;
      zmq::message_t frame;
      if (!socket_.recv(frame, zmq::recv_flags::dontwait)) continue;
      bool more = frame.more();
      frames.push_back(std::move(frame));
      while (more) {
        zmq::message_t next;
        (void)socket_.recv(next, zmq::recv_flags::none);
        more = next.more();
        frames.push_back(std::move(next));
      }
      handle(frames);
    }
  }

  void send(const std::string& identity, const Header& header,
            const std::string* payload = nullptr) {
    socket_.send(zmq::buffer(identity), zmq::send_flags::sndmore);
    const std::string encoded = protocol::encode_header(header);
    socket_.send(zmq::buffer(encoded), payload ? zmq::send_flags::sndmore : zmq::send_flags::none);
    if (payload) socket_.send(zmq::buffer(*payload), zmq::send_flags::none);
  }

  void handle(std::vector<zmq::message_t>& frames) {
    const std::string identity = frames[0].to_string();
    auto decoded = protocol::decode_header(frames[1].to_string_view());
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    const Header& request = decoded.value();
    Header reply;
    reply.id = request.id;
    switch (request.type) {
      case MessageType::kHello:
        if (refuse_hello) {
          send(identity,
               protocol::error_reply(request.id, ErrorCode::kBusy, "too many clients connected"));
          return;
        }
        reply.type = MessageType::kWelcome;
        reply.sender = kSender;
        reply.node_id = 1;
        reply.max_message_bytes = 1000;
        send(identity, reply);
        return;
      case MessageType::kJoin: {
        reply.type = MessageType::kOk;
        send(identity, reply);
        Header view;
        view.type = MessageType::kView;
        view.group = request.group;
        view.members = {1, 2, 3};
        send(identity, view);
        if (send_garbage_on_join) {
          socket_.send(zmq::buffer(identity), zmq::send_flags::sndmore);
          socket_.send(zmq::str_buffer("\x93\x01\x02\x03"), zmq::send_flags::none);
        }
        if (send_gaps_on_join) {
          Header stream;
          stream.type = MessageType::kGap;
          stream.reason = "excluded";
          stream.origin = kSender >> 32;
          stream.mode = Mode::kGossip;
          stream.from_seq = 4;
          send(identity, stream);
          Header total;
          total.type = MessageType::kGap;
          total.reason = "snapshot";
          total.group = request.group;
          total.from_gseq = 2;
          total.to_gseq = 6;
          send(identity, total);
        }
        Header delivery;
        delivery.type = MessageType::kDelivery;
        delivery.group = request.group;
        delivery.sender = kSender + 1;
        delivery.seq = 1;
        delivery.gseq = 7;
        delivery.mode = Mode::kReliable;
        delivery.order = Order::kTotal;
        const std::string payload("bin\0ary", 7);
        send(identity, delivery, &payload);
        if (disconnect_after_join) {
          send(identity, protocol::error_reply(0, ErrorCode::kUnavailable,
                                               "disconnected: this client fell too far behind"));
        }
        return;
      }
      case MessageType::kLeave:
        reply.type = MessageType::kOk;
        send(identity, reply);
        return;
      case MessageType::kStatus:
        reply.type = MessageType::kStatusReply;
        reply.node_id = 1;
        reply.role = "leader";
        reply.term = 3;
        reply.leader = 1;
        reply.members = {1, 2, 3};
        reply.commit_index = 12;
        send(identity, reply);
        return;
      case MessageType::kPublish: {
        std::lock_guard lock(mutex_);
        payloads_.push_back(frames.size() > 2 ? frames[2].to_string() : std::string());
        const int every = refuse_every;
        if (every > 0 && payloads_.size() % every == 0) {
          send(identity, protocol::error_reply(request.id, ErrorCode::kBusy, "queue full"));
          return;
        }
        held_.push_back({identity, request, ++seq_});
        return;
      }
      default:
        send(identity, protocol::error_reply(request.id, ErrorCode::kProtocol, "unexpected"));
    }
  }

  struct Held {
    std::string identity;
    Header request;
    std::uint64_t seq;
  };

  void release() {
    std::vector<Held> held;
    {
      std::lock_guard lock(mutex_);
      held.swap(held_);
    }
    for (const Held& h : held) {
      Header receipt;
      receipt.type = MessageType::kReceipt;
      receipt.id = h.request.id;
      receipt.seq = h.seq;
      if (h.request.order == Order::kTotal) receipt.gseq = 100 + h.seq;
      send(h.identity, receipt);
    }
  }

  zmq::context_t context_;
  zmq::socket_t socket_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::string> payloads_;
  std::vector<Held> held_;
  std::uint64_t seq_ = 0;
};

class ClientTest : public ::testing::Test {
 protected:
  std::string socket_path() const { return dir_.path() + "/bcastd.sock"; }
  ClientOptions options() const {
    ClientOptions o;
    o.socket_path = socket_path();
    o.client_name = "client_test";
    o.request_timeout = 2000ms;
    return o;
  }
  Client connect(ClientOptions o) {
    auto client = Client::connect(o);
    EXPECT_TRUE(client.ok()) << client.error().message;
    return std::move(client).value();
  }
  // The next event, which the test expects to be there within a second.
  Event next(Client& client) {
    auto event = client.next_event(1000ms);
    EXPECT_TRUE(event.ok()) << event.error().message;
    EXPECT_TRUE(event.value().has_value()) << "no event within a second";
    return event.ok() && event.value() ? *event.value() : Event(RequestError{});
  }

  TempDir dir_;
};

TEST_F(ClientTest, ConnectReceivesTheWelcome) {
  FakeDaemon daemon(socket_path());
  Client client = connect(options());
  EXPECT_EQ(client.sender(), kSender);
  EXPECT_EQ(client.node_id(), 1u);
  EXPECT_EQ(client.max_message_bytes(), 1000u);
  EXPECT_GE(client.fd(), 0);
  EXPECT_EQ(client.in_flight(), 0u);
}

// [robustness] item 9: with nothing listening, connect fails at once instead of waiting out its
// timeout (5 s here), whether the socket file is missing or left behind by a stopped daemon.
TEST_F(ClientTest, ConnectWithoutADaemonFailsAtOnce) {
  ClientOptions o = options();
  o.request_timeout = 5000ms;
  auto start = std::chrono::steady_clock::now();
  auto client = Client::connect(o);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(client.error().message.find("no bcastd is listening"), std::string::npos)
      << client.error().message;
  EXPECT_NE(client.error().message.find("does not exist"), std::string::npos)
      << client.error().message;
  EXPECT_LT(took, 1s);

  // A socket file that nobody listens on any more.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string path = socket_path();
  ASSERT_LT(path.size(), sizeof address.sun_path);
  std::memcpy(address.sun_path, path.data(), path.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ::close(fd);  // the file stays
  ASSERT_TRUE(std::filesystem::exists(path));
  start = std::chrono::steady_clock::now();
  client = Client::connect(o);
  took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(client.error().message.find("connection refused"), std::string::npos)
      << client.error().message;
  EXPECT_LT(took, 1s);
}

// docs/protocol.md: an `error` event (id 0) with `unavailable` means the daemon closed this
// client. The event comes first, with the daemon's reason; then every call fails, saying why.
TEST_F(ClientTest, DisconnectEventEndsTheClient) {
  FakeDaemon daemon(socket_path());
  daemon.disconnect_after_join = true;
  auto client = Client::connect(options());
  ASSERT_TRUE(client.ok()) << client.error().message;
  ASSERT_TRUE(client.value().join("g").ok());
  std::vector<Event> events;
  for (;;) {
    auto event = client.value().next_event(2000ms);
    if (!event.ok()) {
      EXPECT_EQ(event.error().code, ErrorCode::kUnavailable);
      EXPECT_NE(event.error().message.find("fell too far behind"), std::string::npos)
          << event.error().message;
      break;
    }
    ASSERT_TRUE(event.value().has_value()) << "no disconnect within 2 s";
    events.push_back(std::move(*event.value()));
  }
  ASSERT_EQ(events.size(), 3u);  // the view, the delivery, the disconnect event
  const auto* notice = std::get_if<RequestError>(&events.back());
  ASSERT_NE(notice, nullptr);
  EXPECT_EQ(notice->request_id, 0u);
  EXPECT_EQ(notice->error.code, ErrorCode::kUnavailable);
  auto publish = client.value().publish("g", Mode::kReliable, Order::kFifo, "x");
  ASSERT_FALSE(publish.ok());
  EXPECT_EQ(publish.error().code, ErrorCode::kUnavailable);
}

TEST_F(ClientTest, ConnectWithoutAnAnswerFailsClearlyWithinTheTimeout) {
  // Something listens but never answers: the timeout applies.
  zmq::context_t context(1);
  zmq::socket_t silent(context, zmq::socket_type::router);
  silent.set(zmq::sockopt::linger, 0);
  silent.bind("ipc://" + socket_path());
  ClientOptions o = options();
  o.request_timeout = 200ms;
  const auto start = std::chrono::steady_clock::now();
  auto client = Client::connect(o);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(client.error().message.find("no bcastd answered"), std::string::npos)
      << client.error().message;
  EXPECT_LT(took, 2s);
}

TEST_F(ClientTest, ConnectReportsARefusal) {
  FakeDaemon daemon(socket_path());
  daemon.refuse_hello = true;
  auto client = Client::connect(options());
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code, ErrorCode::kBusy);
  EXPECT_NE(client.error().message.find("too many clients"), std::string::npos)
      << client.error().message;
}

TEST_F(ClientTest, BadOptionsAreRefused) {
  ClientOptions o = options();
  o.socket_path.clear();
  EXPECT_EQ(Client::connect(o).error().code, ErrorCode::kInvalidArgument);
  o = options();
  o.max_in_flight = 0;
  EXPECT_EQ(Client::connect(o).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(ClientTest, JoinDeliversViewAndMessagesAsEvents) {
  FakeDaemon daemon(socket_path());
  Client client = connect(options());
  ASSERT_TRUE(client.join("chat").ok());

  Event first = next(client);
  ASSERT_TRUE(std::holds_alternative<View>(first));
  EXPECT_EQ(std::get<View>(first).group, "chat");
  EXPECT_EQ(std::get<View>(first).members, (std::vector<NodeId>{1, 2, 3}));

  Event second = next(client);
  ASSERT_TRUE(std::holds_alternative<Delivery>(second));
  const Delivery& d = std::get<Delivery>(second);
  EXPECT_EQ(d.group, "chat");
  EXPECT_EQ(d.sender, kSender + 1);
  EXPECT_EQ(d.seq, 1u);
  EXPECT_EQ(d.gseq, std::optional<std::uint64_t>(7));
  EXPECT_EQ(d.mode, Mode::kReliable);
  EXPECT_EQ(d.order, Order::kTotal);
  EXPECT_EQ(d.payload, std::string("bin\0ary", 7));

  ASSERT_TRUE(client.leave("chat").ok());
  auto none = client.next_event(0ms);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none.value().has_value());
}

TEST_F(ClientTest, StatusReturnsTheDaemonsView) {
  FakeDaemon daemon(socket_path());
  Client client = connect(options());
  auto status = client.status();
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(status.value().node_id, 1u);
  EXPECT_EQ(status.value().role, "leader");
  EXPECT_EQ(status.value().term, 3u);
  EXPECT_EQ(status.value().leader, std::optional<NodeId>(1));
  EXPECT_EQ(status.value().members, (std::vector<NodeId>{1, 2, 3}));
  EXPECT_EQ(status.value().commit_index, 12u);
}

TEST_F(ClientTest, PublishesArePipelinedAndEveryOneGetsItsReceipt) {
  FakeDaemon daemon(socket_path());
  ClientOptions o = options();
  o.max_in_flight = 8;
  Client client = connect(o);
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 100; ++i) {
    auto id = client.publish("g", Mode::kReliable, Order::kFifo, "m" + std::to_string(i));
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_LE(client.in_flight(), 8u);
    ids.push_back(id.value());
  }
  std::vector<std::uint64_t> receipted;
  std::vector<std::uint64_t> seqs;
  while (receipted.size() < ids.size()) {
    Event event = next(client);
    ASSERT_TRUE(std::holds_alternative<Receipt>(event));
    receipted.push_back(std::get<Receipt>(event).request_id);
    seqs.push_back(std::get<Receipt>(event).seq);
    EXPECT_FALSE(std::get<Receipt>(event).gseq.has_value());
  }
  EXPECT_EQ(receipted, ids);
  for (std::size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i + 1);
  EXPECT_EQ(client.in_flight(), 0u);
  const auto payloads = daemon.payloads();
  ASSERT_EQ(payloads.size(), 100u);
  EXPECT_EQ(payloads[42], "m42");
}

TEST_F(ClientTest, AFullWindowWaitsForReceiptsThenTimesOut) {
  FakeDaemon daemon(socket_path());
  daemon.hold = true;
  ClientOptions o = options();
  o.max_in_flight = 3;
  o.publish_window_timeout = 200ms;
  Client client = connect(o);
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(client.publish("g", Mode::kGossip, Order::kNone, "x").ok());
    EXPECT_LT(std::chrono::steady_clock::now() - start, 100ms) << "publish did not pipeline";
  }
  const auto start = std::chrono::steady_clock::now();
  auto blocked = client.publish("g", Mode::kGossip, Order::kNone, "x");
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.error().code, ErrorCode::kTimeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  EXPECT_EQ(client.in_flight(), 3u);

  // Receipts open the window again.
  daemon.hold = false;
  auto id = client.publish("g", Mode::kGossip, Order::kNone, "y");
  ASSERT_TRUE(id.ok()) << id.error().message;
  int receipts = 0;
  while (receipts < 4) {
    Event event = next(client);
    ASSERT_TRUE(std::holds_alternative<Receipt>(event));
    ++receipts;
  }
}

TEST_F(ClientTest, BusyRefusalsAreSurfacedNotDropped) {
  FakeDaemon daemon(socket_path());
  daemon.refuse_every = 3;
  Client client = connect(options());
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 9; ++i) {
    ids.push_back(client.publish("g", Mode::kReliable, Order::kNone, "x").value());
  }
  std::vector<std::uint64_t> refused;
  int receipts = 0;
  while (receipts + refused.size() < 9) {
    Event event = next(client);
    if (auto* error = std::get_if<RequestError>(&event)) {
      EXPECT_EQ(error->error.code, ErrorCode::kBusy);
      refused.push_back(error->request_id);
    } else {
      ASSERT_TRUE(std::holds_alternative<Receipt>(event));
      ++receipts;
    }
  }
  std::sort(refused.begin(), refused.end());
  EXPECT_EQ(refused, (std::vector<std::uint64_t>{ids[2], ids[5], ids[8]}));
  EXPECT_EQ(client.in_flight(), 0u);
}

TEST_F(ClientTest, PublishAndWaitReturnsTheReceipt) {
  FakeDaemon daemon(socket_path());
  Client client = connect(options());
  auto receipt = client.publish_and_wait("g", Mode::kReliable, Order::kTotal, "total");
  ASSERT_TRUE(receipt.ok()) << receipt.error().message;
  EXPECT_EQ(receipt.value().seq, 1u);
  EXPECT_EQ(receipt.value().gseq, std::optional<std::uint64_t>(101));
  // The receipt was returned, not queued as well.
  EXPECT_FALSE(client.has_queued_events());
  EXPECT_EQ(client.in_flight(), 0u);

  daemon.refuse_every = 2;
  auto refused = client.publish_and_wait("g", Mode::kReliable, Order::kTotal, "again");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kBusy);
}

TEST_F(ClientTest, OversizedPayloadIsRefusedBeforeSending) {
  FakeDaemon daemon(socket_path());
  Client client = connect(options());
  auto id = client.publish("g", Mode::kReliable, Order::kNone, std::string(1001, 'x'));
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(client.in_flight(), 0u);
  EXPECT_TRUE(client.publish("g", Mode::kReliable, Order::kNone, std::string(1000, 'x')).ok());
}

TEST_F(ClientTest, AMalformedFrameFromTheDaemonBecomesAnErrorEvent) {
  FakeDaemon daemon(socket_path());
  daemon.send_garbage_on_join = true;
  Client client = connect(options());
  ASSERT_TRUE(client.join("g").ok());
  EXPECT_TRUE(std::holds_alternative<View>(next(client)));
  Event garbage = next(client);
  ASSERT_TRUE(std::holds_alternative<RequestError>(garbage));
  EXPECT_EQ(std::get<RequestError>(garbage).request_id, 0u);
  EXPECT_EQ(std::get<RequestError>(garbage).error.code, ErrorCode::kProtocol);
  // And the connection goes on.
  EXPECT_TRUE(std::holds_alternative<Delivery>(next(client)));
}

TEST_F(ClientTest, GapEventsArriveInTheirPlaceBeforeTheDeliveryAfterThem) {
  FakeDaemon daemon(socket_path());
  daemon.send_gaps_on_join = true;
  Client client = connect(options());
  ASSERT_TRUE(client.join("g").ok());
  EXPECT_TRUE(std::holds_alternative<View>(next(client)));
  Event first = next(client);
  ASSERT_TRUE(std::holds_alternative<Gap>(first));
  const Gap& stream = std::get<Gap>(first);
  EXPECT_EQ(stream.kind, Gap::Kind::kStream);
  EXPECT_EQ(stream.group, "");
  EXPECT_EQ(stream.reason, "excluded");
  EXPECT_EQ(stream.origin, kSender >> 32);
  EXPECT_EQ(stream.mode, Mode::kGossip);
  EXPECT_EQ(stream.from, 4u);
  EXPECT_FALSE(stream.to);  // no end
  Event second = next(client);
  ASSERT_TRUE(std::holds_alternative<Gap>(second));
  const Gap& total = std::get<Gap>(second);
  EXPECT_EQ(total.kind, Gap::Kind::kTotal);
  EXPECT_EQ(total.group, "g");
  EXPECT_EQ(total.reason, "snapshot");
  EXPECT_EQ(total.from, 2u);
  EXPECT_EQ(total.to, 6u);
  EXPECT_TRUE(std::holds_alternative<Delivery>(next(client)));
}

TEST_F(ClientTest, LosingTheDaemonEndsTheClient) {
  auto daemon = std::make_unique<FakeDaemon>(socket_path());
  Client client = connect(options());
  ASSERT_TRUE(client.join("g").ok());
  daemon.reset();
  // What arrived before the drop is still delivered; then the loss is reported, not a silence.
  std::optional<Error> lost;
  for (int i = 0; i < 50 && !lost; ++i) {
    auto event = client.next_event(100ms);
    if (!event) lost = event.error();
  }
  ASSERT_TRUE(lost.has_value());
  EXPECT_EQ(lost->code, ErrorCode::kUnavailable);
  EXPECT_NE(lost->message.find("was lost"), std::string::npos) << lost->message;
  // A daemon that comes back does not know this connection: the client stays ended.
  FakeDaemon again(socket_path());
  auto id = client.publish("g", Mode::kReliable, Order::kNone, "x");
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(client.status().error().code, ErrorCode::kUnavailable);
}

TEST_F(ClientTest, FdSignalsArrivingEvents) {
  FakeDaemon daemon(socket_path());
  daemon.hold = true;
  Client client = connect(options());
  ASSERT_TRUE(client.publish("g", Mode::kReliable, Order::kNone, "x").ok());
  // Drain first: ZMQ_FD is edge-triggered.
  auto drained = client.next_event(0ms);
  ASSERT_TRUE(drained.ok());
  EXPECT_FALSE(drained.value().has_value());
  daemon.hold = false;
  std::optional<Event> event;
  for (int i = 0; i < 100 && !event; ++i) {
    pollfd fd{client.fd(), POLLIN, 0};
    ::poll(&fd, 1, 50);
    auto got = client.next_event(0ms);
    ASSERT_TRUE(got.ok());
    event = got.value();
  }
  ASSERT_TRUE(event.has_value());
  EXPECT_TRUE(std::holds_alternative<Receipt>(*event));
}

}  // namespace
}  // namespace bcast
