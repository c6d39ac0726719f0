// RsmCore (lib/include/bcast/rsm_core.hpp) driven by hand-made delivery sequences: ordering,
// deduplication, result matching, state transfer and gaps, with no daemon involved.
#include "bcast/rsm_core.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bcast::rsm {
namespace {

// A log of applied commands: its state is the commands joined by ','.
class LogMachine : public StateMachine {
 public:
  std::string apply(std::string_view command) override {
    if (!log.empty()) log += ",";
    log += command;
    return "applied " + std::string(command);
  }
  std::string snapshot() override { return log; }
  void restore(std::string_view state) override {
    log = state;
    ++restores;
  }
  std::string log;
  int restores = 0;
};

constexpr std::uint64_t kMe = 0xA;
constexpr std::uint64_t kOther = 0xB;

std::string command(std::uint64_t replica, std::uint64_t id, const std::string& body) {
  return encode(Command{replica, id, body});
}

TEST(RsmMessages, RoundTripAndRefuseMalformed) {
  const Message messages[] = {Command{1, 2, "body"}, StateRequest{3, 4},
                              StateReply{5, 6, 7, std::string("st\0ate", 6)}};
  for (const auto& message : messages) {
    auto decoded = decode(encode(message));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(encode(*decoded), encode(message));
  }
  EXPECT_FALSE(decode(""));
  EXPECT_FALSE(decode("X123"));
  EXPECT_FALSE(decode(encode(Command{1, 2, ""}).substr(0, 10)));
  EXPECT_FALSE(decode(encode(StateRequest{1, 2}) + "x"));
}

TEST(RsmCore, AppliesInGseqOrderOnceAndHandsResultsOnlyToTheSubmitter) {
  LogMachine machine;
  RsmCore core(kMe, machine, 1 << 20);
  core.start_live(0);
  Outbox out;
  core.on_total_delivery(3, command(kOther, 1, "a"), out);
  core.on_total_delivery(7, command(kMe, 1, "b"), out);       // holes: other groups' positions
  core.on_total_delivery(7, command(kMe, 1, "b"), out);       // a repeat (replay overlap): skipped
  core.on_total_delivery(5, command(kOther, 2, "old"), out);  // below applied: skipped
  core.on_total_delivery(9, "not ours", out);                 // someone else's bytes: skipped
  core.on_total_delivery(11, command(kMe, 2, ""), out);       // a barrier: not applied
  EXPECT_EQ(machine.log, "a,b");
  EXPECT_EQ(core.applied_gseq(), 11u);
  EXPECT_EQ(core.skipped_messages(), 1u);
  ASSERT_EQ(out.completed.size(), 2u);
  EXPECT_EQ(out.completed[0].command_id, 1u);
  EXPECT_EQ(out.completed[0].gseq, 7u);
  EXPECT_EQ(out.completed[0].result, "applied b");
  EXPECT_EQ(out.completed[1].command_id, 2u);
  EXPECT_EQ(out.completed[1].result, "");
  EXPECT_EQ(out.applied_commands, 2u);
}

TEST(RsmCore, AnswersAStateRequestWithTheStateAsOfExactlyItsPosition) {
  LogMachine machine;
  RsmCore core(kMe, machine, 1 << 20);
  core.start_live(0);
  Outbox out;
  core.on_total_delivery(1, command(kOther, 1, "a"), out);
  core.on_total_delivery(2, encode(StateRequest{kOther, 9}), out);
  core.on_total_delivery(3, command(kOther, 2, "b"), out);
  core.on_total_delivery(4, encode(StateRequest{kMe, 1}), out);  // our own: no answer
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(out.replies[0].requester, kOther);
  EXPECT_EQ(out.replies[0].nonce, 9u);
  EXPECT_EQ(out.replies[0].as_of_gseq, 2u);
  EXPECT_EQ(out.replies[0].state, "a");
}

// The joiner's side, both arrival orders of the reply and its own request.
void expect_transfer(bool reply_first) {
  LogMachine machine;
  RsmCore core(kMe, machine, 1 << 20);
  Outbox out;
  core.start_awaiting_state(out);
  ASSERT_EQ(out.requests.size(), 1u);
  const std::uint64_t nonce = out.requests[0].nonce;
  EXPECT_EQ(core.phase(), RsmCore::Phase::kAwaitingState);
  core.on_total_delivery(10, command(kOther, 1, "before"), out);  // in the transferred state
  core.on_total_delivery(11, command(kMe, 1, "mine-before"), out);
  core.on_other_delivery(encode(StateReply{kOther, nonce, 12, "x"}), out);  // not for us
  if (reply_first) core.on_other_delivery(encode(StateReply{kMe, nonce, 12, "s"}), out);
  core.on_total_delivery(12, encode(StateRequest{kMe, nonce}), out);
  core.on_total_delivery(13, command(kMe, 2, "after"), out);
  if (!reply_first) {
    EXPECT_EQ(machine.log, "");  // nothing applied before the state arrives
    core.on_other_delivery(encode(StateReply{kMe, nonce, 12, "s"}), out);
  }
  EXPECT_EQ(core.phase(), RsmCore::Phase::kLive);
  EXPECT_EQ(machine.restores, 1);
  EXPECT_EQ(machine.log, "s,after");
  EXPECT_EQ(core.applied_gseq(), 13u);
  // Commands the state covers have no result here, and are reported as covered; those after
  // it have their result.
  ASSERT_EQ(out.completed.size(), 1u);
  EXPECT_EQ(out.completed[0].command_id, 2u);
  EXPECT_EQ(out.covered, std::vector<std::uint64_t>{1});
  // A second reply (another replica answered too) changes nothing.
  core.on_other_delivery(encode(StateReply{kMe, nonce, 12, "s"}), out);
  EXPECT_EQ(machine.restores, 1);
}

TEST(RsmCore, NewReplicaInstallsTheStateAtItsRequestAndAppliesWhatFollowed) {
  expect_transfer(/*reply_first=*/false);
}

TEST(RsmCore, AReplyArrivingBeforeItsRequestsDeliveryWaitsForIt) {
  expect_transfer(/*reply_first=*/true);
}

TEST(RsmCore, AGapPastTheAppliedPositionStopsApplyingAndAsksForAState) {
  LogMachine machine;
  RsmCore core(kMe, machine, 1 << 20);
  core.start_live(5);
  Outbox out;
  core.on_total_gap(1, 5, out);  // already covered by the state: harmless
  EXPECT_EQ(core.phase(), RsmCore::Phase::kLive);
  EXPECT_TRUE(out.requests.empty());
  core.on_total_gap(6, 8, out);
  EXPECT_EQ(core.phase(), RsmCore::Phase::kAwaitingState);
  ASSERT_EQ(out.requests.size(), 1u);
  core.on_total_delivery(9, command(kOther, 1, "lost-context"), out);
  EXPECT_EQ(machine.log, "");  // never applied on top of a state with a hole
}

TEST(RsmCore, AGapWhileAwaitingDiscardsRequestsDeliveredBeforeIt) {
  LogMachine machine;
  RsmCore core(kMe, machine, 1 << 20);
  Outbox out;
  core.start_awaiting_state(out);
  const std::uint64_t first = out.requests[0].nonce;
  core.on_total_delivery(4, encode(StateRequest{kMe, first}), out);
  core.on_total_gap(5, 6, out);  // what followed request 4 is incomplete now
  ASSERT_EQ(out.requests.size(), 2u);
  const std::uint64_t second = out.requests[1].nonce;
  core.on_other_delivery(encode(StateReply{kMe, first, 4, "stale"}), out);
  EXPECT_EQ(core.phase(), RsmCore::Phase::kAwaitingState);
  core.on_total_delivery(8, encode(StateRequest{kMe, second}), out);
  core.on_other_delivery(encode(StateReply{kMe, second, 8, "fresh"}), out);
  EXPECT_EQ(core.phase(), RsmCore::Phase::kLive);
  EXPECT_EQ(machine.log, "fresh");
  EXPECT_EQ(core.applied_gseq(), 8u);
}

TEST(RsmCore, ABufferBeyondItsBoundFailsTheReplica) {
  LogMachine machine;
  RsmCore core(kMe, machine, 100);
  Outbox out;
  core.start_awaiting_state(out);
  core.on_total_delivery(1, command(kOther, 1, std::string(200, 'x')), out);
  EXPECT_EQ(core.phase(), RsmCore::Phase::kFailed);
  EXPECT_NE(core.failure().find("exceed"), std::string::npos);
}

}  // namespace
}  // namespace bcast::rsm
