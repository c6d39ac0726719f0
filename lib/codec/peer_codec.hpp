// The wire format between daemons: one ZeroMQ frame per Envelope, encoded with msgpack.
//
// A frame is a msgpack array [version, from, to, origin, cluster_id, identity, kind, body]
// where `kind` names the PeerMessage alternative and `body` is that message's fields as a
// msgpack array, in declaration order (the full layout is spelled out at the top of
// peer_codec.cpp). Payloads are msgpack bin; an absent shared
// payload is nil, so it stays distinct from an empty one. The decoder never trusts a
// length from the wire: it rejects frames deeper, longer or larger than DecodeLimits, and any
// frame that does not decode to a well-formed message (unknown kind, wrong arity, a value out of
// range) with a kProtocol error; it never throws and never aborts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bcast/result.hpp"
#include "core/outbox.hpp"

namespace bcast::codec {

inline constexpr std::uint32_t kPeerProtocolVersion = 2;

struct DecodeLimits {
  std::size_t max_frame_bytes = 64u << 20;  // also set as ZMQ_MAXMSGSIZE on the socket
  std::size_t max_array_items = 1u << 20;   // entries, messages, streams, clock entries
  std::size_t max_depth = 16;
};

std::string encode_envelope(const Envelope& envelope);
Result<Envelope> decode_envelope(std::string_view frame, const DecodeLimits& limits = {});

}  // namespace bcast::codec
