// Agreed group views with real daemons (docs/membership.md): a subscriber sees a view for
// another client's join, leave and kill -9, for a daemon's kill -9 and its restart, and for a
// daemon stopped longer than the peer timeout and continued; subscribers on two daemons see the
// same views.
#include <signal.h>

#include <map>

#include "bcast/client.hpp"
#include "integration_test.hpp"

namespace bcast::integration {
namespace {

// The peer timeout is 1000 ticks of 10 ms: an excluded daemon is noticed within ~10 s.
constexpr auto kExclusionLimit = 30s;
constexpr auto kViewLimit = 10s;

// `bcastctl sub GROUP --json`, keeping its agreed views (the lines with a view_id).
class ViewWatcher {
 public:
  ViewWatcher(const std::string& socket, const std::string& group, const std::string& err)
      : process_({bcastctl_path(), "--socket", socket, "sub", group, "--json"},
                 SpawnOptions{.stderr_path = err}) {}
  Process& process() { return process_; }
  const std::vector<nlohmann::json>& views() const { return views_; }
  const std::vector<std::string>& bad_lines() const { return bad_lines_; }

  void consume() {
    auto& lines = process_.lines();
    while (!lines.empty()) {
      const std::string line = std::move(lines.front());
      lines.pop_front();
      try {
        auto j = nlohmann::json::parse(line);
        if (j.at("type") == "view" && j.contains("view_id")) views_.push_back(std::move(j));
      } catch (const nlohmann::json::exception& e) {
        bad_lines_.push_back(line + "   <- " + e.what());
      }
    }
  }

  // Waits for a view after the first `from` that satisfies `match`; returns it.
  nlohmann::json wait_for(std::size_t from, const std::function<bool(const nlohmann::json&)>& match,
                          std::chrono::milliseconds timeout, const std::string& what,
                          const LocalCluster& cluster) {
    std::optional<nlohmann::json> found;
    auto search = [&] {
      for (std::size_t i = from; i < views_.size() && !found; ++i) {
        if (match(views_[i])) found = views_[i];
      }
      return found.has_value();
    };
    pump_until({&process_}, Clock::now() + timeout, search, [&] { consume(); });
    if (!found) {
      std::string seen;
      for (const auto& v : views_) seen += v.dump() + "\n";
      fail("no view " + what + " within " + std::to_string(timeout.count()) + " ms; views:\n" +
           seen + cluster.all_logs());
    }
    return *found;
  }

