#include "io/raft_storage.hpp"

#include <algorithm>
#include <span>

#include "io/atomic_file.hpp"
#include "io/log_segment.hpp"
#include "io/record.hpp"
#include "io/storage_layout.hpp"
#include "io/storage_recovery.hpp"
#include "io/term_runs.hpp"

namespace bcast::io {
namespace {

// Carries out PersistRequests on a directory of segment files, a hardstate file and a snapshot
// file. docs/storage.md describes the format and the fsync discipline; the rules that keep every
// crash recoverable are stated where they are applied.
class DiskRaftStorage final : public RaftStorage {
 public:
  DiskRaftStorage(FileSystem& fs, std::string dir, const StorageOptions& options,
                  RecoveredStorage recovered, std::unique_ptr<File> active)
      : fs_(fs),
        dir_(std::move(dir)),
        options_(options),
        recovered_(std::move(recovered.state)),
        segments_(std::move(recovered.segments)),
        active_(std::move(active)),
        generation_(recovered.generation),
        snapshot_file_name_(std::move(recovered.snapshot_file_name)),
        stored_hard_state_(recovered.stored_hard_state),
        commit_(recovered_.hard_state.commit),
        recorded_commit_(recovered.stored_commit) {
    if (recovered_.snapshot) {
      snapshot_index_ = recovered_.snapshot->meta.index;
      snapshot_term_ = recovered_.snapshot->meta.term;
    }
    for (const raft::Entry& entry : recovered_.entries) terms_.append(entry.index, entry.term);
    // What recovery read may still be only in the page cache (the previous process may have
    // died between a write and its sync): sync it before a durable mark claims it.
    active_unsynced_ = active_ != nullptr;
  }

  raft::RaftState take_recovered() override { return std::move(recovered_); }

  Result<void> persist(const PersistRequest& request) override {
    if (failed_) return *failed_;
    if (unfinished_) {
      return make_error(ErrorCode::kInvalidArgument,
                        "a request interrupted by a full disk must be resumed first");
    }
    if (closed_) return make_error(ErrorCode::kInvalidArgument, "the storage is closed");
    if (auto valid = validate(request); !valid) return valid;
    return carry_out(request);
  }

  Result<void> resume() override {
    if (failed_) return *failed_;
    if (!unfinished_) return {};
    PersistRequest request = std::move(*unfinished_);
    unfinished_.reset();
    if (auto valid = validate(request); !valid) {
      failed_ = valid.error();  // cannot happen: the remainder of a valid request
      return valid;
    }
    return carry_out(request);
  }

  bool interrupted() const override { return unfinished_.has_value(); }

  Result<void> close() override {
    if (failed_) return *failed_;
    if (unfinished_) return {};  // what was not written stays unwritten; nothing to record
    if (closed_ || !options_.fsync) return {};
    closed_ = true;
    // Everything written is made durable and recorded as such: after a clean stop, a log cut
    // short anywhere is refused at the next start, not only one cut below an earlier mark.
    auto recorded = record_durable_end();
    if (!recorded) failed_ = recorded.error();
    return recorded;
  }

 private:
  LogIndex last_index() const {
    return segments_.empty() ? snapshot_index_ : segments_.back().last_index;
  }

