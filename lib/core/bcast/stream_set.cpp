#include "core/bcast/stream_set.hpp"

#include <algorithm>
#include <set>

namespace bcast {
namespace {

// What a stream missing from a peer's digest means (see StreamSet::digest).
const StreamPosition kHoldsNothing = [] {
  StreamPosition p;
  p.cut_known = true;
  return p;
}();

}  // namespace

void StreamSet::add_own(BroadcastMessage& message) {
  Stream& own = streams_[self_];
  own.cut = 0;
  message.stream_seq = ++own_last_seq_;
  own.received_upto = own_last_seq_;
  store(own, message);
}

void StreamSet::store(Stream& stream, const BroadcastMessage& message) {
  stored_bytes_ += message.payload ? message.payload->size() : 0;
  stream.stored.emplace(message.stream_seq, message);
}

void StreamSet::record_skip(OriginId origin, std::uint64_t from, std::uint64_t to,
                            Gap::Reason reason) {
  if (!skipped_.empty()) {
    Gap& last = skipped_.back();
    if (last.origin == origin && last.reason == reason && last.to != Gap::kOpenEnd &&
        last.to + 1 == from) {
      last.to = to;
      return;
    }
  }
  Gap gap;
  gap.kind = Gap::Kind::kStream;
  gap.reason = reason;
  gap.origin = origin;
  gap.mode = mode_;
  gap.from = from;
  gap.to = to;
  skipped_.push_back(std::move(gap));
}

void StreamSet::advance(OriginId origin, Stream& stream) {
  // A cut may have jumped the prefix past messages received above it: drop those first, or the
  // next one would never be found at the front.
  const auto drop_covered = [&stream] {
    while (!stream.received_above.empty() &&
           *stream.received_above.begin() <= stream.received_upto) {
      stream.received_above.erase(stream.received_above.begin());
    }
  };
  drop_covered();
  while (stream.received_upto < stream.end) {
    const std::uint64_t next = stream.received_upto + 1;
    if (!stream.received_above.empty() && *stream.received_above.begin() == next) {
      stream.received_above.erase(stream.received_above.begin());
    } else if (stream.lost.contains(next)) {
      record_skip(origin, next, next, Gap::Reason::kOriginLost);
    } else {
      break;
    }
    ++stream.received_upto;
  }
}

StreamSet::Received StreamSet::receive(const BroadcastMessage& message) {
  const OriginId origin = message.origin();
  const std::uint64_t seq = message.stream_seq;
  Stream& stream = streams_[origin];
  if (seq <= stream.received_upto || stream.received_above.contains(seq)) return {};
  if (stream.cut && seq <= *stream.cut) return {};  // published before the origin met us
  if (seq > stream.end) return {};                  // given up (see close())
  stream.received_above.insert(seq);
  advance(origin, stream);
  store(stream, message);
  if (!stream.cut) {
    stream.waiting_for_cut.push_back(message);
    return {true, {}};
  }
  return {true, {message}};
}

std::vector<BroadcastMessage> StreamSet::release_waiting(Stream& stream) {
  std::vector<BroadcastMessage> ready;
  std::sort(stream.waiting_for_cut.begin(), stream.waiting_for_cut.end(),
            [](const auto& a, const auto& b) { return a.stream_seq < b.stream_seq; });
  for (auto& m : stream.waiting_for_cut) {
    if (m.stream_seq > *stream.cut) ready.push_back(std::move(m));
  }
  stream.waiting_for_cut.clear();
  return ready;
}

std::vector<BroadcastMessage> StreamSet::set_cut(OriginId origin, std::uint64_t cut, bool rejoin) {
  Stream& stream = streams_[origin];
  if (stream.cut && (!rejoin || *stream.cut >= cut)) return {};
  if (stream.cut && cut > stream.received_upto) {
    // A rejoin: what did not arrive up to the new cut was published while the origin had
    // excluded us, and is not ours any more.
    std::uint64_t from = stream.received_upto + 1;
    for (std::uint64_t seq : stream.received_above) {
      if (seq > cut) break;
      if (seq > from) record_skip(origin, from, seq - 1, Gap::Reason::kExcluded);
      from = seq + 1;
    }
    if (from <= cut) record_skip(origin, from, cut, Gap::Reason::kExcluded);
  }
  stream.cut = cut;
  stream.received_upto = std::max(stream.received_upto, cut);
  advance(origin, stream);
  // A retired incarnation's messages are not ours, and nobody needs them from us.
  if (cut == UINT64_MAX) {
    for (const auto& [seq, m] : stream.stored) stored_bytes_ -= m.payload ? m.payload->size() : 0;
    stream.stored.clear();
    stream.received_above.clear();
  }
  return release_waiting(stream);
}

Digest StreamSet::digest(bool wants_reply) const {
  Digest d;
  d.from = self_;
  d.mode = mode_;
  d.wants_reply = wants_reply;
  for (const auto& [origin, stream] : streams_) {
    // A stream we know the start of and hold nothing of goes unsaid: peers take a stream missing
    // from a digest as exactly that. Most origins of a large cluster never publish, and listing
    // them would make every digest, and every peer's memory of it, O(n).
    if (stream.cut && stream.received_upto == 0 && stream.received_above.empty() &&
        stream.lost.empty() && stream.end == UINT64_MAX) {
      continue;
    }
    StreamPosition p;
    p.origin = origin;
    // A closed stream takes no more: peers need neither keep nor send us any of it (as for a
    // retired one).
    p.received_upto = stream.end != UINT64_MAX ? UINT64_MAX : stream.received_upto;
    p.stable_upto = stream.stable_upto;
    p.cut_known = stream.cut.has_value();
    p.cut = stream.cut.value_or(0);
    p.highest_received =
        stream.received_above.empty() ? stream.received_upto : *stream.received_above.rbegin();
    p.missing = missing(stream);
    for (std::uint64_t seq : stream.lost) {
      if (seq > stream.stable_upto) p.lost.push_back(seq);
    }
    d.streams.push_back(std::move(p));
  }
  return d;
}

std::vector<BroadcastMessage> StreamSet::on_digest(NodeId peer, const Digest& digest,
                                                   std::size_t max_messages) {
  auto& positions = peer_positions_[peer];
  std::map<OriginId, const StreamPosition*> theirs;
  for (const StreamPosition& p : digest.streams) {
    theirs[p.origin] = &p;
    PeerPosition& position = positions[p.origin];
    if (p.received_upto >= position.received_upto) {  // not an older digest, late
      position.highest_received = p.highest_received;
      position.missing = p.missing;
    }
    position.received_upto = std::max(position.received_upto, p.received_upto);
    position.stable_upto = std::max(position.stable_upto, p.stable_upto);
    position.cut = p.cut;
    if (!p.lost.empty()) {
      // The peer found these lost: no need to wait for them here either.
      auto it = streams_.find(p.origin);
      if (it != streams_.end() && it->second.cut) {
        Stream& stream = it->second;
        for (std::uint64_t seq : p.lost) {
          if (seq > stream.received_upto && !stream.received_above.contains(seq)) {
            stream.lost.insert(seq);
          }
        }
        const std::uint64_t before = stream.received_upto;
        advance(p.origin, stream);
        if (stream.received_upto != before) advanced_by_peers_.push_back(p.origin);
      }
    }
  }
  std::vector<BroadcastMessage> repairs;
  auto add = [&](const BroadcastMessage& m) {
    if (repairs.size() >= max_messages) return false;
    repairs.push_back(m);
    return true;
  };
  for (const auto& [origin, stream] : streams_) {
    // Never send a peer its own stream back (it is the authority on it), nor a stream it cannot
    // take yet (it does not know where the stream starts for it).
    if (origin_node(origin) == peer) continue;
    if (stream.stored.empty()) continue;
    const auto it = theirs.find(origin);
    const StreamPosition& p = it == theirs.end() ? kHoldsNothing : *it->second;
    if (!p.cut_known) continue;
    if (p.received_upto == UINT64_MAX) continue;  // it holds none of this stream, by choice
    for (std::uint64_t seq : p.missing) {
      auto m = stream.stored.find(seq);
      if (m != stream.stored.end() && !add(m->second)) return repairs;
    }
    const std::uint64_t above = std::max(p.received_upto, p.highest_received);
    for (auto m = stream.stored.upper_bound(above); m != stream.stored.end(); ++m) {
      if (!add(m->second)) return repairs;
    }
  }
  return repairs;
}

void StreamSet::collect(const std::vector<NodeId>& peers) {
  for (auto& [stream_origin, stream] : streams_) {
    // Stability matters only where something waits for it; most streams of a large cluster are
    // idle, and skipping them keeps a collection O(active streams x peers).
    if (stream.stored.empty() && stream.lost.empty()) continue;
    const OriginId origin = stream_origin;  // (a structured binding cannot be captured in C++20)
    std::uint64_t stable = stream.received_upto;
    for (NodeId peer : peers) {
      if (origin_node(origin) == peer) continue;  // an origin holds all of its own stream
      auto p = peer_positions_.find(peer);
      const std::uint64_t theirs = p == peer_positions_.end() ? 0 : [&] {
        auto q = p->second.find(origin);
        return q == p->second.end() ? std::uint64_t{0} : q->second.received_upto;
      }();
      stable = std::min(stable, theirs);
      if (stable <= stream.stable_upto) break;  // someone lags: nothing more becomes stable
    }
    stream.stable_upto = std::max(stream.stable_upto, stable);
    while (!stream.lost.empty() && *stream.lost.begin() <= stream.stable_upto) {
      stream.lost.erase(stream.lost.begin());
    }
    while (!stream.stored.empty() && stream.stored.begin()->first <= stream.stable_upto) {
      const auto& payload = stream.stored.begin()->second.payload;
      stored_bytes_ -= payload ? payload->size() : 0;
      stream.stored.erase(stream.stored.begin());
    }
  }
}

bool StreamSet::own_stream_whole() const {
  auto it = streams_.find(self_);
  return it == streams_.end() || it->second.stable_upto == 0;
}

std::optional<std::uint64_t> StreamSet::peer_own_position(NodeId peer) const {
  auto p = peer_positions_.find(peer);
  if (p == peer_positions_.end()) return std::nullopt;
  auto q = p->second.find(self_);
  if (q == p->second.end() || q->second.received_upto == UINT64_MAX) return std::nullopt;
  return q->second.received_upto;
}

OwnStreamState StreamSet::own_stream_state() const {
  OwnStreamState state;
  state.last_seq = own_last_seq_;
  auto it = streams_.find(self_);
  if (it == streams_.end()) return state;
  state.stable_upto = it->second.stable_upto;
  for (const auto& [seq, message] : it->second.stored) {
    if (message.order == Order::kCausal)
      state.stored_causal.emplace_back(seq, message.causal.get(self_));
  }
  return state;
}

std::uint64_t StreamSet::received_upto(OriginId origin) const {
  auto it = streams_.find(origin);
  return it == streams_.end() ? 0 : it->second.received_upto;
}

std::vector<OriginId> StreamSet::origins_with_gaps() const {
  std::vector<OriginId> out;
  for (const auto& [origin, stream] : streams_) {
    if (stream.cut && !stream.received_above.empty()) out.push_back(origin);
  }
  return out;
}

bool StreamSet::converged(OriginId origin, const std::vector<NodeId>& peers) const {
  static const Stream kNothing;
  const auto mine = streams_.find(origin);
  const Stream& stream = mine == streams_.end() ? kNothing : mine->second;
  const std::uint64_t ours = stream.received_upto;
  for (NodeId peer : peers) {
    auto p = peer_positions_.find(peer);
    if (p == peer_positions_.end()) return false;  // not heard a digest from it yet
    auto q = p->second.find(origin);
    if (q == p->second.end() || q->second.received_upto == UINT64_MAX) continue;  // holds none
    // At or behind us, holding nothing beyond our position that we lack. (Waiting for a peer
    // behind us deadlocked two daemons each stalled on the other's hole of a dead origin, in
    // different streams: sim seeds 7242 with 3 voters, 7869 with 5, --peer-timeout-ticks 150.)
    if (q->second.received_upto <= ours && !may_give(stream, q->second)) continue;
    // Ahead of us only past its own cut: the messages we miss were never its own (had one
    // reached it anyway, its answers to our digests would have brought it by now).
    if (q->second.received_upto > ours && q->second.cut > ours) continue;
    // Ahead of us, but it collected what we lack next: it counted us out (it had excluded us).
    if (q->second.received_upto > ours && q->second.stable_upto > ours) continue;
    return false;
  }
  return true;
}

std::uint64_t StreamSet::reach(const PeerPosition& peer) {
  if (peer.received_upto != UINT64_MAX) return peer.received_upto;
  return peer.highest_received == UINT64_MAX ? 0 : peer.highest_received;
}

bool StreamSet::may_give(const Stream& stream, const PeerPosition& peer) {
  if (stream.received_above.empty()) {
    // What we would give up is our tail: it may hold some of it if it holds anything beyond us.
    return peer.highest_received > stream.received_upto;
  }
  // What we would give up are the holes our digests ask for (which it would have repaired, had
  // it held them when it answered): it may hold one it does not report missing.
  const bool all_listed = peer.missing.size() < kMaxMissingReported;
  for (std::uint64_t seq : missing(stream)) {
    if (seq > peer.highest_received) break;
    const bool listed = std::binary_search(peer.missing.begin(), peer.missing.end(), seq);
    const bool beyond_list = !all_listed && seq > peer.missing.back();
    if (!listed || beyond_list) return true;
  }
  return false;
}

std::vector<OriginId> StreamSet::origins_behind_peers() const {
  std::set<OriginId> behind;
  for (const auto& [peer, positions] : peer_positions_) {
    for (const auto& [origin, position] : positions) {
      const auto stream = streams_.find(origin);
      if (stream != streams_.end() && stream->second.end != UINT64_MAX) continue;  // closed
      if (reach(position) > received_upto(origin)) behind.insert(origin);
    }
  }
  return {behind.begin(), behind.end()};
}

void StreamSet::skip_unstored(OriginId origin, const std::vector<NodeId>& peers) {
  auto it = streams_.find(origin);
  if (it == streams_.end() || !it->second.cut) return;
  Stream& stream = it->second;
  // Up to the lowest position any peer ahead of us still stores from.
  std::uint64_t end = stream.received_upto;
  bool any = false;
  for (NodeId peer : peers) {
    auto p = peer_positions_.find(peer);
    if (p == peer_positions_.end()) continue;
    auto q = p->second.find(origin);
    if (q == p->second.end() || reach(q->second) <= stream.received_upto) continue;
    const std::uint64_t unstored_upto = std::min(q->second.stable_upto, reach(q->second));
    end = any ? std::min(end, unstored_upto) : unstored_upto;
    any = true;
  }
  for (std::uint64_t seq = stream.received_upto + 1; seq <= end; ++seq) {
    if (!stream.received_above.contains(seq)) stream.lost.insert(seq);
  }
  advance(origin, stream);
}

bool StreamSet::close(OriginId origin) {
  auto it = streams_.find(origin);
  if (it == streams_.end() || !it->second.cut || !it->second.received_above.empty()) return false;
  Stream& stream = it->second;
  if (stream.end != UINT64_MAX) return true;            // closed already
  if (stream.received_upto == UINT64_MAX) return true;  // retired: none of it is ours
  stream.end = stream.received_upto;
  record_skip(origin, stream.received_upto + 1, Gap::kOpenEnd, Gap::Reason::kOriginLost);
  return true;
}

bool StreamSet::peer_reached(NodeId peer, OriginId origin, std::uint64_t position) const {
  if (position == 0) return true;
  auto p = peer_positions_.find(peer);
  if (p == peer_positions_.end()) return false;
  auto q = p->second.find(origin);
  return q != p->second.end() && q->second.received_upto >= position;
}

bool StreamSet::has_gap(OriginId origin) const {
  auto it = streams_.find(origin);
  return it != streams_.end() && it->second.cut && !it->second.received_above.empty();
}

bool StreamSet::needs_exchange() const {
  return std::any_of(streams_.begin(), streams_.end(), [](const auto& item) {
    const Stream& s = item.second;
    return !s.stored.empty() || !s.received_above.empty() || !s.lost.empty();
  });
}

std::uint64_t StreamSet::arrivals(OriginId origin) const {
  auto it = streams_.find(origin);
  if (it == streams_.end()) return 0;
  const Stream& stream = it->second;
  return stream.received_upto + stream.received_above.size();
}

std::vector<std::uint64_t> StreamSet::missing(const Stream& stream) {
  std::vector<std::uint64_t> out;
  if (stream.received_above.empty()) return out;
  const std::uint64_t highest = *stream.received_above.rbegin();
  for (std::uint64_t seq = stream.received_upto + 1;
       seq < highest && out.size() < kMaxMissingReported; ++seq) {
    if (!stream.received_above.contains(seq)) out.push_back(seq);
  }
  return out;
}

void StreamSet::skip_gap(OriginId origin) {
  auto it = streams_.find(origin);
  if (it == streams_.end() || !it->second.cut || it->second.received_above.empty()) return;
  Stream& stream = it->second;
  for (std::uint64_t seq : missing(stream)) stream.lost.insert(seq);
  advance(origin, stream);
}

std::vector<OriginId> StreamSet::origins_without_cut() const {
  std::vector<OriginId> out;
  for (const auto& [origin, stream] : streams_) {
    if (!stream.cut) out.push_back(origin);
  }
  return out;
}

std::size_t StreamSet::stored_messages() const {
  std::size_t count = 0;
  for (const auto& [origin, stream] : streams_) count += stream.stored.size();
  return count;
}

}  // namespace bcast
