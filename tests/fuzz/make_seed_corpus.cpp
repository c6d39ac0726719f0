// Writes the seed corpora of the fuzz targets: `make_seed_corpus <dir>` fills
// <dir>/<target>/ with a few valid inputs (docs/fuzzing.md). The committed tests/fuzz/corpus
// was made by it; rerun it after changing input_format.hpp, the storage format or a codec.
//
// Seeds are built with the real encoders, and the realistic directory is written by RaftStorage
// itself, so that the fuzzer starts from inputs that pass every checksum and structure check
// and has to mutate only a little to reach each refusal.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "codec/client_protocol.hpp"
#include "codec/peer_codec.hpp"
#include "core/bcast/message.hpp"
#include "core/membership/cluster_registry.hpp"
#include "core/outbox.hpp"
#include "input_format.hpp"
#include "io/raft_storage.hpp"
#include "io/record.hpp"
#include "io/storage_layout.hpp"
#include "io/storage_records.hpp"
#include "support/faulty_file_system.hpp"

namespace {

namespace fuzz = bcast::fuzz;
using bcast::io::RecordKind;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "make_seed_corpus: %s\n", what.c_str());
  std::exit(1);
}

void write_seed(const std::filesystem::path& dir, const std::string& name,
                const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) die("cannot write " + (dir / name).string());
}

// Payloads, cut from records built by storage's own encoders.
std::string payload_of(const std::string& record) {
  return record.substr(bcast::io::kRecordHeaderBytes);
}

std::string segment_header_payload(std::uint64_t generation, bcast::LogIndex first_index) {
  std::string record;
  bcast::io::append_segment_header_record(record, {generation, first_index});
  return payload_of(record);
}

std::string entry_payload(bcast::Term term, bcast::LogIndex index) {
  std::string record;
  bcast::io::append_entry_record(
      record, {term, index, bcast::raft::EntryType::kNormal, "cmd " + std::to_string(index)});
  return payload_of(record);
}

std::string commit_payload(bcast::LogIndex commit) {
  std::string record;
  bcast::io::append_commit_record(record, commit);
  return payload_of(record);
}

std::string hard_state_payload(bcast::Term term, bcast::NodeId vote, bcast::LogIndex commit) {
  std::string record;
  bcast::io::append_hard_state_record(record, {term, vote, commit});
  return payload_of(record);
}

std::string snapshot_payload(bcast::LogIndex index, bcast::Term term, std::uint64_t generation) {
  bcast::raft::SnapshotMeta meta{index, term, {{1, 2, 3}, {4}}};
  const std::string data = "state machine at " + std::to_string(index);
  return payload_of(bcast::io::encode_snapshot_record_prefix(meta, generation, data)) + data;
}

std::string framed(const std::vector<fuzz::FramedRecord>& records) {
  std::string out;
  for (const fuzz::FramedRecord& record : records) fuzz::encode_framed_record(out, record);
  return out;
}

fuzz::FramedRecord rec(RecordKind kind, std::string payload,
                       fuzz::Damage damage = fuzz::Damage::kNone) {
  return {static_cast<std::uint8_t>(kind), damage, std::move(payload)};
}

// A segment starting at `first` with entries first..last in term `term`, then a commit record.
std::vector<fuzz::FramedRecord> segment_records(std::uint64_t generation, bcast::LogIndex first,
                                                bcast::LogIndex last, bcast::Term term,
                                                bcast::LogIndex commit) {
  std::vector<fuzz::FramedRecord> records{
      rec(RecordKind::kSegmentHeader, segment_header_payload(generation, first))};
  for (bcast::LogIndex index = first; index <= last; ++index) {
    records.push_back(rec(RecordKind::kEntry, entry_payload(term, index)));
  }
  records.push_back(rec(RecordKind::kCommit, commit_payload(commit)));
  return records;
}

fuzz::DirFile framed_file(fuzz::FileName name, std::uint64_t index,
                          const std::vector<fuzz::FramedRecord>& records) {
  return {name, index, true, framed(records)};
}

