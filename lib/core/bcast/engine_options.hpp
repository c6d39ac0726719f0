// Tuning shared by the dissemination engines.
#pragma once

#include <cstdint>

namespace bcast {

// Deliberately broken behaviours, used only by tests that prove the simulator's delivery checkers
// catch real bugs. The daemon never sets any of them.
struct DeliveryBugs {
  bool no_relay = false;               // reliable: relay nothing and repair nothing
  bool skip_hold_back = false;         // deliver FIFO and causal messages on arrival
  bool deliver_before_commit = false;  // total: deliver log entries before they commit
  bool silent_skip = false;            // skip messages without announcing the gap
  bool give_up_live = false;           // give up missing messages of live origins too
  bool late_view = false;              // announce each group view one delivery too late
  bool cut_at_welcome = false;  // a first welcome's cuts where we are, even with streams whole
  bool no_resume_cut = false;   // a restarted member's welcome cuts where we are, not where its
                                // predecessor had got to
  bool ignore_credit = false;   // publish whatever the members' flow-control credit
};

struct DisseminationOptions {
  // Digests (repair and garbage collection) go out every this many ticks.
  std::uint32_t repair_interval_ticks = 5;
  // At most this many messages answer one digest; the rest follow the next.
  std::uint32_t max_repair_messages = 256;
  // Gossip: peers each new message is pushed to, and rounds it travels (0: ceil(log2 n) + 2).
  std::uint32_t gossip_fanout = 3;
  std::uint32_t gossip_rounds = 0;
  DeliveryBugs bugs;
};

}  // namespace bcast
