// libFuzzer target: RaftStorage::open on an arbitrary data directory.
//
// The input describes the files of a data directory (input_format.hpp: segments, hardstate,
// snapshots, leftovers of an atomic replace and foreign files, each raw or as framed records).
// They are written into an in-memory FaultyFileSystem and storage is opened on it. Whatever the
// files hold:
//  * open returns, and never asks to read more than the largest file holds: a damaged length is
//    never believed (the fuzzer's own timeout and memory limit catch hangs and blow-ups);
//  * a refusal is kCorrupt with a message naming the file and byte offset (docs/storage.md);
//  * a success satisfies the recovery contract: entries contiguous from the snapshot index + 1
//    (or 1), terms non-decreasing from the snapshot's term, a hard state term no lower than the
//    last entry's, a commit index between the snapshot index and the last index;
//  * recovery is a fixed point: opening again, after open's own repairs, gives the same state;
//  * with the kWrite option, the recovered storage accepts a Raft-shaped request (optionally a
//    snapshot, which may reset the log; then a replaced suffix of the recovered log and one more
//    entry) and the next open returns exactly the state it leaves. This exercises the segment
//    bookkeeping recovery rebuilt (entry offsets, sizes, generation, the active file).
// A violation aborts, so the fuzzer keeps the input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>

#include "core/outbox.hpp"
#include "input_format.hpp"
#include "io/raft_storage.hpp"
#include "support/faulty_file_system.hpp"

namespace {

using bcast::LogIndex;
using bcast::Term;
using bcast::raft::RaftState;

constexpr const char* kDir = "/data";
// Small, so that the kWrite requests seal segments and start new ones after two or three
// entries.
constexpr std::uint64_t kSegmentBytes = 192;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_storage_recovery: %s\n", what.c_str());
  std::abort();
}

LogIndex snapshot_index(const RaftState& state) {
  return state.snapshot ? state.snapshot->meta.index : 0;
}

LogIndex last_index(const RaftState& state) {
  return state.entries.empty() ? snapshot_index(state) : state.entries.back().index;
}

void check_contract(const RaftState& state, const char* when) {
  const std::string at = std::string(" (") + when + ")";
  Term floor_term = 0;
  if (state.snapshot) {
    if (!state.snapshot->data) fail("recovered snapshot without data" + at);
    floor_term = state.snapshot->meta.term;
  }
  LogIndex expected = snapshot_index(state) + 1;
  for (const bcast::raft::Entry& entry : state.entries) {
    if (entry.index != expected) {
      fail("entry " + std::to_string(entry.index) + " where " + std::to_string(expected) +
           " was expected" + at);
    }
    if (entry.term < floor_term) {
      fail("entry " + std::to_string(entry.index) + " has term " + std::to_string(entry.term) +
           " below " + std::to_string(floor_term) + at);
    }
    floor_term = entry.term;
    ++expected;
  }
  if (state.hard_state.term < floor_term) {
    fail("hard state term " + std::to_string(state.hard_state.term) + " below the last term " +
         std::to_string(floor_term) + at);
  }
  if (state.hard_state.commit < snapshot_index(state) ||
      state.hard_state.commit > last_index(state)) {
    fail("commit index " + std::to_string(state.hard_state.commit) + " outside [" +
         std::to_string(snapshot_index(state)) + ", " + std::to_string(last_index(state)) + "]" +
         at);
  }
}

void check_same_state(const RaftState& expected, const RaftState& actual, const char* when) {
  const std::string at = std::string(" (") + when + ")";
  if (!(expected.hard_state == actual.hard_state)) fail("hard state differs" + at);
  if (expected.snapshot.has_value() != actual.snapshot.has_value()) {
    fail("snapshot presence differs" + at);
  }
  if (expected.snapshot) {
    if (!(expected.snapshot->meta == actual.snapshot->meta)) fail("snapshot meta differs" + at);
    if (*expected.snapshot->data != *actual.snapshot->data) fail("snapshot data differs" + at);
  }
  if (expected.entries != actual.entries) fail("entries differ" + at);
}

std::unique_ptr<bcast::io::RaftStorage> must_open(bcast::test::FaultyFileSystem& fs,
                                                  const bcast::io::StorageOptions& options,
                                                  const char* when) {
  auto storage = bcast::io::RaftStorage::open(fs, kDir, options);
  if (!storage) fail(std::string("open failed ") + when + ": " + storage.error().message);
  return std::move(storage.value());
}

