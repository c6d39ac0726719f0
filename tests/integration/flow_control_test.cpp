// End-to-end flow control (issue 16; docs/guarantees.md, "Slow subscribers"): a subscriber that
// keeps reading never loses a reliable message, however fast its publishers are; a slow one paces
// them; subscribers of other groups are not held back by it.
//
// BCAST_FLOW_MESSAGES sets the count of the first test (default 200000, the acceptance:
// about 15 s on 2 shared vCPUs; lower it on a slower machine).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "bcast/client.hpp"
#include "integration_test.hpp"

namespace bcast::integration {
namespace {

class FlowControl : public IntegrationTest {};

std::uint64_t message_count() {
  if (const char* text = std::getenv("BCAST_FLOW_MESSAGES")) {
    const std::uint64_t n = std::strtoull(text, nullptr, 10);
    if (n > 0) return n;
  }
  return 200000;
}

// The daemon's peak resident set (VmHWM), in MiB; 0 if it cannot be read.
double peak_rss_mib(const LocalCluster& cluster, int node) {
  const std::string pid = read_file(cluster.dir() + "/n" + std::to_string(node) + "/pid");
  std::ifstream status("/proc/" + std::to_string(std::atoi(pid.c_str())) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::strtod(line.c_str() + 6, nullptr) / 1024;
  }
  return 0;
}

// What a daemon may hold during these runs: its client queues (1 MiB each here), the messages
// kept for repair and the Raft log since its last snapshot, and the allocator's slack
// (docs/performance.md, "Flow control", has the figures measured).
constexpr double kRssBoundMib = 256;

void expect_bounded_rss(const LocalCluster& cluster) {
  for (int node = 1; node <= cluster.size(); ++node) {
    const double peak = peak_rss_mib(cluster, node);
    std::printf("daemon %d peak RSS %.1f MiB\n", node, peak);
    EXPECT_LT(peak, kRssBoundMib) << "daemon " << node;
  }
}

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

// The acceptance, as a user would run it: `bcastctl pub` fed the messages from a file at
// one daemon, `bcastctl sub --json` at another. All are delivered, in order, without a gap or
// drop event. The subscriber keeps reading, but like any real reader it pauses now and then
// (here three times 2 s, the test not reading its output: well below --stalled-subscriber-ms):
// without flow control the publisher runs on meanwhile, the subscriber's 1 MiB client queue
// overflows and it is disconnected (--slow-subscriber disconnect fails this test); with it the
// publisher waits.
TEST_F(FlowControl, TwoHundredThousandReliableFifoMessagesFromAFileAllArriveInOrder) {
  const std::uint64_t count = message_count();
  LocalCluster cluster(path("cluster"), 2, {"--client-queue-bytes", std::to_string(1 << 20)});
  cluster.wait_leader();

  const std::string input = path("messages.txt");
  {
    std::ofstream out(input);
    std::string line;
    for (std::uint64_t i = 1; i <= count; ++i) {
      line = "F-" + std::to_string(i) + ":";
      line.resize(200, 'x');
      out << line << '\n';
    }
  }
  Subscriber sub("sub", cluster.socket(2), "g", path("sub.err"));
  wait_joined({&sub}, &cluster);

  const auto start = Clock::now();
  Process pub({"/bin/sh", "-c",
               "exec " + shell_quote(bcastctl_path()) + " --socket " +
                   shell_quote(cluster.socket(1)) + " pub g --order fifo < " + shell_quote(input)},
              SpawnOptions{.stderr_path = path("pub.err")});
  const auto deadline = Clock::now() + 120s;
  for (const std::uint64_t pause_at : {count / 4, count / 2, 3 * count / 4, count}) {
    const bool reached = pump_until(
        {&sub.process()}, deadline,
        [&] { return sub.deliveries().size() >= pause_at || !sub.process().running(); },
        [&] { sub.consume(); });
    if (!reached || !sub.process().running() || pause_at == count) break;
    std::this_thread::sleep_for(2s);  // the subscriber's reader pauses
  }
  const double delivered_s = std::chrono::duration<double>(Clock::now() - start).count();
  const auto published = pub.wait(Clock::now() + 10s);
  std::printf(
      "%llu messages of 200 bytes delivered in %.1f s (%.0f msg/s, with three 2 s pauses of the "
      "reader)\n",
      static_cast<unsigned long long>(sub.deliveries().size()), delivered_s,
      static_cast<double>(sub.deliveries().size()) / delivered_s);
  ASSERT_EQ(sub.deliveries().size(), count)
      << "sub stderr: " << sub.stderr_text() << "\npub stderr: " << read_file(path("pub.err"))
      << "\n"
      << cluster.all_logs();
  ASSERT_TRUE(published.has_value()) << "the publisher did not finish";
  EXPECT_EQ(*published, 0) << read_file(path("pub.err"));
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto id = parse_payload(sub.deliveries()[i].payload);
    ASSERT_TRUE(id.has_value()) << sub.deliveries()[i].payload;
    ASSERT_EQ(id->n, i + 1) << "delivered out of order or with a hole at " << i;
  }
  EXPECT_TRUE(sub.gaps().empty()) << sub.gaps().front().reason;
  EXPECT_TRUE(sub.bad_lines().empty()) << sub.bad_lines().front();
  EXPECT_TRUE(sub.process().running()) << "the subscriber ended: " << sub.stderr_text();
  EXPECT_EQ(sub.stderr_text(), "") << "the subscriber was told of a drop or an error";
  expect_bounded_rss(cluster);
}

// A library subscriber of a group that reads on a timer, at about a tenth of what the publisher
// reaches flat out (measured first, in the same run): the publisher is paced to about its rate,
// nothing is lost, and the publisher never gets further ahead of the subscriber than the
// advertised room allows. Meanwhile a subscriber of another group, on the same daemons, keeps
// receiving its own publisher's messages at its own pace.
TEST_F(FlowControl, SlowSubscriberPacesThePublisherAndOtherGroupsGoOn) {
  constexpr std::size_t kPayloadBytes = 1000;
  constexpr std::uint64_t kQueueBytes = 1 << 20;  // --client-queue-bytes
  LocalCluster cluster(path("cluster"), 2, {"--client-queue-bytes", std::to_string(kQueueBytes)});
  cluster.wait_leader();
  auto connect = [&](int node, const char* name) {
    ClientOptions options;
    options.socket_path = cluster.socket(node);
    options.client_name = name;
    return Client::connect(options);
  };
  auto pub = connect(1, "publisher");
  ASSERT_TRUE(pub.ok()) << pub.error().message;
  auto other_pub = connect(1, "other-publisher");
  ASSERT_TRUE(other_pub.ok()) << other_pub.error().message;
  auto slow = connect(2, "slow");
  ASSERT_TRUE(slow.ok()) << slow.error().message;
  auto other = connect(2, "other");
  ASSERT_TRUE(other.ok()) << other.error().message;
  const std::string payload(kPayloadBytes, 'p');

  // Publishes `count` messages to `group` with the window full, taking every event as it comes;
  // `on_receipt` sees each receipt's arrival. Returns the seconds it took. The window fits in
  // what the daemon holds for a client waiting for credit (--client-queue-bytes), so that none
  // is refused `busy` at once.
  constexpr std::size_t kWindow = 512;
  const auto publish_all = [&](Client& client, const std::string& group, std::uint64_t count,
                               const std::function<void()>& on_receipt) {
    const auto start = Clock::now();
    std::uint64_t receipts = 0;
    std::uint64_t sent = 0;
    while (receipts < count) {
      while (sent < count && client.in_flight() < kWindow) {
        auto id = client.publish(group, Mode::kReliable, Order::kFifo, payload);
        if (!id) fail("publish: " + id.error().message);
        ++sent;
      }
      auto event = client.next_event(sent < count && client.in_flight() < kWindow ? 0ms : 20ms);
      if (!event) fail("publisher: " + event.error().message);
      if (!event.value()) continue;
      if (const auto* error = std::get_if<RequestError>(&*event.value())) {
        fail("publisher refused: " + error->error.message);
      }
      if (std::holds_alternative<Receipt>(*event.value())) {
        ++receipts;
        if (on_receipt) on_receipt();
      }
    }
    return std::chrono::duration<double>(Clock::now() - start).count();
  };

  // The flat-out rate, with a subscriber reading as fast as it can.
  ASSERT_TRUE(slow.value().join("warm").ok());
  std::atomic<bool> warm_done{false};
  std::thread warm_reader([&] {
    while (!warm_done.load()) (void)slow.value().next_event(10ms);
  });
  constexpr std::uint64_t kWarmCount = 20000;
  double warm_s = 0;
  try {
    warm_s = publish_all(pub.value(), "warm", kWarmCount, {});
  } catch (const std::exception& e) {
    warm_done = true;
    warm_reader.join();
    FAIL() << e.what();
  }
  warm_done = true;
  warm_reader.join();
  const double flat_out_rate = static_cast<double>(kWarmCount) / warm_s;
  ASSERT_TRUE(slow.value().leave("warm").ok());

  ASSERT_TRUE(slow.value().join("paced").ok());
  ASSERT_TRUE(other.value().join("other").ok());
  // Joins reach the publisher's daemon through the total order (the group views): wait until
  // it knows of them, as its first publishes would otherwise go out unpaced.
  std::this_thread::sleep_for(1s);

  // The slow subscriber: a tenth of the flat-out rate, on a timer.
  const double slow_rate = flat_out_rate / 10;
  constexpr std::uint64_t kPacedSeconds = 8;
  const auto paced_count = static_cast<std::uint64_t>(slow_rate * kPacedSeconds);
  std::atomic<std::uint64_t> slow_read{0};
  std::atomic<bool> slow_failed{false};
  std::string slow_problem;
  std::uint64_t expected_number = 0;
  std::thread slow_reader([&] {
    const auto start = Clock::now();
    while (slow_read.load() < paced_count && !slow_failed.load()) {
      const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(slow_read.load() / slow_rate));
      std::this_thread::sleep_until(due);
      auto event = slow.value().next_event(5s);
      if (!event || !event.value()) {
        slow_problem = event ? "nothing for 5 s" : event.error().message;
        slow_failed = true;
        return;
      }
      if (const auto* d = std::get_if<::bcast::Delivery>(&*event.value())) {
        if (d->group != "paced") continue;
        if (d->seq != ++expected_number + kWarmCount) {
          slow_problem = "seq " + std::to_string(d->seq) + " where " +
                         std::to_string(expected_number + kWarmCount) + " was due";
          slow_failed = true;
          return;
        }
        ++slow_read;
      } else if (std::holds_alternative<Gap>(*event.value()) ||
                 std::holds_alternative<RequestError>(*event.value())) {
        slow_problem = "a gap or an error event";
        slow_failed = true;
        return;
      }
    }
  });
  // The other group's subscriber reads as fast as it can.
  std::atomic<bool> other_done{false};
  std::atomic<std::uint64_t> other_read{0};
  std::thread other_reader([&] {
    while (!other_done.load()) {
      auto event = other.value().next_event(10ms);
      if (event && event.value() && std::holds_alternative<::bcast::Delivery>(*event.value())) {
        ++other_read;
      }
    }
  });