  // Checks a request against the stored state before anything is written, so that a malformed
  // request is refused without touching the disk.
  Result<void> validate(const PersistRequest& request) const {
    LogIndex last = last_index();
    LogIndex snapshot_index = snapshot_index_;
    Term snapshot_term = snapshot_term_;
    if (request.snapshot) {
      const LogIndex index = request.snapshot->meta.index;
      if (snapshot_file_name_ && index < snapshot_index_) {
        return make_error(ErrorCode::kInvalidArgument,
                          "snapshot at index " + std::to_string(index) +
                              " is older than the stored snapshot at " +
                              std::to_string(snapshot_index_));
      }
      snapshot_index = index;
      snapshot_term = request.snapshot->meta.term;
      const std::optional<Term> next_term = index < last ? terms_.term_at(index + 1) : std::nullopt;
      if (!request.snapshot_resets_log && next_term && *next_term < snapshot_term) {
        return make_error(ErrorCode::kInvalidArgument,
                          "snapshot term " + std::to_string(snapshot_term) +
                              " is above the term of the stored entry after it");
      }
      last = request.snapshot_resets_log ? index : std::max(last, index);
    }
    const raft::Entry* previous = nullptr;
    for (const raft::Entry& entry : request.entries) {
      if (entry.index <= snapshot_index) continue;
      if (previous == nullptr && entry.index > last + 1) {
        return make_error(ErrorCode::kInvalidArgument,
                          "entries start at index " + std::to_string(entry.index) +
                              " but the log ends at " + std::to_string(last));
      }
      // Terms never go down; before the first entry comes a stored entry or the snapshot point.
      Term previous_term = snapshot_term;
      if (previous != nullptr) {
        previous_term = previous->term;
      } else if (entry.index - 1 > snapshot_index) {
        previous_term = terms_.term_at(entry.index - 1).value_or(snapshot_term);
      }
      if (entry.term < previous_term) {
        return make_error(ErrorCode::kInvalidArgument,
                          "entry " + std::to_string(entry.index) + " has term " +
                              std::to_string(entry.term) + ", below the preceding term " +
                              std::to_string(previous_term));
      }
      if (previous != nullptr && entry.index != previous->index + 1) {
        return make_error(ErrorCode::kInvalidArgument,
                          "entries are not contiguous: " + std::to_string(entry.index) +
                              " follows " + std::to_string(previous->index));
      }
      if (kEntryFixedPayloadBytes + entry.data.size() > kMaxEntryPayloadBytes) {
        return make_error(ErrorCode::kTooLarge, "entry " + std::to_string(entry.index) + " holds " +
                                                    std::to_string(entry.data.size()) +
                                                    " bytes, above the storage limit");
      }
      previous = &entry;
    }
    return {};
  }

  // How far apply() got with a request: what a full disk interrupted is resumed from here.
  struct Progress {
    bool snapshot_stored = false;
    // Set once the entries' stored suffix was replaced: entries up to here are written.
    std::optional<LogIndex> entries_written_through;
    bool entries_done = false;
  };

  Result<void> carry_out(const PersistRequest& request) {
    Progress progress;
    auto result = apply(request, progress);
    if (result) return result;
    if (is_disk_full(result.error())) {
      // apply() left the files and this object agreeing on a prefix of the request (every
      // write that failed for lack of space was undone); the rest waits for resume().
      unfinished_ = remainder(request, progress);
      return result;
    }
    // After any other failure the files and this object's picture of them may disagree;
    // refuse everything from now on rather than write on a guess.
    failed_ = result.error();
    return result;
  }

  static PersistRequest remainder(const PersistRequest& request, const Progress& progress) {
    PersistRequest rest;
    if (!progress.snapshot_stored && request.snapshot) {
      rest.snapshot = request.snapshot;
      rest.snapshot_resets_log = request.snapshot_resets_log;
    }
    if (!progress.entries_done) {
      for (const raft::Entry& entry : request.entries) {
        if (!progress.entries_written_through || entry.index > *progress.entries_written_through) {
          rest.entries.push_back(entry);
        }
      }
    }
    rest.hard_state = request.hard_state;
    rest.sync = request.sync;
    return rest;
  }

  Result<void> apply(const PersistRequest& request, Progress& progress) {
    if (request.snapshot) {
      auto stored = store_snapshot(*request.snapshot, request.snapshot_resets_log);
      if (!stored) return stored;
    }
    progress.snapshot_stored = true;
    // The commit index travels in the same write as the entries (a record after them), so
    // keeping it current costs no extra write or sync.
    const LogIndex commit = request.hard_state ? request.hard_state->commit : commit_;
    auto first_live = std::find_if(request.entries.begin(), request.entries.end(),
                                   [&](const raft::Entry& e) { return e.index > snapshot_index_; });
    if (first_live != request.entries.end()) {
      auto appended = append_entries(std::span(first_live, request.entries.end()), commit,
                                     progress.entries_written_through);
      if (!appended) return appended;
    }
    progress.entries_done = true;
    if (request.hard_state) {
      auto stored = store_hard_state(*request.hard_state);
      if (!stored) return stored;
    }
    if (request.sync && options_.fsync) return sync_pending();
    return {};
  }

  // --- Snapshot --------------------------------------------------------------------------------