// The write after recovery, as the options byte describes it: replace the last `rewind`
// recovered entries (as many as there are, if fewer) and append one more, all in a term no lower
// than any recovered one; with kSnapshot, first store a snapshot at the entry before the first
// replaced one (kResetsLog: one that resets the log). Then the next open must return exactly
// the state this request leaves.
void write_and_reopen(bcast::test::FaultyFileSystem& fs, const bcast::io::StorageOptions& options,
                      std::unique_ptr<bcast::io::RaftStorage> storage, const RaftState& before,
                      std::uint8_t option_bits) {
  using bcast::fuzz::DirOptions;
  const LogIndex last = last_index(before);
  // Raft can never reach such an index; near it, the next index would wrap.
  if (last > std::numeric_limits<LogIndex>::max() - 128) return;
  const std::uint64_t rewind = (option_bits >> DirOptions::kRewindShift) & DirOptions::kRewindMask;
  const LogIndex first_new = last + 1 - std::min<std::uint64_t>(rewind, before.entries.size());
  const Term term = std::max<Term>(before.hard_state.term, 1);

  bcast::PersistRequest request;
  RaftState expected;
  expected.snapshot = before.snapshot;
  for (const bcast::raft::Entry& entry : before.entries) {
    if (entry.index < first_new) expected.entries.push_back(entry);
  }
  const LogIndex snapshot_at = first_new - 1;
  if ((option_bits & DirOptions::kSnapshot) != 0 && snapshot_at > 0) {
    bcast::raft::Snapshot snapshot;
    snapshot.meta.index = snapshot_at;
    // The term of the entry it covers last, so terms do not go down across it.
    snapshot.meta.term = expected.entries.empty()
                             ? (before.snapshot ? before.snapshot->meta.term : 0)
                             : expected.entries.back().term;
    snapshot.meta.conf.voters = {1, 2, 3};
    snapshot.data = std::make_shared<const std::string>("fuzz snapshot");
    request.set_snapshot(snapshot, (option_bits & DirOptions::kResetsLog) != 0);
    // Everything before first_new is now covered by the snapshot.
    expected.snapshot = snapshot;
    expected.entries.clear();
  }
  for (LogIndex index = first_new; index <= last + 1; ++index) {
    request.entries.push_back(
        {term, index, bcast::raft::EntryType::kNormal, "fuzz entry " + std::to_string(index)});
  }
  // An odd rewind also carries a hard state (a vote for node 3, the entries before the replaced
  // ones committed), so the hardstate file is rewritten when that changes it.
  const bool new_vote = (rewind & 1) != 0;
  if (new_vote) request.hard_state = bcast::raft::HardState{term, 3, first_new - 1};
  request.sync = true;
  if (auto persisted = storage->persist(request); !persisted) {
    fail("persist after recovery failed: " + persisted.error().message);
  }
  storage.reset();

  expected.entries.insert(expected.entries.end(), request.entries.begin(), request.entries.end());
  expected.hard_state = before.hard_state;
  if (new_vote) {
    expected.hard_state = *request.hard_state;
  } else if (term > before.hard_state.term) {
    // Recovery raises the term to the last entry's and clears the vote.
    expected.hard_state.term = term;
    expected.hard_state.vote = bcast::kNoNode;
  }

  RaftState after = must_open(fs, options, "after writing")->take_recovered();
  check_contract(after, "after writing");
  // The commit index is whatever the disk recorded, clamped to the log: not compared.
  expected.hard_state.commit = after.hard_state.commit;
  check_same_state(expected, after, "after writing");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using bcast::fuzz::DirOptions;
  const bcast::fuzz::DirInput input =
      bcast::fuzz::parse_dir_input({reinterpret_cast<const char*>(data), size});

  bcast::test::FaultyFileSystem fs;
  // Without files the directory is left for open to create.
  if (!input.files.empty() && !fs.create_dir(kDir)) fail("create_dir");
  std::uint64_t largest_file_bytes = 0;
  for (const bcast::fuzz::DirFile& file : input.files) {
    const std::string content = file.content();
    largest_file_bytes = std::max<std::uint64_t>(largest_file_bytes, content.size());
    const std::string path = std::string(kDir) + "/" + file.file_name();
    auto handle = fs.open_file(path, bcast::io::OpenMode::kCreateTruncating);
    if (!handle) fail("open_file: " + handle.error().message);
    if (!content.empty() && !handle.value()->write_at(0, content)) fail("write_at " + path);
  }

  bcast::io::StorageOptions options;
  options.fsync = (input.options & DirOptions::kDurable) != 0;
  options.segment_bytes = kSegmentBytes;

  auto opened = bcast::io::RaftStorage::open(fs, kDir, options);
  if (fs.stats().largest_read_request_bytes > largest_file_bytes) {
    fail("asked to read " + std::to_string(fs.stats().largest_read_request_bytes) +
         " bytes; the largest file holds " + std::to_string(largest_file_bytes));
  }
  if (!opened) {
    const bcast::Error& error = opened.error();
    const bool names_file = error.message.starts_with(std::string(kDir) + "/") &&
                            error.message.find(" at byte offset ") != std::string::npos;
    if (error.code != bcast::ErrorCode::kCorrupt || !names_file) {
      fail("open refused with code " + std::string(bcast::error_code_name(error.code)) +
           " and a message naming no file and offset: " + error.message);
    }
    return 0;
  }
  std::unique_ptr<bcast::io::RaftStorage> storage = std::move(opened.value());
  const RaftState recovered = storage->take_recovered();
  check_contract(recovered, "first open");
  storage.reset();

  storage = must_open(fs, options, "a second time");
  check_same_state(recovered, storage->take_recovered(), "second open");

  if ((input.options & DirOptions::kWrite) != 0) {
    write_and_reopen(fs, options, std::move(storage), recovered, input.options);
  }
  return 0;
}
