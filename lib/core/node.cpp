#include "core/node.hpp"

#include <algorithm>
#include <utility>
#include <variant>

#include "core/invariant.hpp"

namespace bcast {
namespace {

// A snapshot this node or its leader made must restore; failing to is a broken invariant.
void restore_or_abort(StateMachine& state_machine, const raft::Snapshot& snapshot) {
  if (!snapshot.data) return;
  const bool restored = state_machine.restore(*snapshot.data).ok();
  BCAST_INVARIANT(restored, "a snapshot this cluster made does not restore");
}

raft::RaftState restored_first(raft::RaftState recovered, StateMachine& state_machine) {
  if (recovered.snapshot) restore_or_abort(state_machine, *recovered.snapshot);
  return recovered;
}

}  // namespace

Node::Node(const NodeOptions& options, Rng rng, const raft::ConfState& initial_conf,
           raft::RaftState recovered)
    : options_(options),
      origin_(make_origin_id(options.raft.id, options.incarnation)),
      peers_(options.raft.id, options.peer_timeout_ticks),
      best_effort_(options.raft.id),
      reliable_(options.raft.id, origin_, options.dissemination),
      gossip_(options.raft.id, origin_, options.dissemination, rng.fork()),
      delivery_(
          origin_, options.best_effort_hold_ticks,
          [this](StreamKey stream) {
            return (stream.mode == Mode::kGossip ? gossip_.streams() : reliable_.streams())
                .received_upto(stream.origin);
          },
          options.dissemination.bugs.skip_hold_back),
      state_(origin_),
      admission_(options.raft.id, options.cluster_id, options.refusal_interval_ticks),
      admin_(options.raft.id, options.admin_timeout_ticks),
      total_(options.raft.id, origin_, options.total),
      raft_(options.raft, rng.fork(), initial_conf, restored_first(std::move(recovered), state_)),
      view_keeper_(options.raft.id, origin_,
                   options.total.timeout_ticks + 2 * options.total.retry_ticks),
      flow_(options.raft.id, origin_, options.unheard_share_bytes),
      views_sender_(make_sender_id(options.raft.id, options.incarnation, 0)) {
  sync_members();
  admission_.saw_self(options.identity, options.incarnation);
  state_.set_late_view_bug(options.dissemination.bugs.late_view);
}

// --- Clients -----------------------------------------------------------------------------------

SenderId Node::open_sender() {
  const SenderId sender = make_sender_id(id(), options_.incarnation, ++next_client_);
  last_seq_[sender] = 0;
  view_keeper_.opened(sender);
  return sender;
}

void Node::close_sender(SenderId sender) {
  last_seq_.erase(sender);
  view_keeper_.closed(sender);
}

void Node::join_group(SenderId sender, const std::string& group, const std::string& client_name) {
  if (!last_seq_.contains(sender)) return;
  view_keeper_.joined(sender, group, client_name);
}

void Node::leave_group(SenderId sender, const std::string& group) {
  view_keeper_.left(sender, group);
}

Result<void> Node::validate(const PublishRequest& request) const {
  if (!last_seq_.contains(request.sender)) {
    return make_error(ErrorCode::kInvalidArgument, "unknown sender");
  }
  // A daemon that joined but has not received the configuration yet knows no member to send to
  // or to keep its messages for.
  if (raft_.conf().voters.empty()) {
    return make_error(ErrorCode::kUnavailable,
                      "this daemon has not received the cluster's configuration yet; retry");
  }
  // A daemon its peers refuse is not part of the cluster: accepting a publish would promise a
  // message nobody else will ever receive.
  if (const auto refused = admission_.refused_by(now_tick_); !refused.empty()) {
    const auto& [node, refusal] = *refused.begin();
    return make_error(ErrorCode::kUnavailable,
                      "this daemon is refused by node " + std::to_string(node) + " (" +
                          refusal_reason_name(refusal.reason) +
                          "): it is not a member of that cluster as it stands; see its status");
  }
  if (request.group.empty() || request.group.size() > options_.max_group_bytes) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "group name must be 1 to " + std::to_string(options_.max_group_bytes) + " bytes");
  }
  const std::uint64_t size = request.payload ? request.payload->size() : 0;
  if (size > options_.max_message_bytes) {
    return make_error(ErrorCode::kTooLarge, "message of " + std::to_string(size) +
                                                " bytes exceeds the maximum of " +
                                                std::to_string(options_.max_message_bytes));
  }
  if (request.mode == Mode::kBestEffort &&
      (request.order == Order::kCausal || request.order == Order::kTotal)) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string("best-effort messages cannot be delivered in ") +
                          order_name(request.order) +
                          " order: a lost message would block its successors forever; use "
                          "reliable or gossip");
  }
  const bool stored = request.mode != Mode::kBestEffort && request.order != Order::kTotal;
  if (stored) {
    const auto& engine_streams =
        request.mode == Mode::kGossip ? gossip_.streams() : reliable_.streams();
    if (engine_streams.stored_bytes() + size > options_.max_stored_bytes) {
      return make_error(ErrorCode::kBusy,
                        "too many messages not yet held by every member; retry later");
    }
  }
  return {};
}

