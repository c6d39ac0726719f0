// [security] findings on main (83aa5b9), replayed with hand-made frames: a forged Raft Append
// made one daemon deliver another message at a gseq than the other two (a silent split of the
// total order), a forged vote request with the transfer flag deposed the leader, a term of
// 2^64-1 wrapped to 0 and stopped two daemons with a fatal storage error, a stream of forged
// heartbeats kept total-order publishes from completing, and a best-effort message pushed in
// another node's name was delivered. Each runs here against an unkeyed cluster (the attacker
// names a member that is not the leader; the checks are protocol-level, see
// core/membership/peer_validation.hpp) and against a keyed one with that member's own key (a
// compromised member: authenticated, yet it may speak only for itself).
#include <limits>
#include <memory>
#include <random>

#include "core/bcast/message.hpp"
#include "integration_test.hpp"
#include "raw_peer.hpp"

namespace bcast::integration {
namespace {

class PeerAttack : public IntegrationTest, public ::testing::WithParamInterface<bool> {
 protected:
  bool keyed() const { return GetParam(); }

  void SetUp() override {
    IntegrationTest::SetUp();
    cluster_ = std::make_unique<LocalCluster>(
        path("c"), 3, std::vector<std::string>{},
        keyed() ? LocalCluster::Keys::kCurve : LocalCluster::Keys::kNone);
    leader_ = cluster_->wait_leader();
    attacker_ = leader_ % 3 + 1;        // a member that is not the leader
    victim_ = 6 - leader_ - attacker_;  // the other follower
    for (int node = 1; node <= 3; ++node) {
      subs_.push_back(std::make_unique<Subscriber>("sub@" + std::to_string(node),
                                                   cluster_->socket(node), "g",
                                                   path("sub" + std::to_string(node) + ".err")));
    }
    wait_joined(subs(), cluster_.get());
    // One total-order message first, so every log ends with an entry of the current term.
    publish(leader_, "warmup");
    wait_delivered(1);
    facts_ = read_member_facts(cluster_->dir() + "/n" + std::to_string(attacker_) + "/data");
  }

  std::vector<Subscriber*> subs() {
    std::vector<Subscriber*> out;
    for (auto& s : subs_) out.push_back(s.get());
    return out;
  }
  std::vector<Process*> processes() {
    std::vector<Process*> out;
    for (auto& s : subs_) out.push_back(&s->process());
    return out;
  }

  // The attacker's connection to `node`: plain, or with the attacker's own member key.
  std::unique_ptr<RawPeer> connect_to(int node) {
    if (!keyed()) return std::make_unique<RawPeer>(cluster_->endpoint(node));
    auto own =
        io::read_secret_key_file(cluster_->dir() + "/keys/n" + std::to_string(attacker_) + ".key");
    if (!own) fail(own.error().message);
    const std::string server =
        read_file(cluster_->dir() + "/keys/n" + std::to_string(node) + ".pub");
    return std::make_unique<RawPeer>(cluster_->endpoint(node), own.value(), server.substr(0, 40));
  }

  raft::Message raft_as_attacker(raft::MessageType type, int to, Term term) const {
    raft::Message m;
    m.type = type;
    m.from = static_cast<NodeId>(attacker_);
    m.to = static_cast<NodeId>(to);
    m.term = term;
    return m;
  }
  Envelope envelope_to(int to, PeerMessage message) const {
    return envelope_as(facts_, static_cast<NodeId>(to), std::move(message));
  }

  nlohmann::json status(int node) {
    auto s = status_json(cluster_->socket(node));
    if (!s) fail("no status from node " + std::to_string(node) + "\n" + cluster_->all_logs());
    return *s;
  }

  void publish(int node, const std::string& payload, const std::string& order = "total") {
    auto r = run_command({bcastctl_path(), "--socket", cluster_->socket(node), "pub", "g",
                          "--order", order, payload},
                         20s);
    if (r.status != 0) {
      fail("pub on node " + std::to_string(node) + ": " + r.output + "\n" + cluster_->all_logs());
    }
  }

