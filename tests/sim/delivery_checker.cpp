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

bool DeliveryChecker::waived(const Published& m, OriginId member) const {
  auto origin = incarnations_.find(m.origin);
  if (origin == incarnations_.end()) return false;
  const auto& excluded = origin->second.last_excluded_us;
  const auto e = excluded.find(member);
  if (e == excluded.end()) return false;
  const auto w = origin->second.last_welcomed_us.find(member);
  const std::uint64_t welcomed = w == origin->second.last_welcomed_us.end() ? 0 : w->second;
  return m.published_us <= e->second || welcomed <= e->second || m.published_us < welcomed;
}

bool DeliveryChecker::held_only_by_excluders(const Published& m, OriginId member) const {
  if (alive(m.origin)) return false;
  for (OriginId holder : m.delivered_by) {
    if (holder == member || !alive(holder)) continue;
    const auto& excluded = incarnations_.at(holder).last_excluded_us;
    const auto e = excluded.find(member);
    if (e == excluded.end() || e->second < m.published_us) return false;
  }
  return true;
}

bool DeliveryChecker::pass_over(OriginId at, const MessageKey& skipped,
                                const std::string& context) {
  const Published& m = messages_.at(skipped);
  if (waived(m, at)) return true;  // the origin excluded this daemon since: skipped on rejoin
  if (alive(m.origin)) {
    fail(context + " (its origin is alive, so it must arrive)");
    return false;
  }
  passed_over_.push_back(PassedOver{at, skipped, context});
  return true;
}

void DeliveryChecker::on_start(OriginId incarnation) { incarnations_[incarnation].alive = true; }

void DeliveryChecker::on_stop(OriginId incarnation) { incarnations_[incarnation].alive = false; }

void DeliveryChecker::on_total_gap(OriginId incarnation) {
  incarnations_[incarnation].last_gseq.reset();
}

void DeliveryChecker::on_welcome(OriginId origin, OriginId newcomer, std::uint64_t now_us) {
  Incarnation& welcomer = incarnations_[origin];
  welcomer.welcomed.insert(newcomer);
  welcomer.last_welcomed_us[newcomer] = now_us;
  // The cut of the first welcome: a newcomer delivers nothing of the origin before it. A later
  // welcome (after an exclusion) takes effect only when it arrives; until then the member may
  // still deliver older messages, and what it then skips is waived (see waived()).
  incarnations_[newcomer].causal_cut.try_emplace(origin, welcomer.causal_sent);
}

void DeliveryChecker::on_excluded(OriginId origin, OriginId member, std::uint64_t now_us) {
  Incarnation& excluder = incarnations_[origin];
  excluder.welcomed.erase(member);  // owed nothing more until it is welcomed again
  excluder.last_excluded_us[member] = now_us;
}

void DeliveryChecker::on_joined(OriginId newcomer, OriginId origin) {
  incarnations_[newcomer].joined.insert(origin);
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
  m.obliged.insert(origin);
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
  (void)now_us;
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
      m.payload_hash != hash_payload(d.payload ? *d.payload : std::string())) {
    fail("integrity: " + name(key) + " delivered" + where + " differs from what was published");
    return;
  }
  Incarnation& at = incarnations_[who];
  if (!at.delivered.insert(key).second) {
    fail("integrity: " + name(key) + " delivered twice" + where);
    return;
  }
  m.delivered_by.insert(who);
  if (d.gseq.has_value() != (m.order == Order::kTotal)) {
    fail(name(key) + where + ": gseq present exactly for total order is violated");
    return;
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
  if (m.mode != Mode::kBestEffort) {
    // Reliable and gossip FIFO leaves no gap: a FIFO message of this sender and mode published
    // in between was skipped.
    const auto& seqs = fifo_seqs_[{key.first, m.mode}];
    for (auto between = std::upper_bound(seqs.begin(), seqs.end(), previous);
         between != seqs.end() && *between < key.second; ++between) {
      if (!pass_over(who, {key.first, *between},
                     "fifo violated: " + name(key) + " delivered at " + incarnation_name(who) +
                         " skipping seq " + std::to_string(*between))) {
        return;
      }
    }
  }
  last->second = key.second;
}

