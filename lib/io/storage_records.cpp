#include "io/storage_records.hpp"

#include "core/byte_codec.hpp"
#include "io/record.hpp"

namespace bcast::io {
namespace {

constexpr std::uint8_t kMaxEntryType = static_cast<std::uint8_t>(raft::EntryType::kMembership);

void put_node_list(std::string& out, const std::vector<NodeId>& nodes) {
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(nodes.size()));
  for (const NodeId node : nodes) put_le<std::uint64_t>(out, node);
}

bool read_node_list(ByteReader& reader, std::vector<NodeId>& nodes) {
  std::uint32_t count = 0;
  if (!reader.read(count)) return false;
  // The count is checked against the bytes present before anything is reserved.
  if (count > reader.remaining_bytes() / sizeof(NodeId)) return false;
  nodes.resize(count);
  for (NodeId& node : nodes) reader.read(node);
  return true;
}

}  // namespace

void append_segment_header_record(std::string& out, const SegmentHeader& header) {
  const std::size_t start = begin_record(out);
  put_le<std::uint32_t>(out, header.format_version);
  put_le<std::uint32_t>(out, 0);
  put_le<std::uint64_t>(out, header.generation);
  put_le<std::uint64_t>(out, header.first_index);
  finish_record(out, start, RecordKind::kSegmentHeader);
}

void append_entry_record(std::string& out, const raft::Entry& entry) {
  const std::size_t start = begin_record(out);
  put_le<std::uint64_t>(out, entry.term);
  put_le<std::uint64_t>(out, entry.index);
  put_le<std::uint8_t>(out, static_cast<std::uint8_t>(entry.type));
  out.append(entry.data.view());
  finish_record(out, start, RecordKind::kEntry);
}

void append_commit_record(std::string& out, LogIndex commit) {
  const std::size_t start = begin_record(out);
  put_le<std::uint64_t>(out, commit);
  finish_record(out, start, RecordKind::kCommit);
}

void append_durable_mark_record(std::string& out, const DurableMark& mark) {
  const std::size_t start = begin_record(out);
  put_le<std::uint64_t>(out, mark.durable_bytes);
  put_le<std::uint64_t>(out, mark.durable_last_index);
  finish_record(out, start, RecordKind::kDurableMark);
}

void append_hard_state_record(std::string& out, const raft::HardState& hard_state) {
  const std::size_t start = begin_record(out);
  put_le<std::uint64_t>(out, hard_state.term);
  put_le<std::uint64_t>(out, hard_state.vote);
  put_le<std::uint64_t>(out, hard_state.commit);
  finish_record(out, start, RecordKind::kHardState);
}

std::optional<SegmentHeader> decode_segment_header(std::string_view payload, std::string& why) {
  ByteReader reader(payload);
  std::uint32_t version = 0;
  std::uint32_t reserved = 0;
  SegmentHeader header;
  if (payload.size() != 24 || !reader.read(version) || !reader.read(reserved) ||
      !reader.read(header.generation) || !reader.read(header.first_index)) {
    why = "segment header of " + std::to_string(payload.size()) + " bytes, expected 24";
    return std::nullopt;
  }
  if ((version != kSegmentFormatVersion && version != kSegmentFormatWithoutMark) || reserved != 0) {
    why = "unsupported segment format version " + std::to_string(version);
    return std::nullopt;
  }
  header.format_version = version;
  return header;
}

std::optional<raft::Entry> decode_entry(std::string_view payload, std::string& why) {
  ByteReader reader(payload);
  raft::Entry entry;
  std::uint8_t type = 0;
  if (!reader.read(entry.term) || !reader.read(entry.index) || !reader.read(type)) {
    why = "entry payload of " + std::to_string(payload.size()) + " bytes, expected at least " +
          std::to_string(kEntryFixedPayloadBytes);
    return std::nullopt;
  }
  if (type > kMaxEntryType) {
    why = "unknown entry type " + std::to_string(type);
    return std::nullopt;
  }
  entry.type = static_cast<raft::EntryType>(type);
  entry.data = SharedBytes(reader.rest());
  return entry;
}

std::optional<LogIndex> decode_commit(std::string_view payload, std::string& why) {
  ByteReader reader(payload);
  LogIndex commit = 0;
  if (payload.size() != 8 || !reader.read(commit)) {
    why = "commit payload of " + std::to_string(payload.size()) + " bytes, expected 8";
    return std::nullopt;
  }
  return commit;
}

std::optional<DurableMark> decode_durable_mark(std::string_view payload, std::string& why) {
  ByteReader reader(payload);
  DurableMark mark;
  if (payload.size() != 16 || !reader.read(mark.durable_bytes) ||
      !reader.read(mark.durable_last_index)) {
    why = "durable mark payload of " + std::to_string(payload.size()) + " bytes, expected 16";
    return std::nullopt;
  }
  return mark;
}

std::optional<raft::HardState> decode_hard_state(std::string_view payload, std::string& why) {
  ByteReader reader(payload);
  raft::HardState hard_state;
  if (payload.size() != 24 || !reader.read(hard_state.term) || !reader.read(hard_state.vote) ||
      !reader.read(hard_state.commit)) {
    why = "hard state payload of " + std::to_string(payload.size()) + " bytes, expected 24";
    return std::nullopt;
  }
  return hard_state;
}

std::string encode_snapshot_record_prefix(const raft::SnapshotMeta& meta, std::uint64_t generation,
                                          std::string_view data) {
  std::string fields;
  put_le<std::uint64_t>(fields, meta.index);
  put_le<std::uint64_t>(fields, meta.term);
  put_le<std::uint64_t>(fields, generation);
  put_node_list(fields, meta.conf.voters);
  put_node_list(fields, meta.conf.learners);
  std::string prefix = encode_record_header(RecordKind::kSnapshot, fields.size() + data.size(),
                                            record_payload_checksum(fields, data));
  prefix += fields;
  return prefix;
}

std::optional<DecodedSnapshot> decode_snapshot(std::string payload, std::string& why) {
  ByteReader reader(payload);
  DecodedSnapshot decoded;
  raft::SnapshotMeta& meta = decoded.snapshot.meta;
  if (!reader.read(meta.index) || !reader.read(meta.term) || !reader.read(decoded.generation) ||
      !read_node_list(reader, meta.conf.voters) || !read_node_list(reader, meta.conf.learners)) {
    why = "malformed snapshot metadata";
    return std::nullopt;
  }
  // Keep the data by cutting the metadata off the front of the payload: no second copy.
  payload.erase(0, payload.size() - reader.remaining_bytes());
  decoded.snapshot.data = std::make_shared<const std::string>(std::move(payload));
  return decoded;
}

}  // namespace bcast::io