  void wait_delivered(std::size_t count) {
    const bool all = pump_until(
        processes(), Clock::now() + 15s,
        [&] {
          for (auto& s : subs_) {
            if (s->deliveries().size() < count) return false;
          }
          return true;
        },
        [&] {
          for (auto& s : subs_) s->consume();
        });
    if (!all) {
      fail("not every subscriber delivered " + std::to_string(count) + " messages\n" +
           diagnostics(cluster_.get(), subs(), {}));
    }
  }

  // Every daemon delivered the same messages, in the same order at the same gseq, and never
  // `forged`.
  void expect_one_history(const std::string& forged) {
    for (auto& s : subs_) {
      for (const Delivery& d : s->deliveries()) {
        EXPECT_EQ(d.payload.find(forged), std::string::npos)
            << s->name() << " delivered " << forged;
      }
      ASSERT_EQ(s->deliveries().size(), subs_[0]->deliveries().size()) << s->name();
      for (std::size_t i = 0; i < s->deliveries().size(); ++i) {
        EXPECT_EQ(s->deliveries()[i].payload, subs_[0]->deliveries()[i].payload) << s->name();
        EXPECT_EQ(s->deliveries()[i].gseq, subs_[0]->deliveries()[i].gseq) << s->name();
      }
    }
  }

  // `node` logged that it refused the attacker (and why, if `text` is given).
  void expect_refusal_logged(int node, const std::string& text) {
    const std::string log = read_file(cluster_->log_path(node));
    EXPECT_NE(log.find("refused a message from node " + std::to_string(attacker_)),
              std::string::npos)
        << cluster_->log_tail(node);
    if (!text.empty()) {
      EXPECT_NE(log.find(text), std::string::npos) << cluster_->log_tail(node);
    }
  }