  // The other group, published meanwhile by the other publisher, flat out.
  double other_s = 0;
  std::string other_problem;
  std::thread other_publisher([&] {
    try {
      other_s = publish_all(other_pub.value(), "other", kWarmCount, {});
    } catch (const std::exception& e) {
      other_problem = e.what();
    }
  });
  // How far the publisher's receipts run ahead of the slow subscriber.
  std::uint64_t paced_receipts = 0;
  std::uint64_t max_ahead = 0;
  double paced_s = 0;
  std::string paced_problem;
  try {
    paced_s = publish_all(pub.value(), "paced", paced_count, [&] {
      ++paced_receipts;
      const std::uint64_t read = slow_read.load();
      if (paced_receipts > read) max_ahead = std::max(max_ahead, paced_receipts - read);
    });
  } catch (const std::exception& e) {
    paced_problem = e.what();
    slow_failed = true;  // ends the slow reader
  }
  other_publisher.join();
  slow_reader.join();
  const auto other_by = Clock::now() + 10s;
  while (other_read.load() < kWarmCount && Clock::now() < other_by) {
    std::this_thread::sleep_for(20ms);
  }
  other_done = true;
  other_reader.join();

  const double paced_rate = static_cast<double>(paced_count) / paced_s;
  std::printf(
      "flat out %.0f msg/s; slow subscriber reads %.0f msg/s; paced publisher %.0f msg/s "
      "(%.2f x the subscriber); receipts at most %llu messages ahead of the subscriber; other "
      "group %.0f msg/s\n",
      flat_out_rate, slow_rate, paced_rate, paced_rate / slow_rate,
      static_cast<unsigned long long>(max_ahead), static_cast<double>(kWarmCount) / other_s);
  ASSERT_EQ(paced_problem, "") << cluster.all_logs();
  ASSERT_FALSE(slow_failed.load()) << slow_problem << "\n" << cluster.all_logs();
  ASSERT_EQ(other_problem, "");
  EXPECT_EQ(slow_read.load(), paced_count);
  EXPECT_EQ(other_read.load(), kWarmCount) << "the other group's subscriber lost messages";
  // Paced: the receipts never run further ahead of what the subscriber read than what its
  // daemon advertises as room (less than its client queue's bound), plus what sits in buffers
  // the daemon has already handed over: the subscriber's ZeroMQ receive queue (1000 messages)
  // and the kernel's socket buffers and messages between the daemons (a generous 1024).
  // Unpaced, the publisher would run ahead by most of the messages.
  const std::uint64_t bound_messages = kQueueBytes / kPayloadBytes + 1000 + 1024;
  EXPECT_LE(max_ahead, bound_messages) << "the publisher was not paced by the slow subscriber";
  EXPECT_LT(bound_messages * 2, paced_count) << "too few messages to tell paced from unpaced";
  expect_bounded_rss(cluster);
}

}  // namespace
}  // namespace bcast::integration
