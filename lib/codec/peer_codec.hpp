// The wire format between daemons: one ZeroMQ frame per Envelope, encoded with msgpack, followed
// by its attachments (large byte fields; below) as frames of their own in the same message.
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
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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

// Attachments: a large byte field (a Raft entry's data, a payload, snapshot data) may travel as a
// frame of its own after the envelope's, the field holding the attachment's index (a msgpack
// uint where a bin is expected) instead of the bytes. Neither side then copies it: the sender
// hands ZeroMQ the buffer it already holds, and a received entry's data stays in the frame it
// came in (SharedBytes::borrow). A 16 MiB entry encoded for each follower and copied out of the
// frame again by each follower held the event loops long enough to starve heartbeats.
// Each attachment is referenced exactly once; anything else is refused like any malformed frame.
inline constexpr std::size_t kAttachmentMinBytes = 64u << 10;
inline constexpr std::size_t kMaxAttachments = 4096;

struct Attachment {
  std::shared_ptr<const void> owner;  // keeps `bytes` alive and unchanged
  std::string_view bytes;
};
struct EncodedFrames {
  std::string envelope;
  std::vector<Attachment> attachments;  // in index order
};
// Byte fields of at least kAttachmentMinBytes become attachments.
EncodedFrames encode_envelope_frames(const Envelope& envelope);
Result<Envelope> decode_envelope(std::string_view frame, const DecodeLimits& limits,
                                 const std::vector<Attachment>& attachments);

}  // namespace bcast::codec