void Node::set_delivery_rooms(std::map<std::string, std::uint64_t> free_bytes_by_group) {
  flow_.set_rooms(std::move(free_bytes_by_group));
}

bool Node::has_credit(const PublishRequest& request) const {
  if (!flow_stream(request.mode, request.order)) return true;
  if (options_.dissemination.bugs.ignore_credit) return true;
  return flow_.admits(request.group, request.payload ? request.payload->size() : 0);
}

Result<std::uint64_t> Node::publish(const PublishRequest& request, Outbox& out) {
  if (auto valid = validate(request); !valid) return valid.error();
  if (!has_credit(request)) {
    const std::uint64_t size = request.payload ? request.payload->size() : 0;
    const NodeId member = flow_.blocking_member(request.group, size);
    return make_error(ErrorCode::kBusy, "no credit: the slowest subscriber of group '" +
                                            request.group + "' at node " + std::to_string(member) +
                                            " has no room for more; retry when it has read");
  }
  BroadcastMessage message;
  message.sender = request.sender;
  message.seq = last_seq_[request.sender] + 1;
  message.group = request.group;
  message.mode = request.mode;
  message.order = request.order;
  message.payload = request.payload ? request.payload : std::make_shared<const std::string>();
  const std::uint64_t size = message.payload->size();
  if (request.order == Order::kTotal) {
    if (auto submitted = total_.submit(message, now_tick_); !submitted) return submitted.error();
    flow_.on_published(FlowStream::kTotal, message.stream_seq, message.group, size);
  } else {
    if (request.order == Order::kCausal) message.causal = delivery_.causal().stamp();
    const auto& members = peers_.members();
    switch (request.mode) {
      case Mode::kBestEffort:
        best_effort_.publish(message, members, out);
        break;
      case Mode::kReliable:
        reliable_.publish(message, members, out);
        break;
      case Mode::kGossip:
        gossip_.publish(message, members, out);
        break;
    }
    out.receipts.push_back(Receipt{message.sender, message.seq, std::nullopt, std::nullopt});
    if (const auto stream = flow_stream(message.mode, message.order)) {
      flow_.on_published(*stream, message.stream_seq, message.group, size);
    }
    delivery_.on_message(std::move(message), now_tick_, out);  // our own clients too
  }
  last_seq_[request.sender] += 1;
  finish(out);
  return last_seq_[request.sender];
}

// --- Inputs ------------------------------------------------------------------------------------

void Node::tick(Outbox& out) {
  ++now_tick_;
  raft_.tick(out);
  // Membership and dissemination work is periodic: each pass is O(members), too much for every
  // tick of a large cluster.
  // A joiner that has not received the configuration yet cannot judge who holds what: it
  // excludes, retires and gives up nothing until it knows the members.
  const bool knows_members = !raft_.conf().voters.empty();
  if (knows_members && now_tick_ % options_.hello_interval_ticks == 1) {
    for (const auto& [node, incarnation] : peers_.expire(now_tick_)) {
      reliable_.streams().forget_peer(node);
      gossip_.streams().forget_peer(node);
      flow_.forget_peer(node);  // an excluded member holds no credit back
      Event excluded{Event::Kind::kPeerExcluded, 0, kNoNode, incarnation};
      excluded.node = node;
      out.events.push_back(excluded);
    }
    say_hello(out);
    resend_unconfirmed_welcomes(out);
    track_unknown_origins(out);
    skip_lost_messages(out);
    submit_view_records();
  } else if (view_keeper_.dirty()) {
    submit_view_records();
  }
  // Nor does it collect: with no members to wait for, it would drop what it received before
  // anyone else has it (sim seed 12033, --voters 5 --spares 2 --membership 1).
  if (knows_members && now_tick_ % options_.dissemination.repair_interval_ticks == 0) {
    const auto live = peers_.live();
    const auto holding_back = peers_.holding_back();
    reliable_.on_repair_interval(live, holding_back, out);
    gossip_.on_repair_interval(live, holding_back, out);
  }
  delivery_.tick(now_tick_, out);
  total_.tick(now_tick_, out);
  if (knows_members) {
    advertise_credit(now_tick_ % options_.hello_interval_ticks == 1, out);
  }
  finish(out);
}