// A data directory written by RaftStorage: two segments, a compaction snapshot and a hard state.
// Returns the files' raw bytes by name.
std::vector<std::pair<std::string, std::string>> storage_written_directory() {
  bcast::test::FaultyFileSystem fs;
  bcast::io::StorageOptions options;
  options.segment_bytes = 256;
  auto opened = bcast::io::RaftStorage::open(fs, "/data", options);
  if (!opened) die(opened.error().message);
  bcast::io::RaftStorage& storage = *opened.value();
  (void)storage.take_recovered();

  bcast::PersistRequest append;
  const bcast::Term terms[] = {1, 1, 2, 2, 3, 3};
  for (bcast::LogIndex index = 1; index <= 6; ++index) {
    append.entries.push_back(
        {terms[index - 1], index, bcast::raft::EntryType::kNormal, "cmd " + std::to_string(index)});
  }
  append.hard_state = bcast::raft::HardState{3, 2, 4};
  append.sync = true;
  if (auto done = storage.persist(append); !done) die(done.error().message);

  bcast::PersistRequest compact;
  bcast::raft::Snapshot snapshot;
  snapshot.meta = {3, 2, {{1, 2, 3}, {}}};
  snapshot.data = std::make_shared<const std::string>("state machine at 3");
  compact.snapshot = snapshot;
  compact.sync = true;
  if (auto done = storage.persist(compact); !done) die(done.error().message);

  std::vector<std::pair<std::string, std::string>> files;
  auto names = fs.list_dir("/data");
  if (!names) die(names.error().message);
  for (const std::string& name : names.value()) {
    auto bytes = bcast::io::read_whole_file(fs, "/data/" + name, 1 << 20);
    if (!bytes) die(bytes.error().message);
    files.emplace_back(name, std::move(bytes.value()));
  }
  return files;
}

void storage_recovery_seeds(const std::filesystem::path& dir,
                            const std::vector<std::pair<std::string, std::string>>& written) {
  using Options = fuzz::DirOptions;
  constexpr std::uint8_t kDurableWrite = Options::kDurable | Options::kWrite;

  write_seed(dir, "empty_directory", fuzz::encode_dir_input({kDurableWrite, {}}));

  // The directory RaftStorage wrote, as raw files. The write replaces entries 5 and 6 after a
  // compaction snapshot at 4.
  fuzz::DirInput raw{kDurableWrite | Options::kSnapshot | (2 << Options::kRewindShift), {}};
  for (const auto& [name, bytes] : written) {
    fuzz::DirFile file;
    file.body = bytes;
    if (const auto first = bcast::io::parse_segment_file_name(name)) {
      file.name = fuzz::FileName::kSegment;
      file.index = *first;
    } else if (const auto index = bcast::io::parse_snapshot_file_name(name)) {
      file.name = fuzz::FileName::kSnapshot;
      file.index = *index;
    } else {
      file.name = fuzz::FileName::kHardState;
    }
    raw.files.push_back(std::move(file));
  }
  write_seed(dir, "written_by_storage", fuzz::encode_dir_input(raw));

  const fuzz::DirFile hard_state = framed_file(
      fuzz::FileName::kHardState, 0, {rec(RecordKind::kHardState, hard_state_payload(2, 1, 2))});
  write_seed(dir, "framed_segment",
             fuzz::encode_dir_input(
                 {kDurableWrite | (1 << Options::kRewindShift),
                  {framed_file(fuzz::FileName::kSegment, 1, segment_records(0, 1, 3, 2, 2)),
                   hard_state}}));

  std::vector<fuzz::FramedRecord> torn = segment_records(0, 1, 4, 1, 1);
  torn.back().damage = fuzz::Damage::kTorn;
  write_seed(
      dir, "framed_torn_tail",
      fuzz::encode_dir_input({Options::kWrite, {framed_file(fuzz::FileName::kSegment, 1, torn)}}));

  // Damage followed by a valid record: corruption, not a torn write.
  std::vector<fuzz::FramedRecord> holed = segment_records(0, 1, 4, 1, 1);
  holed[2].damage = fuzz::Damage::kPayloadChecksum;
  write_seed(dir, "framed_corrupt_middle",
             fuzz::encode_dir_input(
                 {Options::kDurable, {framed_file(fuzz::FileName::kSegment, 1, holed)}}));

  // A log reset: the snapshot of generation 1 supersedes the generation-0 segment, the
  // generation-1 segment follows the snapshot; an older snapshot file is a leftover.
  write_seed(dir, "framed_snapshot_reset",
             fuzz::encode_dir_input(
                 {kDurableWrite | (3 << Options::kRewindShift),
                  {framed_file(fuzz::FileName::kSnapshot, 2,
                               {rec(RecordKind::kSnapshot, snapshot_payload(2, 1, 0))}),
                   framed_file(fuzz::FileName::kSnapshot, 5,
                               {rec(RecordKind::kSnapshot, snapshot_payload(5, 3, 1))}),
                   framed_file(fuzz::FileName::kSegment, 1, segment_records(0, 1, 7, 1, 3)),
                   framed_file(fuzz::FileName::kSegment, 6, segment_records(1, 6, 9, 4, 7)),
                   hard_state}}));

  // A compacted log: the snapshot at 5 covers segment 1 wholly (removed) and segment 4 in
  // part; the log goes on in segment 7. A huge length in the last record is a torn tail.
  std::vector<fuzz::FramedRecord> last_segment = segment_records(0, 7, 12, 3, 9);
  last_segment.back().damage = fuzz::Damage::kHugeLength;
  write_seed(dir, "framed_compacted",
             fuzz::encode_dir_input(
                 {kDurableWrite | (7 << Options::kRewindShift),
                  {framed_file(fuzz::FileName::kSnapshot, 5,
                               {rec(RecordKind::kSnapshot, snapshot_payload(5, 2, 0))}),
                   framed_file(fuzz::FileName::kSegment, 1, segment_records(0, 1, 3, 1, 2)),
                   framed_file(fuzz::FileName::kSegment, 4, segment_records(0, 4, 6, 2, 5)),
                   framed_file(fuzz::FileName::kSegment, 7, last_segment), hard_state}}));

  // Two segments of one generation, a leftover temporary file and a foreign file. The write
  // resets the log with a snapshot at 2, and appends 3 to 7.
  write_seed(
      dir, "framed_two_segments_and_leftovers",
      fuzz::encode_dir_input(
          {kDurableWrite | Options::kSnapshot | Options::kResetsLog | (4 << Options::kRewindShift),
           {framed_file(fuzz::FileName::kSegment, 1, segment_records(0, 1, 3, 1, 2)),
            framed_file(fuzz::FileName::kSegment, 4, segment_records(0, 4, 6, 2, 5)),
            {fuzz::FileName::kTempFile, 7, false, "half a segment"},
            {fuzz::FileName::kForeign, 0, false, "not storage's"},
            hard_state}}));
}

