// The total-order history (lib/io/history_store.hpp): appends, holes, reads from a position with
// bounded memory, retention by size and age, and recovery after crashes.
#include "io/history_store.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "support/faulty_file_system.hpp"

namespace bcast::io {
namespace {

constexpr std::uint64_t kNow = 1'800'000'000;  // unix seconds

HistoryMessage message(std::uint64_t gseq, std::string group = "g", std::size_t payload_bytes = 8) {
  HistoryMessage m;
  m.gseq = gseq;
  m.group = std::move(group);
  m.sender = 7;
  m.seq = gseq * 10;
  m.mode = Mode::kReliable;
  std::string payload = "m" + std::to_string(gseq);
  payload.resize(std::max(payload.size(), payload_bytes), '.');
  m.payload = std::make_shared<const std::string>(std::move(payload));
  return m;
}

HistoryOptions options(std::uint64_t segment_bytes = 1 << 20) {
  HistoryOptions o;
  o.dir = "/data/history";
  o.segment_bytes = segment_bytes;
  return o;
}

class HistoryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.create_dir("/data").ok()); }

  std::unique_ptr<HistoryStore> open(const HistoryOptions& o = options()) {
    auto store = HistoryStore::open(fs_, o);
    EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message);
    return store.ok() ? std::move(store.value()) : nullptr;
  }

  // "g<gseq>" for messages, "hole <a>..<b>" for holes.
  static std::vector<std::string> describe(const std::vector<HistoryItem>& items) {
    std::vector<std::string> out;
    for (const HistoryItem& item : items) {
      if (item.message) {
        out.push_back(std::to_string(item.message->gseq));
      } else {
        out.push_back("hole " + std::to_string(item.hole_from) + ".." +
                      std::to_string(item.hole_to));
      }
    }
    return out;
  }

  std::vector<std::string> read_all(HistoryStore& store, std::uint64_t from,
                                    const std::string& group = "") {
    std::uint64_t next = 0;
    auto items = store.read(from, group, UINT64_MAX, next);
    EXPECT_TRUE(items.ok());
    EXPECT_EQ(next, store.last_gseq() + 1);
    return items.ok() ? describe(items.value()) : std::vector<std::string>{};
  }

  test::FaultyFileSystem fs_;
};

TEST_F(HistoryStoreTest, ReadsFromAPositionWithHolesAndGroupsAndSurvivesReopening) {
  auto store = open();
  ASSERT_TRUE(store->append(message(5, "a"), kNow).ok());
  ASSERT_TRUE(store->append(message(6, "b"), kNow).ok());
  ASSERT_TRUE(store->append(message(9, "a"), kNow).ok());  // 7..8 skipped: a hole
  ASSERT_TRUE(store->append_hole(10, 12, kNow).ok());
  ASSERT_TRUE(store->append(message(13, "a"), kNow).ok());
  EXPECT_FALSE(store->append(message(13, "a"), kNow).ok()) << "gseqs only grow";
  EXPECT_EQ(store->first_gseq(), 5u);
  EXPECT_EQ(store->last_gseq(), 13u);

  const std::vector<std::string> everything = {"5", "6", "hole 7..8", "9", "hole 10..12", "13"};
  EXPECT_EQ(read_all(*store, 0), everything);
  EXPECT_EQ(read_all(*store, 8), (std::vector<std::string>{"hole 8..8", "9", "hole 10..12", "13"}));
  EXPECT_EQ(read_all(*store, 1, "a"),
            (std::vector<std::string>{"5", "hole 7..8", "9", "hole 10..12", "13"}));
  EXPECT_TRUE(read_all(*store, 14).empty());

  ASSERT_TRUE(store->sync().ok());
  store.reset();
  fs_.restart_process();
  auto reopened = open();
  EXPECT_EQ(reopened->last_gseq(), 13u);
  EXPECT_EQ(read_all(*reopened, 0), everything);
  std::uint64_t next = 0;
  auto items = reopened->read(9, "", UINT64_MAX, next);
  ASSERT_TRUE(items.ok());
  ASSERT_TRUE(items.value()[0].message.has_value());
  const HistoryMessage& m = *items.value()[0].message;
  EXPECT_EQ(m.group, "a");
  EXPECT_EQ(m.sender, 7u);
  EXPECT_EQ(m.seq, 90u);
  EXPECT_EQ(m.mode, Mode::kReliable);
  EXPECT_EQ(m.payload->substr(0, 2), "m9");
  ASSERT_TRUE(reopened->append(message(14), kNow).ok());
  EXPECT_EQ(read_all(*reopened, 13), (std::vector<std::string>{"13", "14"}));
}