  Result<void> store_snapshot(const raft::Snapshot& snapshot, bool resets_log) {
    // A reset starts a new generation: segments of the old one that survive a crash during the
    // cleanup below are recognised at recovery and discarded, never mistaken for the new log.
    const std::uint64_t generation = resets_log ? generation_ + 1 : generation_;
    const std::string_view data = snapshot.data ? std::string_view(*snapshot.data) : "";
    const std::string prefix = encode_snapshot_record_prefix(snapshot.meta, generation, data);
    const std::string name = snapshot_file_name(snapshot.meta.index);
    auto written = replace_file_atomically(fs_, dir_, name, {prefix, data}, options_.fsync);
    if (!written) return written;

    // The new snapshot is durable: the old one and the entries it covers can go.
    bool removed_any = false;
    if (snapshot_file_name_ && *snapshot_file_name_ != name) {
      if (auto removed = fs_.remove(join_path(dir_, *snapshot_file_name_)); !removed) {
        return removed;
      }
      removed_any = true;
    }
    if (resets_log) {
      terms_.clear();
    } else {
      terms_.compact_through(snapshot.meta.index, last_index());
    }
    snapshot_file_name_ = name;
    snapshot_index_ = snapshot.meta.index;
    snapshot_term_ = snapshot.meta.term;
    generation_ = generation;
    while (!segments_.empty() &&
           (resets_log || segments_.front().last_index <= snapshot.meta.index)) {
      if (segments_.size() == 1) close_active();
      if (auto removed = fs_.remove(segments_.front().path); !removed) return removed;
      segments_.erase(segments_.begin());
      removed_any = true;
    }
    if (removed_any && options_.fsync) return sync_dir();
    return {};
  }

  // --- Entries ---------------------------------------------------------------------------------

  Result<void> append_entries(std::span<const raft::Entry> entries, LogIndex commit,
                              std::optional<LogIndex>& written_through) {
    if (entries.front().index <= last_index()) {
      if (auto cut = truncate_from(entries.front().index); !cut) return cut;
    }
    written_through = entries.front().index - 1;
    // All records bound for one segment go out in one write. Together with syncing a segment
    // before writing it again (write_active), a segment never holds more than one unsynced
    // write, so a power loss can tear only its tail, never leave a hole before valid records.
    // Nothing about a batch is recorded here before its write succeeded, so a write refused for
    // lack of space can be undone (undo_batch) and the entries written again later.
    std::size_t next = 0;
    while (next < entries.size()) {
      const bool new_segment = segments_.empty() || segment_full(segments_.back(), 0, false);
      std::string batch;
      if (new_segment) {
        if (auto started = start_segment(entries[next].index, batch); !started) return started;
      }
      SegmentInfo& segment = segments_.back();
      // Room for every remaining record at once: growing by doubling copied a 16 MiB entry into
      // a fresh 32 MiB buffer just to add the commit record after it.
      // (Up to what fills the segment: the entry that crosses its size is the batch's last.)
      std::size_t batch_bytes = batch.size() + kRecordHeaderBytes + sizeof(LogIndex);  // commit
      for (std::size_t i = next;
           i < entries.size() && segment.size_bytes + batch_bytes < options_.segment_bytes; ++i) {
        batch_bytes += kRecordHeaderBytes + 2 * sizeof(std::uint64_t) + 1 + entries[i].data.size();
      }
      batch.reserve(batch_bytes);
      std::vector<std::uint64_t> offsets;
      std::size_t end = next;
      while (end < entries.size() &&
             !segment_full(segment, batch.size(), /*batch_has_entries=*/end > next)) {
        offsets.push_back(segment.size_bytes + batch.size());
        append_entry_record(batch, entries[end]);
        ++end;
      }
      const bool last_batch = end == entries.size();
      const bool records_commit = last_batch && commit > recorded_commit_;
      if (records_commit) append_commit_record(batch, commit);
      if (auto written = write_active(batch); !written) {
        if (!is_disk_full(written.error())) return written;
        if (auto undone = undo_batch(new_segment); !undone) return undone;
        return written;
      }
      segment.entry_offsets.insert(segment.entry_offsets.end(), offsets.begin(), offsets.end());
      for (std::size_t i = next; i < end; ++i) terms_.append(entries[i].index, entries[i].term);
      segment.last_index = entries[end - 1].index;
      if (records_commit) recorded_commit_ = commit;
      written_through = entries[end - 1].index;
      next = end;
    }
    return {};
  }

  // A segment is full once it holds entries (or the batch does) and reached segment_bytes.
  bool segment_full(const SegmentInfo& segment, std::uint64_t pending_bytes,
                    bool batch_has_entries) const {
    return (!segment.empty() || batch_has_entries) &&
           segment.size_bytes + pending_bytes >= options_.segment_bytes;
  }

