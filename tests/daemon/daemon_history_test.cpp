// DaemonHistory: what the core delivers becomes the total-order history, once, with holes for
// total-order gaps, across restarts that deliver the same gseqs again.
#include "io/daemon_history.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "io/posix_file_system.hpp"

namespace bcast::io {
namespace {

Delivery total(std::uint64_t gseq, std::string group = "g") {
  Delivery d;
  d.group = std::move(group);
  d.sender = 3;
  d.seq = gseq;
  d.gseq = gseq;
  d.mode = Mode::kReliable;
  d.order = Order::kTotal;
  d.payload = std::make_shared<const std::string>("payload " + std::to_string(gseq));
  return d;
}

class DaemonHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/bcast-history-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<DaemonHistory> open() {
    return std::make_unique<DaemonHistory>(fs_, dir_, HistoryOptions{}, true);
  }

  std::vector<std::string> contents(DaemonHistory& history) {
    std::vector<std::string> out;
    std::uint64_t next = 0;
    auto items = history.store()->read(0, "", UINT64_MAX, next);
    EXPECT_TRUE(items.ok());
    for (const HistoryItem& item : items.value()) {
      out.push_back(item.message ? std::to_string(item.message->gseq)
                                 : "hole " + std::to_string(item.hole_from) + ".." +
                                       std::to_string(item.hole_to));
    }
    return out;
  }

  PosixFileSystem fs_;
  std::string dir_;
};

TEST_F(DaemonHistoryTest, KeepsTotalOrderDeliveriesOnceWithHolesForGaps) {
  auto history = open();
  ASSERT_NE(history->store(), nullptr) << history->problem();
  Delivery fifo = total(1);
  fifo.gseq.reset();
  fifo.order = Order::kFifo;
  history->on_delivery(fifo);  // not total order: not history
  history->on_delivery(total(1));
  history->on_delivery(total(2));
  Gap snapshot;
  snapshot.kind = Gap::Kind::kTotal;
  snapshot.from = 3;
  snapshot.to = 9;
  history->on_gap(snapshot);
  history->on_delivery(total(10, "other"));
  history->sync();
  EXPECT_EQ(contents(*history), (std::vector<std::string>{"1", "2", "hole 3..9", "10"}));

  // A restart delivers again what the log still holds: nothing is kept twice.
  history = open();
  for (std::uint64_t g = 8; g <= 11; ++g) history->on_delivery(total(g));
  EXPECT_EQ(contents(*history), (std::vector<std::string>{"1", "2", "hole 3..9", "10", "11"}));
}

// A gap announced beyond what the history holds (it lost its unsynced tail in a crash, and the
// log no longer has those entries) is one hole with the lost part; the history stays on. (It was
// switched off: sim seed 1004 with 3 voters, "history hole 210..272 does not follow gseq 208".)
TEST_F(DaemonHistoryTest, AGapBeyondWhatTheHistoryHoldsIsOneHoleWithTheLostPart) {
  auto history = open();
  history->on_delivery(total(1));
  history->on_delivery(total(2));
  Gap snapshot;
  snapshot.kind = Gap::Kind::kTotal;
  snapshot.from = 5;
  snapshot.to = 9;
  history->on_gap(snapshot);
  ASSERT_NE(history->store(), nullptr) << history->problem();
  history->on_delivery(total(10));
  EXPECT_EQ(contents(*history), (std::vector<std::string>{"1", "2", "hole 3..9", "10"}));
}

TEST_F(DaemonHistoryTest, AnUnreadableHistoryIsSwitchedOffNotTheDaemon) {
  std::filesystem::create_directories(dir_ + "/history");
  {
    auto history = open();
    for (std::uint64_t g = 1; g <= 3; ++g) history->on_delivery(total(g));
    history->sync();
  }
  // A second segment makes the first an older one, whose damage is not a torn tail.
  {
    std::FILE* f = std::fopen((dir_ + "/history/" + history_segment_name(100)).c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
    f = std::fopen((dir_ + "/history/" + history_segment_name(1)).c_str(), "r+");
    ASSERT_NE(f, nullptr);
    std::fseek(f, 40, SEEK_SET);
    std::fputc('X', f);
    std::fclose(f);
  }
  auto history = open();
  EXPECT_EQ(history->store(), nullptr);
  EXPECT_NE(history->problem().find("damaged"), std::string::npos) << history->problem();
  history->on_delivery(total(4));  // no effect, no crash
  history->sync();
}

}  // namespace
}  // namespace bcast::io
