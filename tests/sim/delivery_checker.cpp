#include "delivery_checker.hpp"

#include <algorithm>

namespace bcast::sim {
namespace {

std::uint64_t hash_payload(const std::string& payload) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : payload) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

std::string incarnation_name(OriginId incarnation) {
  return "node " + std::to_string(origin_node(incarnation)) + "." +
         std::to_string(incarnation & 0xffff);
}

std::string range_name(std::uint64_t from, std::uint64_t to) {
  return std::to_string(from) + ".." + (to == Gap::kOpenEnd ? "" : std::to_string(to));
}

}  // namespace

void DeliveryChecker::fail(std::string what) {
  if (!violation_) violation_ = std::move(what);
}

std::string DeliveryChecker::name(const MessageKey& key) {
  return "message " + std::to_string(sender_node(key.first)) + "." +
         std::to_string((key.first >> 32) & 0xffff) + "." + std::to_string(key.first & 0xffffffff) +
         "#" + std::to_string(key.second);
}

bool DeliveryChecker::alive(OriginId incarnation) const {
  auto it = incarnations_.find(incarnation);
  return it != incarnations_.end() && it->second.alive;
}

const DeliveryChecker::GapRange* DeliveryChecker::covering(const Incarnation& at,
                                                           const StreamId& stream,
                                                           std::uint64_t position) {
  auto gaps = at.stream_gaps.find(stream);
  if (gaps == at.stream_gaps.end()) return nullptr;
  auto it = gaps->second.upper_bound(position);
  if (it == gaps->second.begin()) return nullptr;
  --it;
  return position <= it->second.to ? &it->second : nullptr;
}

bool DeliveryChecker::announced(const Incarnation& at, const Published& m) const {
  if (m.order != Order::kTotal) return covering(at, {m.origin, m.mode}, m.stream_seq) != nullptr;
  if (!m.gseq) return false;
  auto it = at.total_gaps.upper_bound(*m.gseq);
  if (it == at.total_gaps.begin()) return false;
  --it;
  return *m.gseq <= it->second.to;
}

bool DeliveryChecker::stopped_counting(OriginId who, NodeId node, std::uint64_t since_us) const {
  auto at = incarnations_.find(who);
  if (at == incarnations_.end()) return false;
  auto it = at->second.exclusions.find(node);
  if (it == at->second.exclusions.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(),
                     [&](const Exclusion& e) { return e.end_us > since_us; });
}

bool DeliveryChecker::not_counting_at(OriginId who, NodeId node, std::uint64_t when_us) const {
  auto at = incarnations_.find(who);
  if (at == incarnations_.end()) return false;
  auto it = at->second.exclusions.find(node);
  if (it == at->second.exclusions.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(), [&](const Exclusion& e) {
    return e.start_us <= when_us && when_us < e.end_us;
  });
}

bool DeliveryChecker::owed(const Published& m, OriginId member) const {
  if (member == m.origin) return true;
  const auto obliged = m.obliged.find(member);
  if (obliged == m.obliged.end()) return false;
  const auto at = incarnations_.find(member);
  if (at == incarnations_.end()) return false;
  const auto joined = at->second.joined.find(m.origin);
  // Its stream of the origin starts at the first welcome that reached it: a message published
  // before that welcome was sent is not its own.
  return joined != at->second.joined.end() && joined->second <= obliged->second;
}

