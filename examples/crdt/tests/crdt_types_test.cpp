// The CRDTs' semantics on hand-picked histories (the property test draws random ones), and the
// codec's refusals of what a group may carry that is not one of its messages.
#include <gtest/gtest.h>

#include <limits>

#include "codec.hpp"
#include "store.hpp"

namespace bcast::crdt {
namespace {

constexpr ReplicaId kA = 1ULL << 48;
constexpr ReplicaId kB = 2ULL << 48;

TEST(CrdtTypes, CountersAddConcurrentIncrementsAndKeepDecrements) {
  PNCounter a;
  PNCounter b;
  auto delta_a = a.add(kA, 5).value();
  auto delta_b = b.add(kB, -3).value();
  a.merge(delta_b);
  b.merge(delta_a);
  b.merge(delta_a);  // a duplicate changes nothing
  EXPECT_EQ(a.value(), 2);
  EXPECT_EQ(b, a);
  EXPECT_FALSE(a.add(kA, 0).ok());
  GCounter big;
  ASSERT_TRUE(big.increment(kA, std::numeric_limits<std::uint64_t>::max()).ok());
  auto overflow = big.increment(kB, 1);
  ASSERT_FALSE(overflow.ok());
  EXPECT_EQ(overflow.error().code, ErrorCode::kInvalidArgument);
  PNCounter low;
  ASSERT_TRUE(low.add(kA, std::numeric_limits<std::int64_t>::min()).ok());
  EXPECT_EQ(low.value(), std::numeric_limits<std::int64_t>::min());
}

TEST(CrdtTypes, MultiValueRegisterKeepsConcurrentWritesUntilOneCoversThem) {
  MVRegister a;
  MVRegister b;
  auto red = a.write(kA, "red");
  auto blue = b.write(kB, "blue");
  a.merge(blue);
  b.merge(red);
  EXPECT_EQ(a.values(), (std::vector<std::string>{"blue", "red"}));
  EXPECT_EQ(a, b);
  auto green = b.write(kB, "green");  // b saw both: green replaces them
  a.merge(green);
  EXPECT_EQ(a.values(), std::vector<std::string>{"green"});
  MVRegister late;  // the covering write first, the covered ones after: still green
  late.merge(green);
  late.merge(red);
  late.merge(blue);
  EXPECT_EQ(late, a);
}

TEST(CrdtTypes, OrSetAddWinsOverAConcurrentRemoveAndARemoveMayArriveBeforeItsAdd) {
  ORSet a;
  ORSet b;
  auto add = a.add(kA, "apple");
  b.merge(add);
  auto remove = b.remove("apple");
  auto concurrent_add = a.add(kA, "apple");  // a has not seen the remove
  a.merge(remove);
  b.merge(concurrent_add);
  EXPECT_TRUE(a.contains("apple"));
  EXPECT_EQ(a, b);

  ORSet c;  // gets the remove before the add it removed
  c.merge(remove);
  c.merge(add);
  EXPECT_FALSE(c.contains("apple"));
  ORSet d;
  d.merge(remove);
  d.merge(add);
  d.merge(concurrent_add);
  EXPECT_EQ(d, a);
}

TEST(CrdtTypes, MaxRegisterAndGrowOnlySet) {
  MaxRegister a;
  a.propose(-4);
  MaxRegister b;
  b.merge(MaxRegister::of(7));
  b.merge(a);
  EXPECT_EQ(b.value(), 7);
  GSet s;
  s.merge(s.add("x"));
  s.merge(GSet::of({"y"}));
  EXPECT_EQ(s.elements(), (std::set<std::string>{"x", "y"}));
}

TEST(CrdtCodec, RoundTripsEveryTypeAndRefusesWhatIsNotAMessage) {
  Store store(kA);
  std::vector<Update> updates = {store.gcounter_increment("c", 3).value(),
                                 store.pncounter_add("p", -2).value(),
                                 store.max_propose("m", -9),
                                 store.mvregister_write("r", "v"),
                                 store.gset_add("g", "e"),
                                 store.orset_add("o", "e"),
                                 store.orset_remove("o", "e")};
  for (const Update& update : updates) {
    auto decoded = decode(encode(update).value());
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(std::get<Update>(decoded.value()), update);
  }
  EXPECT_TRUE(std::holds_alternative<SyncRequest>(decode(encode(SyncRequest{}).value()).value()));

  const std::vector<std::string> bad = {
      "hello",
      "{}",
      R"({"crdt":2,"sync":true})",
      R"({"crdt":1,"update":{"type":"tree","name":"t","state":{}}})",
      R"({"crdt":1,"update":{"type":"gcounter","name":"c","state":{"entries":[[1,0]]}}})",
      R"({"crdt":1,"update":{"type":"gcounter","name":"c","state":{"entries":[[1,2],[1,3]]}}})",
      R"({"crdt":1,"update":{"type":"max","name":"m","state":{"value":"high"}}})",
      R"({"crdt":1,"update":{"type":"orset","name":"o","state":{"entries":[["e",[[1,5]]]],)"
      R"("context":{"prefix":[],"cloud":[]}}}})",
      R"({"crdt":1,"update":{"type":"mvregister","name":"r","state":{"entries":[{"value":1}]}}})",
  };
  for (const std::string& payload : bad) {
    auto decoded = decode(payload);
    ASSERT_FALSE(decoded.ok()) << payload;
    EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidArgument) << payload;
  }
  auto not_text = encode(Store(kA).gset_add("g", std::string("\xff\xfe", 2)));
  ASSERT_FALSE(not_text.ok());
  EXPECT_NE(not_text.error().message.find("UTF-8"), std::string::npos);
}

}  // namespace
}  // namespace bcast::crdt
