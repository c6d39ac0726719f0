// Chat over three real daemons: two people on different daemons see each other arrive, exchange
// a line each way, a third who comes later reads the conversation from the history, and a
// departure is announced; and the same through two bcast-chat processes.
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "chat_room.hpp"
#include "cluster.hpp"

namespace bcast::chat {
namespace {

using integration::Clock;
using integration::LocalCluster;
using integration::Process;
using integration::SpawnOptions;
using integration::TempDir;
using namespace std::chrono_literals;

class ChatCluster : public ::testing::Test {
 protected:
  void SetUp() override { cluster_.wait_leader(); }
  void TearDown() override {
    if (HasFailure()) dir_.keep();
  }
  ChatRoom enter(int node, const std::string& nick, bool history = true) {
    auto chat = ChatRoom::enter(cluster_.socket(node), "lobby", nick, history);
    EXPECT_TRUE(chat.ok()) << chat.error().message;
    return std::move(chat).value();
  }

  TempDir dir_;
  LocalCluster cluster_{dir_.path() + "/cluster", 3};
};

// Reads until a line equal to `wanted` arrives (10 s); every line read is kept in `seen`.
void expect_line(ChatRoom& chat, const std::string& wanted, std::vector<std::string>& seen) {
  const auto deadline = Clock::now() + 10s;
  while (std::find(seen.begin(), seen.end(), wanted) == seen.end() && Clock::now() < deadline) {
    auto lines = chat.read(100ms);
    ASSERT_TRUE(lines.ok()) << lines.error().message;
    seen.insert(seen.end(), lines.value().begin(), lines.value().end());
  }
  std::string all;
  for (const std::string& line : seen) all += "\n  " + line;
  ASSERT_NE(std::find(seen.begin(), seen.end(), wanted), seen.end())
      << "no line \"" << wanted << "\"; read:" << all;
}

TEST_F(ChatCluster, TwoPeopleSeeEachOtherJoinAndExchangeLines) {
  std::vector<std::string> alice_seen;
  std::vector<std::string> bob_seen;
  ChatRoom alice = enter(1, "alice");
  ASSERT_NO_FATAL_FAILURE(expect_line(alice, "* you joined lobby (here: alice)", alice_seen));
  ChatRoom bob = enter(2, "bob");
  ASSERT_NO_FATAL_FAILURE(expect_line(bob, "* you joined lobby (here: alice, bob)", bob_seen));
  ASSERT_NO_FATAL_FAILURE(expect_line(alice, "* bob joined lobby", alice_seen));

  ASSERT_TRUE(bob.say("hello alice").ok());
  ASSERT_NO_FATAL_FAILURE(expect_line(alice, "<bob> hello alice", alice_seen));
  ASSERT_TRUE(alice.say("hi bob").ok());
  ASSERT_NO_FATAL_FAILURE(expect_line(bob, "<alice> hi bob", bob_seen));

  // Carol comes later and reads what was said, in order, from daemon 3's history.
  std::vector<std::string> carol_seen;
  ChatRoom carol = enter(3, "carol");
  ASSERT_NO_FATAL_FAILURE(expect_line(carol, "<alice> hi bob", carol_seen));
  std::vector<std::string> said;
  std::copy_if(carol_seen.begin(), carol_seen.end(), std::back_inserter(said),
               [](const std::string& line) { return line.rfind("<", 0) == 0; });
  EXPECT_EQ(said, (std::vector<std::string>{"<bob> hello alice", "<alice> hi bob"}));

  auto left = bob.client().leave("lobby");
  ASSERT_TRUE(left.ok()) << left.error().message;
  ASSERT_NO_FATAL_FAILURE(expect_line(alice, "* bob left lobby (leave)", alice_seen));
}

TEST_F(ChatCluster, TwoBcastChatProcessesTalk) {
  SpawnOptions with_stdin;
  with_stdin.pipe_stdin = true;
  Process alice({BCAST_CHAT_CLI, "--socket", cluster_.socket(1), "--nick", "alice"}, with_stdin);
  auto wait_for = [](Process& process, const std::string& wanted) {
    const auto deadline = Clock::now() + 10s;
    while (auto line = process.read_line(deadline)) {
      if (*line == wanted) return true;
    }
    return false;
  };
  ASSERT_TRUE(wait_for(alice, "* you joined lobby (here: alice)")) << alice.transcript();
  Process bob({BCAST_CHAT_CLI, "--socket", cluster_.socket(2), "--nick", "bob"}, with_stdin);
  ASSERT_TRUE(wait_for(bob, "* you joined lobby (here: alice, bob)")) << bob.transcript();
  ASSERT_TRUE(wait_for(alice, "* bob joined lobby")) << alice.transcript();
  ASSERT_TRUE(bob.write("hello from bob\n"));
  ASSERT_TRUE(wait_for(alice, "<bob> hello from bob")) << alice.transcript();
  ASSERT_TRUE(alice.write("hi bob\n/quit\n"));
  ASSERT_TRUE(wait_for(bob, "<alice> hi bob")) << bob.transcript();
  ASSERT_TRUE(wait_for(bob, "* alice left lobby (disconnect)")) << bob.transcript();
  EXPECT_EQ(alice.wait(Clock::now() + 5s), 0);
}

}  // namespace
}  // namespace bcast::chat