  // Seals the current segment and starts a new one, whose header (and durable mark) `batch`
  // then begins with.
  Result<void> start_segment(LogIndex first_index, std::string& batch) {
    if (active_) {
      // Only the newest segment may have a torn tail at recovery, so an older one must be
      // wholly durable, its name included, before a newer one can exist on disk.
      if (auto synced = sync_pending(); !synced) return synced;
    }
    const std::string path = join_path(dir_, segment_file_name(first_index));
    auto file = fs_.open_file(path, OpenMode::kCreateTruncating);
    if (!file) return file.error();
    active_ = std::move(file.value());
    active_unsynced_ = false;
    dir_unsynced_ = true;
    SegmentInfo segment;
    segment.path = path;
    segment.first_index = first_index;
    segment.last_index = first_index - 1;
    segments_.push_back(std::move(segment));
    append_segment_header_record(batch, SegmentHeader{generation_, first_index});
    append_durable_mark_record(batch, DurableMark{0, first_index - 1});
    return {};
  }

  // Writes `batch` at the end of the newest segment, syncing first any write still unsynced.
  // With fsync on, the segment's durable mark is brought up to what that sync made durable, in
  // the same round of writes (one more small write, no more syncs).
  Result<void> write_active(std::string& batch) {
    if (batch.empty()) return {};
    if (active_unsynced_ && options_.fsync) {
      if (auto synced = active_->sync(); !synced) return synced;
      active_unsynced_ = false;
    }
    SegmentInfo& segment = segments_.back();
    if (options_.fsync && segment.has_mark && segment.size_bytes > segment.marked_bytes) {
      if (auto marked = write_mark(segment, segment.size_bytes, segment.last_index); !marked) {
        return marked;
      }
    }
    if (auto written = active_->write_at(segment.size_bytes, batch); !written) return written;
    segment.size_bytes += batch.size();
    active_unsynced_ = true;
    batch.clear();
    return {};
  }

  // Rewrites the newest segment's durable mark in place; the caller knows that many bytes to be
  // durable. Unsynced, like the write it goes with: a crash may keep the old mark,
  // the new one or a torn one, and each of them claims no more than is durable.
  Result<void> write_mark(SegmentInfo& segment, std::uint64_t durable_bytes,
                          LogIndex durable_last_index) {
    std::string mark;
    append_durable_mark_record(mark, DurableMark{durable_bytes, durable_last_index});
    if (auto written = active_->write_at(kDurableMarkOffset, mark); !written) return written;
    segment.marked_bytes = durable_bytes;
    active_unsynced_ = true;
    return {};
  }

  // Undoes a batch whose write failed for lack of space: the bytes it may have left past the
  // segment's recorded end are cut off, and a segment created for it is removed again. Storage
  // and the files then agree on the state before the batch.
  Result<void> undo_batch(bool new_segment) {
    if (new_segment) {
      close_active();
      if (auto removed = fs_.remove(segments_.back().path); !removed) return removed;
      segments_.pop_back();
      if (segments_.empty()) return {};
      // The previous segment was sealed (synced) before the new one was created.
      auto file = fs_.open_file(segments_.back().path, OpenMode::kExisting);
      if (!file) return file.error();
      active_ = std::move(file.value());
      return {};
    }
    if (auto cut = active_->truncate(segments_.back().size_bytes); !cut) return cut;
    active_unsynced_ = true;
    return {};
  }

  // Drops the stored entries from `index` on (Raft replaces a conflicting suffix).
  Result<void> truncate_from(LogIndex index) {
    // Whole segments go first, newest first, each removal durable before the next: a crash
    // then leaves the log shortened from its end, never with a hole in the middle.
    while (segments_.back().first_index > index) {
      close_active();
      if (auto removed = fs_.remove(segments_.back().path); !removed) return removed;
      segments_.pop_back();
      if (options_.fsync) {
        if (auto synced = sync_dir(); !synced) return synced;
      }
    }
    SegmentInfo& segment = segments_.back();
    if (!active_) {
      auto file = fs_.open_file(segment.path, OpenMode::kExisting);
      if (!file) return file.error();
      active_ = std::move(file.value());
      active_unsynced_ = false;  // it was sealed (synced) when a newer segment was started
    }
    if (active_unsynced_ && options_.fsync) {
      if (auto synced = active_->sync(); !synced) return synced;
    }
    const std::uint64_t cut = segment.entry_offsets[index - segment.first_index];
    if (segment.has_mark && segment.marked_bytes > cut && options_.fsync) {
      // The mark must never claim more than the file holds: lower it, durably, first.
      if (auto marked = write_mark(segment, cut, index - 1); !marked) return marked;
      if (auto synced = active_->sync(); !synced) return synced;
    }
    if (auto truncated = active_->truncate(cut); !truncated) return truncated;
    segment.size_bytes = cut;
    segment.entry_offsets.resize(index - segment.first_index);
    segment.last_index = index - 1;
    terms_.truncate_from(index);
    active_unsynced_ = true;
    // A commit record may have been cut off; write the current one again with the new entries.
    recorded_commit_ = stored_hard_state_.commit;
    return {};
  }