std::string DeliveryChecker::gap_illegitimate(const MessageKey& key, const Published& m,
                                              OriginId member, const GapRange& gap) const {
  const NodeId member_node = origin_node(member);
  // The origin stopped keeping it for the member: skipped at the member's rejoin.
  if (stopped_counting(m.origin, member_node, m.published_us)) return {};
  const auto origin = incarnations_.find(m.origin);
  const bool origin_dead_then = origin != incarnations_.end() && !origin->second.alive &&
                                origin->second.stopped_us <= gap.announced_us;
  if (!origin_dead_then) {
    return incarnation_name(member) + " announced " + name(key) + " as a gap (" +
           gap_reason_name(gap.reason) + ") while its origin " + incarnation_name(m.origin) +
           " was alive and kept it for it";
  }
  // A dead origin's message: lost only if no holder the member counted kept it for the member.
  for (const auto& [holder, delivered_us] : m.delivered_by) {
    if (holder == member || !alive(holder)) continue;
    if (delivered_us > gap.announced_us) continue;  // it obtained the message afterwards
    if (not_counting_at(member, origin_node(holder), gap.announced_us)) continue;
    if (stopped_counting(holder, member_node, m.published_us)) continue;
    return incarnation_name(member) + " gave up " + name(key) + " (" + mode_name(m.mode) +
           " stream #" + std::to_string(m.stream_seq) + ") of dead " + incarnation_name(m.origin) +
           " while " + incarnation_name(holder) +
           ", which it counted and which kept the message for it, had delivered it";
  }
  return {};
}

bool DeliveryChecker::pass_over(const Incarnation& at, const MessageKey& skipped,
                                const std::string& context) {
  if (announced(at, messages_.at(skipped))) return true;
  fail("silent skip: " + context + ", and no gap announced it");
  return false;
}

std::optional<DeliveryChecker::MessageKey> DeliveryChecker::gseq_owner(std::uint64_t gseq) const {
  auto it = gseq_owner_.find(gseq);
  if (it == gseq_owner_.end()) return std::nullopt;
  return it->second;
}

std::string DeliveryChecker::group_of(const MessageKey& key) const {
  auto it = messages_.find(key);
  return it == messages_.end() ? std::string() : it->second.group;
}

void DeliveryChecker::on_start(OriginId incarnation, std::uint64_t now_us) {
  Incarnation& at = incarnations_[incarnation];
  at.alive = true;
  at.started_us = now_us;
}

void DeliveryChecker::on_stop(OriginId incarnation, std::uint64_t now_us) {
  Incarnation& at = incarnations_[incarnation];
  at.alive = false;
  at.stopped_us = now_us;
}

void DeliveryChecker::on_snapshot_restored(OriginId incarnation) {
  incarnations_[incarnation].snapshot_restored = true;
}

void DeliveryChecker::on_step_done(OriginId incarnation) {
  incarnations_[incarnation].snapshot_restored = false;
}

void DeliveryChecker::on_welcome(OriginId origin, OriginId newcomer, std::uint32_t epoch,
                                 bool from_start, const ResumeCuts& cuts, std::uint64_t now_us) {
  Incarnation& welcomer = incarnations_[origin];
  // Whether it counted an earlier incarnation of the newcomer's node until now (welcomed it and
  // did not exclude it since): then it kept what that one lacked.
  const bool counted_predecessor =
      epoch == 1 &&
      std::any_of(welcomer.welcomed.begin(), welcomer.welcomed.end(), [&](const auto& item) {
        return item.first != newcomer && origin_node(item.first) == origin_node(newcomer);
      });
  welcomer.welcomed[newcomer] = epoch;
  // Never a cut above what the origin had sent when it welcomed.
  welcomer.causal_sent_at_welcome[{newcomer, epoch}] =
      from_start ? 0 : std::min(cuts.causal, welcomer.causal_sent);
  // The newcomer is also owed what the origin published before this welcome: if the origin
  // counted its predecessor, whatever it published in reliable and gossip since the newcomer
  // started (its subscribers joined meanwhile); else, from the start, everything. Whatever cuts
  // the welcome names.
  // Before the newcomer started, what a counted predecessor lacked was its predecessor's: others
  // may have collected it once it had it (sim seed 12680, 3 voters, membership), so even a
  // welcome from the start owes a restarted member only what was published since it started.
  if (from_start || counted_predecessor) {
    const std::uint64_t since_us = counted_predecessor ? incarnations_[newcomer].started_us : 0;
    for (const auto& [stream, keys] : stream_messages_) {
      if (stream.first != origin) continue;
      if (counted_predecessor && stream.second == Mode::kBestEffort) continue;  // no promise
      for (const MessageKey& key : keys) {
        Published& m = messages_.at(key);
        if (m.published_us >= since_us) m.obliged.try_emplace(newcomer, epoch);
      }
    }
  }
  auto& exclusions = welcomer.exclusions[origin_node(newcomer)];
  if (!exclusions.empty() && exclusions.back().end_us == UINT64_MAX) {
    exclusions.back().end_us = now_us;
  }
}