void Node::advertise_credit(bool hello_round, Outbox& out) {
  if (hello_round) {
    flow_.set_members(peers_.holding_back());  // members not excluded
    for (OriginId origin : flow_.delivered_origins()) {
      if (is_dead(origin)) flow_.forget_origin(origin);
    }
  }
  // Every hello round, subscribers or not: a member that has not advertised may have some, so
  // publishers hold back for it (FlowControl); and a lost advert is soon replaced.
  const bool subscribed = !flow_.rooms().empty();
  const bool due = hello_round || (subscribed && now_tick_ % options_.credit_interval_ticks == 0);
  if (!due) return;
  Credit credit = flow_.advert(peers_.members().size() + 1, [this](StreamKey stream) {
    const std::uint64_t received =
        (stream.mode == Mode::kGossip ? gossip_.streams() : reliable_.streams())
            .received_upto(stream.origin);
    const std::uint64_t held = delivery_.causal().lowest_held(stream);
    return held == 0 ? received : std::min(received, held - 1);
  });
  flow_.on_credit(id(), origin_, credit);  // this daemon's subscribers pace it too
  // Unchanged adverts wait for the hello round, which refreshes whatever was lost.
  if (!hello_round && credit.delivered == last_credit_sent_.delivered &&
      credit.rooms == last_credit_sent_.rooms) {
    return;
  }
  for (NodeId peer : peers_.members()) send_to(out, id(), peer, credit);
  last_credit_sent_ = std::move(credit);
}

void Node::step(const Envelope& envelope, Outbox& out) {
  if (const auto* join = std::get_if<JoinRequest>(&envelope.message)) {
    on_join_request(envelope, *join, out);  // from a daemon that is not yet one of us
    finish(out);
    return;
  }
  if (!admission_.admit(envelope, state_.registry(), admitted_conf_, now_tick_, out)) {
    finish(out);
    return;
  }
  on_contact(envelope, out);
  std::visit(
      [&](const auto& message) {
        using T = std::decay_t<decltype(message)>;
        if constexpr (std::is_same_v<T, raft::Message>) {
          raft_.step(message, out);
        } else if constexpr (std::is_same_v<T, DataPush>) {
          on_data(envelope, message, out);
        } else if constexpr (std::is_same_v<T, Digest>) {
          // A late digest of an incarnation since replaced would stand for its successor's
          // positions (they are kept per node): collecting by it dropped what the successor,
          // started from its predecessor's reported position, still lacked (sim seed 9703 with
          // 5 voters and --peer-timeout-ticks 150).
          if (is_replaced(message.from)) return;
          StreamSet& streams =
              message.mode == Mode::kGossip ? gossip_.streams() : reliable_.streams();
          DigestTicks& heard = digest_heard_tick_[envelope.from];
          if (message.mode == Mode::kGossip) {
            heard.gossip = now_tick_;
            gossip_.on_digest(envelope.from, message, out);
          } else {
            heard.reliable = now_tick_;
            reliable_.on_digest(envelope.from, message, out);
          }
          announce_stream_skips(out);  // lost messages the peer reported
          for (OriginId origin : streams.take_advanced_by_peers()) {
            delivery_.on_stream_progress(origin, out);
          }
        } else if constexpr (std::is_same_v<T, Hello>) {
          on_hello(envelope.from, message, out);
        } else if constexpr (std::is_same_v<T, Welcome>) {
          on_welcome(message, out);
        } else if constexpr (std::is_same_v<T, TotalForward>) {
          total_.on_forward(message);
        } else if constexpr (std::is_same_v<T, Credit>) {
          if (!is_replaced(message.from)) flow_.on_credit(envelope.from, message.from, message);
        } else if constexpr (std::is_same_v<T, Refusal>) {
          admission_.on_refusal(envelope.from, message, now_tick_, out);
        } else if constexpr (std::is_same_v<T, AdminForward>) {
          admin_.on_forward(envelope.from, message, raft_, state_.registry(), out);
        } else if constexpr (std::is_same_v<T, AdminResult>) {
          admin_.on_result(message, out);
        }
        // A JoinResponse is the shell's business before the node exists; a late one is stale.
      },
      envelope.message);
  finish(out);
}

void Node::on_persisted(LogIndex index, Term term, Outbox& out) {
  raft_.on_persisted(index, term, out);
  // Once per applied batch, like flush(): what this commits gets its receipts now, not a round
  // later.
  flush(out);
}

void Node::flush(Outbox& out) {
  // Once per batch of inputs: the total-order messages of the whole batch go to the leader in
  // one forward, and the leader proposes everything buffered as few entries as possible.
  apply_committed(out);
  total_.flush(raft_, state_.sequencer(), now_tick_, out);
  record_sightings(out);
  finish(out);
}

Result<LogIndex> Node::propose_conf_change(const raft::ConfChange& change, Outbox& out) {
  auto result = raft_.propose_conf_change(change, out);
  finish(out);
  return result;
}

Result<void> Node::transfer_leadership(NodeId target, Outbox& out) {
  auto result = raft_.transfer_leadership(target, out);
  finish(out);
  return result;
}

void Node::admin(std::uint64_t request_id, const AdminRequest& request, Outbox& out) {
  admin_.submit(request_id, request, raft_, state_.registry(), now_tick_, out);
  finish(out);
}

