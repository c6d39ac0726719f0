// Which daemon incarnations this daemon counts as members, and what it promised them.
//
// Every envelope carries its sender's incarnation, so the table notices a restart from any
// message. A newly met incarnation is welcomed: this daemon tells it where its own streams
// start for it (the cuts) and from then on keeps every later message until the newcomer holds
// it. An incarnation silent for `peer_timeout_ticks` is excluded: it no longer holds back
// garbage collection, and if it speaks again it is welcomed anew (a higher epoch) and skips
// what it missed. A member never heard from since this daemon started stops holding back
// garbage collection after the same timeout, and is reported excluded too (incarnation unknown).
// This is a local, unagreed view; agreed group views are later work.
//
// A newcomer asks for welcomes it lacks (Hello) only while it knows of none: it cannot know that
// a peer excluded it and welcomed it again. So a welcome after an exclusion stays unconfirmed,
// and is sent again, until the newcomer's digests show it took the welcome's cuts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "bcast/types.hpp"
#include "core/bcast/message.hpp"
#include "core/bcast/peer_messages.hpp"

namespace bcast {

class PeerTable {
 public:
  PeerTable(NodeId self, std::uint64_t peer_timeout_ticks)
      : self_(self), peer_timeout_ticks_(peer_timeout_ticks) {}

  // The configured members (voters and learners); this daemon is skipped.
  void set_members(const std::vector<NodeId>& members);

  struct Contact {
    bool welcome_due = false;       // a new (or returning) incarnation: welcome it
    OriginId replaced = 0;          // a previous incarnation of the same node, now gone
    bool replaced_counted = false;  // ... which we had not excluded
  };
  // Any envelope from `node`, sent by incarnation `origin`.
  Contact heard_from(NodeId node, OriginId origin, std::uint64_t now_tick);
  std::uint32_t next_welcome_epoch(NodeId node) const;
  // Records the welcome sent (its cuts are kept so a repeated Hello gets the same answer). A
  // first welcome (epoch 1) needs no confirmation: the newcomer says Hello until it has it.
  void record_welcome(NodeId node, const Welcome& welcome);
  std::optional<Welcome> welcome_sent(NodeId node) const;
  // Live peers whose welcome after an exclusion is not yet confirmed.
  std::vector<NodeId> unconfirmed_welcomes() const;
  void confirm_welcome(NodeId node);
  // An incarnation welcomed us (directly or through a peer); returns false if this welcome is
  // not newer than the last one from it.
  bool record_welcomed_by(const Welcome& welcome);
  bool welcomed_by(OriginId origin) const { return welcomed_by_.contains(origin); }
  // The epoch of the latest welcome from `origin` (0: none yet).
  std::uint32_t welcomed_epoch(OriginId origin) const;
  // Peers silent too long; each is excluded once and returned, with its incarnation (0 for a
  // member never heard from).
  std::vector<std::pair<NodeId, OriginId>> expire(std::uint64_t now_tick);

  const std::vector<NodeId>& members() const { return members_; }  // without this daemon
  // Peers whose incarnation we know, have welcomed, and have not excluded: digest targets.
  std::vector<NodeId> live() const;
  // Peers whose positions hold back garbage collection: every member not excluded, including
  // those not heard from yet. A member that never speaks stops holding back only when expire()
  // reports it excluded, never silently at the timeout: whoever collects what it lacks must have
  // said it stopped counting it (sim seed 7763, --voters 5 --peer-timeout-ticks 150: a restarted
  // daemon collected a dead origin's messages at the timeout tick, before the hello tick that
  // excludes, and the member it never heard from gave them up while it still held them).
  std::vector<NodeId> holding_back() const;
  // Members whose current incarnation (if known) has not welcomed us yet: they get Hellos.
  std::vector<NodeId> not_yet_welcomed_by() const;
  OriginId incarnation(NodeId node) const;
  std::uint64_t last_heard_tick(NodeId node) const;

 private:
  struct Peer {
    OriginId origin = 0;
    std::uint64_t last_heard_tick = 0;
    bool excluded = false;
    std::optional<Welcome> welcome_sent;
    std::uint32_t welcome_epoch_sent = 0;  // survives a re-welcome
    bool welcome_confirmed = false;
  };

  NodeId self_;
  std::uint64_t peer_timeout_ticks_;
  std::vector<NodeId> members_;
  std::map<NodeId, Peer> peers_;
  std::map<OriginId, std::uint32_t> welcomed_by_;  // incarnation -> epoch of its last welcome
};

}  // namespace bcast
