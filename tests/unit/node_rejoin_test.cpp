// Exclusion and rejoin between two real Nodes over a hand-driven network: what a daemon skips at
// a rejoin it announces as a gap before what follows, and a welcome after an exclusion reaches
// the newcomer even when the network loses it.
#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/driver.hpp"
#include "core/node.hpp"

namespace bcast {
namespace {

constexpr std::uint64_t kPeerTimeoutTicks = 50;

// What reaches one daemon's applications, in order: "deliver <payload>" or "gap <from>..<to>".
class RecordingIo : public DriverIo {
 public:
  explicit RecordingIo(std::deque<Envelope>& network) : network_(network) {}
  void persist(const PersistRequest&) override {}
  void send(Envelope envelope) override { network_.push_back(std::move(envelope)); }
  void deliver(Delivery delivery) override { seen.push_back("deliver " + *delivery.payload); }
  void announce_gap(const Gap& gap) override {
    gaps.push_back(gap);
    seen.push_back("gap " + std::to_string(gap.from) + ".." + std::to_string(gap.to));
  }
  void acknowledge(Receipt) override {}
  void observe(const Event&) override {}

  std::vector<std::string> seen;
  std::vector<Gap> gaps;

 private:
  std::deque<Envelope>& network_;
};

class TwoDaemons {
 public:
  TwoDaemons() {
    for (NodeId id : {1, 2}) {
      NodeOptions o;
      o.raft.id = id;
      o.peer_timeout_ticks = kPeerTimeoutTicks;
      raft::ConfState conf;
      conf.voters = {1, 2};
      nodes_[id] = std::make_unique<Node>(o, Rng(id), conf, raft::RaftState{});
      io_[id] = std::make_unique<RecordingIo>(network_);
      senders_[id] = nodes_[id]->open_sender();
    }
  }

  Node& node(NodeId id) { return *nodes_.at(id); }
  RecordingIo& io(NodeId id) { return *io_.at(id); }

  // Runs `ticks` ticks of both daemons, carrying every message between them that `pass` lets
  // through.
  void run(std::uint64_t ticks, const std::function<bool(const Envelope&)>& pass) {
    for (std::uint64_t t = 0; t < ticks; ++t) {
      for (NodeId id : {1, 2}) input(id, [&](Node& n, Outbox& out) { n.tick(out); });
      while (!network_.empty()) {
        Envelope e = std::move(network_.front());
        network_.pop_front();
        if (!pass(e)) continue;
        input(e.to, [&](Node& n, Outbox& out) { n.step(e, out); });
      }
    }
  }

  void publish(NodeId id, const std::string& payload) {
    PublishRequest r;
    r.sender = senders_.at(id);
    r.group = "g";
    r.mode = Mode::kReliable;
    r.order = Order::kFifo;
    r.payload = std::make_shared<const std::string>(payload);
    input(id, [&](Node& n, Outbox& out) { ASSERT_TRUE(n.publish(r, out).ok()); });
  }

 private:
  void input(NodeId id, const std::function<void(Node&, Outbox&)>& fn) {
    Node& n = *nodes_.at(id);
    Outbox out;
    fn(n, out);
    n.flush(out);
    apply_outbox(out, *io_.at(id), [&](LogIndex index, Term term, Outbox& more) {
      n.on_persisted(index, term, more);
    });
  }

  std::deque<Envelope> network_;
  std::map<NodeId, std::unique_ptr<Node>> nodes_;
  std::map<NodeId, std::unique_ptr<RecordingIo>> io_;
  std::map<NodeId, SenderId> senders_;
};

bool everything(const Envelope&) { return true; }

bool is_welcome(const Envelope& e, std::uint32_t epoch) {
  const auto* w = std::get_if<Welcome>(&e.message);
  return w != nullptr && w->epoch == epoch;
}

// Daemon 2 is cut off longer than the peer timeout while daemon 1 publishes; daemon 1's welcome
// after the exclusion is lost. Before the fix daemon 1 never sent it again and daemon 2, which
// cannot know it was excluded, waited forever for what daemon 1 had published meanwhile (and no
// longer kept): sim seeds 120, 208, 491, 495 (3 voters, --peer-timeout-ticks 150).
TEST(NodeRejoin, ALostWelcomeAfterAnExclusionIsSentAgainAndTheSkipIsAnnounced) {
  TwoDaemons d;
  d.run(20, everything);
  d.publish(1, "m1");
  d.run(10, everything);
  ASSERT_EQ(d.io(2).seen, std::vector<std::string>{"deliver m1"});

  d.run(kPeerTimeoutTicks + 20, [](const Envelope&) { return false; });  // cut off: excluded
  d.publish(1, "m2");
  d.publish(1, "m3");
  d.run(20, [](const Envelope&) { return false; });

  bool lost_one = false;
  const auto lose_first_rejoin_welcome = [&](const Envelope& e) {
    if (e.from != 1 || !is_welcome(e, 2) || lost_one) return true;
    lost_one = true;
    return false;
  };
  for (int t = 0; t < 100 && !lost_one; ++t) d.run(1, lose_first_rejoin_welcome);
  ASSERT_TRUE(lost_one);
  d.publish(1, "m4");
  d.run(40, lose_first_rejoin_welcome);

  // m2 and m3 were published while daemon 1 had excluded daemon 2: skipped, and said so first.
  EXPECT_EQ(d.io(2).seen, (std::vector<std::string>{"deliver m1", "gap 2..3", "deliver m4"}));
  ASSERT_EQ(d.io(2).gaps.size(), 1u);
  EXPECT_EQ(d.io(2).gaps[0].kind, Gap::Kind::kStream);
  EXPECT_EQ(d.io(2).gaps[0].reason, Gap::Reason::kExcluded);
  EXPECT_EQ(d.io(2).gaps[0].origin, d.node(1).origin());
  EXPECT_EQ(d.io(2).gaps[0].mode, Mode::kReliable);
  // Daemon 2's digests confirmed the welcome: daemon 1 stops sending it.
  EXPECT_TRUE(d.node(1).peers().unconfirmed_welcomes().empty());
}

}  // namespace
}  // namespace bcast