// --- Cluster identity --------------------------------------------------------------------------

void Node::on_join_request(const Envelope& envelope, const JoinRequest& request, Outbox& out) {
  const NodeId node = envelope.from;
  const ClusterRegistry& registry = state_.registry();
  JoinResponse response;
  response.reply_address = request.address;
  const MemberRecord* member = registry.member(node);
  // Only a leader that has applied everything committed answers: a lagging follower's
  // registry may still hold a member removed since, and hand out a boot count floor below its
  // earlier daemon's (sim seed 12189, --voters 5 --spares 2 --membership 1, long mode). Others
  // name the leader (a refusal naming members is a redirect).
  const raft::RaftLog& log = raft_.log();
  if (!raft_.leader_committed_in_term() || log.applied() < log.committed()) {
    response.reason = "this daemon is not the leader (or not yet caught up); ask the leader";
    response.cluster_id = registry.cluster_id();  // a refusal with a cluster id: ask again
    if (const MemberRecord* leader = registry.member(raft_.leader());
        leader != nullptr && raft_.leader() != id()) {
      response.members.emplace_back(raft_.leader(), leader->address);
    }
  } else if (registry.cluster_id() == 0) {
    response.reason =
        "this cluster was bootstrapped without a cluster registry and cannot be "
        "joined at run time";
  } else if (!raft_.conf().contains(node) || member == nullptr) {
    response.reason = "node " + std::to_string(node) +
                      " is not in the cluster's configuration: run `bcastctl cluster add " +
                      std::to_string(node) + "=" + request.address + "` on a member first";
  } else if (member->identity != 0 && member->identity != request.identity) {
    response.reason = "node " + std::to_string(node) +
                      " is already bound to another data directory; remove it (`bcastctl cluster "
                      "remove " +
                      std::to_string(node) + "`) and add it again";
  } else {
    response.accepted = true;
    response.cluster_id = registry.cluster_id();
    response.incarnation_floor = registry.incarnation_floor(node);
    for (const auto& [id, record] : registry.members()) {
      response.members.emplace_back(id, record.address);
    }
  }
  send_to(out, id(), node, std::move(response));
}

void Node::record_sightings(Outbox& out) {
  if (raft_.role() != raft::Role::kLeader || state_.registry().cluster_id() == 0) return;
  for (const MemberSeenRecord& seen : admission_.take_sightings(state_.registry(), now_tick_)) {
    // Best effort: refused while a transfer runs or the pipeline is full; asked again later.
    (void)raft_.propose_entry(raft::EntryType::kMembership, encode_membership_record(seen), out);
  }
}

// --- Dissemination and membership --------------------------------------------------------------

void Node::on_contact(const Envelope& envelope, Outbox& out) {
  const auto contact = peers_.heard_from(envelope.from, envelope.origin, now_tick_);
  if (!is_replaced(envelope.origin)) flow_.heard_from(envelope.from, envelope.origin);
  std::optional<ResumeCuts> resume;
  if (contact.replaced != 0) {
    if (contact.replaced_counted && !options_.dissemination.bugs.no_resume_cut) {
      resume = resume_cuts_for(envelope.from);
    }
    reliable_.streams().forget_peer(envelope.from);
    gossip_.streams().forget_peer(envelope.from);
    relayed_welcomes_.erase(contact.replaced);
  }
  if (contact.welcome_due) welcome(envelope.from, envelope.origin, resume, out);
}

ResumeCuts Node::resume_cuts_for(NodeId node) const {
  const auto reliable_position = reliable_.streams().peer_own_position(node);
  const auto gossip_position = gossip_.streams().peer_own_position(node);
  OwnStreamState reliable = reliable_.streams().own_stream_state();
  OwnStreamState gossip = gossip_.streams().own_stream_state();
  // Without a digest we collected nothing it lacked (it held collection back at 0).
  reliable.predecessor_position = reliable_position.value_or(0);
  gossip.predecessor_position = gossip_position.value_or(0);
  return resume_cuts(reliable, gossip, delivery_.causal().own_sent());
}

bool Node::is_replaced(OriginId origin) const {
  const NodeId node = origin_node(origin);
  const OriginId current = node == id() ? origin_ : peers_.incarnation(node);
  if (current == 0 || current == origin) return false;
  // Boot counts compared as serial numbers: `origin` is older than the current incarnation.
  const auto behind = static_cast<std::uint16_t>((current & 0xffff) - (origin & 0xffff));
  return behind < 0x8000;
}

bool Node::is_dead(OriginId origin) const {
  // Replaced by a newer incarnation, or its node removed from the cluster (then it sends
  // nothing more, and whoever never met it never will).
  const ClusterRegistry& registry = state_.registry();
  return is_replaced(origin) || registry.removed(origin_node(origin)) ||
         registry.superseded(origin_node(origin), origin & 0xffff);
}