  void close_active() {
    active_.reset();
    active_unsynced_ = false;
  }

  // --- Hard state ------------------------------------------------------------------------------

  Result<void> store_hard_state(const raft::HardState& hard_state) {
    commit_ = hard_state.commit;
    // Term and vote changes are rare and must be durable before the vote or the new term is
    // acted on. A commit-only change costs nothing here: it is written with the next entries.
    if (hard_state.term == stored_hard_state_.term && hard_state.vote == stored_hard_state_.vote) {
      return {};
    }
    return write_hard_state(hard_state);
  }

  Result<void> write_hard_state(const raft::HardState& hard_state) {
    // The hard state's commit index must never be durable before the entries it covers:
    // recovery refuses a log that ends before it. So the entries written so far are synced
    // first (with Raft's synced requests this only moves the request's one sync earlier).
    if (auto synced = sync_pending(); !synced) return synced;
    std::string record;
    append_hard_state_record(record, hard_state);
    auto written = replace_file_atomically(fs_, dir_, std::string(kHardStateFileName), {record},
                                           options_.fsync);
    if (!written) return written;
    stored_hard_state_ = hard_state;
    recorded_commit_ = std::max(recorded_commit_, hard_state.commit);
    return {};
  }

  // For close(): everything durable, the newest segment's mark at its end, and the commit index
  // in the hard state.
  Result<void> record_durable_end() {
    if (auto synced = sync_pending(); !synced) return synced;
    if (!segments_.empty() && active_) {
      SegmentInfo& segment = segments_.back();
      if (segment.has_mark && segment.size_bytes > segment.marked_bytes) {
        if (auto marked = write_mark(segment, segment.size_bytes, segment.last_index); !marked) {
          return marked;
        }
        if (auto synced = sync_pending(); !synced) return synced;
      }
    }
    const LogIndex commit = std::min(commit_, last_index());
    if (commit <= stored_hard_state_.commit) return {};
    raft::HardState hard_state = stored_hard_state_;
    hard_state.commit = commit;
    return write_hard_state(hard_state);
  }

  // --- Syncing ---------------------------------------------------------------------------------

  Result<void> sync_pending() {
    if (!options_.fsync) return {};
    if (active_ && active_unsynced_) {
      if (auto synced = active_->sync(); !synced) return synced;
      active_unsynced_ = false;
    }
    if (dir_unsynced_) return sync_dir();
    return {};
  }

  Result<void> sync_dir() {
    if (auto synced = fs_.sync_dir(dir_); !synced) return synced;
    dir_unsynced_ = false;
    return {};
  }

  FileSystem& fs_;
  const std::string dir_;
  const StorageOptions options_;
  raft::RaftState recovered_;

  std::vector<SegmentInfo> segments_;  // in index order; the last one is being appended to
  std::unique_ptr<File> active_;       // open file of segments_.back(), when there is one
  bool active_unsynced_ = false;       // active_ has a write or truncation not yet fsynced
  bool dir_unsynced_ = false;          // a segment was created since the directory's last fsync

  std::uint64_t generation_ = 0;
  LogIndex snapshot_index_ = 0;
  Term snapshot_term_ = 0;
  TermRuns terms_;  // terms of the stored entries after the snapshot
  std::optional<std::string> snapshot_file_name_;

  raft::HardState stored_hard_state_;  // what the hardstate file holds
  LogIndex commit_ = 0;                // the latest commit index Raft reported
  LogIndex recorded_commit_ = 0;       // the largest commit index written anywhere

  std::optional<Error> failed_;
  std::optional<PersistRequest> unfinished_;  // what a full disk interrupted, for resume()
  bool closed_ = false;
};

}  // namespace

Result<std::unique_ptr<RaftStorage>> RaftStorage::open(FileSystem& fs, const std::string& dir,
                                                       const StorageOptions& options) {
  auto recovered = recover_storage(fs, dir, options.fsync);
  if (!recovered) return recovered.error();
  std::unique_ptr<File> active;
  if (!recovered.value().segments.empty()) {
    auto file = fs.open_file(recovered.value().segments.back().path, OpenMode::kExisting);
    if (!file) return file.error();
    active = std::move(file.value());
  }
  return std::unique_ptr<RaftStorage>(std::make_unique<DiskRaftStorage>(
      fs, dir, options, std::move(recovered.value()), std::move(active)));
}

}  // namespace bcast::io
