#include "sim_options.hpp"

#include <charconv>

namespace bcast::sim {
namespace {

struct BugFlag {
  const char* name;
  bool raft::DeliberateBugs::*field;
};

struct DeliveryBugFlag {
  const char* name;
  bool DeliveryBugs::*field;
};

constexpr DeliveryBugFlag kDeliveryBugs[] = {
    {"no-relay", &DeliveryBugs::no_relay},
    {"skip-hold-back", &DeliveryBugs::skip_hold_back},
    {"silent-skip", &DeliveryBugs::silent_skip},
    {"give-up-live", &DeliveryBugs::give_up_live},
    {"deliver-before-commit", &DeliveryBugs::deliver_before_commit},
    {"cut-at-welcome", &DeliveryBugs::cut_at_welcome},
    {"no-resume-cut", &DeliveryBugs::no_resume_cut},
};

constexpr DeliveryBugFlag kViewBugs[] = {
    {"late-view", &DeliveryBugs::late_view},
};

// Caught by the subscriber model (--slow-subscribers).
constexpr DeliveryBugFlag kFlowBugs[] = {
    {"ignore-credit", &DeliveryBugs::ignore_credit},
};

constexpr BugFlag kBugs[] = {
    {"vote-twice", &raft::DeliberateBugs::vote_twice_in_term},
    {"commit-without-quorum", &raft::DeliberateBugs::commit_without_quorum},
    {"ack-before-sync", &raft::DeliberateBugs::ack_before_sync},
    {"commit-old-term", &raft::DeliberateBugs::commit_old_term_by_count},
    {"ignore-log-up-to-date", &raft::DeliberateBugs::ignore_log_up_to_date},
    {"lease-without-quorum", &raft::DeliberateBugs::lease_without_quorum},
};

const char* scenario_name(Scenario s) {
  switch (s) {
    case Scenario::kChaos:
      return "chaos";
    case Scenario::kLeaderCrash:
      return "leader-crash";
    case Scenario::kThroughput:
      return "throughput";
    case Scenario::kBroadcast:
      return "broadcast";
    case Scenario::kDetection:
      return "detection";
  }
  return "chaos";
}

template <typename T>
bool parse_number(const std::string& text, T& out) {
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

}  // namespace

std::vector<std::string> bug_names() {
  std::vector<std::string> names;
  for (const auto& bug : kBugs) names.emplace_back(bug.name);
  return names;
}

std::vector<std::string> delivery_bug_names() {
  std::vector<std::string> names;
  for (const auto& bug : kDeliveryBugs) names.emplace_back(bug.name);
  return names;
}

std::vector<std::string> view_bug_names() {
  std::vector<std::string> names;
  for (const auto& bug : kViewBugs) names.emplace_back(bug.name);
  return names;
}

bool set_bug(SimOptions& options, const std::string& name) {
  for (const auto& bug : kFlowBugs) {
    if (name == bug.name) {
      options.delivery_bugs.*bug.field = true;
      return true;
    }
  }
  for (const auto& bug : kViewBugs) {
    if (name == bug.name) {
      options.delivery_bugs.*bug.field = true;
      return true;
    }
  }
  for (const auto& bug : kBugs) {
    if (name == bug.name) {
      options.bugs.*bug.field = true;
      return true;
    }
  }
  for (const auto& bug : kDeliveryBugs) {
    if (name == bug.name) {
      options.delivery_bugs.*bug.field = true;
      return true;
    }
  }
  return false;
}

std::optional<std::vector<std::pair<Mode, Order>>> parse_cells(const std::string& cells) {
  std::vector<std::pair<Mode, Order>> out;
  if (cells == "all") {
    for (Mode mode : {Mode::kBestEffort, Mode::kReliable, Mode::kGossip}) {
      for (Order order : {Order::kNone, Order::kFifo, Order::kCausal, Order::kTotal}) {
        if (mode == Mode::kBestEffort && (order == Order::kCausal || order == Order::kTotal)) {
          continue;
        }
        out.emplace_back(mode, order);
      }
    }
    return out;
  }
  std::size_t start = 0;
  while (start <= cells.size()) {
    const std::size_t comma = std::min(cells.find(',', start), cells.size());
    const std::string cell = cells.substr(start, comma - start);
    const std::size_t slash = cell.find('/');
    if (slash == std::string::npos) return std::nullopt;
    auto mode = parse_mode(cell.substr(0, slash));
    auto order = parse_order(cell.substr(slash + 1));
    if (!mode || !order) return std::nullopt;
    if (*mode == Mode::kBestEffort && (*order == Order::kCausal || *order == Order::kTotal)) {
      return std::nullopt;
    }
    out.emplace_back(*mode, *order);
    start = comma + 1;
  }
  return out;
}

std::string SimOptions::command_line() const {
  const SimOptions defaults;
  std::string out = "bcast-sim --seed " + std::to_string(seed);
  auto add = [&](const char* flag, auto value, auto default_value) {
    if (value != default_value) out += std::string(" --") + flag + " " + std::to_string(value);
  };
  if (scenario != defaults.scenario) out += std::string(" --scenario ") + scenario_name(scenario);
  add("voters", voters, defaults.voters);
  add("learners", learners, defaults.learners);
  add("fault-ms", fault_ms, defaults.fault_ms);
  add("heal-ms", heal_ms, defaults.heal_ms);
  add("tick-us", tick_us, defaults.tick_us);
  add("election-ticks", election_timeout_ticks, defaults.election_timeout_ticks);
  add("heartbeat-ticks", heartbeat_interval_ticks, defaults.heartbeat_interval_ticks);
  add("snapshot-entries", snapshot_interval_entries, defaults.snapshot_interval_entries);
  add("retained-entries", retained_entries, defaults.retained_entries);
  add("clients", clients_per_node, defaults.clients_per_node);
  add("publish-interval-us", publish_interval_us, defaults.publish_interval_us);
  add("reply-percent", reply_percent, defaults.reply_percent);
  add("fanout", gossip_fanout, defaults.gossip_fanout);
  add("repair-ticks", repair_interval_ticks, defaults.repair_interval_ticks);
  add("peer-timeout-ticks", peer_timeout_ticks, defaults.peer_timeout_ticks);
  add("broadcasts", broadcasts, defaults.broadcasts);
  add("loss-percent", loss_percent, defaults.loss_percent);
  if (cells != defaults.cells) out += " --cells " + cells;
  add("max-inflight", max_inflight_appends, defaults.max_inflight_appends);
  if (!use_file_storage) out += " --storage memory";
  add("spares", spares, defaults.spares);
  if (membership_changes) out += " --membership 1";
  add("round-us", round_us, defaults.round_us);
  add("disk-latency-us", disk_latency_us, defaults.disk_latency_us);
  add("slow-subscribers", slow_subscribers, defaults.slow_subscribers);
  add("subscriber-queue-bytes", subscriber_queue_bytes, defaults.subscriber_queue_bytes);
  add("slow-read-bytes-per-ms", slow_read_bytes_per_ms, defaults.slow_read_bytes_per_ms);
  for (const auto& bug : kBugs) {
    if (bugs.*bug.field) out += std::string(" --bug ") + bug.name;
  }
  for (const auto& bug : kDeliveryBugs) {
    if (delivery_bugs.*bug.field) out += std::string(" --bug ") + bug.name;
  }
  if (group_views) out += " --group-views 1";
  if (detection_fault != defaults.detection_fault) out += " --detection-fault " + detection_fault;
  for (const auto& bug : kViewBugs) {
    if (delivery_bugs.*bug.field) out += std::string(" --bug ") + bug.name;
  }
  for (const auto& bug : kFlowBugs) {
    if (delivery_bugs.*bug.field) out += std::string(" --bug ") + bug.name;
  }
  return out;
}

std::optional<std::string> parse_flag(SimOptions& o, const std::string& flag,
                                      const std::string& value) {
  bool ok = true;
  if (flag == "--seed") {
    ok = parse_number(value, o.seed);
  } else if (flag == "--scenario") {
    if (value == "chaos") {
      o.scenario = Scenario::kChaos;
    } else if (value == "leader-crash") {
      o.scenario = Scenario::kLeaderCrash;
    } else if (value == "throughput") {
      o.scenario = Scenario::kThroughput;
    } else if (value == "broadcast") {
      o.scenario = Scenario::kBroadcast;
    } else if (value == "detection") {
      o.scenario = Scenario::kDetection;
    } else {
      return "unknown scenario '" + value +
             "' (chaos, leader-crash, throughput, broadcast, detection)";
    }
  } else if (flag == "--detection-fault") {
    if (value != "crash" && value != "mute" && value != "deaf") {
      return "--detection-fault takes crash, mute or deaf";
    }
    o.detection_fault = value;
  } else if (flag == "--voters") {
    ok = parse_number(value, o.voters) && o.voters > 0;
  } else if (flag == "--learners") {
    ok = parse_number(value, o.learners);
  } else if (flag == "--fault-ms") {
    ok = parse_number(value, o.fault_ms);
  } else if (flag == "--heal-ms") {
    ok = parse_number(value, o.heal_ms);
  } else if (flag == "--tick-us") {
    ok = parse_number(value, o.tick_us) && o.tick_us > 0;
  } else if (flag == "--election-ticks") {
    ok = parse_number(value, o.election_timeout_ticks) && o.election_timeout_ticks > 2;
  } else if (flag == "--heartbeat-ticks") {
    ok = parse_number(value, o.heartbeat_interval_ticks) && o.heartbeat_interval_ticks > 0;
  } else if (flag == "--snapshot-entries") {
    ok = parse_number(value, o.snapshot_interval_entries) && o.snapshot_interval_entries > 0;
  } else if (flag == "--retained-entries") {
    ok = parse_number(value, o.retained_entries);
  } else if (flag == "--clients") {
    ok = parse_number(value, o.clients_per_node);
  } else if (flag == "--publish-interval-us") {
    ok = parse_number(value, o.publish_interval_us) && o.publish_interval_us > 0;
  } else if (flag == "--reply-percent") {
    ok = parse_number(value, o.reply_percent) && o.reply_percent <= 100;
  } else if (flag == "--fanout") {
    ok = parse_number(value, o.gossip_fanout) && o.gossip_fanout > 0;
  } else if (flag == "--peer-timeout-ticks") {
    ok = parse_number(value, o.peer_timeout_ticks) && o.peer_timeout_ticks > 0;
  } else if (flag == "--repair-ticks") {
    ok = parse_number(value, o.repair_interval_ticks) && o.repair_interval_ticks > 0;
  } else if (flag == "--broadcasts") {
    ok = parse_number(value, o.broadcasts) && o.broadcasts > 0;
  } else if (flag == "--loss-percent") {
    ok = parse_number(value, o.loss_percent) && o.loss_percent < 100;
  } else if (flag == "--cells") {
    if (!parse_cells(value)) return "bad --cells '" + value + "' (e.g. reliable/fifo,gossip/total)";
    o.cells = value;
  } else if (flag == "--max-inflight") {
    ok = parse_number(value, o.max_inflight_appends) && o.max_inflight_appends > 0;
  } else if (flag == "--storage") {
    if (value != "file" && value != "memory") return "--storage takes file or memory";
    o.use_file_storage = value == "file";
  } else if (flag == "--spares") {
    ok = parse_number(value, o.spares) && o.spares < 1000;
  } else if (flag == "--membership") {
    ok = value == "0" || value == "1";
    o.membership_changes = value == "1";
  } else if (flag == "--round-us") {
    ok = parse_number(value, o.round_us);
  } else if (flag == "--disk-latency-us") {
    ok = parse_number(value, o.disk_latency_us);
  } else if (flag == "--slow-subscribers") {
    ok = parse_number(value, o.slow_subscribers);
  } else if (flag == "--subscriber-queue-bytes") {
    ok = parse_number(value, o.subscriber_queue_bytes) && o.subscriber_queue_bytes >= 1024;
  } else if (flag == "--slow-read-bytes-per-ms") {
    ok = parse_number(value, o.slow_read_bytes_per_ms) && o.slow_read_bytes_per_ms > 0;
  } else if (flag == "--group-views") {
    ok = value == "0" || value == "1";
    o.group_views = value == "1";
  } else if (flag == "--bug") {
    if (!set_bug(o, value)) return "unknown bug '" + value + "'";
  } else {
    return "unknown flag " + flag;
  }
  if (!ok) return "bad value '" + value + "' for " + flag;
  return std::nullopt;
}

}  // namespace bcast::sim