void record_decoder_seeds(const std::filesystem::path& dir,
                          const std::vector<std::pair<std::string, std::string>>& written) {
  const auto mode = [](std::uint8_t byte) { return std::string(1, static_cast<char>(byte)); };
  for (const auto& [name, bytes] : written) {
    // Raw files as RaftStorage wrote them: segments, hardstate, a snapshot.
    write_seed(dir, "raw_" + name, mode(0) + bytes);
  }
  write_seed(dir, "framed_segment", mode(1) + framed(segment_records(0, 1, 3, 2, 2)));
  std::vector<fuzz::FramedRecord> torn = segment_records(0, 1, 3, 2, 2);
  torn[1].damage = fuzz::Damage::kHeaderChecksum;
  write_seed(dir, "framed_damaged_then_valid", mode(1) + framed(torn));
  torn[1].damage = fuzz::Damage::kReservedField;
  write_seed(dir, "framed_reserved_field", mode(1) + framed(torn));
  // Limit of 3 * 16 bytes: the entry records fit, the snapshot record does not.
  write_seed(dir, "framed_small_limit",
             mode(0x31) + framed({rec(RecordKind::kEntry, entry_payload(1, 1)),
                                  rec(RecordKind::kSnapshot, snapshot_payload(1, 1, 0))}));
  // Bare payloads, for the payload decoders.
  write_seed(dir, "payload_entry", mode(0) + entry_payload(7, 42));
  write_seed(dir, "payload_snapshot", mode(0) + snapshot_payload(9, 2, 1));
  write_seed(dir, "payload_hard_state", mode(0) + hard_state_payload(5, 3, 8));
  write_seed(dir, "payload_segment_header", mode(0) + segment_header_payload(2, 100));
}

