// Scenario 4: a client that breaks the local protocol (random bytes, malformed msgpack headers,
// oversized frames, a publish before hello, too many frames) gets an error reply for each, the
// daemon goes on serving it once it behaves, and another client's pub/sub on the same daemon
// sees no disruption.
#include <random>
#include <zmq.hpp>

#include "integration_test.hpp"

namespace bcast::integration {
namespace {

using nlohmann::json;

constexpr std::uint64_t kMaxMessageBytes = 64 * 1024;  // given to the daemon
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;     // the daemon's header limit

std::string msgpack(const json& value) {
  const std::vector<std::uint8_t> bytes = json::to_msgpack(value);
  return std::string(bytes.begin(), bytes.end());
}

// A raw DEALER on the daemon's client socket.
class RawClient {
 public:
  RawClient(zmq::context_t& context, const std::string& socket)
      : socket_(context, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect("ipc://" + socket);
  }

  void send(const std::vector<std::string>& frames) {
    for (std::size_t i = 0; i < frames.size(); ++i) {
      socket_.send(zmq::buffer(frames[i]),
                   i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }

  // The next reply's header, decoded; fails after `timeout`.
  json receive(const std::string& what, std::chrono::milliseconds timeout = 5000ms) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, timeout);
    if (!(item.revents & ZMQ_POLLIN)) fail("no reply within 5 s to " + what);
    std::vector<zmq::message_t> frames;
    for (;;) {
      zmq::message_t frame;
      (void)socket_.recv(frame, zmq::recv_flags::none);
      const bool more = frame.more();
      frames.push_back(std::move(frame));
      if (!more) break;
    }
    try {
      const auto* data = static_cast<const std::uint8_t*>(frames[0].data());
      return json::from_msgpack(data, data + frames[0].size());
    } catch (const json::exception& e) {
      fail("the reply to " + what + " is not a msgpack map: " + e.what());
    }
  }

  // Sends `frames` and expects an error reply (with `id` when given); returns it.
  json expect_error(const std::string& what, const std::vector<std::string>& frames,
                    std::optional<std::uint64_t> id = std::nullopt) {
    send(frames);
    json reply = receive(what);
    EXPECT_EQ(reply.value("type", ""), "error") << what << ": got " << reply.dump();
    EXPECT_TRUE(reply.contains("code") && reply["code"].is_string()) << reply.dump();
    EXPECT_TRUE(reply.contains("message") && reply["message"].is_string() &&
                !reply["message"].get<std::string>().empty())
        << what << ": an error reply without a reason: " << reply.dump();
    if (id) {
      EXPECT_EQ(reply.value("id", std::uint64_t{0}), *id)
          << what << ": the error reply should carry the request's id: " << reply.dump();
    }
    return reply;
  }

