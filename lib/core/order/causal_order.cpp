#include "core/order/causal_order.hpp"

#include <algorithm>

namespace bcast {

CausalClock CausalOrder::stamp() {
  CausalClock clock;
  // Only what was delivered here is a dependency: not what lay before the origin's cut, nor what
  // a rejoin's cut skipped (those positions were never delivered here).
  for (const auto& [origin, count] : delivered_here_) clock.set(origin, count);
  clock.set(self_, ++own_sent_);
  return clock;
}

void CausalOrder::set_cut(OriginId origin, std::uint64_t cut, bool rejoin,
                          std::vector<BroadcastMessage>& ready,
                          std::vector<BroadcastMessage>& dropped) {
  auto [it, inserted] = delivered_.try_emplace(origin, cut);
  if (!inserted && rejoin && cut > it->second) {
    it->second = cut;
    // What arrived but waited (for a dependency that will now never come, or that a third
    // origin's rejoin will skip) is passed over with the rest.
    if (auto held = held_.find(origin); held != held_.end()) {
      auto& queue = held->second;
      while (!queue.empty() && queue.begin()->first <= cut) {
        dropped.push_back(std::move(queue.begin()->second));
        queue.erase(queue.begin());
        --held_count_;
      }
    }
  }
  release(ready);
}

bool CausalOrder::dependencies_met(const BroadcastMessage& message) const {
  const OriginId origin = message.origin();
  for (const auto& [dependency, count] : message.causal.entries()) {
    if (dependency == origin) continue;
    auto it = delivered_.find(dependency);
    if (it == delivered_.end() || it->second < count) return false;
  }
  return true;
}

void CausalOrder::skip_lost() {
  for (auto& [origin, counts] : lost_) {
    auto it = delivered_.find(origin);
    if (it == delivered_.end()) continue;
    while (!counts.empty() && *counts.begin() <= it->second + 1) {
      if (*counts.begin() == it->second + 1) ++it->second;
      counts.erase(counts.begin());
    }
  }
}

void CausalOrder::release(std::vector<BroadcastMessage>& ready) {
  // Only the message right after what each origin has delivered can go next; a delivery may
  // unblock other origins' candidates, so repeat until a pass delivers nothing.
  for (bool progress = true; progress;) {
    progress = false;
    skip_lost();
    for (auto& [origin, queue] : held_) {
      auto delivered = delivered_.find(origin);
      if (delivered == delivered_.end()) continue;  // cut not known yet
      // Drop what is stale (before the cut, a duplicate, or passed over as lost).
      while (!queue.empty() && queue.begin()->first <= delivered->second) {
        queue.erase(queue.begin());
        --held_count_;
      }
      while (!queue.empty() && queue.begin()->first == delivered->second + 1 &&
             dependencies_met(queue.begin()->second)) {
        delivered->second = queue.begin()->first;
        delivered_here_[origin] = delivered->second;
        ready.push_back(std::move(queue.begin()->second));
        queue.erase(queue.begin());
        --held_count_;
        progress = true;
      }
    }
  }
  std::erase_if(held_, [](const auto& item) { return item.second.empty(); });
}

std::uint64_t CausalOrder::needed(OriginId origin) const {
  std::uint64_t needed = 0;
  for (const auto& [held_origin, queue] : held_) {
    if (held_origin == origin) {
      if (!queue.empty()) needed = std::max(needed, queue.rbegin()->first - 1);
      continue;
    }
    for (const auto& [position, m] : queue) needed = std::max(needed, m.causal.get(origin));
  }
  return needed;
}

bool CausalOrder::misses(OriginId origin) const {
  auto it = delivered_.find(origin);
  if (it == delivered_.end()) return false;
  const auto own = held_.find(origin);
  const auto lost = lost_.find(origin);
  for (std::uint64_t count = it->second + 1, last = needed(origin); count <= last; ++count) {
    const bool held = own != held_.end() && own->second.contains(count);
    const bool given_up = lost != lost_.end() && lost->second.contains(count);
    if (!held && !given_up) return true;
  }
  return false;
}

void CausalOrder::skip_missing(OriginId origin, std::vector<BroadcastMessage>& ready) {
  auto it = delivered_.find(origin);
  if (it == delivered_.end()) return;
  const auto own = held_.find(origin);
  auto& lost = lost_[origin];
  for (std::uint64_t count = it->second + 1, last = needed(origin); count <= last; ++count) {
    if (own == held_.end() || !own->second.contains(count)) lost.insert(count);
  }
  release(ready);
}

std::vector<OriginId> CausalOrder::awaited_origins() const {
  std::vector<OriginId> out;
  for (const auto& [origin, queue] : held_) {
    for (const auto& [position, m] : queue) {
      for (const auto& [dependency, count] : m.causal.entries()) {
        auto it = delivered_.find(dependency);
        const std::uint64_t have = it == delivered_.end() ? 0 : it->second;
        const std::uint64_t need = dependency == origin ? count - 1 : count;
        if (have < need) out.push_back(dependency);
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<OriginId> CausalOrder::unknown_origins() const {
  std::vector<OriginId> out;
  for (const auto& [origin, queue] : held_) {
    for (const auto& [position, m] : queue) {
      for (const auto& [dependency, count] : m.causal.entries()) {
        if (!knows(dependency)) out.push_back(dependency);
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::uint64_t CausalOrder::lowest_held(StreamKey stream) const {
  const auto it = held_.find(stream.origin);
  if (it == held_.end()) return 0;
  std::uint64_t lowest = 0;
  for (const auto& [position, message] : it->second) {
    if (message.mode != stream.mode) continue;
    if (lowest == 0 || message.stream_seq < lowest) lowest = message.stream_seq;
  }
  return lowest;
}

void CausalOrder::on_message(BroadcastMessage message, std::vector<BroadcastMessage>& ready) {
  const OriginId origin = message.origin();
  const std::uint64_t position = message.causal.get(origin);
  auto delivered = delivered_.find(origin);
  if (delivered != delivered_.end() && position <= delivered->second) return;  // stale
  if (held_[origin].emplace(position, std::move(message)).second) ++held_count_;
  release(ready);
}

}  // namespace bcast