void Node::retire(OriginId origin, Outbox& out) {
  if (!retired_.insert(origin).second) return;
  out.events.push_back(Event{Event::Kind::kRetired, 0, kNoNode, origin});
  unknown_since_tick_.erase(origin);
  to_delivery(reliable_.streams().set_cut(origin, UINT64_MAX, false), out);
  to_delivery(gossip_.streams().set_cut(origin, UINT64_MAX, false), out);
  delivery_.on_cuts(origin, UINT64_MAX, false, out);
}

void Node::track_unknown_origins(Outbox& out) {
  std::set<OriginId> unknown;
  for (OriginId o : reliable_.streams().origins_without_cut()) unknown.insert(o);
  for (OriginId o : gossip_.streams().origins_without_cut()) unknown.insert(o);
  for (OriginId o : delivery_.causal().unknown_origins()) unknown.insert(o);
  std::erase_if(unknown_since_tick_,
                [&](const auto& item) { return !unknown.contains(item.first); });
  for (OriginId origin : unknown) {
    const std::uint64_t since = unknown_since_tick_.try_emplace(origin, now_tick_).first->second;
    if (is_dead(origin) && now_tick_ - since >= options_.retire_grace_ticks) {
      retire(origin, out);
    }
  }
}

void Node::skip_lost_messages(Outbox& out) {
  std::set<OriginId> stalled;
  for (OriginId o : reliable_.streams().origins_with_gaps()) stalled.insert(o);
  for (OriginId o : gossip_.streams().origins_with_gaps()) stalled.insert(o);
  for (OriginId o : delivery_.causal().awaited_origins()) stalled.insert(o);
  for (OriginId o : reliable_.streams().origins_behind_peers()) stalled.insert(o);
  for (OriginId o : gossip_.streams().origins_behind_peers()) stalled.insert(o);
  std::erase_if(stall_, [&](const auto& item) { return !stalled.contains(item.first); });
  const auto holders = peers_.holding_back();
  StreamSet& reliable = reliable_.streams();
  StreamSet& gossip = gossip_.streams();
  for (OriginId origin : stalled) {
    // Only a dead origin's messages can be lost for good (a live one still holds its own).
    const bool dead = is_dead(origin) || options_.dissemination.bugs.give_up_live;
    if (!dead || !delivery_.causal().knows(origin)) continue;
    // ... and only once nothing of it has arrived for a grace period (longer than messages stay
    // in flight), while every member that holds back garbage collection was heard from
    // recently and reports no more of it than we have.
    const auto position = std::make_pair(reliable.arrivals(origin), gossip.arrivals(origin));
    auto [stall, inserted] = stall_.try_emplace(origin, Stall{position, now_tick_});
    if (stall->second.position != position) stall->second = Stall{position, now_tick_};
    if (now_tick_ - stall->second.since_tick < options_.retire_grace_ticks) continue;
    const bool all_recent = std::all_of(holders.begin(), holders.end(), [&](NodeId peer) {
      return now_tick_ - peers_.last_heard_tick(peer) < options_.retire_grace_ticks / 2;
    });
    if (!all_recent) continue;
    // Positions reported before the stall began may be stale: a peer cut off from us may have
    // received what we lack since (sim seed 14586, --voters 5 --spares 2 --membership 1: a
    // daemon gave up a message right after a partition healed, judging by a digest from before
    // it, while the peer held the message).
    const std::uint64_t since = stall->second.since_tick;
    const bool fresh = std::all_of(holders.begin(), holders.end(), [&](NodeId peer) {
      const auto heard = digest_heard_tick_.find(peer);
      return heard != digest_heard_tick_.end() && heard->second.reliable > since &&
             heard->second.gossip > since;
    });
    const bool reliable_converged = fresh && reliable.converged(origin, holders);
    const bool gossip_converged = fresh && gossip.converged(origin, holders);
    if (!reliable_converged || !gossip_converged) {
      // Peers send digests only while they hold something unstable, and we may hold nothing
      // unstable either: what we know of their positions may be stale. Ask them where they are
      // (one that has what we lack repairs it).
      for (NodeId peer : holders) {
        if (!reliable_converged) send_to(out, id(), peer, reliable.digest(/*wants_reply=*/true));
        if (!gossip_converged) send_to(out, id(), peer, gossip.digest(/*wants_reply=*/true));
      }
      continue;
    }
    give_up_lost(origin, holders, out);
    stall_.erase(origin);
  }
}