void DeliveryChecker::check_causal(Incarnation& at, const MessageKey& key, const Published& m,
                                   OriginId who) {
  // The origin's own causal messages arrive in order and, from the origin's cut on, without gaps.
  auto delivered = at.causal_delivered.find(m.origin);
  std::optional<std::uint64_t> previous;
  if (delivered != at.causal_delivered.end()) {
    previous = delivered->second;
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
    if (!pass_over(who, by_index[skipped - 1],
                   "causal violated: " + name(key) + " delivered at " + incarnation_name(who) +
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
    if (cut != at.causal_cut.end() && count <= cut->second) continue;
    auto have = at.causal_delivered.find(dependency);
    const std::uint64_t delivered = have == at.causal_delivered.end() ? 0 : have->second;
    if (delivered < count) {
      // Everything from the dependency's origin not delivered here must have been lost with it.
      const auto& by_index = causal_by_index_[dependency];
      for (std::uint64_t missing =
               std::max(delivered, cut == at.causal_cut.end() ? 0 : cut->second) + 1;
           missing <= count; ++missing) {
        if (!pass_over(who, by_index[missing - 1],
                       "causal violated: " + name(key) + " delivered at " + incarnation_name(who) +
                           " before causal #" + std::to_string(missing) + " of " +
                           incarnation_name(dependency) +
                           ", which its origin had delivered first")) {
          return;
        }
      }
      at.causal_delivered[dependency] = count;
    }
  }
  at.causal_delivered[m.origin] = m.causal_index;
}

void DeliveryChecker::check_total(Incarnation& at, const MessageKey& key, Published& m,
                                  const Delivery& d, OriginId who) {
  const std::uint64_t gseq = *d.gseq;
  assign_gseq(key, m, gseq);
  if (at.last_gseq && gseq != *at.last_gseq + 1) {
    fail("total violated: " + incarnation_name(who) + " delivered gseq " + std::to_string(gseq) +
         " after " + std::to_string(*at.last_gseq));
    return;
  }
  if (!at.first_gseq) at.first_gseq = gseq;
  at.last_gseq = gseq;
}

std::string DeliveryChecker::unmet_obligations() const {
  for (const PassedOver& p : passed_over_) {
    const Published& m = messages_.at(p.key);
    if (held_only_by_excluders(m, p.at)) continue;
    for (OriginId who : m.delivered_by) {
      if (alive(who)) return p.context + ", yet " + incarnation_name(who) + " delivered it";
    }
  }
  std::uint64_t highest_acknowledged_gseq = 0;
  for (const auto& [key, m] : messages_) {
    if (m.order == Order::kTotal) {
      if (m.accepted && m.gseq) {
        highest_acknowledged_gseq = std::max(highest_acknowledged_gseq, *m.gseq);
      }
      continue;
    }
    if (m.mode == Mode::kBestEffort || !m.accepted) continue;
    bool origin_alive = false;
    if (auto it = incarnations_.find(m.origin); it != incarnations_.end()) {
      origin_alive = it->second.alive;
    }
    bool delivered_by_survivor = false;
    for (OriginId who : m.delivered_by) {
      if (incarnations_.at(who).alive) delivered_by_survivor = true;
    }
    if (!origin_alive && !delivered_by_survivor) continue;  // lost with its origin: allowed
    for (OriginId who : m.obliged) {
      const auto it = incarnations_.find(who);
      if (it == incarnations_.end() || !it->second.alive) continue;
      if (who != m.origin && !it->second.joined.contains(m.origin)) continue;
      if (waived(m, who) || held_only_by_excluders(m, who)) continue;
      if (!m.delivered_by.contains(who)) {
        std::string by;
        for (OriginId d : m.delivered_by) by += " " + incarnation_name(d);
        return name(key) + " (" + mode_name(m.mode) + "/" + order_name(m.order) +
               ") not delivered at " + incarnation_name(who) + "; delivered at" + by;
      }
    }
  }
  for (const auto& [who, at] : incarnations_) {
    if (!at.alive || highest_acknowledged_gseq == 0) continue;
    if (at.last_gseq.value_or(0) < highest_acknowledged_gseq) {
      return incarnation_name(who) + " delivered total order only up to gseq " +
             std::to_string(at.last_gseq.value_or(0)) + " of " +
             std::to_string(highest_acknowledged_gseq) + " acknowledged";
    }
  }
  return {};
}

}  // namespace bcast::sim