void DeliveryChecker::on_configuration(OriginId incarnation, const raft::ConfState& conf) {
  // A removed member stops counting: a daemon added later under its node id is a newcomer, not
  // its successor (sim seed 14987, 5 voters, membership).
  std::erase_if(incarnations_[incarnation].welcomed,
                [&](const auto& item) { return !conf.contains(origin_node(item.first)); });
}

void DeliveryChecker::on_excluded(OriginId incarnation, NodeId node, std::uint64_t now_us) {
  Incarnation& excluder = incarnations_[incarnation];
  // It owes the node nothing more until it welcomes it again.
  std::erase_if(excluder.welcomed,
                [&](const auto& item) { return origin_node(item.first) == node; });
  auto& exclusions = excluder.exclusions[node];
  if (exclusions.empty() || exclusions.back().end_us != UINT64_MAX) {
    exclusions.push_back(Exclusion{now_us, UINT64_MAX});
  }
}

void DeliveryChecker::on_joined(OriginId newcomer, OriginId origin, std::uint32_t epoch) {
  Incarnation& at = incarnations_[newcomer];
  if (!at.joined.emplace(origin, epoch).second) return;
  const Incarnation& welcomer = incarnations_[origin];
  auto cut = welcomer.causal_sent_at_welcome.find({newcomer, epoch});
  at.causal_cut[origin] = cut == welcomer.causal_sent_at_welcome.end() ? 0 : cut->second;
}

void DeliveryChecker::on_publish(OriginId origin, SenderId sender, std::uint64_t seq,
                                 const std::string& group, Mode mode, Order order,
                                 const std::string& payload, std::uint64_t now_us) {
  Incarnation& at = incarnations_[origin];
  const MessageKey key{sender, seq};
  Published m;
  m.origin = origin;
  m.group = group;
  m.mode = mode;
  m.order = order;
  m.payload_hash = hash_payload(payload);
  m.published_us = now_us;
  m.obliged = at.welcomed;
  if (order != Order::kTotal) {
    // Every message of a mode but total order takes the next place in the origin's stream.
    m.stream_seq = ++at.stream_published[static_cast<int>(mode)];
    stream_messages_[{origin, mode}].push_back(key);
  }
  if (order == Order::kCausal) {
    m.causal_index = ++at.causal_sent;
    m.causal_deps = at.causal_delivered;
    causal_by_index_[origin].push_back(key);
  }
  // Causality across total-order messages: whatever total message the origin had delivered
  // must come first in the global order.
  if (order == Order::kTotal) m.origin_gseq_at_publish = at.last_gseq.value_or(0);
  if (order == Order::kFifo) fifo_seqs_[{sender, mode}].push_back(seq);
  messages_.emplace(key, std::move(m));
}

void DeliveryChecker::on_receipt(const Receipt& receipt) {
  auto it = messages_.find({receipt.sender, receipt.seq});
  if (it == messages_.end()) {
    fail("receipt for " + name({receipt.sender, receipt.seq}) + ", which was never published");
    return;
  }
  Published& m = it->second;
  m.accepted = !receipt.error.has_value();
  if (receipt.gseq) assign_gseq(it->first, m, *receipt.gseq);
}

