// The streams of one dissemination mode (reliable or gossip) as one daemon holds them: its own
// stream as origin, and every other origin's stream as a receiver.
//
// For each stream the set tracks which messages arrived (a contiguous prefix plus the ones
// beyond it), keeps each message until it is stable (every live member holds it) so it can
// repair peers, and knows where the stream starts for this daemon (the cut: messages published
// before the origin met this incarnation are not ours to deliver). Until the origin's Welcome
// tells the cut, arriving messages wait.
//
// The set decides nothing about sending; the reliable and gossip engines do (core/bcast/
// reliable.hpp, gossip.hpp). Both use it for repair (what a peer's digest lacks) and
// garbage collection (what every live peer's digest holds).
//
// The prefix of a stream moves past a message that never arrived only for a reason that makes
// it never this daemon's to deliver: a rejoin's cut (we had been excluded), or a dead origin's
// message that no member we count holds. Every such skip is recorded as a Gap, which the node
// announces (take_skipped) before anything after it is delivered.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "bcast/types.hpp"
#include "core/bcast/message.hpp"
#include "core/bcast/peer_messages.hpp"
#include "core/bcast/resume_cut.hpp"

namespace bcast {

class StreamSet {
 public:
  StreamSet(Mode mode, OriginId self) : mode_(mode), self_(self) {}

  // Numbers a message of our own stream and keeps it for repair. Our own stream needs no cut.
  void add_own(BroadcastMessage& message);

  // A message arrived. `is_new` unless it is a duplicate or was published before the cut;
  // `ready` holds it if it is new and its stream's cut is known.
  struct Received {
    bool is_new = false;
    std::vector<BroadcastMessage> ready;
  };
  Received receive(const BroadcastMessage& message);

  // The origin told us (directly or through a peer) where its stream starts for us. Returns the
  // messages that waited for it. A known cut only moves on a rejoin (we had been excluded), and
  // then forward, past what we missed: what did not arrive up to the new cut is skipped (a Gap,
  // reason kExcluded). An incarnation that was replaced before it ever welcomed us gets the cut
  // "everything": none of its messages are ours.
  std::vector<BroadcastMessage> set_cut(OriginId origin, std::uint64_t cut, bool rejoin);
  // Our position in every stream, for a digest.
  Digest digest(bool wants_reply) const;
  // A peer's digest: remembers its positions (for stability) and returns the stored messages it
  // lacks, at most `max_messages`.
  std::vector<BroadcastMessage> on_digest(NodeId peer, const Digest& digest,
                                          std::size_t max_messages);
  // Garbage collection: drops stored messages that every peer in `peers` holds (a peer whose
  // position we have not heard holds nothing yet).
  void collect(const std::vector<NodeId>& peers);
  // Origins whose streams advanced because a peer's digest reported messages lost; FIFO
  // messages waiting on them may now go. Cleared by the call.
  std::vector<OriginId> take_advanced_by_peers() { return std::exchange(advanced_by_peers_, {}); }
  // Forgets a peer's positions (it restarted as a new incarnation, or was excluded).
  void forget_peer(NodeId peer) { peer_positions_.erase(peer); }

