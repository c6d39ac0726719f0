// The lease lock on three real daemons: a holder paused past its lease (a client that stops
// renewing, and a bcast-lock process stopped with SIGSTOP) loses the lock to a second client
// with a larger fencing token, and the fenced store refuses the stale holder; a holder that
// disconnects is evicted through its group view long before its lease would end; and a client
// started later replays the same lock table.
#include <gtest/gtest.h>

#include <csignal>
#include <optional>
#include <string>

#include "cluster.hpp"
#include "fenced_store.hpp"
#include "lock_client.hpp"

namespace bcast::lock {
namespace {

using integration::Clock;
using integration::LocalCluster;
using integration::Process;
using integration::TempDir;
using namespace std::chrono_literals;

class LockCluster : public ::testing::Test {
 protected:
  void SetUp() override { cluster_.wait_leader(); }
  void TearDown() override {
    if (HasFailure()) {
      dir_.keep();
      std::cerr << "daemon logs kept in " << dir_.path() << "\n";
    }
  }
  LockClient start(int node) {
    auto locks = LockClient::start({.socket_path = cluster_.socket(node), .client_name = "lock"});
    EXPECT_TRUE(locks.ok()) << locks.error().message;
    return std::move(locks).value();
  }

  TempDir dir_;
  LocalCluster cluster_{dir_.path() + "/cluster", 3};
};

TEST_F(LockCluster, AHolderThatStopsRenewingLosesToALargerTokenAndIsFenced) {
  FencedStore store;
  LockClient first = start(1);
  LockClient second = start(2);
  auto granted = first.acquire("db", 1000ms);
  ASSERT_TRUE(granted.ok()) << granted.error().message;
  ASSERT_EQ(granted.value().status, Outcome::Status::kGranted);
  const std::uint64_t first_token = granted.value().lease->token;
  ASSERT_TRUE(store.write(first_token, "row", "first").ok());

  // The first holder now stops (no renew, no poll). The second retries until a retry carries
  // a time past the lease.
  const auto asked = Clock::now();
  auto taken = second.acquire_wait("db", 5000ms, 10s);
  ASSERT_TRUE(taken.ok()) << taken.error().message;
  ASSERT_EQ(taken.value().status, Outcome::Status::kGranted);
  EXPECT_GE(Clock::now() - asked, 500ms);  // not before the first lease could have ended
  const std::uint64_t second_token = taken.value().lease->token;
  EXPECT_GT(second_token, first_token);
  ASSERT_TRUE(store.write(second_token, "row", "second").ok());

  // The first holder wakes up still believing it holds the lock: the resource refuses it,
  // and its renew tells it the lease is gone.
  auto stale = store.write(first_token, "row", "first, stale");
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(store.data().at("row"), "second");
  auto renewed = first.renew("db", 1000ms);
  ASSERT_TRUE(renewed.ok()) << renewed.error().message;
  EXPECT_EQ(renewed.value().status, Outcome::Status::kNotHeld);

  // Every replica computed the same table; one started now replays it from the history.
  ASSERT_TRUE(second.poll(200ms).ok());
  LockClient late = start(3);
  const auto deadline = Clock::now() + 5s;
  while (late.table().last_gseq() < second.table().last_gseq() && Clock::now() < deadline) {
    ASSERT_TRUE(late.poll(100ms).ok());
  }
  EXPECT_EQ(late.table().leases(), second.table().leases());
  EXPECT_EQ(late.table().clock_ms(), second.table().clock_ms());
  EXPECT_EQ(first.table().leases(), second.table().leases());

  // Released: the next acquire gets it at once, with a larger token.
  auto released = second.release("db");
  ASSERT_TRUE(released.ok()) << released.error().message;
  EXPECT_EQ(released.value().status, Outcome::Status::kReleased);
  auto next = late.acquire("db", 60000ms);
  ASSERT_TRUE(next.ok()) << next.error().message;
  ASSERT_EQ(next.value().status, Outcome::Status::kGranted);
  EXPECT_GT(next.value().lease->token, second_token);
}

TEST_F(LockCluster, ASigstoppedBcastLockProcessLosesItsLeaseAndSaysSo) {
  Process holder({BCAST_LOCK_CLI, "--socket", cluster_.socket(1), "acquire", "db", "--lease-ms",
                  "1000", "--hold-ms", "30000"});
  auto line = holder.read_line(Clock::now() + 10s);
  ASSERT_TRUE(line.has_value()) << holder.transcript();
  ASSERT_EQ(line->rfind("granted db token ", 0), 0u) << *line;
  const std::uint64_t first_token = std::stoull(line->substr(17));
  holder.signal(SIGSTOP);

  LockClient second = start(2);
  auto taken = second.acquire_wait("db", 5000ms, 10s);
  ASSERT_TRUE(taken.ok()) << taken.error().message;
  ASSERT_EQ(taken.value().status, Outcome::Status::kGranted);
  EXPECT_GT(taken.value().lease->token, first_token);
  FencedStore store;
  ASSERT_TRUE(store.write(taken.value().lease->token, "row", "second").ok());
  EXPECT_FALSE(store.write(first_token, "row", "stale").ok());

  // `bcast-lock show` on a third daemon replays the same holder and token.
  Process show({BCAST_LOCK_CLI, "--socket", cluster_.socket(3), "show"});
  auto shown = show.read_line(Clock::now() + 10s);
  ASSERT_TRUE(shown.has_value()) << show.transcript();
  EXPECT_EQ(shown->rfind("db held by sender " + std::to_string(second.self()) + " token " +
                             std::to_string(taken.value().lease->token) + " ",
                         0),
            0u)
      << *shown;

  holder.signal(SIGCONT);  // its next renewal finds the lease gone
  auto lost = holder.read_line(Clock::now() + 10s);
  ASSERT_TRUE(lost.has_value()) << holder.transcript();
  EXPECT_EQ(*lost, "lost db");
  EXPECT_EQ(holder.wait(Clock::now() + 5s), 3);
}

TEST_F(LockCluster, AHolderThatDisconnectsIsEvictedThroughItsView) {
  LockClient second = start(2);
  std::uint64_t first_token = 0;
  {
    LockClient first = start(1);
    auto granted = first.acquire("db", 60000ms);  // far longer than the test
    ASSERT_TRUE(granted.ok()) << granted.error().message;
    first_token = granted.value().lease->token;
    auto busy = second.acquire("db", 1000ms);
    ASSERT_TRUE(busy.ok());
    ASSERT_EQ(busy.value().status, Outcome::Status::kBusy);
  }  // the first client's connection closes
  auto taken = second.acquire_wait("db", 1000ms, 10s);
  ASSERT_TRUE(taken.ok()) << taken.error().message;
  EXPECT_EQ(taken.value().status, Outcome::Status::kGranted);
  EXPECT_GT(taken.value().lease->token, first_token);
}

}  // namespace
}  // namespace bcast::lock