void DeliveryChecker::assign_gseq(const MessageKey& key, Published& m, std::uint64_t gseq) {
  if (m.gseq) {
    if (*m.gseq != gseq) {
      fail("total violated: " + name(key) + " has gseq " + std::to_string(gseq) + " and " +
           std::to_string(*m.gseq));
    }
    return;
  }
  auto [owner, inserted] = gseq_owner_.emplace(gseq, key);
  if (!inserted && owner->second != key) {
    fail("total violated: gseq " + std::to_string(gseq) + " names both " + name(owner->second) +
         " and " + name(key));
    return;
  }
  m.gseq = gseq;
  if (gseq <= m.origin_gseq_at_publish) {
    fail("total violated: " + name(key) + " got gseq " + std::to_string(gseq) +
         " although its origin had delivered gseq " + std::to_string(m.origin_gseq_at_publish) +
         " before publishing it");
  }
  auto& by_seq = total_gseq_by_seq_[key.first];
  auto next = by_seq.upper_bound(key.second);
  if (next != by_seq.end() && next->second < gseq) {
    fail("total violated: " + name(key) + " got gseq " + std::to_string(gseq) +
         " after the sender's later seq " + std::to_string(next->first));
  }
  if (next != by_seq.begin() && std::prev(next)->second > gseq) {
    fail("total violated: " + name(key) + " got gseq " + std::to_string(gseq) +
         " before the sender's earlier seq " + std::to_string(std::prev(next)->first));
  }
  by_seq.emplace(key.second, gseq);
}

void DeliveryChecker::on_delivery(OriginId who, const Delivery& d, std::uint64_t now_us) {
  ++deliveries_;
  const MessageKey key{d.sender, d.seq};
  auto it = messages_.find(key);
  const std::string where = " at " + incarnation_name(who);
  if (it == messages_.end()) {
    fail("integrity: " + name(key) + " delivered" + where + " was never published");
    return;
  }
  Published& m = it->second;
  if (m.group != d.group || m.mode != d.mode || m.order != d.order ||
      m.payload_hash != hash_payload(d.payload ? *d.payload : std::string()) ||
      m.stream_seq != d.stream_seq) {
    fail("integrity: " + name(key) + " delivered" + where + " differs from what was published");
    return;
  }
  Incarnation& at = incarnations_[who];
  if (!at.delivered.insert(key).second) {
    fail("integrity: " + name(key) + " delivered twice" + where);
    return;
  }
  m.delivered_by.emplace(who, now_us);
  if (d.gseq.has_value() != (m.order == Order::kTotal)) {
    fail(name(key) + where + ": gseq present exactly for total order is violated");
    return;
  }
  // Order-none best-effort messages are never held back: one may arrive after its place was
  // skipped for FIFO's sake (see Gap::Reason::kBestEffortHold).
  const bool never_held = m.mode == Mode::kBestEffort && m.order == Order::kNone;
  if (m.order != Order::kTotal && !never_held) {
    if (const GapRange* gap = covering(at, {m.origin, m.mode}, m.stream_seq)) {
      fail("gap violated: " + name(key) + " delivered" + where + " after a gap (" +
           gap_reason_name(gap->reason) + ") announced it");
      return;
    }
  }
  switch (m.order) {
    case Order::kNone:
      break;
    case Order::kFifo:
      check_fifo(at, key, m, who);
      break;
    case Order::kCausal:
      check_causal(at, key, m, who);
      break;
    case Order::kTotal:
      check_total(at, key, m, d, who);
      break;
  }
}

void DeliveryChecker::check_fifo(Incarnation& at, const MessageKey& key, const Published& m,
                                 OriginId who) {
  auto [last, first_time] = at.last_fifo_seq.try_emplace({key.first, m.mode}, key.second);
  if (first_time) return;
  const std::uint64_t previous = last->second;
  if (key.second <= previous) {
    fail("fifo violated: " + name(key) + " delivered at " + incarnation_name(who) + " after seq " +
         std::to_string(previous));
    return;
  }
  // A FIFO message of this sender and mode published in between was passed over.
  const auto& seqs = fifo_seqs_[{key.first, m.mode}];
  for (auto between = std::upper_bound(seqs.begin(), seqs.end(), previous);
       between != seqs.end() && *between < key.second; ++between) {
    if (!pass_over(at, {key.first, *between},
                   "fifo: " + name(key) + " delivered at " + incarnation_name(who) +
                       " skipping seq " + std::to_string(*between))) {
      return;
    }
  }
  last->second = key.second;
}

