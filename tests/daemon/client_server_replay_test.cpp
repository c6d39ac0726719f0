// [replay] The client server's replay of a group's total order from the history
// (client_server_replay.cpp): from a position, through holes, past the history's start, and over
// to the live deliveries with no gap and no duplicate.
#include <memory>
#include <string>
#include <vector>

#include "client_server_harness.hpp"
#include "io/history_store.hpp"
#include "io/posix_file_system.hpp"

namespace bcast::io {
namespace {

using protocol::Header;
using protocol::MessageType;

const SenderId kPublisher = make_sender_id(2, 5, 1);
constexpr std::uint64_t kNow = 1'800'000'000;

class ClientServerReplayTest : public testing::ClientServerTest {
 protected:
  ClientServerReplayTest() {
    HistoryOptions options;
    options.dir = dir_.path() + "/history";
    options.segment_bytes = 2048;
    options.max_bytes = 6000;
    auto opened = HistoryStore::open(fs_, options);
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    history_ = std::move(opened.value());
    handler_.history_store = history_.get();
  }

  // What the daemon does with a total-order delivery: the history first, then the fan-out.
  void deliver_total(std::uint64_t gseq, const std::string& group,
                     std::size_t payload_bytes = 100) {
    Delivery d;
    d.group = group;
    d.sender = kPublisher;
    d.seq = gseq;
    d.gseq = gseq;
    d.order = Order::kTotal;
    d.payload = std::make_shared<const std::string>(std::string(payload_bytes, 'x'));
    HistoryMessage m{gseq, group, d.sender, d.seq, d.mode, d.payload};
    ASSERT_TRUE(history_->append(m, kNow).ok());
    server_.deliver(d);
  }

  std::unique_ptr<zmq::socket_t> join_from(const std::string& group, std::uint64_t from_gseq) {
    auto client = connect({});
    Header join;
    join.type = MessageType::kJoin;
    join.id = 100;
    join.group = group;
    join.from_gseq = from_gseq;
    request(*client, join, MessageType::kOk);
    EXPECT_EQ(next(*client).type, MessageType::kView);
    return client;
  }

  static std::vector<std::uint64_t> gseqs(const std::vector<Header>& got) {
    std::vector<std::uint64_t> out;
    for (const Header& h : got) {
      if (h.type == MessageType::kDelivery) out.push_back(h.gseq.value_or(0));
    }
    return out;
  }

  PosixFileSystem fs_;
  std::unique_ptr<HistoryStore> history_;
};

TEST_F(ClientServerReplayTest, ReplaysTheGroupFromAPositionThenGoesLiveOnceEach) {
  // More than a replay reads per round (ClientServer::kReplayQueueBytes), so the live
  // deliveries below arrive while the replay is under way.
  for (std::uint64_t gseq = 1; gseq <= 30; ++gseq) {
    deliver_total(gseq, gseq % 2 ? "odd" : "even", 64 << 10);
  }
  auto client = join_from("even", 10);
  // Live deliveries while the replay has not caught up: the history holds them, once.
  deliver_total(31, "odd");
  deliver_total(32, "even");
  std::vector<Header> got = drain(*client);
  deliver_total(34, "even");
  const std::vector<Header> later = drain(*client);
  got.insert(got.end(), later.begin(), later.end());
  std::vector<std::uint64_t> want;
  for (std::uint64_t gseq = 10; gseq <= 32; gseq += 2) want.push_back(gseq);
  want.push_back(34);
  EXPECT_EQ(gseqs(got), want);
  for (const Header& h : got) {
    EXPECT_EQ(h.type, MessageType::kDelivery);
    EXPECT_EQ(h.group, "even");
    EXPECT_EQ(h.order, Order::kTotal);
  }
}

TEST_F(ClientServerReplayTest, APositionOlderThanTheHistoryIsAGapUpToTheOldestHeld) {
  for (std::uint64_t gseq = 1; gseq <= 120; ++gseq) deliver_total(gseq, "g");
  ASSERT_TRUE(history_->sync().ok());
  ASSERT_TRUE(history_->enforce_retention(kNow).ok());
  const std::uint64_t oldest = history_->first_gseq();
  ASSERT_GT(oldest, 1u) << "retention deleted nothing: the test needs a trimmed history";
  auto client = join_from("g", 1);
  const std::vector<Header> got = drain(*client);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0].type, MessageType::kGap);
  EXPECT_EQ(got[0].from_gseq, 1u);
  EXPECT_EQ(got[0].to_gseq, oldest - 1);
  EXPECT_EQ(got[0].reason, "history-trimmed");
  EXPECT_EQ(got[0].group, "g");
  std::vector<std::uint64_t> want;
  for (std::uint64_t gseq = oldest; gseq <= 120; ++gseq) want.push_back(gseq);
  EXPECT_EQ(gseqs(got), want);
  // From 0: the oldest held, without a gap.
  auto from_oldest = join_from("g", 0);
  const std::vector<Header> all = drain(*from_oldest);
  EXPECT_EQ(gseqs(all), want);
  EXPECT_EQ(all.size(), want.size());
}

TEST_F(ClientServerReplayTest, AHoleInTheHistoryIsAGapInItsPlace) {
  for (std::uint64_t gseq = 1; gseq <= 3; ++gseq) deliver_total(gseq, "g");
  ASSERT_TRUE(history_->append_hole(4, 9, kNow).ok());  // a snapshot covered 4..9 here
  deliver_total(10, "g");
  auto client = join_from("g", 1);
  const std::vector<Header> got = drain(*client);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[2].seq, 3u);
  EXPECT_EQ(got[3].type, MessageType::kGap);
  EXPECT_EQ(got[3].from_gseq, 4u);
  EXPECT_EQ(got[3].to_gseq, 9u);
  EXPECT_EQ(got[3].reason, "snapshot");
  EXPECT_EQ(got[4].gseq, 10u);
}

TEST_F(ClientServerReplayTest, WithoutAHistoryAReplayingJoinIsRefused) {
  handler_.history_store = nullptr;
  auto client = connect({});
  Header join;
  join.type = MessageType::kJoin;
  join.id = 7;
  join.group = "g";
  join.from_gseq = 1;
  client->send(zmq::buffer(protocol::encode_header(join)), zmq::send_flags::none);
  const Header reply = next(*client);
  EXPECT_EQ(reply.type, MessageType::kError);
  EXPECT_EQ(reply.code, ErrorCode::kUnavailable);
  // Not joined: live messages of the group do not reach it.
  Delivery d;
  d.group = "g";
  d.gseq = 1;
  d.order = Order::kTotal;
  server_.deliver(d);
  EXPECT_TRUE(drain(*client).empty());
}

// A live join's ok names the total-order position its live deliveries follow (the client resumes
// after it if its connection drops before any delivery).
TEST_F(ClientServerReplayTest, TheOkOfALiveJoinNamesTheLivePosition) {
  for (std::uint64_t gseq = 1; gseq <= 5; ++gseq) deliver_total(gseq, "g");
  auto client = connect({});
  Header join;
  join.type = MessageType::kJoin;
  join.id = 9;
  join.group = "g";
  client->send(zmq::buffer(protocol::encode_header(join)), zmq::send_flags::none);
  const Header ok = next(*client);
  EXPECT_EQ(ok.type, MessageType::kOk);
  EXPECT_EQ(ok.gseq, 5u);
}

}  // namespace
}  // namespace bcast::io
