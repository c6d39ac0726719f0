// bcast_bench_zmq: the raw ZeroMQ ceiling for the work a bcastd daemon does per message, to
// which every bcastd figure is compared (docs/performance.md).
//
// The baseline ("fan-out") has the shape of a daemon sending to its 2 peers in a 3-daemon
// cluster, with the sockets bcastd uses between daemons (lib/io/peer_transport.cpp): one
// publisher owns one DEALER per peer (ZMQ_SNDHWM 10000, ZMQ_IMMEDIATE) and sends every message
// to each of them over loopback TCP; each peer is a ROUTER bound on 127.0.0.1 (ZMQ_RCVHWM
// 100000) in a receiver thread with its own ZeroMQ context (its own I/O thread), as a separate
// daemon would have. Publisher and receivers share one process, hence one steady_clock: a
// latency is arrival time minus the stamp in the payload. Unlike the daemon, the publisher
// blocks when a peer's queue is full instead of dropping, so no message is lost and the rate is
// the fan-out's ceiling.
//
// A second reference ("path", --path 1, the default) adds the hops a message takes through
// bcastd without any of its work: publisher -ipc-> relay 1 -tcp-> relays 2 and 3, relay 2 -ipc->
// subscriber, every relay a thread with its own context that forwards each frame as it is
// (client -> daemon 1 -> daemons 2, 3 -> client). It is what bcastd's architecture costs before
// bcastd does anything; the ratios in bcast_bench's table are against the fan-out.
//
//   throughput  N messages of S bytes sent back to back, repeated --repeat times; a
//               repetition's rate is N / (last arrival at the slowest measured receiver - first
//               send), the median is reported (messages/s and MB/s of payload, MB = 10^6 B). The
//               latencies of those messages are reported as "saturated": they are mostly
//               queueing behind the backlog, not the cost of one message.
//   latency     --latency-count messages (after --warmup unrecorded ones) at a fixed --rate,
//               each stamped just before its send; percentiles over every measured arrival
//               (both peers for the fan-out, the subscriber for the path).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "bench_common.hpp"

namespace {

constexpr char kUsage[] =
    "usage: bcast_bench_zmq [--size BYTES] [--count N] [--repeat R] [--rate MSGS_PER_S]\n"
    "                       [--latency-count M] [--warmup W] [--peers P] [--send-queue HWM]\n"
    "                       [--path 0|1] [--out FILE]\n"
    "  raw ZeroMQ fan-out over loopback TCP (DEALER -> ROUTER per peer), the baseline of\n"
    "  tools/bench.sh, and (--path 1) bcastd's hops as a relay chain without its work.\n"
    "  Defaults: --size 1024 --count 50000 --repeat 5 --rate 1000 --latency-count 5000\n"
    "  --warmup 200 --peers 2 --send-queue 10000 --path 1.\n"
    "  --out FILE writes the results as key=value lines (read by bcast_bench --baseline).\n";

constexpr std::uint64_t kEndOfPhase = ~std::uint64_t{0};
constexpr std::uint32_t kHelloPhase = 0;
constexpr std::uint32_t kQuitPhase = ~std::uint32_t{0};

struct Params {
  std::size_t size = 1024;
  std::uint64_t count = 50000;
  std::uint64_t repeat = 5;
  std::uint64_t rate = 1000;
  std::uint64_t latency_count = 5000;
  std::uint64_t warmup = 200;
  int send_queue = 10000;
  // Phases: 1..repeat throughput, repeat + 1 latency.
  std::uint32_t latency_phase() const { return static_cast<std::uint32_t>(repeat + 1); }
};

struct PhaseData {
  std::uint64_t count = 0;
  std::int64_t last_ns = 0;
  std::uint64_t warmup = 0;  // messages with a smaller index are counted, not timed
  std::vector<std::int64_t> latency_ns;
};

// A ROUTER bound to `endpoint` in its own context and thread, recording arrivals. The
// publisher reads a phase's data only after `done` says the receiver saw that phase's end.
class Receiver {
 public:
  Receiver(const std::string& endpoint, const Params& params) : data_(params.repeat + 2) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvhwm, 100000);
    socket_.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(params.size + 1024));
    socket_.bind(endpoint);
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
    for (std::uint32_t phase = 1; phase <= params.repeat; ++phase) {
      data_[phase].latency_ns.reserve(params.count);
    }
    data_[params.latency_phase()].warmup = params.warmup;
    data_[params.latency_phase()].latency_ns.reserve(params.latency_count);
    thread_ = std::thread([this] { run(); });
  }
  ~Receiver() { thread_.join(); }

  const std::string& endpoint() const { return endpoint_; }
  bool saw_hello() const { return hello_.load(std::memory_order_acquire); }
  bool done(std::uint32_t phase) const {
    return done_phase_.load(std::memory_order_acquire) == phase;
  }
  const PhaseData& data(std::uint32_t phase) const { return data_[phase]; }

 private:
  void run() {
    for (;;) {
      zmq::message_t identity, body;
      if (!socket_.recv(identity, zmq::recv_flags::none)) continue;
      if (!identity.more()) continue;
      (void)socket_.recv(body, zmq::recv_flags::none);
      const std::int64_t arrived = bench::now_ns();
      const auto stamp = bench::read_stamp(body.to_string_view());
      if (!stamp) continue;
      if (stamp->index == kEndOfPhase) {
        if (stamp->phase == kQuitPhase) return;
        done_phase_.store(stamp->phase, std::memory_order_release);
        continue;
      }
      if (stamp->phase == kHelloPhase) {
        hello_.store(true, std::memory_order_release);
        continue;
      }
      if (stamp->phase >= data_.size()) continue;
      PhaseData& d = data_[stamp->phase];
      ++d.count;
      d.last_ns = arrived;
      if (stamp->index >= d.warmup) d.latency_ns.push_back(arrived - stamp->sent_ns);
    }
  }

  zmq::context_t context_{1};
  zmq::socket_t socket_{context_, zmq::socket_type::router};
  std::string endpoint_;
  std::vector<PhaseData> data_;
  std::atomic<bool> hello_{false};
  std::atomic<std::uint32_t> done_phase_{kQuitPhase};
  std::thread thread_;
};

