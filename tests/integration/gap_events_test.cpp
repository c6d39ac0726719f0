// No silent skip with real daemons (issue [views], docs/guarantees.md "Gaps"): one daemon of
// three is stopped (SIGSTOP) for 30 s, three times the peer timeout, while clients of the other
// two publish in every reliable and gossip cell (none, fifo, causal, total). The others exclude
// it, stop keeping messages for it, and when it continues they welcome it with new cuts: it
// skips what it missed, and its subscriber must be told. Afterwards every subscriber (one per
// daemon) has each acknowledged message or a gap event naming it, no gap event names a message it
// delivered, and a gap comes before the FIFO deliveries that follow it in its origin's stream.
//
// The teeth: the stopped daemon's subscriber misses messages (the test requires it to have seen
// gap events at all, and every message it lacks to be named by one), so a daemon that does not
// hand its gaps to clients (the state before ClientServer::announce_gap) fails the coverage
// check for that subscriber, as does a gap that names the wrong origin, mode or range.
#include <signal.h>

#include <map>
#include <set>

#include "integration_test.hpp"

namespace bcast::integration {
namespace {

constexpr auto kStopped = 30s;  // three peer timeouts (1000 ticks of 10 ms)
// Per cell, kBurst messages of some kPaddingBytes every kPublishEvery: a stopped daemon's peers
// queue what they send it (ZeroMQ holds 10,000 messages per peer, the kernel some megabytes),
// and it receives all of that when it continues; only what overflows those queues is lost to it
// and skipped, so the rate must overflow them within kStopped.
constexpr auto kPublishEvery = 100ms;
constexpr int kBurst = 6;
constexpr std::size_t kPaddingBytes = 1000;
constexpr auto kSettleLimit = 30s;

struct Cell {
  std::string mode;
  std::string order;
};

// Where an acknowledged message sits: its stream (origin, mode) and position, or its gseq.
struct Place {
  std::uint64_t origin = 0;
  std::string mode;
  std::uint64_t stream_seq = 0;
  std::optional<std::uint64_t> gseq;
};

bool covers(const GapEvent& gap, const Place& place) {
  const auto inside = [&](std::uint64_t position) {
    return gap.from <= position && (!gap.to || position <= *gap.to);
  };
  if (place.gseq) return gap.total && inside(*place.gseq);
  return !gap.total && gap.origin == place.origin && gap.mode == place.mode &&
         inside(place.stream_seq);
}

std::uint64_t origin_of(const Delivery& d) { return std::stoull(d.sender) >> 32; }

class GapEvents : public IntegrationTest {
 protected:
  // What one subscriber lacks and no gap event names: the violations, or none.
  std::vector<std::string> uncovered(const Subscriber& sub,
                                     const std::map<std::string, Place>& acknowledged) const {
    std::set<std::string> delivered;
    for (const Delivery& d : sub.deliveries()) {
      delivered.insert(d.gseq ? "gseq " + std::to_string(*d.gseq) : d.payload);
    }
    std::vector<std::string> missing;
    for (const auto& [payload, place] : acknowledged) {
      if (delivered.contains(payload)) continue;
      bool named = false;
      for (const GapEvent& gap : sub.gaps()) named = named || covers(gap, place);
      if (!named) missing.push_back(payload);
    }
    return missing;
  }
};

TEST_F(GapEvents, ADaemonStoppedPastThePeerTimeoutIsToldOfEverythingItSkipped) {
  LocalCluster cluster(path("cluster"), 3);
  const int leader = cluster.wait_leader();
  // Stop a follower: the two others keep a majority and keep ordering total-order messages.
  const int stopped = leader == 3 ? 2 : 3;
  std::vector<int> publishing;
  for (int node = 1; node <= 3; ++node) {
    if (node != stopped) publishing.push_back(node);
  }

  const std::string group = "gaps";
  std::vector<std::unique_ptr<Subscriber>> subs;
  std::vector<Subscriber*> sub_ptrs;
  for (int node = 1; node <= 3; ++node) {
    const std::string name = "sub" + std::to_string(node);
    subs.push_back(
        std::make_unique<Subscriber>(name, cluster.socket(node), group, path(name + ".err")));
    sub_ptrs.push_back(subs.back().get());
  }
  wait_joined(sub_ptrs, &cluster);

  std::vector<Cell> cells;
  for (const char* mode : {"reliable", "gossip"}) {
    for (const char* order : {"none", "fifo", "causal", "total"}) cells.push_back({mode, order});
  }
  std::vector<std::unique_ptr<Publisher>> pubs;
  std::vector<Publisher*> pub_ptrs;
  std::vector<Process*> procs;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const int node = publishing[i % publishing.size()];
    const std::string tag = cells[i].mode + "." + cells[i].order;
    pubs.push_back(std::make_unique<Publisher>(tag, cluster.socket(node), group, cells[i].mode,
                                               cells[i].order, path(tag + ".err")));
    pub_ptrs.push_back(pubs.back().get());
  }
  for (Subscriber* s : sub_ptrs) procs.push_back(&s->process());
  for (Publisher* p : pub_ptrs) procs.push_back(&p->process());
  const auto consume_all = [&] {
    for (Subscriber* s : sub_ptrs) s->consume();
    for (Publisher* p : pub_ptrs) p->consume();
  };
  const std::string padding(kPaddingBytes, '.');
  const auto publish_for = [&](std::chrono::milliseconds how_long) {
    const auto end = Clock::now() + how_long;
    while (Clock::now() < end) {
      for (Publisher* p : pub_ptrs) {
        for (int i = 0; i < kBurst; ++i) p->write_next(padding);
      }
      pump_until(
          procs, Clock::now() + kPublishEvery, [] { return false; }, consume_all);
    }
  };