 private:
  Process process_;
  std::vector<nlohmann::json> views_;
  std::vector<std::string> bad_lines_;
};

bool lists_node(const nlohmann::json& members, int node) {
  for (const auto& m : members) {
    if (m.at("node") == node) return true;
  }
  return false;
}

bool lists_sender(const nlohmann::json& members, std::uint64_t sender) {
  for (const auto& m : members) {
    if (m.at("sender") == sender) return true;
  }
  return false;
}

// The sender a view says joined from `node` (the newest such member).
std::uint64_t joined_from(const nlohmann::json& view, int node) {
  for (const auto& m : view.at("joined")) {
    if (m.at("node") == node) return m.at("sender").get<std::uint64_t>();
  }
  fail("view lists no member of node " + std::to_string(node) + " as joined: " + view.dump());
}

class GroupViews : public IntegrationTest {};

TEST_F(GroupViews, ClientAndDaemonFaultsReachEveryMemberAsAgreedViews) {
  const std::string group = "views";
  LocalCluster cluster(path("cluster"), 3);
  cluster.wait_leader();
  ViewWatcher watcher(cluster.socket(1), group, path("watcher.err"));
  ViewWatcher peer(cluster.socket(2), group, path("peer.err"));
  auto both = watcher.wait_for(
      0,
      [](const auto& v) {
        return lists_node(v.at("members"), 1) && lists_node(v.at("members"), 2);
      },
      kViewLimit, "with the watchers on nodes 1 and 2", cluster);
  EXPECT_EQ(both.at("cause"), "join");

  // A library client's join and leave.
  std::size_t mark = watcher.views().size();
  ClientOptions options;
  options.socket_path = cluster.socket(2);
  options.client_name = "library client";
  auto client = Client::connect(options);
  ASSERT_TRUE(client.ok()) << client.error().message;
  ASSERT_TRUE(client.value().join(group).ok());
  auto joined = watcher.wait_for(
      mark,
      [](const auto& v) {
        return v.at("cause") == "join" && v.at("joined").size() == 1 &&
               v.at("joined")[0].at("name") == "library client";
      },
      kViewLimit, "of the library client's join", cluster);
  const std::uint64_t library_sender = joined.at("joined")[0].at("sender").get<std::uint64_t>();
  ASSERT_TRUE(client.value().leave(group).ok());
  watcher.wait_for(
      mark,
      [&](const auto& v) {
        return v.at("cause") == "leave" && lists_sender(v.at("left"), library_sender) &&
               !lists_sender(v.at("members"), library_sender);
      },
      kViewLimit, "of the library client's leave", cluster);

  // kill -9 of a client process on node 3.
  mark = watcher.views().size();
  auto doomed = std::make_unique<ViewWatcher>(cluster.socket(3), group, path("doomed.err"));
  const std::uint64_t doomed_sender = joined_from(
      watcher.wait_for(
          mark,
          [](const auto& v) { return v.at("cause") == "join" && lists_node(v.at("joined"), 3); },
          kViewLimit, "of a client of node 3 joining", cluster),
      3);
  doomed->process().signal(SIGKILL);
  watcher.wait_for(
      mark,
      [&](const auto& v) {
        return v.at("cause") == "disconnect" && lists_sender(v.at("left"), doomed_sender);
      },
      kViewLimit, "of the killed client's disconnect", cluster);
  doomed.reset();

  // kill -9 of daemon 3, with a member on it, then its restart and a new member there.
  mark = watcher.views().size();
  ViewWatcher on_three(cluster.socket(3), group, path("three.err"));
  const std::uint64_t three_sender = joined_from(
      watcher.wait_for(
          mark,
          [](const auto& v) { return v.at("cause") == "join" && lists_node(v.at("joined"), 3); },
          kViewLimit, "of a second client of node 3 joining", cluster),
      3);
  cluster.kill(3);
  watcher.wait_for(
      mark,
      [&](const auto& v) {
        return v.at("cause") == "daemon-failed" && lists_sender(v.at("left"), three_sender) &&
               !lists_node(v.at("members"), 3);
      },
      kExclusionLimit, "of daemon 3 failing", cluster);
  // Node 1's failure detector shows daemon 3 unreachable, and the agreed views hold it down.
  // Node 1 judges on its own clock: the leader's judgment may reach it (as the view above) up to
  // a hello interval before node 1's own timeout check runs (CI: last heard exactly 10,000 ms
  // ago, still reachable), so it is asked until it says so, for a few seconds.
  nlohmann::json reach;
  bool three_unreachable = false;
  for (const auto deadline = Clock::now() + 5s; !three_unreachable && Clock::now() < deadline;) {
    const auto members =
        run_command({bcastctl_path(), "--socket", cluster.socket(1), "members", "--json"}, 5s);
    ASSERT_EQ(members.status, 0) << members.output;
    reach = nlohmann::json::parse(members.output);
    for (const auto& peer : reach.at("peers")) {
      if (peer.at("node") == 3) three_unreachable = !peer.at("reachable").get<bool>();
    }
  }
  for (const auto& peer : reach.at("peers")) {
    if (peer.at("node") == 2) {
      EXPECT_TRUE(peer.at("reachable").get<bool>()) << reach.dump();
    }
  }
  EXPECT_TRUE(three_unreachable) << reach.dump();
  EXPECT_EQ(reach.at("daemons_down"), nlohmann::json::array({3})) << reach.dump();
  mark = watcher.views().size();
  cluster.restart(3);
  ViewWatcher after_restart(cluster.socket(3), group, path("restarted.err"));
  const std::uint64_t restarted_sender = joined_from(
      watcher.wait_for(
          mark,
          [](const auto& v) { return v.at("cause") == "join" && lists_node(v.at("joined"), 3); },
          kExclusionLimit, "of a client of the restarted daemon 3 joining", cluster),
      3);
  EXPECT_NE(restarted_sender >> 32, three_sender >> 32) << "a new incarnation";

  // Daemon 3 stopped longer than the peer timeout, then continued: its member leaves and comes
  // back (the same incarnation, the same connection).
  mark = watcher.views().size();
  const pid_t three = static_cast<pid_t>(std::atol(read_file(cluster.dir() + "/n3/pid").c_str()));
  ASSERT_GT(three, 0);
  ::kill(three, SIGSTOP);
  watcher.wait_for(
      mark,
      [&](const auto& v) {
        return v.at("cause") == "daemon-failed" && lists_sender(v.at("left"), restarted_sender);
      },
      kExclusionLimit, "of the stopped daemon 3 failing", cluster);
  ::kill(three, SIGCONT);
  const auto returned = watcher.wait_for(
      mark,
      [&](const auto& v) {
        return v.at("cause") == "daemon-returned" && lists_sender(v.at("joined"), restarted_sender);
      },
      kExclusionLimit, "of daemon 3 returning", cluster);

  // The watcher on node 2 saw the same views, up to the last one: ids, members, causes, gseqs.
  peer.wait_for(
      0, [&](const auto& v) { return v.at("view_id") == returned.at("view_id"); }, kViewLimit,
      "on node 2 with the last view id", cluster);
  std::map<std::uint64_t, nlohmann::json> seen_on_one;
  for (const auto& v : watcher.views()) seen_on_one[v.at("view_id").get<std::uint64_t>()] = v;
  ASSERT_FALSE(peer.views().empty());
  std::uint64_t previous = peer.views().front().at("view_id").get<std::uint64_t>() - 1;
  for (const auto& v : peer.views()) {
    const std::uint64_t id = v.at("view_id").get<std::uint64_t>();
    EXPECT_EQ(id, previous + 1) << "view ids increase by one: " << v.dump();
    previous = id;
    if (seen_on_one.contains(id)) {
      EXPECT_EQ(seen_on_one[id], v);
    }
  }
  EXPECT_TRUE(watcher.bad_lines().empty());
  EXPECT_TRUE(peer.bad_lines().empty());
}

}  // namespace
}  // namespace bcast::integration
