// The lock table's rules on hand-written ordered histories: grants and fencing tokens, expiry
// decided by the time a later ordered command carries, renew and release by the holder only,
// eviction, determinism of replays; the codec; the fenced store.
#include "lock_table.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "fenced_store.hpp"
#include "lock_codec.hpp"

namespace bcast::lock {
namespace {

constexpr SenderId kA = 1ULL << 48 | 1;
constexpr SenderId kB = 2ULL << 48 | 1;
constexpr std::int64_t kT = 1'764'770'000'000;  // some wall-clock time, in ms

Command acquire(std::int64_t now, std::uint64_t lease_ms = 1000) {
  return Command{Command::Op::kAcquire, "db", lease_ms, now};
}
Command renew(std::int64_t now) { return Command{Command::Op::kRenew, "db", 1000, now}; }
Command release(std::int64_t now) { return Command{Command::Op::kRelease, "db", 0, now}; }

TEST(LockTable, GrantsWithTheAcquiresGseqAsTokenAndRefusesOthersWhileHeld) {
  LockTable table;
  Outcome a = table.apply(7, kA, acquire(kT));
  ASSERT_EQ(a.status, Outcome::Status::kGranted);
  EXPECT_EQ(a.lease->token, 7u);
  EXPECT_EQ(a.lease->expires_ms, kT + 1000);
  Outcome b = table.apply(8, kB, acquire(kT + 10));
  EXPECT_EQ(b.status, Outcome::Status::kBusy);
  EXPECT_EQ(b.lease->holder, kA);
  Outcome again = table.apply(9, kA, acquire(kT + 20));  // the holder again: same token
  EXPECT_EQ(again.status, Outcome::Status::kGranted);
  EXPECT_EQ(again.lease->token, 7u);
  EXPECT_EQ(table.apply(10, kB, release(kT + 30)).status, Outcome::Status::kNotHeld);
  EXPECT_EQ(table.apply(11, kA, release(kT + 40)).status, Outcome::Status::kReleased);
  Outcome next = table.apply(12, kB, acquire(kT + 50));
  ASSERT_EQ(next.status, Outcome::Status::kGranted);
  EXPECT_EQ(next.lease->token, 12u);
}

TEST(LockTable, ALeaseEndsAtTheFirstOrderedCommandCarryingATimePastIt) {
  LockTable table;
  ASSERT_EQ(table.apply(1, kA, acquire(kT)).status, Outcome::Status::kGranted);
  ASSERT_EQ(table.apply(2, kA, renew(kT + 500)).status, Outcome::Status::kRenewed);  // to +1500
  EXPECT_EQ(table.apply(3, kB, acquire(kT + 1499)).status, Outcome::Status::kBusy);
  // No command between: the lease is still in the table, whatever the real time is.
  EXPECT_TRUE(table.lease("db").has_value());
  Outcome b = table.apply(4, kB, acquire(kT + 1500));
  ASSERT_EQ(b.status, Outcome::Status::kGranted);
  EXPECT_GT(b.lease->token, 1u);
  // The old holder comes back from a pause: its renew finds the lease gone.
  EXPECT_EQ(table.apply(5, kA, renew(kT + 1600)).status, Outcome::Status::kNotHeld);
  // A sender whose clock lags does not move the ordered clock back.
  table.apply(6, kA, acquire(kT - 100000));
  EXPECT_EQ(table.clock_ms(), kT + 1600);
}

TEST(LockTable, EvictReleasesEveryLockOfTheDepartedSenderOnly) {
  LockTable table;
  table.apply(1, kA, acquire(kT, 60000));
  table.apply(2, kA, Command{Command::Op::kAcquire, "files", 60000, kT});
  table.apply(3, kB, Command{Command::Op::kAcquire, "queue", 60000, kT});
  EXPECT_EQ(table.apply(4, kB, Command{Command::Op::kEvict, "", 0, kT, kA}).status,
            Outcome::Status::kEvicted);
  EXPECT_EQ(table.leases().size(), 1u);
  EXPECT_TRUE(table.lease("queue").has_value());
}

TEST(LockTable, InvalidCommandsChangeNothingAndReplaysAreIdentical) {
  const std::vector<std::pair<SenderId, Command>> history = {
      {kA, acquire(kT)},
      {kB, Command{Command::Op::kAcquire, "", 1000, kT + 99999}},  // no name: invalid
      {kB, Command{Command::Op::kAcquire, "db", 0, kT}},           // no lease: invalid
      {kB, acquire(kT + 400)},
      {kA, renew(kT + 900)},
      {kB, acquire(kT + 2000)},
  };
  LockTable first;
  LockTable second;
  std::uint64_t gseq = 0;
  for (const auto& [sender, command] : history) {
    ++gseq;
    const Outcome one = first.apply(gseq, sender, command);
    const Outcome two = second.apply(gseq, sender, command);
    EXPECT_EQ(one.status, two.status);
    if (gseq == 2 || gseq == 3) {
      EXPECT_EQ(one.status, Outcome::Status::kInvalid);
    }
  }
  EXPECT_EQ(first, second);
  EXPECT_EQ(first.lease("db")->holder, kB);
  EXPECT_EQ(first.lease("db")->token, 6u);
}

TEST(LockCodec, RoundTripsAndRefusesMalformedCommands) {
  for (const Command& command :
       {acquire(kT), renew(kT), release(kT), Command{Command::Op::kEvict, "", 0, kT, kB}}) {
    auto decoded = decode(encode(command).value());
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(decoded.value(), command);
  }
  for (const char* bad :
       {"", "[]", R"({"lock":2,"op":"acquire"})", R"({"lock":1,"op":"steal","now_ms":1})",
        R"({"lock":1,"op":"acquire","name":"db","now_ms":1})",
        R"({"lock":1,"op":"evict","now_ms":1,"sender":-4})"}) {
    auto decoded = decode(bad);
    ASSERT_FALSE(decoded.ok()) << bad;
    EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(FencedStore, RefusesATokenLowerThanOneItHasSeen) {
  FencedStore store;
  ASSERT_TRUE(store.write(7, "k", "from 7").ok());
  ASSERT_TRUE(store.write(12, "k", "from 12").ok());
  auto stale = store.write(7, "k", "late write from 7");
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(store.data().at("k"), "from 12");
  EXPECT_TRUE(store.write(12, "k", "again from 12").ok());
}

}  // namespace
}  // namespace bcast::lock