  publish_for(2s);
  StoppedDaemon guard(cluster, stopped);
  ASSERT_TRUE(guard.stopped());
  publish_for(kStopped);
  guard.resume();
  publish_for(3s);
  for (Publisher* p : pub_ptrs) p->finish();

  // Every publisher done: its daemon never stopped, so every reliable and gossip publish is
  // acknowledged (checked below); a total-order one may time out while the cluster elects a
  // leader after the stopped daemon returns (a refused message is left out of `pub --json`, so
  // total-order receipts are matched by gseq, never by their index).
  const bool finished = pump_until(
      procs, Clock::now() + 30s,
      [&] {
        for (Publisher* p : pub_ptrs) {
          if (p->process().running()) return false;
        }
        return true;
      },
      consume_all);
  consume_all();
  ASSERT_TRUE(finished) << diagnostics(&cluster, sub_ptrs, pub_ptrs);

  // Where each acknowledged message sits: a total-order one at the gseq of its receipt (its key
  // is "gseq N"); any other at its stream position, learnt from any subscriber that delivered it
  // (its publisher's own daemon always does).
  std::map<std::string, Place> acknowledged;
  for (std::size_t c = 0; c < cells.size(); ++c) {
    Publisher* p = pub_ptrs[c];
    if (cells[c].order == "total") {
      for (const PubReceipt& receipt : p->receipts()) {
        ASSERT_TRUE(receipt.gseq) << p->tag();
        acknowledged["gseq " + std::to_string(*receipt.gseq)].gseq = receipt.gseq;
      }
      continue;
    }
    ASSERT_EQ(p->receipts().size(), p->payloads().size())
        << p->tag() << " had publishes refused: " << p->stderr_text();
    for (const std::string& payload : p->payloads()) acknowledged[payload];
  }
  const auto locate = [&] {
    for (Subscriber* s : sub_ptrs) {
      for (const Delivery& d : s->deliveries()) {
        auto it = acknowledged.find(d.payload);
        if (it == acknowledged.end() || !d.stream_seq) continue;
        it->second.origin = origin_of(d);
        it->second.mode = d.mode;
        it->second.stream_seq = *d.stream_seq;
      }
    }
  };
  // Settled: every subscriber has every message or a gap naming it.
  const bool settled = pump_until(
      procs, Clock::now() + kSettleLimit,
      [&] {
        locate();
        for (Subscriber* s : sub_ptrs) {
          if (!uncovered(*s, acknowledged).empty()) return false;
        }
        return true;
      },
      consume_all);
  locate();

  std::string report;
  for (Subscriber* s : sub_ptrs) {
    const auto missing = uncovered(*s, acknowledged);
    if (!missing.empty()) {
      report += s->name() + " lacks " + std::to_string(missing.size()) +
                " acknowledged messages that no gap event names, e.g. " +
                missing.front().substr(0, missing.front().find(':')) + "; it saw " +
                std::to_string(s->gaps().size()) + " gap events\n";
    }
  }
  EXPECT_TRUE(settled) << report << diagnostics(&cluster, sub_ptrs, pub_ptrs);

  for (const auto& [payload, place] : acknowledged) {
    EXPECT_TRUE(place.gseq || place.stream_seq != 0)
        << payload << " was acknowledged but no subscriber delivered it";
  }
  for (Subscriber* s : sub_ptrs) {
    EXPECT_TRUE(s->bad_lines().empty()) << s->name() << ": " << s->bad_lines().front();
    // A gap names only what is never delivered here, and comes before the FIFO deliveries that
    // follow its range in the origin's stream.
    for (const GapEvent& gap : s->gaps()) {
      for (const Delivery& d : s->deliveries()) {
        Place place{origin_of(d), d.mode, d.stream_seq.value_or(0), d.gseq};
        EXPECT_FALSE(covers(gap, place))
            << s->name() << " delivered " << d.payload << " that a gap (" << gap.reason << ", line "
            << gap.line << ") names";
        const bool follows = !gap.total && d.stream_seq && gap.origin == place.origin &&
                             gap.mode == d.mode && gap.to && *d.stream_seq > *gap.to;
        if (follows && d.order == "fifo") {
          EXPECT_GT(d.line, gap.line) << s->name() << " delivered " << d.payload << " (line "
                                      << d.line << ") before the gap before it";
        }
      }
    }
  }
  // The scenario did what it is for: the stopped daemon skipped messages and said so; the others
  // skipped nothing.
  const Subscriber& skipping = *sub_ptrs[stopped - 1];
  EXPECT_FALSE(skipping.gaps().empty()) << "the stopped daemon skipped nothing: no test of gaps";
  std::map<std::string, int> reasons;
  for (const GapEvent& gap : skipping.gaps()) ++reasons[gap.reason];
  for (const auto& [reason, count] : reasons) {
    std::cout << skipping.name() << ": " << count << " gap events, reason " << reason << "\n";
  }
  std::cout << skipping.name() << " delivered " << skipping.deliveries().size() << " of "
            << acknowledged.size() << " acknowledged messages\n";
  for (int node : publishing) {
    EXPECT_TRUE(sub_ptrs[node - 1]->gaps().empty())
        << "sub" << node << " on a daemon that never stopped saw a gap";
  }
}

}  // namespace
}  // namespace bcast::integration