void conf_change_seeds(const std::filesystem::path& dir) {
  using bcast::raft::ConfChangeType;
  // The configuration bytes: voters 1, 2, 3 (0x40 | id - 1), learner 4 (0x80 | 3).
  const std::string conf = "\x40\x41\x42\x83";
  write_seed(dir, "add_voter",
             bcast::raft::encode_conf_change({ConfChangeType::kAddVoter, 5}) + conf);
  write_seed(dir, "promote_learner",
             bcast::raft::encode_conf_change({ConfChangeType::kAddVoter, 4}) + conf);
  write_seed(dir, "add_learner",
             bcast::raft::encode_conf_change({ConfChangeType::kAddLearner, 6}) + conf);
  write_seed(dir, "remove_voter",
             bcast::raft::encode_conf_change({ConfChangeType::kRemoveNode, 2}) + conf);
  write_seed(dir, "exact_encoding",
             bcast::raft::encode_conf_change({ConfChangeType::kRemoveNode, 0x0102030405060708}));
}

// One frame of each peer message kind (and of each shape that takes a different decoding path:
// entries, a snapshot, nil and empty payloads, causal clocks, digests with gaps).
void peer_codec_seeds(const std::filesystem::path& dir) {
  using bcast::Envelope;
  const auto bytes = [](std::string s) {
    return std::make_shared<const std::string>(std::move(s));
  };
  const auto seed = [&](const std::string& name, bcast::PeerMessage message) {
    write_seed(dir, name,
               bcast::codec::encode_envelope(Envelope{.from = 1,
                                                      .to = 2,
                                                      .message = std::move(message),
                                                      .origin = bcast::make_origin_id(1, 3)}));
  };

  bcast::raft::Message append;
  append.type = bcast::raft::MessageType::kAppend;
  append.from = 1;
  append.to = 2;
  append.term = 3;
  append.index = 7;
  append.log_term = 2;
  append.commit = 6;
  append.entries = {
      {3, 8, bcast::raft::EntryType::kNormal, "cmd 8"},
      {3, 9, bcast::raft::EntryType::kConfChange,
       bcast::raft::encode_conf_change({bcast::raft::ConfChangeType::kAddLearner, 4})},
      {3, 10, bcast::raft::EntryType::kLeaderNoop, ""},
  };
  seed("raft_append", append);

  bcast::raft::Message response;
  response.type = bcast::raft::MessageType::kAppendResponse;
  response.from = 2;
  response.to = 1;
  response.term = 3;
  response.index = 7;
  response.reject = true;
  response.reject_hint = 5;
  response.reject_hint_term = 2;
  seed("raft_append_response", response);

  bcast::raft::Message vote;
  vote.type = bcast::raft::MessageType::kPreVote;
  vote.from = 3;
  vote.to = 1;
  vote.term = 4;
  vote.index = 10;
  vote.log_term = 3;
  vote.context = bcast::raft::kCampaignTransfer;
  seed("raft_pre_vote", vote);

  bcast::raft::Message install;
  install.type = bcast::raft::MessageType::kInstallSnapshot;
  install.from = 1;
  install.to = 3;
  install.term = 5;
  bcast::raft::Snapshot snapshot;
  snapshot.meta = {12, 4, {{1, 2, 3}, {5}}};
  snapshot.data = bytes("state machine at 12");
  install.snapshot = snapshot;
  seed("raft_install_snapshot", install);

  bcast::BroadcastMessage causal;
  causal.sender = bcast::make_sender_id(1, 3, 9);
  causal.seq = 4;
  causal.stream_seq = 17;
  causal.group = "chat";
  causal.mode = bcast::Mode::kReliable;
  causal.order = bcast::Order::kCausal;
  causal.causal.set(bcast::make_origin_id(1, 3), 17);
  causal.causal.set(bcast::make_origin_id(2, 1), 5);
  causal.payload = bytes("hello, causal world");
  seed("data_push_causal", bcast::DataPush{causal, 0, false});

  bcast::BroadcastMessage gossip;
  gossip.sender = bcast::make_sender_id(2, 1, 1);
  gossip.seq = 1;
  gossip.stream_seq = 1;
  gossip.group = "g";
  gossip.mode = bcast::Mode::kGossip;
  gossip.order = bcast::Order::kFifo;
  gossip.payload = bytes("");  // empty, not absent
  seed("data_push_gossip_repair", bcast::DataPush{gossip, 3, true});

  bcast::Digest digest;
  digest.from = bcast::make_origin_id(2, 1);
  digest.mode = bcast::Mode::kReliable;
  digest.wants_reply = true;
  bcast::StreamPosition complete;
  complete.origin = bcast::make_origin_id(1, 3);
  complete.received_upto = 17;
  complete.stable_upto = 15;
  complete.cut_known = true;
  complete.cut = 2;
  complete.highest_received = 17;
  bcast::StreamPosition gaps;
  gaps.origin = bcast::make_origin_id(3, 2);
  gaps.received_upto = 4;
  gaps.stable_upto = 4;
  gaps.cut_known = true;
  gaps.highest_received = 9;
  gaps.missing = {5, 7, 8};
  gaps.lost = {6};
  digest.streams = {complete, gaps};
  seed("digest", digest);

  seed("hello", bcast::Hello{bcast::make_origin_id(3, 2)});
  seed("welcome",
       bcast::Welcome{bcast::make_origin_id(1, 3), bcast::make_origin_id(3, 2), 2, 17, 4, 9});

  bcast::BroadcastMessage total;
  total.sender = bcast::make_sender_id(3, 2, 5);
  total.seq = 2;
  total.stream_seq = 6;
  total.group = "orders";
  total.order = bcast::Order::kTotal;
  total.payload = bytes("buy 10");
  bcast::BroadcastMessage withdrawn = total;
  withdrawn.seq = 3;
  withdrawn.stream_seq = 7;
  withdrawn.withdrawn = true;
  withdrawn.payload = nullptr;  // absent: nil on the wire
  seed("total_forward", bcast::TotalForward{{total, withdrawn}});

  seed("refusal", bcast::Refusal{bcast::RefusalReason::kIdentityMismatch, 0xc1, 0x1d, 0x2e});
  seed("join_request", bcast::JoinRequest{0x77, "tcp://127.0.0.1:7404"});
  seed("join_response", bcast::JoinResponse{true,
                                            "",
                                            0xc1,
                                            1000,
                                            {{1, "tcp://127.0.0.1:7401"}, {4, "tcp://h:1"}},
                                            "tcp://127.0.0.1:7404"});
  seed("admin_forward",
       bcast::AdminForward{9, {bcast::AdminRequest::Kind::kAdd, 4, "tcp://127.0.0.1:7404", true}});
  seed("admin_result",
       bcast::AdminResult{9, false, bcast::ErrorCode::kInvalidArgument, "already a member"});
}

