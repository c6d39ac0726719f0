// End-to-end flow control: the slowest active subscriber of a group paces its publishers.
//
// Every daemon whose applications joined groups tells every peer, in a Credit message, how much
// room its delivery path has left for each of those groups (the slowest subscriber's free room,
// shared out among the members, each of which may publish) and how far it has delivered each
// origin's reliable, gossip and total streams. A publishing daemon admits a reliable, gossip or
// total-order message of a group only while, for every member advertising room for the group,
// the bytes of that group it has published beyond the member's delivered positions, plus the new
// message, fit in the member's share. Best-effort messages are never held back (their policy is
// to drop the oldest and report it).
//
// Why positions rather than counted credits (JGroups' UFC/MFC replenish counts): positions are
// absolute, so a Credit is a refresh, never an increment. A lost one is replaced by the next, a
// duplicate or reordered one changes nothing lasting, and a partition only freezes the publisher
// at the last room it knew of until the member is excluded (PeerTable), when it stops counting.
//
// The bound: a member advertising free room F shared among n members lets each origin add F / n
// beyond what it delivered, so all of them together add at most F. A member whose current
// incarnation has not advertised yet (this daemon just started, or the member just joined,
// restarted or is unreachable) gets `unheard_share_bytes` per group until its first advert or
// its exclusion. Every daemon advertises at least every hello interval, subscribers or not.
// Messages sent before a member's incarnation was first heard from are not counted after (they are
// below its welcome and not the member's to deliver, or already on their way), which can overrun by
// that share; so can a hole filled after later messages (positions are the highest delivered). The
// delivery path advertises less than its bound (the shell's client queue) to absorb both.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/bcast/message.hpp"
#include "core/bcast/peer_messages.hpp"

namespace bcast {

// The three streams of an origin that flow control follows (best-effort is not one of them).
enum class FlowStream : std::uint8_t { kReliable = 0, kGossip = 1, kTotal = 2 };
inline constexpr std::size_t kFlowStreams = 3;

// The stream a message of `mode` and `order` travels in, or none for best-effort.
std::optional<FlowStream> flow_stream(Mode mode, Order order);

class FlowControl {
 public:
  FlowControl(NodeId self, OriginId origin, std::uint64_t unheard_share_bytes);

  // --- As a member: what this daemon's delivery path can take ---------------------------------
  // The free room of each group's slowest local subscriber, in bytes, replacing the last report
  // (the shell reports every round; a group without local subscribers is absent). Adverts give
  // the delivered positions as they stood at this report, with the room measured after them:
  // positions newer than the room would count messages as gone that still fill the queue, and a
  // publisher could overrun it by whatever was delivered between the report and the advert.
  void set_rooms(std::map<std::string, std::uint64_t> free_bytes_by_group);
  const std::map<std::string, std::uint64_t>& rooms() const { return rooms_; }
  // Records how far this daemon has delivered the message's origin stream.
  void on_delivered(const Delivery& delivery);
  // A replaced or removed origin: its positions are no longer anyone's.
  void forget_origin(OriginId origin);
  std::vector<OriginId> delivered_origins() const;
  // What this daemon advertises (each call numbers a new one): each group's room shared out
  // among `members` (this daemon included); and per origin the highest message delivered, but
  // no higher than `settled_upto` of its reliable and gossip streams: the contiguous prefix
  // received, below anything held back (causal order waits on other origins). So what the
  // publisher counts as outstanding covers everything not delivered here, but what has not
  // arrived beyond a hole.
  using SettledUpto = std::function<std::uint64_t(StreamKey)>;
  Credit advert(std::size_t members, const SettledUpto& settled_upto);

  // --- As a publisher ---------------------------------------------------------------------------
  // A member's advert; `incarnation` is the one that sent it (a new one starts afresh).
  void on_credit(NodeId from, OriginId incarnation, const Credit& credit);
  // The member stopped counting (excluded or removed): it holds nothing back any more.
  void forget_peer(NodeId node);
  // The members as they stand, less those excluded: adverts of others are dropped (this
  // daemon's own is kept), and members not heard from get the unheard share.
  void set_members(const std::vector<NodeId>& members);
  // Any message from the member's incarnation `incarnation` (not a replaced one): a new
  // incarnation starts unheard.
  void heard_from(NodeId node, OriginId incarnation);
  // Whether a message of `bytes` to `group` fits every advertising member's share. A message
  // larger than a (non-zero) share still goes when nothing of the group is outstanding at that
  // member, so one message never blocks forever.
  bool admits(const std::string& group, std::uint64_t bytes) const;
  // The member that holds `group` back, for the publisher's error message; kNoNode if none.
  NodeId blocking_member(const std::string& group, std::uint64_t bytes) const;
  // Counts a message this daemon published (its stream_seq assigned) against every member.
  void on_published(FlowStream stream, std::uint64_t stream_seq, const std::string& group,
                    std::uint64_t bytes);
  // Bytes of `group` this daemon published that `member` has not delivered, as last known.
  std::uint64_t outstanding_bytes(NodeId member, const std::string& group) const;
  std::size_t recorded_messages() const;

 private:
  using Positions = std::array<std::uint64_t, kFlowStreams>;
  struct Sent {
    std::uint64_t stream_seq = 0;
    std::string group;
    std::uint64_t bytes = 0;
  };
  struct Member {
    OriginId incarnation = 0;           // 0: no advert yet
    OriginId unheard_incarnation = 0;   // the incarnation heard from meanwhile
    std::uint64_t advert_sequence = 0;  // the newest advert taken
    Positions delivered{};  // at least the floor: what was sent before we met this incarnation
    std::map<std::string, std::uint64_t> share_bytes;  // group -> room for this publisher
    std::map<std::string, std::uint64_t> outstanding;  // group -> published, not delivered
  };
  bool member_admits(const Member& member, const std::string& group, std::uint64_t bytes) const;
  void recount(Member& member) const;
  // Takes off the member's outstanding bytes what it delivered of `stream` in (from, to].
  void settle(Member& member, std::size_t stream, std::uint64_t from, std::uint64_t to) const;
  // Drops records every advertising member has delivered.
  void trim();

  NodeId self_;
  OriginId origin_;
  std::uint64_t unheard_share_bytes_;
  std::map<std::string, std::uint64_t> rooms_;
  std::map<OriginId, Positions> delivered_;           // member side: per origin, highest delivered
  std::map<OriginId, Positions> delivered_at_rooms_;  // delivered_ as of the last set_rooms
  std::uint64_t adverts_ = 0;
  std::map<NodeId, Member> members_;  // publisher side: adverts heard, ours included
  Positions published_{};             // the last stream_seq we assigned, per stream
  std::array<std::deque<Sent>, kFlowStreams> sent_;
};

}  // namespace bcast