void Node::give_up_lost(OriginId origin, const std::vector<NodeId>& holders, Outbox& out) {
  StreamSet& reliable = reliable_.streams();
  StreamSet& gossip = gossip_.streams();
  out.events.push_back(Event{Event::Kind::kGaveUp, 0, kNoNode, origin});
  const auto before = std::make_pair(reliable.received_upto(origin), gossip.received_upto(origin));
  if (reliable.has_gap(origin) || gossip.has_gap(origin)) {
    reliable.skip_gap(origin);
    gossip.skip_gap(origin);
  } else {
    // A tail that peers ahead of us no longer store (they had excluded us).
    reliable.skip_unstored(origin, holders);
    gossip.skip_unstored(origin, holders);
  }
  if (before != std::make_pair(reliable.received_upto(origin), gossip.received_upto(origin))) {
    announce_stream_skips(out);
    delivery_.on_stream_progress(origin, out);
  } else if (delivery_.causal().misses(origin)) {
    // Held messages depend on messages of the origin that neither stream shows a trace of: they
    // were in its tail, which died with it. The tail is given up (both streams: a causal count
    // does not say which one), announced, and then passed over.
    const bool reliable_closed = reliable.close(origin);
    const bool gossip_closed = gossip.close(origin);
    announce_stream_skips(out);
    if (reliable_closed && gossip_closed) delivery_.skip_missing(origin, out);
  }
}

void Node::welcome(NodeId node, OriginId incarnation, const std::optional<ResumeCuts>& resume,
                   Outbox& out) {
  Welcome w;
  w.from = origin_;
  w.to = incarnation;
  w.epoch = peers_.next_welcome_epoch(node);
  // A first welcome gives the peer our streams from their start while we still store them
  // whole: a daemon acknowledges publishes as soon as it starts, before it has met its peers,
  // and those messages are theirs too (chaos runs: a restarted daemon's first messages reached
  // nobody). Once something was collected, members we count hold it all, and a peer met only
  // now (added, or excluded since) takes what we publish from now on.
  // A restarted peer we counted until it restarted starts where its previous incarnation got
  // to (resume_cut.hpp).
  const bool from_start = w.epoch == 1 && reliable_.streams().own_stream_whole() &&
                          gossip_.streams().own_stream_whole();
  const ResumeCuts at_end{reliable_.streams().own_last_seq(), gossip_.streams().own_last_seq(),
                          delivery_.causal().own_sent()};
  ResumeCuts cuts = at_end;
  if (from_start) {
    cuts = ResumeCuts{};
  } else if (resume && w.epoch == 1) {
    cuts = *resume;
  }
  const ResumeCuts& sent = options_.dissemination.bugs.cut_at_welcome ? at_end : cuts;
  w.reliable_cut = sent.reliable;
  w.gossip_cut = sent.gossip;
  w.causal_cut = sent.causal;
  peers_.record_welcome(node, w);
  // To the newcomer, and to a few witnesses, which pass it on should ours not arrive (or should
  // we die before it does). Witnesses follow the newcomer's id around the member list, so
  // different newcomers spread the load.
  send_to(out, id(), node, w);
  const auto& members = peers_.members();
  const std::size_t witnesses = std::min<std::size_t>(options_.welcome_witnesses, members.size());
  for (std::size_t i = 0, sent = 0; i < members.size() && sent < witnesses; ++i) {
    const NodeId member = members[(node + i) % members.size()];
    if (member == node) continue;
    send_to(out, id(), member, w);
    ++sent;
  }
  Event welcomed{Event::Kind::kPeerWelcomed, 0, kNoNode, incarnation};
  welcomed.epoch = w.epoch;
  welcomed.from_start = from_start;
  welcomed.cuts = cuts;  // what we owe it, whatever a deliberate bug sent
  out.events.push_back(welcomed);
}

void Node::on_hello(NodeId from, const Hello& hello, Outbox& out) {
  // A Hello repeats while some welcome has not arrived: send ours again, and those we hold for it.
  if (auto sent = peers_.welcome_sent(from); sent && sent->to == hello.from) {
    send_to(out, id(), from, *sent);
  }
  if (auto it = relayed_welcomes_.find(hello.from); it != relayed_welcomes_.end()) {
    for (const auto& [welcomer, w] : it->second) send_to(out, id(), from, w);
  }
}

void Node::say_hello(Outbox& out) {
  // While messages wait for some origin's welcome, anyone may hold it: ask everyone.
  const bool waiting = !unknown_since_tick_.empty();
  for (NodeId node : waiting ? peers_.members() : peers_.not_yet_welcomed_by()) {
    send_to(out, id(), node, Hello{origin_});
  }
}