// DEALERs like a daemon's peer sockets, connected to each of `endpoints`.
std::vector<std::unique_ptr<zmq::socket_t>> connect_dealers(
    zmq::context_t& context, const std::vector<std::string>& endpoints, int send_queue) {
  std::vector<std::unique_ptr<zmq::socket_t>> sockets;
  for (const std::string& endpoint : endpoints) {
    auto socket = std::make_unique<zmq::socket_t>(context, zmq::socket_type::dealer);
    socket->set(zmq::sockopt::linger, 0);
    socket->set(zmq::sockopt::sndhwm, send_queue);
    socket->set(zmq::sockopt::immediate, 1);
    socket->connect(endpoint);
    sockets.push_back(std::move(socket));
  }
  return sockets;
}

// A stand-in daemon that does nothing but pass frames on: a ROUTER bound to `endpoint`, and a
// DEALER to each of `outputs`, in its own context and thread. Forwards everything, the quit
// marker included, then stops.
class Relay {
 public:
  Relay(const std::string& endpoint, const std::vector<std::string>& outputs, const Params& params)
      : outputs_(connect_dealers(context_, outputs, params.send_queue)) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvhwm, 100000);
    socket_.bind(endpoint);
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { run(); });
  }
  ~Relay() { thread_.join(); }
  const std::string& endpoint() const { return endpoint_; }

 private:
  void run() {
    for (;;) {
      zmq::message_t identity, body;
      if (!socket_.recv(identity, zmq::recv_flags::none)) continue;
      if (!identity.more()) continue;
      (void)socket_.recv(body, zmq::recv_flags::none);
      const auto stamp = bench::read_stamp(body.to_string_view());
      const bool quit = stamp && stamp->phase == kQuitPhase && stamp->index == kEndOfPhase;
      for (std::size_t i = 0; i < outputs_.size(); ++i) {
        if (i + 1 == outputs_.size()) {
          (void)outputs_[i]->send(body, zmq::send_flags::none);
        } else {
          zmq::message_t copy;
          copy.copy(body);
          (void)outputs_[i]->send(copy, zmq::send_flags::none);
        }
      }
      if (quit) return;
    }
  }

  zmq::context_t context_{1};
  zmq::socket_t socket_{context_, zmq::socket_type::router};
  std::string endpoint_;
  std::vector<std::unique_ptr<zmq::socket_t>> outputs_;
  std::thread thread_;
};

class Publisher {
 public:
  Publisher(const std::vector<std::string>& endpoints, const Params& params)
      : sockets_(connect_dealers(context_, endpoints, params.send_queue)),
        payload_(bench::make_payload(params.size)) {}

  // Blocking sends: with ZMQ_IMMEDIATE a send waits for the connection and for room in the
  // peer's queue, so nothing is dropped.
  void send_to_all(std::uint32_t phase, std::uint64_t index) {
    bench::Stamp stamp;
    stamp.phase = phase;
    stamp.index = index;
    stamp.sent_ns = bench::now_ns();
    bench::write_stamp(payload_, stamp);
    for (auto& socket : sockets_) (void)socket->send(zmq::buffer(payload_), zmq::send_flags::none);
  }