// One header of each client protocol message type, as encode_header writes it.
void client_header_seeds(const std::filesystem::path& dir) {
  using bcast::protocol::Header;
  using bcast::protocol::MessageType;
  const auto seed = [&](const std::string& name, const Header& header) {
    write_seed(dir, name, bcast::protocol::encode_header(header));
  };
  const bcast::SenderId sender = bcast::make_sender_id(1, 3, 9);

  Header hello{.type = MessageType::kHello, .id = 1};
  hello.client_name = "chat";
  seed("hello", hello);
  Header join{.type = MessageType::kJoin, .id = 2};
  join.group = "room";
  seed("join", join);
  Header leave = join;
  leave.type = MessageType::kLeave;
  leave.id = 3;
  seed("leave", leave);
  Header publish{.type = MessageType::kPublish, .id = 4};
  publish.group = "room";
  publish.mode = bcast::Mode::kGossip;
  publish.order = bcast::Order::kCausal;
  seed("publish", publish);
  seed("status", Header{.type = MessageType::kStatus, .id = 5});

  Header welcome{.type = MessageType::kWelcome, .id = 1};
  welcome.sender = sender;
  welcome.node_id = 1;
  welcome.max_message_bytes = 1 << 20;
  seed("welcome", welcome);
  seed("ok", Header{.type = MessageType::kOk, .id = 2});
  Header receipt{.type = MessageType::kReceipt, .id = 4};
  receipt.seq = 1;
  seed("receipt", receipt);  // gseq nil
  receipt.gseq = 42;
  seed("receipt_total", receipt);

  Header status{.type = MessageType::kStatusReply, .id = 5};
  status.node_id = 2;
  status.role = "follower";
  status.term = 7;
  status.leader = 1;
  status.members = {1, 2, 3};
  status.commit_index = 99;
  seed("status_reply", status);

  Header delivery{.type = MessageType::kDelivery};
  delivery.group = "room";
  delivery.sender = sender;
  delivery.seq = 6;
  delivery.gseq = 17;
  delivery.mode = bcast::Mode::kReliable;
  delivery.order = bcast::Order::kTotal;
  seed("delivery", delivery);

  Header view{.type = MessageType::kView};
  view.group = "room";
  view.members = {1, 3};
  seed("view", view);
  seed("error", bcast::protocol::error_reply(4, bcast::ErrorCode::kTooLarge,
                                             "message of 2000000 bytes exceeds 1048576"));
}

}  // namespace