void Node::on_welcome(const Welcome& welcome, Outbox& out) {
  if (welcome.to != origin_) {
    // Someone else's welcome: keep it to pass on, now if its newcomer is alive as far as we
    // know, and whenever it says Hello.
    Welcome& kept = relayed_welcomes_[welcome.to][welcome.from];
    if (kept.from != 0 && welcome.epoch <= kept.epoch) return;
    kept = welcome;
    const NodeId newcomer = origin_node(welcome.to);
    if (newcomer != id() && peers_.incarnation(newcomer) == welcome.to) {
      send_to(out, id(), newcomer, welcome);
    }
    return;
  }
  if (retired_.contains(welcome.from)) return;
  const std::uint32_t known_epoch = peers_.welcomed_epoch(welcome.from);
  if (!peers_.record_welcomed_by(welcome)) {
    // A copy of a welcome after an exclusion that we took: the welcomer is still waiting for
    // our confirmation.
    if (welcome.epoch > 1 && welcome.epoch == known_epoch) confirm_rejoin(welcome.from, out);
    return;
  }
  if (known_epoch == 0) {
    Event joined{Event::Kind::kJoinedOrigin, 0, kNoNode, welcome.from};
    joined.epoch = welcome.epoch;
    out.events.push_back(joined);
  }
  const bool rejoin = welcome.epoch > 1;
  to_delivery(reliable_.streams().set_cut(welcome.from, welcome.reliable_cut, rejoin), out);
  to_delivery(gossip_.streams().set_cut(welcome.from, welcome.gossip_cut, rejoin), out);
  announce_stream_skips(out);
  delivery_.on_cuts(welcome.from, welcome.causal_cut, rejoin, out);
  if (rejoin) confirm_rejoin(welcome.from, out);
}

void Node::confirm_rejoin(OriginId welcomer, Outbox& out) {
  if (is_replaced(welcomer)) return;
  const NodeId node = origin_node(welcomer);
  send_to(out, id(), node, reliable_.streams().digest(/*wants_reply=*/true));
  send_to(out, id(), node, gossip_.streams().digest(/*wants_reply=*/true));
}

void Node::resend_unconfirmed_welcomes(Outbox& out) {
  for (NodeId node : peers_.unconfirmed_welcomes()) {
    const std::optional<Welcome> w = peers_.welcome_sent(node);
    if (reliable_.streams().peer_reached(node, origin_, w->reliable_cut) &&
        gossip_.streams().peer_reached(node, origin_, w->gossip_cut)) {
      peers_.confirm_welcome(node);
    } else {
      send_to(out, id(), node, *w);
    }
  }
}

void Node::on_data(const Envelope& envelope, const DataPush& push, Outbox& out) {
  if (retired_.contains(push.message.origin())) return;  // not ours
  const auto& members = peers_.members();
  switch (push.message.mode) {
    case Mode::kBestEffort:
      if (auto fresh = best_effort_.on_push(push))
        delivery_.on_message(std::move(*fresh), now_tick_, out);
      break;
    case Mode::kReliable:
      to_delivery(reliable_.on_push(envelope.from, push, members, out), out);
      break;
    case Mode::kGossip:
      to_delivery(gossip_.on_push(envelope.from, push, members, out), out);
      break;
  }
}

void Node::announce_stream_skips(Outbox& out) {
  for (Gap& gap : reliable_.streams().take_skipped()) announce_gap(out, std::move(gap));
  for (Gap& gap : gossip_.streams().take_skipped()) announce_gap(out, std::move(gap));
}

void Node::to_delivery(std::vector<BroadcastMessage> ready, Outbox& out) {
  announce_stream_skips(out);
  for (BroadcastMessage& m : ready) delivery_.on_message(std::move(m), now_tick_, out);
}

// --- Agreed group views ------------------------------------------------------------------------

void Node::submit_view_records() {
  std::optional<DaemonReachability> daemons;
  if (raft_.role() != raft::Role::kLeader) {
    views_leading_term_ = 0;
  } else if (views_leading_term_ != raft_.term()) {
    views_leading_term_ = raft_.term();
    views_leading_since_tick_ = now_tick_;
  }
  // A new leader's peer table may hold followers it has not heard from while it followed
  // (followers of an idle cluster do not talk to each other): it judges daemons only after a
  // full peer timeout of leading, when every reachable one has answered it.
  const bool judges = views_leading_term_ != 0 &&
                      now_tick_ - views_leading_since_tick_ >= options_.peer_timeout_ticks;
  if (judges) {
    daemons.emplace();
    daemons->configured.insert(members_conf_.voters.begin(), members_conf_.voters.end());
    daemons->configured.insert(members_conf_.learners.begin(), members_conf_.learners.end());
    for (NodeId node : peers_.holding_back()) {
      const OriginId incarnation = peers_.incarnation(node);
      if (incarnation != 0) daemons->reachable[node] = incarnation;  // heard from
    }
  }
  for (const GroupRecord& record : view_keeper_.due(state_.views(), daemons, now_tick_)) {
    BroadcastMessage message;
    message.sender = views_sender_;
    message.seq = ++views_seq_;
    message.mode = Mode::kReliable;
    message.order = Order::kTotal;
    message.payload = std::make_shared<const std::string>(encode_group_record(record));
    // Busy (too many total-order messages waiting): asked again after the resend interval.
    (void)total_.submit(message, now_tick_);
  }
}

// --- Bookkeeping -------------------------------------------------------------------------------