 private:
  zmq::context_t context_{1};
  std::vector<std::unique_ptr<zmq::socket_t>> sockets_;
  std::string payload_;
};

struct ShapeResult {
  double msgs_per_s = 0;  // median over the repetitions
  double min_msgs_per_s = 0, max_msgs_per_s = 0;
  bench::Summary saturated, latency;
  std::uint64_t lost = 0;
  double max_lag_us = 0;  // how late the paced publisher was, at worst
};

// Runs every phase: `measured` receivers are timed, `all` (a superset) must each see a phase's
// end marker before the next phase starts.
ShapeResult measure(Publisher& publisher, const std::vector<Receiver*>& measured,
                    const std::vector<Receiver*>& all, const Params& params) {
  auto wait_for = [&](std::uint32_t phase) {
    for (const Receiver* r : all) {
      while (!r->done(phase)) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  };
  // Everything connected and reading before anything is timed.
  for (;;) {
    publisher.send_to_all(kHelloPhase, 0);
    bool ready = true;
    for (const Receiver* r : all) ready = ready && r->saw_hello();
    if (ready) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ShapeResult result;
  std::vector<double> rates;
  std::vector<std::int64_t> saturated;
  for (std::uint32_t phase = 1; phase <= params.repeat; ++phase) {
    const std::int64_t start = bench::now_ns();
    for (std::uint64_t i = 0; i < params.count; ++i) publisher.send_to_all(phase, i);
    publisher.send_to_all(phase, kEndOfPhase);
    wait_for(phase);
    double slowest = 0;
    for (const Receiver* r : measured) {
      const PhaseData& d = r->data(phase);
      result.lost += params.count - d.count;
      const double rate =
          static_cast<double>(d.count) / (static_cast<double>(d.last_ns - start) / 1e9);
      slowest = slowest == 0 ? rate : std::min(slowest, rate);
      saturated.insert(saturated.end(), d.latency_ns.begin(), d.latency_ns.end());
    }
    rates.push_back(slowest);
  }
  std::sort(rates.begin(), rates.end());
  result.msgs_per_s = rates[rates.size() / 2];
  result.min_msgs_per_s = rates.front();
  result.max_msgs_per_s = rates.back();
  result.saturated = bench::summarize(std::move(saturated));

  const std::uint32_t phase = params.latency_phase();
  const auto interval = std::chrono::nanoseconds(1'000'000'000 / params.rate);
  auto next = bench::Clock::now() + interval;
  std::int64_t max_lag_ns = 0;
  for (std::uint64_t i = 0; i < params.warmup + params.latency_count; ++i) {
    std::this_thread::sleep_until(next);
    max_lag_ns = std::max<std::int64_t>(max_lag_ns, (bench::Clock::now() - next).count());
    publisher.send_to_all(phase, i);
    next += interval;
  }
  publisher.send_to_all(phase, kEndOfPhase);
  wait_for(phase);
  std::vector<std::int64_t> latencies;
  for (const Receiver* r : measured) {
    const PhaseData& d = r->data(phase);
    result.lost += params.warmup + params.latency_count - d.count;
    latencies.insert(latencies.end(), d.latency_ns.begin(), d.latency_ns.end());
  }
  result.latency = bench::summarize(std::move(latencies));
  result.max_lag_us = static_cast<double>(max_lag_ns) / 1000.0;
  publisher.send_to_all(kQuitPhase, kEndOfPhase);
  return result;
}

void report(const char* name, const ShapeResult& r, const Params& params) {
  std::printf("%s\n", name);
  std::printf(
      "  throughput: %.0f msg/s, %.1f MB/s (median of %llu runs of %llu; runs %.0f..%.0f "
      "msg/s)\n",
      r.msgs_per_s, r.msgs_per_s * static_cast<double>(params.size) / 1e6,
      static_cast<unsigned long long>(params.repeat), static_cast<unsigned long long>(params.count),
      r.min_msgs_per_s, r.max_msgs_per_s);
  std::printf("  latency under saturation (the throughput runs): %s\n",
              bench::format_summary(r.saturated).c_str());
  std::printf("  latency at %llu msg/s: %s; publisher at most %.1f us late\n",
              static_cast<unsigned long long>(params.rate),
              bench::format_summary(r.latency).c_str(), r.max_lag_us);
  std::printf("  lost: %llu\n", static_cast<unsigned long long>(r.lost));
  std::fflush(stdout);
}

void put(bench::Results& results, const std::string& prefix, const ShapeResult& r,
         const Params& params) {
  results[prefix + "throughput.msgs_per_s"] = r.msgs_per_s;
  results[prefix + "throughput.mb_per_s"] = r.msgs_per_s * static_cast<double>(params.size) / 1e6;
  results[prefix + "throughput.min_msgs_per_s"] = r.min_msgs_per_s;
  results[prefix + "throughput.max_msgs_per_s"] = r.max_msgs_per_s;
  results[prefix + "latency.max_lag_us"] = r.max_lag_us;
  results[prefix + "lost"] = static_cast<double>(r.lost);
  bench::put_summary(results, prefix + "saturated", r.saturated);
  bench::put_summary(results, prefix + "latency", r.latency);
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Args args(argc, argv, kUsage,
                         {{"size", "message bytes"},
                          {"count", "messages per throughput run"},
                          {"repeat", "throughput runs"},
                          {"rate", "messages per second in the latency run"},
                          {"latency-count", "messages in the latency run"},
                          {"warmup", "messages not timed at the start of a run"},
                          {"peers", "receivers of the fan-out"},
                          {"send-queue", "ZMQ_SNDHWM per peer"},
                          {"path", "1: also measure the relay chain of bcastd's hops"},
                          {"out", "write the results as key=value lines"}});
  Params params;
  params.size = args.number("size", params.size);
  params.count = args.number("count", params.count);
  params.repeat = args.number("repeat", params.repeat);
  params.rate = args.number("rate", params.rate);
  params.latency_count = args.number("latency-count", params.latency_count);
  params.warmup = args.number("warmup", params.warmup);
  const std::uint64_t peers = args.number("peers", 2);
  params.send_queue = static_cast<int>(args.number("send-queue", 10000));
  const bool path = args.number("path", 1) != 0;
  const std::string out = args.text("out", "");
  if (params.size < bench::kStampBytes) args.fail("--size must be at least 24 (the timestamp)");
  if (params.count == 0 || params.repeat == 0 || params.rate == 0 || params.latency_count == 0 ||
      peers == 0 || params.send_queue <= 0) {
    args.fail("--count, --repeat, --rate, --latency-count, --peers, --send-queue: positive");
  }
  std::printf("libzmq %d.%d.%d, %zu-byte messages\n", ZMQ_VERSION_MAJOR, ZMQ_VERSION_MINOR,
              ZMQ_VERSION_PATCH, params.size);

  ShapeResult fan_out;
  {
    std::vector<std::unique_ptr<Receiver>> receivers;
    std::vector<std::string> endpoints;
    std::vector<Receiver*> measured;
    for (std::uint64_t i = 0; i < peers; ++i) {
      receivers.push_back(std::make_unique<Receiver>("tcp://127.0.0.1:*", params));
      endpoints.push_back(receivers.back()->endpoint());
      measured.push_back(receivers.back().get());
    }
    Publisher publisher(endpoints, params);
    fan_out = measure(publisher, measured, measured, params);
  }  // joins the receivers
  const std::string fan_out_name = "fan-out: publisher -tcp-> " + std::to_string(peers) +
                                   " peers (each message sent to every peer)";
  report(fan_out_name.c_str(), fan_out, params);

  std::optional<ShapeResult> chain;
  if (path) {
    const std::string prefix = "/tmp/bcast_bench_zmq." + std::to_string(::getpid());
    {
      Receiver subscriber("ipc://" + prefix + ".subscriber", params);
      Receiver third("tcp://127.0.0.1:*", params);  // daemon 3: it receives, nobody reads it
      Relay second("tcp://127.0.0.1:*", {subscriber.endpoint()}, params);
      Relay first("ipc://" + prefix + ".first", {second.endpoint(), third.endpoint()}, params);
      Publisher publisher({first.endpoint()}, params);
      chain = measure(publisher, {&subscriber}, {&subscriber, &third}, params);
    }  // joins relays and receivers (each stops at the quit marker)
    ::unlink((prefix + ".subscriber").c_str());
    ::unlink((prefix + ".first").c_str());
    report("path: publisher -ipc-> relay 1 -tcp-> relays 2, 3; relay 2 -ipc-> subscriber", *chain,
           params);
  }

  const std::uint64_t lost = fan_out.lost + (chain ? chain->lost : 0);
  if (!out.empty()) {
    bench::Results results;
    results["size"] = static_cast<double>(params.size);
    results["count"] = static_cast<double>(params.count);
    results["peers"] = static_cast<double>(peers);
    results["latency.rate"] = static_cast<double>(params.rate);
    put(results, "", fan_out, params);
    if (chain) put(results, "path.", *chain, params);
    if (!bench::write_results(out, results)) {
      std::fprintf(stderr, "bcast_bench_zmq: cannot write %s\n", out.c_str());
      return 1;
    }
  }
  return lost == 0 ? 0 : 1;
}