TEST_F(HistoryStoreTest, ReadsInBoundedPiecesAcrossSegments) {
  auto store = open(options(/*segment_bytes=*/600));
  for (std::uint64_t g = 1; g <= 100; ++g)
    ASSERT_TRUE(store->append(message(g, "g", 50), kNow).ok());
  std::vector<std::string> all;
  std::uint64_t from = 1;
  int reads = 0;
  while (from <= store->last_gseq()) {
    std::uint64_t next = 0;
    auto items = store->read(from, "", /*max_bytes=*/200, next);
    ASSERT_TRUE(items.ok());
    ASSERT_LE(items.value().size(), 4u) << "a read returned more than its byte bound allows";
    ASSERT_GT(next, from);
    for (const std::string& d : describe(items.value())) all.push_back(d);
    from = next;
    ++reads;
  }
  ASSERT_EQ(all.size(), 100u);
  for (std::uint64_t g = 1; g <= 100; ++g) EXPECT_EQ(all[g - 1], std::to_string(g));
  EXPECT_GE(reads, 25);
}

TEST_F(HistoryStoreTest, RetentionDropsWholeOldestSegmentsBySizeAndAge) {
  HistoryOptions o = options(/*segment_bytes=*/1000);
  o.max_bytes = 5000;
  o.max_age_seconds = 3600;
  auto store = open(o);
  for (std::uint64_t g = 1; g <= 200; ++g) {
    ASSERT_TRUE(store->append(message(g, "g", 100), kNow + g).ok());
  }
  ASSERT_TRUE(store->enforce_retention(kNow + 200).ok());
  EXPECT_LE(store->size_bytes(), 5000u + 1000u);
  const std::uint64_t first = store->first_gseq();
  EXPECT_GT(first, 150u);
  EXPECT_EQ(read_all(*store, 0).front(), std::to_string(first)) << "reads start at the oldest";
  EXPECT_EQ(read_all(*store, 0).size(), 200 - first + 1);

  // A week later everything but the segment being written is too old.
  ASSERT_TRUE(store->enforce_retention(kNow + 200 + 7200).ok());
  EXPECT_EQ(store->last_gseq(), 200u);
  EXPECT_GT(store->first_gseq(), first);
  ASSERT_TRUE(store->append(message(201), kNow + 7300).ok());
}

TEST_F(HistoryStoreTest, APowerLossKeepsWhatWasSyncedAndCutsATornTail) {
  Rng rng(3);
  for (int round = 0; round < 50; ++round) {
    test::FaultyFileSystem fs;
    ASSERT_TRUE(fs.create_dir("/data").ok());
    ASSERT_TRUE(fs.sync_dir("/").ok());
    std::uint64_t synced_upto = 0;
    {
      auto store = HistoryStore::open(fs, options(/*segment_bytes=*/700));
      ASSERT_TRUE(store.ok());
      for (std::uint64_t g = 1; g <= 40; ++g) {
        ASSERT_TRUE(store.value()->append(message(g, "g", 30), kNow).ok());
        if (g % 7 == 0) {
          ASSERT_TRUE(store.value()->sync().ok());
          synced_upto = g;
        }
      }
    }
    fs.crash(rng);
    auto recovered = HistoryStore::open(fs, options(700));
    ASSERT_TRUE(recovered.ok()) << "round " << round << ": " << recovered.error().message;
    HistoryStore& store = *recovered.value();
    EXPECT_GE(store.last_gseq(), synced_upto) << "round " << round << " lost synced messages";
    std::uint64_t next = 0;
    auto items = store.read(1, "", UINT64_MAX, next);
    ASSERT_TRUE(items.ok());
    std::uint64_t expected = 1;
    for (const HistoryItem& item : items.value()) {
      ASSERT_TRUE(item.message.has_value());
      EXPECT_EQ(item.message->gseq, expected++) << "round " << round;
    }
    ASSERT_TRUE(store.append(message(store.last_gseq() + 1), kNow).ok());
  }
}

}  // namespace
}  // namespace bcast::io
