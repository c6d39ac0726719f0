// Scenario 1: every valid mode x order cell on a fresh 3-daemon cluster. Two publishers on
// daemons 1 and 2 (one fed on stdin, one given its messages as arguments), three subscribers
// (one per daemon) joined before anything is published. For causal order, a client on daemon 3
// replies to some of what it delivers, and everyone must deliver each message before its reply.
#include <signal.h>

#include <bcast/client.hpp>

#include "integration_test.hpp"

namespace bcast::integration {
namespace {

struct Cell {
  const char* mode;
  const char* order;
};

void PrintTo(const Cell& cell, std::ostream* out) { *out << cell.mode << "/" << cell.order; }

std::string cell_name(const ::testing::TestParamInfo<Cell>& info) {
  std::string name = std::string(info.param.mode) + "_" + info.param.order;
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

constexpr std::size_t kMessages = 100;  // per publisher
constexpr std::uint64_t kReplyEvery = 10;

// A subscriber that answers: a C++ client (lib/include/bcast/client.hpp) on one daemon, joined
// to the group, that publishes "R-n:A-k" (causal) as soon as it delivers A-k for every
// kReplyEvery-th k. Its own deliveries are checked like any subscriber's.
class ReplyAgent {
 public:
  ReplyAgent(const std::string& socket, std::string group, Mode mode)
      : group_(std::move(group)), mode_(mode) {
    auto connected = Client::connect({.socket_path = socket, .client_name = "reply-agent"});
    if (!connected) fail("reply agent: connect: " + connected.error().message);
    client_.emplace(std::move(connected.value()));
    if (auto joined = client_->join(group_); !joined) {
      fail("reply agent: join: " + joined.error().message);
    }
    stream_.tag = "R";
  }

  void poll() {
    for (;;) {
      auto event = client_->next_event(0ms);
      if (!event) fail("reply agent: next_event: " + event.error().message);
      if (!event.value()) return;
      handle(*event.value());
    }
  }

  bool joined() const { return joined_; }
  std::size_t replies() const { return stream_.payloads.size(); }
  std::size_t answered() const { return acknowledged_.size() + errors_.size(); }
  const std::vector<std::string>& errors() const { return errors_; }
  const std::vector<Delivery>& deliveries() const { return deliveries_; }
  // The replies, with the receipts that came back (all of them, in order, once answered()).
  Stream stream() const {
    Stream s = stream_;
    for (std::size_t i = 0; i < s.payloads.size(); ++i) {
      auto it = acknowledged_.find(i);
      if (it == acknowledged_.end()) break;
      s.receipts.push_back(it->second);
    }
    return s;
  }
  // (message, reply) pairs.
  const std::vector<std::pair<std::string, std::string>>& pairs() const { return pairs_; }

 private:
  void handle(const Event& event) {
    if (std::holds_alternative<View>(event)) {
      joined_ = true;
    } else if (const auto* d = std::get_if<bcast::Delivery>(&event)) {
      Delivery copy{d->group,           std::to_string(d->sender), d->seq,    d->gseq,
                    mode_name(d->mode), order_name(d->order),      d->payload};
      deliveries_.push_back(copy);
      const auto id = parse_payload(d->payload);
      if (id && id->tag == "A" && id->n % kReplyEvery == 0) {
        const std::string reply =
            "R-" + std::to_string(stream_.payloads.size() + 1) + ":" + d->payload;
        auto sent = client_->publish(group_, mode_, Order::kCausal, reply);
        if (!sent) fail("reply agent: publish: " + sent.error().message);
        index_of_request_[sent.value()] = stream_.payloads.size();
        stream_.payloads.push_back(reply);
        pairs_.emplace_back(d->payload, reply);
      }
    } else if (const auto* r = std::get_if<bcast::Receipt>(&event)) {
      auto it = index_of_request_.find(r->request_id);
      if (it == index_of_request_.end()) {
        errors_.push_back("receipt for unknown request " + std::to_string(r->request_id));
      } else {
        acknowledged_[it->second] = PubReceipt{r->seq, r->gseq};
      }
    } else if (const auto* e = std::get_if<RequestError>(&event)) {
      errors_.push_back("request " + std::to_string(e->request_id) + ": " + e->error.message);
    }
  }

  std::string group_;
  Mode mode_;
  std::optional<Client> client_;
  bool joined_ = false;
  Stream stream_;
  std::map<std::uint64_t, std::size_t> index_of_request_;
  std::map<std::size_t, PubReceipt> acknowledged_;
  std::vector<std::string> errors_;
  std::vector<Delivery> deliveries_;
  std::vector<std::pair<std::string, std::string>> pairs_;
};

// Every reply comes after the message it answers, at every subscriber that delivered it.
void check_replies(const std::string& name, const std::vector<Delivery>& deliveries,
                   const std::vector<std::pair<std::string, std::string>>& pairs,
                   std::vector<std::string>& violations) {
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < deliveries.size(); ++i) position.emplace(deliveries[i].payload, i);
  for (const auto& [message, reply] : pairs) {
    auto r = position.find(reply);
    if (r == position.end()) continue;  // completeness is checked separately
    auto m = position.find(message);
    if (m == position.end() || m->second > r->second) {
      violations.push_back(
          name + " delivered " + reply + " (#" + std::to_string(r->second + 1) + ") before " +
          message +
          (m == position.end() ? " (never)" : " (#" + std::to_string(m->second + 1) + ")"));
    }
  }
}

class BroadcastCell : public IntegrationTest, public ::testing::WithParamInterface<Cell> {};

TEST_P(BroadcastCell, TwoPublishersThreeSubscribers) {
  const std::string mode = GetParam().mode;
  const std::string order = GetParam().order;
  const std::string group = "cell-" + mode + "-" + order;
  const bool best_effort = mode == "best-effort";
  const bool causal = order == "causal";

  LocalCluster cluster(path("cluster"), 3);
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (int i = 1; i <= 3; ++i) {
    subs.push_back(std::make_unique<Subscriber>("sub" + std::to_string(i), cluster.socket(i), group,
                                                path("sub" + std::to_string(i) + ".err")));
  }
  std::vector<Subscriber*> sub_ptrs;
  std::vector<Process*> procs;
  for (auto& s : subs) {
    sub_ptrs.push_back(s.get());
    procs.push_back(&s->process());
  }
  wait_joined(sub_ptrs, &cluster);

  std::optional<ReplyAgent> agent;
  if (causal) {
    agent.emplace(cluster.socket(3), group, *parse_mode(mode));
    const bool joined = pump_until(
        {}, Clock::now() + 10s, [&] { return agent->joined(); }, [&] { agent->poll(); }, 5ms);
    ASSERT_TRUE(joined) << "the reply agent got no view after joining";
  }

  std::vector<std::string> b_args;
  for (std::size_t n = 1; n <= kMessages; ++n) b_args.push_back("B-" + std::to_string(n));
  Publisher a("A", cluster.socket(1), group, mode, order, path("pubA.err"));
  Publisher b("B", cluster.socket(2), group, mode, order, path("pubB.err"), b_args);
  a.write_until(kMessages);
  a.finish();
  std::vector<Publisher*> pubs = {&a, &b};
  procs.push_back(&a.process());
  procs.push_back(&b.process());

  auto on_read = [&] {
    for (auto& s : subs) s->consume();
    a.consume();
    b.consume();
    if (agent) agent->poll();
  };
  const auto slice = agent ? 5ms : 50ms;
  const bool published = pump_until(
      procs, Clock::now() + 20s,
      [&] {
        return !a.process().running() && !b.process().running() && a.process().stdout_closed() &&
               b.process().stdout_closed();
      },
      on_read, slice);
  ASSERT_TRUE(published) << "the publishers did not finish within 20 s; receipts: A "
                         << a.receipts().size() << ", B " << b.receipts().size() << "\n"
                         << diagnostics(&cluster, sub_ptrs, pubs);
  for (Publisher* p : pubs) {
    EXPECT_EQ(*p->process().exit_status(), 0)
        << "bcastctl pub " << p->tag() << " failed: " << p->stderr_text();
    EXPECT_EQ(p->receipts().size(), kMessages) << "receipts of publisher " << p->tag();
    EXPECT_TRUE(p->bad_lines().empty())
        << "publisher " << p->tag()
        << " printed non-receipt lines, first: " << p->bad_lines().front();
  }

  if (agent) {
    // A-10, A-20, ... all reach daemon 3 (reliable or gossip), so the agent answers each.
    const bool answered = pump_until(
        procs, Clock::now() + 20s,
        [&] {
          return agent->replies() == kMessages / kReplyEvery &&
                 agent->answered() == agent->replies();
        },
        on_read, slice);
    ASSERT_TRUE(answered) << "the reply agent sent " << agent->replies() << " replies and got "
                          << agent->answered() << " answers within 20 s";
    EXPECT_TRUE(agent->errors().empty()) << "reply agent: " << agent->errors().front();
  }

  std::vector<Stream> streams = {{"A", a.payloads(), a.receipts()},
                                 {"B", b.payloads(), b.receipts()}};
  if (agent) streams.push_back(agent->stream());
  DeliveryCheck check(expectation_for(group, mode, order), streams);

  // Every acknowledged message reaches every subscriber (best-effort may lose some, so there
  // the wait only gives stragglers a chance and is not a failure).
  auto all_delivered = [&] {
    for (auto& s : subs) {
      if (check.missing(s->deliveries()) > 0) return false;
    }
    return !agent || check.missing(agent->deliveries()) == 0;
  };
  const bool complete =
      pump_until(procs, Clock::now() + (best_effort ? 5s : 20s), all_delivered, on_read, slice);
  if (!best_effort) {
    EXPECT_TRUE(complete) << "not every acknowledged message was delivered within 20 s\n"
                          << diagnostics(&cluster, sub_ptrs, pubs);
  }

  // SIGTERM: subscribers exit cleanly (contract), and nothing more arrives after the end.
  for (auto& s : subs) {
    const int status = s->process().terminate(5000ms);
    EXPECT_EQ(status, 0) << s->name() << " did not exit cleanly on SIGTERM ("
                         << describe_status(status) << "); stderr: " << s->stderr_text();
    s->consume();
  }
  if (agent) agent->poll();

  for (auto& s : subs) {
    check.check_subscriber(s->name(), s->deliveries(), !best_effort, true);
    EXPECT_TRUE(s->bad_lines().empty())
        << s->name() << " printed a line that is not a view or message: " << s->bad_lines().front();
  }
  if (agent) check.check_subscriber("reply-agent", agent->deliveries(), true, true);
  EXPECT_TRUE(check.violations().empty()) << mode << "/" << order << ":\n"
                                          << check.report() << diagnostics(&cluster, {}, {});

  if (agent) {
    std::vector<std::string> violations;
    for (auto& s : subs) check_replies(s->name(), s->deliveries(), agent->pairs(), violations);
    check_replies("reply-agent", agent->deliveries(), agent->pairs(), violations);
    std::string text;
    for (const std::string& v : violations) text += "  " + v + "\n";
    EXPECT_TRUE(violations.empty()) << "causal order broken:\n" << text;
  }

  std::size_t delivered = 0;
  for (auto& s : subs) delivered += s->deliveries().size();
  RecordProperty("deliveries", static_cast<int>(delivered));
  std::cout << "[   INFO   ] " << mode << "/" << order << ": " << delivered << " of "
            << 3 * (a.receipts().size() + b.receipts().size() + (agent ? agent->replies() : 0))
            << " deliveries"
            << (agent ? ", " + std::to_string(agent->pairs().size()) + " causal replies checked"
                      : std::string())
            << "\n";
}

INSTANTIATE_TEST_SUITE_P(Cells, BroadcastCell,
                         ::testing::Values(Cell{"best-effort", "none"}, Cell{"best-effort", "fifo"},
                                           Cell{"reliable", "none"}, Cell{"reliable", "fifo"},
                                           Cell{"reliable", "causal"}, Cell{"reliable", "total"},
                                           Cell{"gossip", "none"}, Cell{"gossip", "fifo"},
                                           Cell{"gossip", "causal"}, Cell{"gossip", "total"}),
                         cell_name);

}  // namespace
}  // namespace bcast::integration