  std::uint64_t received_upto(OriginId origin) const;
  // Origins with messages here but no cut yet.
  std::vector<OriginId> origins_without_cut() const;
  // Origins whose stream has a gap (messages beyond one that is missing).
  std::vector<OriginId> origins_with_gaps() const;
  // Whether no peer in `peers` can give us more of the origin's stream: each one's latest digest
  // reports that it is at or behind our position and holds nothing beyond it that we lack, that
  // it holds none of the stream (it never met the origin, or retired it), or that it is ahead but
  // no longer stores the next message we lack (it collected it while it had excluded us).
  bool converged(OriginId origin, const std::vector<NodeId>& peers) const;
  bool has_gap(OriginId origin) const;
  // Whether digests must flow: some message is stored but not yet stable (peers may lack it),
  // some stream has a gap, or lost messages are still being shared.
  bool needs_exchange() const;
  // Grows with every message of the origin that arrives (a stall shows as no change).
  std::uint64_t arrivals(OriginId origin) const;
  // Gives up on the missing messages of a dead origin's stream that no live member holds: the
  // stream continues after them. Only the ones our digests asked for (the first
  // kMaxMissingReported missing) go at once.
  void skip_gap(OriginId origin);
  // Origins whose stream some peer reports beyond our position (we may lack a tail).
  std::vector<OriginId> origins_behind_peers() const;
  // Gives up the messages right after our position that every peer ahead of us reports it no
  // longer stores (see converged): a dead origin's tail that only excluders held.
  void skip_unstored(OriginId origin, const std::vector<NodeId>& peers);
  // Gives up everything of a dead origin's stream that has not arrived, up to no end: its tail,
  // of which nobody we count knows more (a causal dependency shows it existed). Later arrivals
  // are ignored. Returns whether the stream is closed (or retired): not while it has a gap or
  // no cut.
  bool close(OriginId origin);
  // The skips (see the top) since the last call, in the order they happened.
  std::vector<Gap> take_skipped() { return std::exchange(skipped_, {}); }
  // Whether `peer`'s latest digest reports it holds our stream (`origin`) up to `position`: it
  // took a welcome whose cut was `position` (0: nothing to take).
  bool peer_reached(NodeId peer, OriginId origin, std::uint64_t position) const;
  // The last sequence number of our own stream (what a newcomer's cut is once we collected).
  std::uint64_t own_last_seq() const { return own_last_seq_; }
  // Whether we still store our whole own stream: no message of it was collected yet (right
  // after a start every member holds collection back, so this lasts until all have met us).
  bool own_stream_whole() const;
  // Where `peer`'s latest digest put it in our own stream (nullopt: no digest of it, or it holds
  // none of it by choice).
  std::optional<std::uint64_t> peer_own_position(NodeId peer) const;
  // Our own stream as a restarted peer's welcome needs it (core/bcast/resume_cut.hpp), with
  // `predecessor_position` left for the caller.
  OwnStreamState own_stream_state() const;
  std::uint64_t stored_bytes() const { return stored_bytes_; }
  std::size_t stored_messages() const;

 private:
  struct Stream {
    std::optional<std::uint64_t> cut;
    std::uint64_t received_upto = 0;
    std::set<std::uint64_t> received_above;
    std::set<std::uint64_t> lost;  // given up (dead origin, held by no live member)
    // Closed (see close()): positions after this are never taken.
    std::uint64_t end = UINT64_MAX;
    std::map<std::uint64_t, BroadcastMessage> stored;
    std::vector<BroadcastMessage> waiting_for_cut;
    std::uint64_t stable_upto = 0;
  };

  // Moves the prefix over what arrived and what was given up (recorded as skipped).
  void advance(OriginId origin, Stream& stream);
  // Records that positions from..to of the origin's stream will never be delivered here.
  void record_skip(OriginId origin, std::uint64_t from, std::uint64_t to, Gap::Reason reason);
  // The first kMaxMissingReported messages missing below the highest received: what digests
  // ask for.
  static std::vector<std::uint64_t> missing(const Stream& stream);
  void store(Stream& stream, const BroadcastMessage& message);
  std::vector<BroadcastMessage> release_waiting(Stream& stream);

  Mode mode_;
  OriginId self_;
  std::uint64_t own_last_seq_ = 0;
  std::map<OriginId, Stream> streams_;
  struct PeerPosition {
    std::uint64_t received_upto = 0;
    std::uint64_t stable_upto = 0;  // it stores nothing up to here any more
    std::uint64_t cut = 0;
    std::uint64_t highest_received = 0;  // beyond the prefix, the highest it holds
    std::vector<std::uint64_t> missing;  // its first holes beyond the prefix (latest digest)
  };
  // Whether a peer whose prefix ends at or before ours may hold a message we would give up: one
  // of the holes our digests ask for that it does not report missing, or (if we have no hole)
  // anything beyond our position.
  static bool may_give(const Stream& stream, const PeerPosition& peer);
  // How far a peer's stream goes. A closed stream's digest says it takes no more (received_upto
  // UINT64_MAX) and names its end in highest_received: a peer that closed a dead origin's stream
  // past us shows we lack a tail it no longer stores (sim seed 6101 with --peer-timeout-ticks
  // 150: nobody else could tell, and the skip went unannounced). A retired one holds none (0).
  static std::uint64_t reach(const PeerPosition& peer);
  std::map<NodeId, std::map<OriginId, PeerPosition>> peer_positions_;  // from digests
  std::uint64_t stored_bytes_ = 0;
  std::vector<OriginId> advanced_by_peers_;
  std::vector<Gap> skipped_;
};

}  // namespace bcast