void DeliveryChecker::check_causal(Incarnation& at, const MessageKey& key, const Published& m,
                                   OriginId who) {
  // The origin's own causal messages arrive in order, and from the origin's cut on each one is
  // delivered or announced as a gap.
  std::optional<std::uint64_t> previous;
  if (auto position = at.causal_position.find(m.origin); position != at.causal_position.end()) {
    previous = position->second;
  } else if (auto cut = at.causal_cut.find(m.origin); cut != at.causal_cut.end()) {
    previous = cut->second;
  }
  if (previous && m.causal_index <= *previous) {
    fail("causal violated: " + name(key) + " (causal #" + std::to_string(m.causal_index) + " of " +
         incarnation_name(m.origin) + ") delivered at " + incarnation_name(who) + " after #" +
         std::to_string(*previous));
    return;
  }
  const auto& by_index = causal_by_index_[m.origin];
  for (std::uint64_t skipped = previous.value_or(m.causal_index - 1) + 1; skipped < m.causal_index;
       ++skipped) {
    if (!pass_over(at, by_index[skipped - 1],
                   "causal: " + name(key) + " delivered at " + incarnation_name(who) +
                       " skipping causal #" + std::to_string(skipped) + " of " +
                       incarnation_name(m.origin))) {
      return;
    }
  }
  for (const auto& [dependency, count] : m.causal_deps) {
    if (dependency == m.origin) continue;
    // Dependencies that predate their origin meeting this daemon, or whose origin never reached
    // it, are not its to deliver.
    if (dependency != who && !at.joined.contains(dependency)) continue;
    auto cut = at.causal_cut.find(dependency);
    const std::uint64_t cut_count = cut == at.causal_cut.end() ? 0 : cut->second;
    if (count <= cut_count) continue;
    std::uint64_t& position = at.causal_position[dependency];
    // Everything from the dependency's origin not delivered here must have been announced.
    for (std::uint64_t missing = std::max(position, cut_count) + 1; missing <= count; ++missing) {
      if (!pass_over(at, causal_by_index_[dependency][missing - 1],
                     "causal: " + name(key) + " delivered at " + incarnation_name(who) +
                         " before causal #" + std::to_string(missing) + " of " +
                         incarnation_name(dependency) + ", which its origin had delivered first")) {
        return;
      }
    }
    position = std::max(position, count);
  }
  at.causal_position[m.origin] = m.causal_index;
  at.causal_delivered[m.origin] = m.causal_index;
}

void DeliveryChecker::check_total(Incarnation& at, const MessageKey& key, Published& m,
                                  const Delivery& d, OriginId who) {
  const std::uint64_t gseq = *d.gseq;
  assign_gseq(key, m, gseq);
  if (at.total_next && gseq < *at.total_next) {
    fail("total violated: " + incarnation_name(who) + " delivered gseq " + std::to_string(gseq) +
         " after " + std::to_string(*at.total_next - 1) + " (delivered or announced as a gap)");
    return;
  }
  if (at.total_next && gseq > *at.total_next) {
    fail("silent skip: total: " + incarnation_name(who) + " delivered gseq " +
         std::to_string(gseq) + " after " + std::to_string(*at.total_next - 1) +
         ", and no gap announced " + range_name(*at.total_next, gseq - 1));
    return;
  }
  at.total_next = gseq + 1;
  at.last_gseq = gseq;
}

void DeliveryChecker::on_gap(OriginId who, const Gap& gap, std::uint64_t now_us) {
  ++gaps_;
  Incarnation& at = incarnations_[who];
  if (gap.from == 0 || gap.to < gap.from) {
    fail("gap violated: " + incarnation_name(who) + " announced an empty or malformed gap " +
         range_name(gap.from, gap.to));
    return;
  }
  if (gap.kind == Gap::Kind::kTotal) {
    on_total_gap(at, who, gap, now_us);
  } else {
    on_stream_gap(at, who, gap, now_us);
  }
}