 private:
  zmq::socket_t socket_;
};

class BadClient : public IntegrationTest {};

TEST_F(BadClient, GarbageGetsErrorsAndDisturbsNobody) {
  const std::string group = "robust";
  LocalCluster cluster(path("cluster"), 1,
                       {"--max-message-bytes", std::to_string(kMaxMessageBytes)});
  cluster.wait_leader();
  const std::string socket = cluster.socket(1);

  Subscriber sub("sub", socket, group, path("sub.err"));
  wait_joined({&sub}, &cluster);
  Publisher good("G", socket, group, "reliable", "fifo", path("pub.err"));
  std::vector<Process*> procs = {&sub.process(), &good.process()};
  auto on_read = [&] {
    sub.consume();
    good.consume();
  };
  // Between garbage steps, the good client publishes and its messages keep being acknowledged.
  auto good_traffic = [&](const std::string& after) {
    const std::size_t total = good.payloads().size() + 5;
    good.write_until(total);
    const bool ok = pump_until(
        procs, Clock::now() + 10s,
        [&] {
          return good.receipts().size() == total &&
                 static_cast<std::size_t>(sub.deliveries().size()) >= total;
        },
        on_read);
    if (!ok) {
      fail("after " + after + ": the good client has " + std::to_string(good.receipts().size()) +
           " receipts and its subscriber " + std::to_string(sub.deliveries().size()) +
           " deliveries of " + std::to_string(total) + "\n" +
           diagnostics(&cluster, {&sub}, {&good}));
    }
  };
  good_traffic("the start");

  zmq::context_t context(1);
  RawClient bad(context, socket);

  std::mt19937 rng(20240611);
  std::string noise(256, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  noise[0] = static_cast<char>(0xc1);  // never valid msgpack, whatever follows
  bad.expect_error("random bytes", {noise});
  good_traffic("random bytes");

  bad.expect_error("a publish before hello",
                   {msgpack({{"type", "publish"},
                             {"id", 7},
                             {"group", group},
                             {"mode", "reliable"},
                             {"order", "fifo"}}),
                    "sneaky"},
                   7);
  bad.expect_error("a join before hello",
                   {msgpack({{"type", "join"}, {"id", 8}, {"group", group}})}, 8);
  good_traffic("requests before hello");

  // Malformed headers (whether their replies carry a readable id: ErrorRepliesCarryReadableIds).
  bad.expect_error("an array instead of a map", {msgpack(json::array({"hello", 1}))});
  bad.expect_error("a map without \"type\"", {msgpack({{"id", 11}, {"version", 1}})});
  bad.expect_error("an unknown type", {msgpack({{"type", "frobnicate"}, {"id", 12}})});
  bad.expect_error("a string id", {msgpack({{"type", "hello"}, {"id", "x"}, {"version", 1}})});
  bad.expect_error("a negative version",
                   {msgpack({{"type", "hello"}, {"id", 13}, {"version", -1}})});
  bad.expect_error("hello without version", {msgpack({{"type", "hello"}, {"id", 14}})});
  std::string truncated = msgpack({{"type", "hello"}, {"id", 15}, {"version", 1}});
  truncated.resize(truncated.size() - 3);
  bad.expect_error("a truncated map", {truncated});
  std::string trailing = msgpack({{"type", "status"}, {"id", 16}}) + "junk";
  bad.send({trailing});
  const json trailing_reply = bad.receive("a map followed by junk");
  EXPECT_EQ(trailing_reply.value("type", ""), "error")
      << "a header with trailing bytes was accepted: " << trailing_reply.dump();
  // A map with a non-string key, written by hand: {1: 2, "type": "hello"}.
  bad.expect_error("a non-string key", {std::string("\x82\x01\x02\xa4type\xa5hello", 13)});
  json deep = 1;
  for (int i = 0; i < 100; ++i) deep = json::array({deep});
  bad.expect_error("deep nesting",
                   {msgpack({{"type", "hello"}, {"id", 17}, {"version", 1}, {"x", deep}})});
  bad.expect_error("three frames", {msgpack({{"type", "status"}, {"id", 18}}), "a", "b"});
  const json too_big_header =
      bad.expect_error("a header frame over the limit",
                       {msgpack({{"type", "hello"},
                                 {"id", 19},
                                 {"version", 1},
                                 {"client_name", std::string(kMaxHeaderBytes + 100, 'x')}})});
  EXPECT_EQ(too_big_header.value("code", ""), "too_large") << too_big_header.dump();
  bad.expect_error("an unsupported protocol version",
                   {msgpack({{"type", "hello"}, {"id", 20}, {"version", 99}})}, 20);
  bad.expect_error("a reply type sent by a client", {msgpack({{"type", "ok"}, {"id", 21}})}, 21);
  good_traffic("malformed headers");

  // Once it says hello properly, the same connection is served.
  bad.send({msgpack({{"type", "hello"}, {"id", 30}, {"version", 1}})});
  const json welcome = bad.receive("hello");
  ASSERT_EQ(welcome.value("type", ""), "welcome") << welcome.dump();
  EXPECT_EQ(welcome.value("id", 0), 30);
  EXPECT_EQ(welcome.value("max_message_bytes", std::uint64_t{0}), kMaxMessageBytes)
      << welcome.dump();
  auto publish = [&](std::uint64_t id, const std::string& mode, const std::string& order) {
    return msgpack(
        {{"type", "publish"}, {"id", id}, {"group", group}, {"mode", mode}, {"order", order}});
  };
  const json too_large = bad.expect_error(
      "a payload over max-message-bytes",
      {publish(31, "reliable", "fifo"), std::string(kMaxMessageBytes + 1, 'p')}, 31);
  EXPECT_EQ(too_large.value("code", ""), "too_large") << too_large.dump();
  bad.expect_error("best-effort with causal order", {publish(32, "best-effort", "causal"), "x"},
                   32);
  bad.expect_error("best-effort with total order", {publish(33, "best-effort", "total"), "x"}, 33);
  bad.expect_error("an unknown mode", {publish(34, "carrier-pigeon", "fifo"), "x"});
  bad.expect_error(
      "a publish without a group",
      {msgpack({{"type", "publish"}, {"id", 35}, {"mode", "reliable"}, {"order", "fifo"}}), "x"});
  good_traffic("bad publishes");

  // A frame beyond the socket's size limit: the daemon may drop that connection, but nobody else
  // notices.
  {
    RawClient huge(context, socket);
    huge.send({msgpack({{"type", "hello"}, {"id", 1}, {"version", 1}})});
    (void)huge.receive("hello on a second connection");
    huge.send({publish(2, "reliable", "none"), std::string(8 * kMaxMessageBytes, 'h')});
  }
  good_traffic("an oversized frame");

  // The misbehaving connection still works: it publishes, and the subscriber gets it.
  bad.send({publish(40, "reliable", "fifo"), "X-1"});
  const json receipt = bad.receive("a valid publish");
  EXPECT_EQ(receipt.value("type", ""), "receipt") << receipt.dump();
  EXPECT_EQ(receipt.value("id", 0), 40) << receipt.dump();
  EXPECT_EQ(receipt.value("seq", 0), 1)
      << "refused publishes must not use up seqs: " << receipt.dump();
  ASSERT_TRUE(pump_until(
      procs, Clock::now() + 10s,
      [&] {
        for (const Delivery& d : sub.deliveries()) {
          if (d.payload == "X-1") return true;
        }
        return false;
      },
      on_read))
      << "the subscriber never got the bad client's valid publish";

  good.finish();
  ASSERT_TRUE(pump_until(
      procs, Clock::now() + 10s, [&] { return !good.process().running(); }, on_read));
  EXPECT_EQ(*good.process().exit_status(), 0) << good.stderr_text();
  EXPECT_EQ(sub.process().terminate(5000ms), 0);
  sub.consume();
  const auto status = status_json(socket);
  EXPECT_TRUE(status.has_value()) << "the daemon no longer answers status";

  std::vector<Delivery> good_deliveries;
  for (const Delivery& d : sub.deliveries()) {
    if (d.payload != "X-1") good_deliveries.push_back(d);
  }
  DeliveryCheck check(expectation_for(group, "reliable", "fifo"),
                      {{"G", good.payloads(), good.receipts()}});
  check.check_subscriber("sub", good_deliveries, true, true);
  EXPECT_TRUE(check.violations().empty()) << check.report() << cluster.all_logs();
  EXPECT_TRUE(sub.bad_lines().empty()) << sub.bad_lines().front();
}

// lib/codec/client_protocol.hpp: "a missing required key, a wrong type or an oversized frame gets
// an error reply with the request's id when it can be read, else id 0" -- so that a pipelining
// client can tell which of its requests failed.
TEST_F(BadClient, ErrorRepliesCarryReadableIds) {
  LocalCluster cluster(path("cluster"), 1);
  cluster.wait_leader();
  zmq::context_t context(1);
  RawClient bad(context, cluster.socket(1));
  bad.send({msgpack({{"type", "hello"}, {"id", 1}, {"version", 1}})});
  ASSERT_EQ(bad.receive("hello").value("type", ""), "welcome");
  bad.expect_error("a map without \"type\"", {msgpack({{"id", 11}, {"version", 1}})}, 11);
  bad.expect_error("an unknown type", {msgpack({{"type", "frobnicate"}, {"id", 12}})}, 12);
  bad.expect_error("a negative version",
                   {msgpack({{"type", "hello"}, {"id", 13}, {"version", -1}})}, 13);
  bad.expect_error("hello without version", {msgpack({{"type", "hello"}, {"id", 14}})}, 14);
  bad.expect_error("an unknown mode",
                   {msgpack({{"type", "publish"},
                             {"id", 15},
                             {"group", "g"},
                             {"mode", "carrier-pigeon"},
                             {"order", "fifo"}}),
                    "x"},
                   15);
  bad.expect_error(
      "a publish without a group",
      {msgpack({{"type", "publish"}, {"id", 16}, {"mode", "reliable"}, {"order", "fifo"}}), "x"},
      16);
}

}  // namespace
}  // namespace bcast::integration