  static std::string marker() {
    std::random_device entropy;
    return "FORGED-" + std::to_string(entropy());
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::vector<std::unique_ptr<Subscriber>> subs_;
  int leader_ = 0;
  int attacker_ = 0;
  int victim_ = 0;
  MemberFacts facts_;
};

TEST_P(PeerAttack, AForgedAppendCannotSplitTheTotalOrder) {
  const auto s = status(victim_);
  const Term term = s.at("term").get<Term>();
  const LogIndex last = s.at("commit_index").get<LogIndex>();
  // The next entry, in the current term, as the real leader would write it.
  const std::string forged = marker();
  BroadcastMessage message;
  message.sender = make_sender_id(facts_.node, facts_.incarnation, 777777);
  message.seq = 1;
  message.stream_seq = 1;
  message.group = "g";
  message.mode = Mode::kReliable;
  message.order = Order::kTotal;
  message.payload = std::make_shared<const std::string>(forged);
  raft::Message append = raft_as_attacker(raft::MessageType::kAppend, victim_, term);
  append.index = last;
  append.log_term = term;
  append.commit = last + 1;
  append.entries.push_back(raft::Entry{term, last + 1, raft::EntryType::kNormal,
                                       SharedBytes(encode_message_batch({message}))});
  auto peer = connect_to(victim_);
  for (int i = 0; i < 5; ++i) peer->send(envelope_to(victim_, append));
  pump_until(processes(), Clock::now() + 1s, [] { return false; });
  publish(leader_, "after-1");
  publish(victim_, "after-2");
  wait_delivered(3);
  expect_one_history(forged);
  expect_refusal_logged(victim_, "one leader per term");
}

TEST_P(PeerAttack, AForgedTransferVoteDoesNotDeposeTheLeader) {
  const auto before = status(leader_);
  const Term term = before.at("term").get<Term>();
  raft::Message vote = raft_as_attacker(raft::MessageType::kVote, leader_, term + 1);
  vote.index = before.at("commit_index").get<LogIndex>() + 1000;
  vote.log_term = term;
  vote.context = raft::kCampaignTransfer;
  auto peer = connect_to(leader_);
  for (int i = 0; i < 5; ++i) peer->send(envelope_to(leader_, vote));
  pump_until(processes(), Clock::now() + 1s, [] { return false; });
  const auto after = status(leader_);
  EXPECT_EQ(after.at("role"), "leader") << after.dump();
  EXPECT_EQ(after.at("term").get<Term>(), term) << after.dump();
  publish(leader_, "after");
  wait_delivered(2);
  expect_refusal_logged(leader_, "not handing over");
}

TEST_P(PeerAttack, TheLargestTermWrapsNothingAndStopsNoDaemon) {
  const Term top = std::numeric_limits<Term>::max();
  std::vector<std::unique_ptr<RawPeer>> peers;  // kept open until their frames are sent
  for (int node = 1; node <= 3; ++node) {
    if (node == attacker_) continue;
    auto& peer = peers.emplace_back(connect_to(node));
    for (auto type :
         {raft::MessageType::kHeartbeat, raft::MessageType::kVote, raft::MessageType::kAppend}) {
      peer->send(envelope_to(node, raft_as_attacker(type, node, top)));
    }
  }
  pump_until(processes(), Clock::now() + 1s, [] { return false; });
  for (int node = 1; node <= 3; ++node) {
    const auto s = status(node);  // alive
    EXPECT_LT(s.at("term").get<Term>(), Term{1} << 20) << s.dump();
  }
  cluster_->wait_leader();  // the daemons still agree on a leader
  publish(victim_, "after");
  wait_delivered(2);
  expect_refusal_logged(leader_, "");
}

TEST_P(PeerAttack, PhantomHeartbeatsDoNotStopTotalOrderPublishes) {
  const Term term = status(leader_).at("term").get<Term>();
  std::vector<std::unique_ptr<RawPeer>> peers;
  for (int node = 1; node <= 3; ++node)
    peers.push_back(node == attacker_ ? nullptr : connect_to(node));
  // About 25 forged heartbeats a second to each daemon, while the followers publish.
  int published = 0;
  const auto end = Clock::now() + 3s;
  while (Clock::now() < end) {
    for (int node = 1; node <= 3; ++node) {
      if (node == attacker_) continue;
      raft::Message beat = raft_as_attacker(raft::MessageType::kHeartbeat, node, term);
      beat.commit = 0;
      peers[node - 1]->send(envelope_to(node, beat));
    }
    // Without the check, a follower took each forged heartbeat for its leader's. (A real
    // election under load may move the term on; the forged heartbeats are then stale anyway.)
    const auto seen = status(victim_);
    if (seen.at("term").get<Term>() == term) {
      EXPECT_NE(seen.value("leader", 0), attacker_) << seen.dump();
    }
    if (published < 5) {
      publish(published % 2 == 0 ? victim_ : attacker_, "during-" + std::to_string(published));
      ++published;
    }
    pump_until(processes(), Clock::now() + 40ms, [] { return false; });
  }
  wait_delivered(1 + 5);
  expect_one_history("FORGED");
  cluster_->wait_leader();  // the daemons still agree on a leader
  expect_refusal_logged(victim_, "one leader per term");
}

TEST_P(PeerAttack, ABestEffortMessageInAnotherNodesNameIsNotDelivered) {
  // The attacker pushes a best-effort message whose origin is the leader's daemon: best-effort is
  // never relayed, so only the origin itself may push it.
  const MemberFacts leader_facts =
      read_member_facts(cluster_->dir() + "/n" + std::to_string(leader_) + "/data");
  const std::string forged = marker();
  BroadcastMessage message;
  message.sender = make_sender_id(leader_facts.node, leader_facts.incarnation, 777777);
  message.seq = 1;
  message.group = "g";
  message.mode = Mode::kBestEffort;
  message.order = Order::kNone;
  message.payload = std::make_shared<const std::string>(forged);
  auto peer = connect_to(victim_);
  for (int i = 0; i < 5; ++i) peer->send(envelope_to(victim_, DataPush{message, 0, false}));
  pump_until(processes(), Clock::now() + 1s, [] { return false; });
  publish(leader_, "after");
  wait_delivered(2);
  expect_one_history(forged);
  expect_refusal_logged(victim_, "best-effort message's origin");
}

INSTANTIATE_TEST_SUITE_P(Keys, PeerAttack, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "KeyedMember" : "Unkeyed";
                         });

}  // namespace
}  // namespace bcast::integration