void DeliveryChecker::on_stream_gap(Incarnation& at, OriginId who, const Gap& gap,
                                    std::uint64_t now_us) {
  const StreamId stream{gap.origin, gap.mode};
  const std::string what = incarnation_name(who) + " announced gap " + mode_name(gap.mode) + " " +
                           range_name(gap.from, gap.to) + " of " + incarnation_name(gap.origin) +
                           " (" + gap_reason_name(gap.reason) + ")";
  const auto& published = stream_messages_[stream];
  if (gap.to != Gap::kOpenEnd && gap.to > published.size()) {
    fail("gap violated: " + what + ", beyond the " + std::to_string(published.size()) +
         " messages published");
    return;
  }
  const std::uint64_t last = std::min<std::uint64_t>(gap.to, published.size());
  for (std::uint64_t position = gap.from; position <= last; ++position) {
    const MessageKey& key = published[position - 1];
    const Published& m = messages_.at(key);
    const bool never_held = m.mode == Mode::kBestEffort && m.order == Order::kNone;
    if (!never_held && at.delivered.contains(key)) {
      fail("gap violated: " + what + ", which names " + name(key) + ", delivered there before");
      return;
    }
  }
  auto& ranges = at.stream_gaps[stream];
  auto next = ranges.upper_bound(gap.from);
  const bool overlaps_previous = next != ranges.begin() && std::prev(next)->second.to >= gap.from;
  const bool overlaps_next = next != ranges.end() && next->first <= gap.to;
  if (overlaps_previous || overlaps_next) {
    fail("gap violated: " + what + ", which overlaps a gap announced before");
    return;
  }
  ranges.emplace(gap.from, GapRange{gap.to, now_us, gap.reason});
}

void DeliveryChecker::on_total_gap(Incarnation& at, OriginId who, const Gap& gap,
                                   std::uint64_t now_us) {
  const std::string what = incarnation_name(who) + " announced total-order gap " +
                           range_name(gap.from, gap.to) + " (" + gap_reason_name(gap.reason) + ")";
  if (!at.snapshot_restored || gap.reason != Gap::Reason::kSnapshot) {
    fail("gap violated: " + what + " without installing a snapshot");
    return;
  }
  at.snapshot_restored = false;
  if (at.total_next && gap.from != *at.total_next) {
    fail("gap violated: " + what + ", but the next gseq due there was " +
         std::to_string(*at.total_next));
    return;
  }
  at.total_next = gap.to + 1;
  at.total_gaps.emplace(gap.from, GapRange{gap.to, now_us, gap.reason});
}

std::string DeliveryChecker::unmet_obligations() const {
  std::uint64_t highest_acknowledged_gseq = 0;
  for (const auto& [key, m] : messages_) {
    if (m.order == Order::kTotal) {
      if (m.accepted && m.gseq) {
        highest_acknowledged_gseq = std::max(highest_acknowledged_gseq, *m.gseq);
      }
      continue;
    }
    if (m.mode == Mode::kBestEffort || !m.accepted) continue;
    const bool origin_alive = alive(m.origin);
    const bool delivered_by_survivor =
        std::any_of(m.delivered_by.begin(), m.delivered_by.end(),
                    [&](const auto& item) { return alive(item.first); });
    if (!origin_alive && !delivered_by_survivor) continue;  // lost with its origin: allowed
    for (const auto& [who, at] : incarnations_) {
      if (!at.alive || !owed(m, who) || m.delivered_by.contains(who)) continue;
      if (const GapRange* gap = covering(at, {m.origin, m.mode}, m.stream_seq)) {
        if (std::string why = gap_illegitimate(key, m, who, *gap); !why.empty()) {
          return "gap violated: " + why;
        }
        continue;
      }
      std::string by;
      for (const auto& [holder, when] : m.delivered_by) by += " " + incarnation_name(holder);
      return name(key) + " (" + mode_name(m.mode) + "/" + order_name(m.order) +
             ") neither delivered nor announced as a gap at " + incarnation_name(who) +
             "; delivered at" + by;
    }
  }
  for (const auto& [who, at] : incarnations_) {
    if (!at.alive || highest_acknowledged_gseq == 0) continue;
    const std::uint64_t upto = at.total_next.value_or(1) - 1;
    if (upto < highest_acknowledged_gseq) {
      return incarnation_name(who) + " delivered total order only up to gseq " +
             std::to_string(upto) + " of " + std::to_string(highest_acknowledged_gseq) +
             " acknowledged";
    }
  }
  return {};
}

}  // namespace bcast::sim
