// The Driver's one fixed order of effects, with writes that complete later than they start (the
// daemon's storage thread): what waits for a write leaves only once it (and every earlier write)
// is durable; everything else leaves at once.
#include "core/driver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace bcast {
namespace {

Envelope raft_message(raft::MessageType type, NodeId to) {
  raft::Message m;
  m.type = type;
  m.from = 1;
  m.to = to;
  return Envelope{1, to, PeerMessage{m}};
}

raft::MessageType type_of(const Envelope& envelope) {
  return std::get<raft::Message>(envelope.message).type;
}

class LoggingIo : public DriverIo {
 public:
  void persist(const PersistRequest& request) override {
    log.push_back("persist " + std::to_string(request.entries.size()));
  }
  void send(Envelope envelope) override {
    log.push_back(std::string("send ") + raft::message_type_name(type_of(envelope)));
  }
  void deliver(Delivery delivery) override {
    log.push_back("deliver" + (delivery.payload ? " " + *delivery.payload : std::string()));
  }
  void announce_gap(const Gap& gap) override { log.push_back("gap " + std::to_string(gap.from)); }
  void acknowledge(Receipt) override { log.push_back("ack"); }
  void observe(const Event&) override { log.push_back("observe"); }
  std::vector<std::string> log;
};

Outbox round_with_write(LogIndex index) {
  Outbox out;
  out.persist.entries.push_back(raft::Entry{1, index, raft::EntryType::kNormal, "x"});
  out.persist.sync = true;
  out.messages.push_back(raft_message(raft::MessageType::kAppendResponse, 2));
  out.messages.push_back(raft_message(raft::MessageType::kAppend, 3));
  out.deliveries.push_back(Delivery{});
  return out;
}

TEST(Driver, MessagesThatWaitForAWriteLeaveOnlyOnceItIsDurable) {
  LoggingIo io;
  std::vector<LogIndex> reported;
  Driver driver(io, [&](LogIndex index, Term, Outbox&) { reported.push_back(index); });
  Outbox out = round_with_write(1);
  driver.apply(out);
  EXPECT_TRUE(out.empty());
  // The leader's Append leaves before the write; the acknowledgement waits for it.
  EXPECT_EQ(io.log, (std::vector<std::string>{"send Append", "persist 1", "deliver"}));
  EXPECT_EQ(driver.writes_in_flight(), 1u);
  EXPECT_TRUE(reported.empty());

  driver.complete_oldest_write(out);
  EXPECT_EQ(io.log.back(), "send AppendResponse");
  EXPECT_EQ(reported, std::vector<LogIndex>{1});
  EXPECT_EQ(driver.writes_in_flight(), 0u);
}

TEST(Driver, AnAnswerWithoutAWriteOfItsOwnWaitsForTheWritesBeforeIt) {
  LoggingIo io;
  Driver driver(io, [](LogIndex, Term, Outbox&) {});
  Outbox first = round_with_write(1);
  driver.apply(first);
  // A repeated Append is answered without writing anything, but the answer covers entries the
  // first write still carries.
  Outbox second;
  second.messages.push_back(raft_message(raft::MessageType::kVoteResponse, 2));
  driver.apply(second);
  EXPECT_EQ(std::count(io.log.begin(), io.log.end(), "send VoteResponse"), 0);
  driver.complete_oldest_write(second);
  EXPECT_EQ(io.log.back(), "send VoteResponse");
}

TEST(Driver, WritesCompleteInOrder) {
  LoggingIo io;
  std::vector<LogIndex> reported;
  Driver driver(io, [&](LogIndex index, Term, Outbox&) { reported.push_back(index); });
  Outbox a = round_with_write(1);
  Outbox b = round_with_write(2);
  driver.apply(a);
  driver.apply(b);
  EXPECT_EQ(driver.writes_in_flight(), 2u);
  Outbox more;
  driver.complete_oldest_write(more);
  driver.complete_oldest_write(more);
  EXPECT_EQ(reported, (std::vector<LogIndex>{1, 2}));
}

TEST(Driver, WithoutAWriteInFlightNothingWaits) {
  LoggingIo io;
  Driver driver(io, [](LogIndex, Term, Outbox&) {});
  Outbox out;
  out.messages.push_back(raft_message(raft::MessageType::kVoteResponse, 2));
  out.receipts.push_back(Receipt{});
  driver.apply(out);
  EXPECT_EQ(io.log, (std::vector<std::string>{"send VoteResponse", "ack"}));
}

TEST(Driver, ApplyOutboxCompletesEveryWriteAndWhatItsReportsAdd) {
  LoggingIo io;
  int reports = 0;
  Outbox out = round_with_write(1);
  apply_outbox(out, io, [&](LogIndex index, Term, Outbox& more) {
    ++reports;
    if (index == 1) more = round_with_write(2);  // the report leads to another write
  });
  EXPECT_EQ(reports, 2);
  EXPECT_EQ(std::count(io.log.begin(), io.log.end(), "send AppendResponse"), 2);
}

// [robustness] item 6: a heartbeat's answer promises only the term. Behind a write of entries
// alone (a 16 MiB append being synced) it leaves at once; on main it waited for the write, and
// a leader that heard no answers for an election timeout stepped down.
TEST(Driver, AHeartbeatAnswerDoesNotWaitForEntriesOnlyForANewTerm) {
  LoggingIo io;
  Driver driver(io, [](LogIndex, Term, Outbox&) {});
  Outbox first = round_with_write(1);
  first.persist.hard_state = raft::HardState{2, 1, 0};  // the term and vote this node took
  driver.apply(first);
  Outbox answer;
  answer.messages.push_back(raft_message(raft::MessageType::kHeartbeatResponse, 2));
  driver.apply(answer);
  // The term is not durable yet: the answer waits for the write that stores it.
  EXPECT_EQ(std::count(io.log.begin(), io.log.end(), "send HeartbeatResponse"), 0);
  driver.complete_oldest_write(answer);
  EXPECT_EQ(io.log.back(), "send HeartbeatResponse");

  Outbox entries = round_with_write(2);
  entries.persist.hard_state = raft::HardState{2, 1, 1};  // only the commit index moved
  entries.messages.push_back(raft_message(raft::MessageType::kHeartbeatResponse, 2));
  driver.apply(entries);
  answer.messages.push_back(raft_message(raft::MessageType::kHeartbeatResponse, 2));
  driver.apply(answer);
  // Both answers left before the entries are durable; the entries' acknowledgement did not.
  EXPECT_EQ(std::count(io.log.begin(), io.log.end(), "send HeartbeatResponse"), 3);
  EXPECT_EQ(std::count(io.log.begin(), io.log.end(), "send AppendResponse"), 1);
  EXPECT_EQ(driver.writes_in_flight(), 1u);

  Outbox new_term;
  new_term.persist.hard_state = raft::HardState{3, 0, 1};
  new_term.persist.sync = true;
  new_term.messages.push_back(raft_message(raft::MessageType::kHeartbeatResponse, 3));
  driver.apply(new_term);
  EXPECT_EQ(std::count(io.log.begin(), io.log.end(), "send HeartbeatResponse"), 3);
}

// A gap notice reaches the applications exactly where the core put it among the deliveries:
// before everything delivered after it, after everything delivered before it.
// A compaction lets the log forget entries delivered in the same round: the daemon's history
// must hold them before the write starts (DriverIo::persist syncs the history first).
TEST(Driver, AWriteWithASnapshotStartsAfterTheDeliveries) {
  LoggingIo io;
  Driver driver(io, [](LogIndex, Term, Outbox&) {});
  Outbox out = round_with_write(2);
  raft::Snapshot snapshot;
  snapshot.meta.index = 1;
  snapshot.meta.term = 1;
  out.persist.set_snapshot(snapshot, false);
  driver.apply(out);
  EXPECT_EQ(io.log, (std::vector<std::string>{"send Append", "deliver", "persist 1"}));
  EXPECT_EQ(driver.writes_in_flight(), 1u);
}

TEST(Driver, GapNoticesComeInTheirPlacesAmongTheDeliveries) {
  LoggingIo io;
  Driver driver(io, [](LogIndex, Term, Outbox&) {});
  Outbox out;
  const auto delivery = [](const std::string& payload) {
    Delivery d;
    d.payload = std::make_shared<const std::string>(payload);
    return d;
  };
  const auto gap = [](std::uint64_t from) {
    Gap g;
    g.from = g.to = from;
    return g;
  };
  announce_gap(out, gap(1));
  out.deliveries.push_back(delivery("a"));
  announce_gap(out, gap(2));
  announce_gap(out, gap(3));
  out.deliveries.push_back(delivery("b"));
  announce_gap(out, gap(4));
  driver.apply(out);
  EXPECT_EQ(io.log, (std::vector<std::string>{"gap 1", "deliver a", "gap 2", "gap 3", "deliver b",
                                              "gap 4"}));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace bcast