void Node::finish(Outbox& out) {
  apply_committed(out);
  raft_.flush(out);
  apply_committed(out);
  // Count what this input delivered (the newest deliveries; earlier ones are counted already).
  for (auto it = out.deliveries.rbegin(); it != out.deliveries.rend() && !it->flow_counted; ++it) {
    flow_.on_delivered(*it);
    it->flow_counted = true;
  }
  admin_.after_input(raft_, state_.registry(), now_tick_, out);
  sync_members();
  if (options_.dissemination.bugs.silent_skip) out.gaps.clear();
  // Group records are this daemon's own business: no client waits for their receipts.
  std::erase_if(out.receipts, [&](const Receipt& r) { return r.sender == views_sender_; });
  // Stamp what this input added (the newest envelopes; earlier ones are stamped already), so a
  // round of many inputs into one Outbox stays linear.
  for (auto it = out.messages.rbegin(); it != out.messages.rend() && it->origin == 0; ++it) {
    it->origin = origin_;
    it->cluster_id = options_.cluster_id;
    it->identity = options_.identity;
  }
}

void Node::apply_committed(Outbox& out) {
  if (options_.dissemination.bugs.deliver_before_commit) {
    // The bug: the sequencer runs ahead over entries merely appended. (When they commit, it
    // skips them as already sequenced; if they are overwritten instead, its state is wrong.)
    const raft::RaftLog& log = raft_.log();
    early_applied_ = std::max(early_applied_, log.applied());
    for (LogIndex i = early_applied_ + 1; i <= log.last_index(); ++i) {
      state_.apply(log.at(i), out);
    }
    early_applied_ = log.last_index();
  }
  raft::CommittedWork work = raft_.take_committed();
  if (work.empty()) return;
  if (work.restore) {
    const std::uint64_t delivered_upto = state_.sequencer().last_gseq();
    restore_or_abort(state_, *work.restore);
    if (observer_) observer_->on_restore(work.restore->meta);
    applied_since_snapshot_ = 0;
    applied_bytes_since_snapshot_ = 0;
    if (state_.sequencer().last_gseq() > delivered_upto) {
      Gap gap;
      gap.kind = Gap::Kind::kTotal;
      gap.reason = Gap::Reason::kSnapshot;
      gap.from = delivered_upto + 1;
      gap.to = state_.sequencer().last_gseq();
      announce_gap(out, std::move(gap));
    }
  }
  for (const raft::Entry& entry : work.entries) {
    state_.apply(entry, out);
    if (observer_) observer_->on_apply(entry);
  }
  applied_since_snapshot_ += work.entries.size();
  for (const raft::Entry& entry : work.entries) applied_bytes_since_snapshot_ += entry.data.size();
  if (applied_since_snapshot_ >= options_.snapshot_interval_entries ||
      applied_bytes_since_snapshot_ >= options_.snapshot_interval_bytes) {
    applied_since_snapshot_ = 0;
    applied_bytes_since_snapshot_ = 0;
    auto compacted = raft_.compact(raft_.log().applied(), state_.snapshot(), out);
    (void)compacted;  // fails only if nothing new was applied, which the counter rules out
  }
}

void Node::sync_members() {
  // Raft uses a configuration as soon as it is appended, but an uncommitted removal can still be
  // overwritten: until it commits, the member it removes is still heard from and keeps holding
  // back garbage collection. (A leader cut off with an uncommitted removal collected what the
  // member lacked, which the member then never got: sim seed 12113, --voters 5 --spares 2
  // --membership 1.)
  const raft::RaftLog& log = raft_.log();
  const LogIndex pending_since = log.last_conf_index() > log.committed() ? log.committed() : 0;
  if (raft_.conf() == members_conf_ && pending_since == members_committed_index_) return;
  members_conf_ = raft_.conf();
  members_committed_index_ = pending_since;
  admitted_conf_ = members_conf_;
  if (pending_since != 0) {
    const raft::ConfState committed = log.conf_at(pending_since);
    for (const auto* nodes : {&committed.voters, &committed.learners}) {
      for (NodeId node : *nodes) {
        if (!admitted_conf_.contains(node)) admitted_conf_.learners.push_back(node);
      }
    }
  }
  std::vector<NodeId> members = admitted_conf_.voters;
  members.insert(members.end(), admitted_conf_.learners.begin(), admitted_conf_.learners.end());
  peers_.set_members(members);
}

std::string Node::check_invariants() const {
  if (auto problem = raft_.check_invariants(); !problem.empty()) return problem;
  if (state_.sequencer().anomalies() != 0) {
    return "the sequencer met an undecodable or out-of-order entry";
  }
  if (state_.registry().anomalies() != 0) return "the cluster registry met an undecodable record";
  if (state_.view_anomalies() != 0) return "the group views met an undecodable record";
  return {};
}

}  // namespace bcast