// fuzz_core_decoders: selector byte (0 message batch, 1 registry image, 2 ConfChange entry,
// 5 kMembership entry), then the bytes.
void core_decoders_seeds(const std::filesystem::path& dir) {
  bcast::BroadcastMessage causal;
  causal.sender = bcast::make_sender_id(2, 1, 7);
  causal.seq = 3;
  causal.stream_seq = 5;
  causal.group = "chat";
  causal.order = bcast::Order::kCausal;
  causal.causal.set(bcast::make_origin_id(1, 1), 4);
  causal.causal.set(bcast::make_origin_id(2, 1), 5);
  causal.payload = std::make_shared<const std::string>("hello");
  bcast::BroadcastMessage total = causal;
  total.order = bcast::Order::kTotal;
  total.causal = {};
  bcast::BroadcastMessage withdrawn = total;
  withdrawn.withdrawn = true;
  withdrawn.payload = nullptr;
  write_seed(dir, "message_batch",
             std::string(1, '\0') + bcast::encode_message_batch({causal, total, withdrawn}));

  bcast::raft::ConfChange add{bcast::raft::ConfChangeType::kAddVoter, 4, "tcp://127.0.0.1:7404",
                              false};
  const std::string conf_change = bcast::raft::encode_conf_change(add);
  const std::string cluster_id = bcast::encode_membership_record(bcast::ClusterIdRecord{0xfeed});
  const std::string seen = bcast::encode_membership_record(bcast::MemberSeenRecord{4, 99, 2});
  bcast::ClusterRegistry registry;
  bcast::LogIndex index = 0;
  for (const auto& [type, data] : {std::pair{bcast::raft::EntryType::kMembership, cluster_id},
                                   std::pair{bcast::raft::EntryType::kConfChange, conf_change},
                                   std::pair{bcast::raft::EntryType::kMembership, seen}}) {
    registry.apply(bcast::raft::Entry{1, ++index, type, data});
  }
  write_seed(dir, "registry_image", std::string(1, '\1') + registry.encode());
  write_seed(dir, "conf_change_entry", std::string(1, '\2') + conf_change);
  write_seed(dir, "membership_cluster_id", std::string(1, '\5') + cluster_id);
  write_seed(dir, "membership_seen", std::string(1, '\5') + seen);
}

// fuzz_config: ARGS \0\0 FILE, or a config file alone.
void config_seeds(const std::filesystem::path& dir) {
  const std::string file =
      "node-id = 2\nlisten = tcp://127.0.0.1:7402\npeer = 1=tcp://127.0.0.1:7401\n"
      "peer = 2=tcp://127.0.0.1:7402\npeer = 3=tcp://127.0.0.1:7403\ndata-dir = /var/lib/bcastd\n"
      "client-socket = /run/bcastd/bcastd.sock\nfsync = always\ntick-ms = 10\n"
      "election-ticks = 20\nlog-level = info\nlog-format = json\n";
  write_seed(dir, "config_file", file);
  // Arguments joined by \0, then \0\0 and the file.
  const auto with_args = [](const std::vector<std::string>& args, const std::string& text) {
    std::string input;
    for (const std::string& arg : args) input += (input.empty() ? "" : std::string(1, '\0')) + arg;
    return input + std::string(2, '\0') + text;
  };
  write_seed(dir, "dev_with_args",
             with_args({"--dev", "--http", "127.0.0.1:9464"}, "max-clients = 64\n"));
  write_seed(
      dir, "join",
      with_args({"--node-id", "4", "--join", "tcp://127.0.0.1:7401"},
                "listen = tcp://127.0.0.1:7404\ndata-dir = /tmp/d\nclient-socket = /tmp/s\n"));
}

int main(int argc, char** argv) {
  if (argc != 2) die("usage: make_seed_corpus <corpus dir>");
  const std::filesystem::path root = argv[1];
  const auto written = storage_written_directory();
  storage_recovery_seeds(root / "fuzz_storage_recovery", written);
  record_decoder_seeds(root / "fuzz_record_decoder", written);
  conf_change_seeds(root / "fuzz_conf_change");
  peer_codec_seeds(root / "fuzz_peer_codec");
  client_header_seeds(root / "fuzz_client_header");
  core_decoders_seeds(root / "fuzz_core_decoders");
  config_seeds(root / "fuzz_config");
  return 0;
}
