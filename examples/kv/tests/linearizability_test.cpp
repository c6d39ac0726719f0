// The checker itself (linearizability.hpp): it accepts what a register may do and refuses what
// it may not, above all a stale read labelled strong.
#include "linearizability.hpp"

#include <gtest/gtest.h>

namespace bcast::kv {
namespace {

using Kind = Operation::Kind;

Operation put(int client, std::int64_t call, std::int64_t ret, const std::string& value) {
  Operation op;
  op.kind = Kind::kPut;
  op.client = client;
  op.key = "k";
  op.value = value;
  op.call_ns = call;
  op.return_ns = ret;
  return op;
}

Operation get(int client, std::int64_t call, std::int64_t ret, std::optional<std::string> read) {
  Operation op;
  op.kind = Kind::kGet;
  op.client = client;
  op.key = "k";
  op.output = std::move(read);
  op.call_ns = call;
  op.return_ns = ret;
  return op;
}

TEST(Linearizability, SequentialHistoryOfEveryOperationPasses) {
  Operation cas;
  cas.kind = Kind::kCas;
  cas.key = "k";
  cas.expected = "1";
  cas.value = "5";
  cas.output = "1";
  cas.flag = true;
  cas.call_ns = 30;
  cas.return_ns = 40;
  Operation incr;
  incr.kind = Kind::kIncr;
  incr.key = "k";
  incr.value = "2";
  incr.output = "7";
  incr.call_ns = 50;
  incr.return_ns = 60;
  Operation del;
  del.kind = Kind::kDelete;
  del.key = "k";
  del.flag = true;
  del.call_ns = 70;
  del.return_ns = 80;
  const std::vector<Operation> history = {put(1, 10, 20, "1"), cas, incr, del,
                                          get(1, 90, 100, std::nullopt)};
  EXPECT_TRUE(check_linearizable(history).linearizable);
}

TEST(Linearizability, ConcurrentOperationsMayTakeEffectInEitherOrder) {
  // The read overlaps both writes: "1", "2" or nothing at all are all linearizable.
  for (std::optional<std::string> read :
       {std::optional<std::string>("1"), std::optional<std::string>("2"),
        std::optional<std::string>()}) {
    const std::vector<Operation> history = {put(1, 10, 50, "1"), put(2, 20, 60, "2"),
                                            get(3, 5, 70, read)};
    EXPECT_TRUE(check_linearizable(history).linearizable) << read.value_or("null");
  }
}

TEST(Linearizability, AStaleReadAfterAnAcknowledgedWriteIsAViolation) {
  // The broken read path: a local replica that has not applied put(k, 2) yet answers "strong".
  const std::vector<Operation> history = {put(1, 10, 20, "1"), put(1, 30, 40, "2"),
                                          get(2, 50, 60, "1")};
  const auto result = check_linearizable(history);
  EXPECT_FALSE(result.linearizable);
  EXPECT_EQ(result.key, "k");
  EXPECT_NE(result.explanation.find("get(k)"), std::string::npos);
}

TEST(Linearizability, TwoReadersMayNotSeeTheWritesInOppositeOrders) {
  const std::vector<Operation> history = {
      put(1, 0, 100, "1"), put(2, 0, 100, "2"),
      get(3, 10, 20, "1"), get(3, 30, 40, "2"),   // reader 3: 1 then 2
      get(4, 10, 20, "2"), get(4, 30, 40, "1")};  // reader 4: 2 then 1
  EXPECT_FALSE(check_linearizable(history).linearizable);
}

TEST(Linearizability, AWriteOfUnknownOutcomeMayTakeEffectLateOrNever) {
  Operation lost = put(1, 10, 0, "x");
  lost.known = false;
  lost.return_ns = std::numeric_limits<std::int64_t>::max();
  EXPECT_TRUE(check_linearizable({lost, get(2, 20, 30, std::nullopt)}).linearizable);
  EXPECT_TRUE(
      check_linearizable({lost, get(2, 20, 30, std::nullopt), get(2, 40, 50, "x")}).linearizable);
  // ...but once seen it cannot be unseen.
  EXPECT_FALSE(
      check_linearizable({lost, get(2, 20, 30, "x"), get(2, 40, 50, std::nullopt)}).linearizable);
}

TEST(Linearizability, KeysAreCheckedIndependently) {
  Operation other = get(2, 50, 60, std::nullopt);
  other.key = "other";
  EXPECT_TRUE(check_linearizable({put(1, 10, 20, "1"), other}).linearizable);
}

}  // namespace

}  // namespace bcast::kv
