#include "core/bcast/message.hpp"

#include <algorithm>

#include "core/byte_codec.hpp"

namespace bcast {

std::uint64_t CausalClock::get(OriginId origin) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), origin,
                             [](const auto& entry, OriginId o) { return entry.first < o; });
  return it != entries_.end() && it->first == origin ? it->second : 0;
}

void CausalClock::set(OriginId origin, std::uint64_t count) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), origin,
                             [](const auto& entry, OriginId o) { return entry.first < o; });
  if (it != entries_.end() && it->first == origin) {
    if (count == 0) {
      entries_.erase(it);
    } else {
      it->second = count;
    }
  } else if (count != 0) {
    entries_.insert(it, {origin, count});
  }
}

const char* gap_reason_name(Gap::Reason reason) {
  switch (reason) {
    case Gap::Reason::kExcluded:
      return "excluded";
    case Gap::Reason::kOriginLost:
      return "origin-lost";
    case Gap::Reason::kSnapshot:
      return "snapshot";
    case Gap::Reason::kBestEffortHold:
      return "best-effort-hold";
  }
  return "unknown";
}

namespace {

constexpr std::uint8_t kBatchVersion = 1;

void encode_message(std::string& out, const BroadcastMessage& m) {
  put_le<std::uint64_t>(out, m.sender);
  put_le<std::uint64_t>(out, m.seq);
  put_le<std::uint64_t>(out, m.stream_seq);
  put_le<std::uint8_t>(out, static_cast<std::uint8_t>(m.mode));
  put_le<std::uint8_t>(out, static_cast<std::uint8_t>(m.order));
  put_le<std::uint8_t>(out, m.withdrawn ? 1 : 0);
  put_bytes(out, m.group);
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(m.causal.entries().size()));
  for (const auto& [origin, count] : m.causal.entries()) {
    put_le<std::uint32_t>(out, origin);
    put_le<std::uint64_t>(out, count);
  }
  put_bytes(out, m.payload ? std::string_view(*m.payload) : std::string_view());
}

bool decode_message(ByteReader& in, BroadcastMessage& m) {
  std::uint8_t mode = 0;
  std::uint8_t order = 0;
  std::uint8_t withdrawn = 0;
  std::uint32_t clock_size = 0;
  std::string_view group;
  if (!in.read(m.sender) || !in.read(m.seq) || !in.read(m.stream_seq) || !in.read(mode) ||
      !in.read(order) || !in.read(withdrawn) || !in.read_bytes(group) || !in.read(clock_size)) {
    return false;
  }
  if (mode > static_cast<std::uint8_t>(Mode::kGossip) ||
      order > static_cast<std::uint8_t>(Order::kTotal) || withdrawn > 1) {
    return false;
  }
  m.withdrawn = withdrawn == 1;
  // Each clock entry is 12 bytes: a count beyond what remains is corrupt, not an allocation.
  if (clock_size > in.remaining_bytes() / 12) return false;
  m.mode = static_cast<Mode>(mode);
  m.order = static_cast<Order>(order);
  m.group.assign(group);
  for (std::uint32_t i = 0; i < clock_size; ++i) {
    std::uint32_t origin = 0;
    std::uint64_t count = 0;
    if (!in.read(origin) || !in.read(count)) return false;
    m.causal.set(origin, count);
  }
  std::string_view payload;
  if (!in.read_bytes(payload)) return false;
  m.payload = std::make_shared<const std::string>(payload);
  return true;
}

// The exact size encode_message writes, so a batch is allocated once: grown by doubling, a
// 16 MiB payload was copied several times, each copy into fresh pages.
std::size_t encoded_message_bytes(const BroadcastMessage& m) {
  constexpr std::size_t kFixed = 3 * 8 + 3 * 1 + 4 + 4 + 4;  // ints, flags, 2 lengths, clock size
  return kFixed + m.group.size() + m.causal.entries().size() * (4 + 8) +
         (m.payload ? m.payload->size() : 0);
}

}  // namespace

std::string encode_message_batch(const std::vector<BroadcastMessage>& messages) {
  std::string out;
  std::size_t size = 1 + 4;
  for (const auto& m : messages) size += encoded_message_bytes(m);
  out.reserve(size);
  put_le<std::uint8_t>(out, kBatchVersion);
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(messages.size()));
  for (const auto& m : messages) encode_message(out, m);
  return out;
}

std::optional<std::vector<BroadcastMessage>> decode_message_batch(std::string_view data) {
  ByteReader in(data);
  std::uint8_t version = 0;
  std::uint32_t count = 0;
  if (!in.read(version) || version != kBatchVersion || !in.read(count)) return std::nullopt;
  if (count > in.remaining_bytes()) return std::nullopt;  // every message takes bytes
  std::vector<BroadcastMessage> messages(count);
  for (auto& m : messages) {
    if (!decode_message(in, m)) return std::nullopt;
  }
  if (in.remaining_bytes() != 0) return std::nullopt;
  return messages;
}

}  // namespace bcast
