// The replicated-state-machine rules (lib/include/bcast/rsm_core.hpp): pure, no I/O.
#include "bcast/rsm_core.hpp"

#include <cstring>
#include <type_traits>

namespace bcast::rsm {
namespace {

constexpr char kCommandKind = 'C';
constexpr char kRequestKind = 'Q';
constexpr char kReplyKind = 'S';

// Fixed little-endian integers: replicas on any host read the same bytes.
void put_u64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

bool take_u64(std::string_view& in, std::uint64_t& value) {
  if (in.size() < 8) return false;
  value = 0;
  for (int i = 0; i < 8; ++i) {
    value |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  }
  in.remove_prefix(8);
  return true;
}

}  // namespace

std::string encode(const Message& message) {
  std::string out;
  std::visit(
      [&out](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, Command>) {
          out.push_back(kCommandKind);
          put_u64(out, m.replica);
          put_u64(out, m.command_id);
          out.append(m.body);
        } else if constexpr (std::is_same_v<T, StateRequest>) {
          out.push_back(kRequestKind);
          put_u64(out, m.replica);
          put_u64(out, m.nonce);
        } else {
          out.push_back(kReplyKind);
          put_u64(out, m.requester);
          put_u64(out, m.nonce);
          put_u64(out, m.as_of_gseq);
          out.append(m.state);
        }
      },
      message);
  return out;
}

std::optional<Message> decode(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  const char kind = bytes.front();
  bytes.remove_prefix(1);
  if (kind == kCommandKind) {
    Command command;
    if (!take_u64(bytes, command.replica) || !take_u64(bytes, command.command_id)) {
      return std::nullopt;
    }
    command.body = std::string(bytes);
    return command;
  }
  if (kind == kRequestKind) {
    StateRequest request;
    if (!take_u64(bytes, request.replica) || !take_u64(bytes, request.nonce) || !bytes.empty()) {
      return std::nullopt;
    }
    return request;
  }
  if (kind == kReplyKind) {
    StateReply reply;
    if (!take_u64(bytes, reply.requester) || !take_u64(bytes, reply.nonce) ||
        !take_u64(bytes, reply.as_of_gseq)) {
      return std::nullopt;
    }
    reply.state = std::string(bytes);
    return reply;
  }
  return std::nullopt;
}

RsmCore::RsmCore(std::uint64_t replica_token, StateMachine& machine, std::size_t max_buffered_bytes)
    : token_(replica_token), machine_(machine), max_buffered_bytes_(max_buffered_bytes) {}

void RsmCore::start_live(std::uint64_t applied_gseq) {
  phase_ = Phase::kLive;
  applied_gseq_ = applied_gseq;
  buffer_.clear();
  buffered_bytes_ = 0;
  request_gseq_.clear();
  replies_.clear();
}

void RsmCore::start_awaiting_state(Outbox& out) {
  start_live(0);
  ask_for_state(out);
}

void RsmCore::ask_for_state(Outbox& out) {
  phase_ = Phase::kAwaitingState;
  out.requests.push_back(StateRequest{token_, next_nonce_++});
}

void RsmCore::on_total_delivery(std::uint64_t gseq, std::string_view payload, Outbox& out) {
  if (phase_ == Phase::kFailed) return;
  if (phase_ == Phase::kLive) {
    apply_in_order(gseq, payload, out);
    return;
  }
  // Awaiting a state: keep everything; note where our own requests landed.
  if (auto message = decode(payload)) {
    if (auto* request = std::get_if<StateRequest>(&*message);
        request != nullptr && request->replica == token_) {
      request_gseq_.emplace(request->nonce, gseq);
    }
  }
  buffered_bytes_ += payload.size();
  if (buffered_bytes_ > max_buffered_bytes_) {
    phase_ = Phase::kFailed;
    failure_ = "the commands buffered while awaiting a state transfer exceed " +
               std::to_string(max_buffered_bytes_) + " bytes";
    buffer_.clear();
    return;
  }
  buffer_.emplace_back(gseq, std::string(payload));
  install_if_ready(out);
}

void RsmCore::on_other_delivery(std::string_view payload, Outbox& out) {
  if (phase_ != Phase::kAwaitingState) return;
  auto message = decode(payload);
  if (!message) return;
  auto* reply = std::get_if<StateReply>(&*message);
  if (reply == nullptr || reply->requester != token_ || reply->nonce >= next_nonce_) return;
  replies_.emplace(reply->nonce, std::move(*reply));
  install_if_ready(out);
}

void RsmCore::install_if_ready(Outbox& out) {
  for (const auto& [nonce, gseq] : request_gseq_) {
    auto reply = replies_.find(nonce);
    if (reply == replies_.end() || reply->second.as_of_gseq != gseq) continue;
    machine_.restore(reply->second.state);
    ++state_transfers_;
    auto buffered = std::move(buffer_);
    for (const auto& [position, payload] : buffered) {
      if (position > gseq) break;
      auto message = decode(payload);
      if (auto* command = message ? std::get_if<Command>(&*message) : nullptr;
          command != nullptr && command->replica == token_) {
        out.covered.push_back(command->command_id);
      }
    }
    start_live(gseq);
    for (const auto& [position, payload] : buffered) {
      apply_in_order(position, payload, out);
    }
    return;
  }
}

void RsmCore::apply_in_order(std::uint64_t gseq, std::string_view payload, Outbox& out) {
  if (gseq <= applied_gseq_) return;  // already in the state (a replay overlapping it)
  applied_gseq_ = gseq;
  auto message = decode(payload);
  if (!message) {
    ++skipped_;
    return;
  }
  if (auto* command = std::get_if<Command>(&*message)) {
    std::string result;
    if (!command->body.empty()) {  // an empty body is a barrier (sync): nothing to apply
      result = machine_.apply(command->body);
      ++out.applied_commands;
    }
    if (command->replica == token_) {
      out.completed.push_back(Completed{command->command_id, gseq, std::move(result)});
    }
  } else if (auto* request = std::get_if<StateRequest>(&*message)) {
    if (request->replica != token_) {
      out.replies.push_back(
          StateReply{request->replica, request->nonce, gseq, machine_.snapshot()});
    }
  } else {
    ++skipped_;  // a state reply sent with total order by someone else: not ours to apply
  }
}

void RsmCore::ask_again(Outbox& out) {
  if (phase_ == Phase::kAwaitingState) ask_for_state(out);
}

void RsmCore::on_total_gap(std::uint64_t /*from*/, std::uint64_t to, Outbox& out) {
  if (phase_ == Phase::kFailed) return;
  if (phase_ == Phase::kLive) {
    if (to <= applied_gseq_) return;  // positions already covered by our state
    buffer_.clear();
    buffered_bytes_ = 0;
    ask_for_state(out);
    return;
  }
  // Awaiting: what was buffered (and where earlier requests landed) no longer joins up with
  // what follows; only a request delivered after this gap can be used.
  buffer_.clear();
  buffered_bytes_ = 0;
  request_gseq_.clear();
  ask_for_state(out);
}

}  // namespace bcast::rsm
