#include "io/storage_recovery.hpp"

#include <algorithm>
#include <limits>
#include <map>

#include "io/atomic_file.hpp"
#include "io/record.hpp"
#include "io/storage_layout.hpp"

namespace bcast::io {
namespace {

// A hard state record is 56 bytes; anything much larger is not one.
constexpr std::uint64_t kMaxHardStateFileBytes = 4096;

// Why starting anyway would be wrong, and what to do instead.
constexpr std::string_view kRefusalAdvice =
    "Refusing to start: this node would hand out again log positions (gseqs) that may already "
    "have been acknowledged. Restore the data directory from a backup, or replace this node by "
    "a new one; do not just delete the directory (the node would forget its votes and its boot "
    "count).";

std::string not_torn_suffix(const std::optional<std::uint64_t>& next_valid_offset) {
  if (!next_valid_offset) return {};
  return "; a valid record follows at byte offset " + std::to_string(*next_valid_offset) +
         ", so this is not a torn write";
}

class Recovery {
 public:
  Recovery(FileSystem& fs, std::string dir, bool durable)
      : fs_(fs), dir_(std::move(dir)), durable_(durable) {}

  Result<RecoveredStorage> run() {
    auto created = fs_.create_dir(dir_);
    if (!created) return created.error();
    if (created.value() && durable_) {
      if (auto synced = fs_.sync_dir(parent_dir(dir_)); !synced) return synced.error();
    }
    auto names = fs_.list_dir(dir_);
    if (!names) return names.error();

    bool has_hard_state = false;
    std::vector<LogIndex> snapshot_indices;
    std::map<LogIndex, std::string> segment_names;
    for (const std::string& name : names.value()) {
      if (is_temp_file_name(name)) {
        removals_.push_back(join_path(dir_, name));
      } else if (name == kHardStateFileName) {
        has_hard_state = true;
      } else if (auto index = parse_snapshot_file_name(name)) {
        snapshot_indices.push_back(*index);
      } else if (auto first = parse_segment_file_name(name)) {
        segment_names.emplace(*first, name);
      }
      // Anything else is not ours and is left alone.
    }

    if (has_hard_state) {
      if (auto read = read_hard_state(); !read) return read.error();
    }
    if (!snapshot_indices.empty()) {
      if (auto read = read_snapshot(snapshot_indices); !read) return read.error();
    }
    if (auto read = read_segments(segment_names); !read) return read.error();
    if (auto removed = remove_leftovers(); !removed) return removed.error();
    if (auto finished = finish_state(); !finished) return finished.error();
    if (auto raised = store_raised_term(); !raised) return raised.error();
    return std::move(recovered_);
  }

 private:
  Result<void> read_hard_state() {
    const std::string path = join_path(dir_, std::string(kHardStateFileName));
    auto bytes = read_whole_file(fs_, path, kMaxHardStateFileBytes);
    if (!bytes) {
      if (bytes.error().code != ErrorCode::kTooLarge) return bytes.error();
      return corruption_error(path, 0, "file too large for a hard state");
    }
    std::string why;
    std::uint64_t damage_offset = 0;
    auto payload = decode_single_record_file(std::move(bytes.value()), RecordKind::kHardState, why,
                                             damage_offset);
    if (!payload) return corruption_error(path, damage_offset, why);
    auto hard_state = decode_hard_state(*payload, why);
    if (!hard_state) return corruption_error(path, kRecordHeaderBytes, why);
    recovered_.stored_hard_state = *hard_state;
    return {};
  }

  Result<void> read_snapshot(std::vector<LogIndex> indices) {
    std::sort(indices.begin(), indices.end());
    // Only the newest counts; older ones are leftovers of an interrupted replacement (the new
    // file was durable before the old one was removed).
    for (std::size_t i = 0; i + 1 < indices.size(); ++i) {
      removals_.push_back(join_path(dir_, snapshot_file_name(indices[i])));
    }
    const std::string name = snapshot_file_name(indices.back());
    const std::string path = join_path(dir_, name);
    auto bytes = read_whole_file(fs_, path, std::numeric_limits<std::uint64_t>::max());
    if (!bytes) return bytes.error();
    std::string why;
    std::uint64_t damage_offset = 0;
    auto payload = decode_single_record_file(std::move(bytes.value()), RecordKind::kSnapshot, why,
                                             damage_offset);
    if (!payload) return corruption_error(path, damage_offset, why);
    auto decoded = decode_snapshot(std::move(*payload), why);
    if (!decoded) return corruption_error(path, kRecordHeaderBytes, why);
    if (decoded->snapshot.meta.index != indices.back()) {
      return corruption_error(path, kRecordHeaderBytes,
                              "snapshot index " + std::to_string(decoded->snapshot.meta.index) +
                                  " differs from the file name");
    }
    snapshot_index_ = decoded->snapshot.meta.index;
    snapshot_term_ = decoded->snapshot.meta.term;
    recovered_.generation = decoded->generation;
    recovered_.snapshot_file_name = name;
    recovered_.state.snapshot = std::move(decoded->snapshot);
    return {};
  }

  struct Candidate {
    LogIndex first_index = 0;
    std::string path;
  };

  Result<void> read_segments(const std::map<LogIndex, std::string>& names) {
    if (names.empty()) return {};
    const LogIndex newest_first_index = names.rbegin()->first;

    // Pass 1: every header, to sort out segments of an older generation.
    std::vector<Candidate> current;
    for (const auto& [first_index, name] : names) {
      Candidate candidate{first_index, join_path(dir_, name)};
      // Opened once per pass rather than held, so a long log does not hold a descriptor per
      // segment.
      auto file = fs_.open_file(candidate.path, OpenMode::kExisting);
      if (!file) return file.error();
      auto scan = scan_segment(*file.value(), /*stop_after_header=*/true);
      if (!scan) return scan.error();
      if (!scan.value().header) {
        const SegmentScan::Damage& damage = *scan.value().damage;
        if (first_index == newest_first_index && !damage.next_valid_offset) {
          // The newest segment was created but its first write never fully reached the disk.
          removals_.push_back(candidate.path);
          continue;
        }
        return corruption_error(candidate.path, damage.offset,
                                damage.what + not_torn_suffix(damage.next_valid_offset));
      }
      const SegmentHeader& header = *scan.value().header;
      if (header.first_index != first_index) {
        return corruption_error(candidate.path, 0,
                                "segment header says first index " +
                                    std::to_string(header.first_index) + ", the file name " +
                                    std::to_string(first_index));
      }
      if (header.generation < recovered_.generation) {
        // Written before a log reset whose removal of old segments a crash interrupted.
        removals_.push_back(candidate.path);
        continue;
      }
      if (header.generation > recovered_.generation) {
        return corruption_error(candidate.path, 0,
                                "segment generation " + std::to_string(header.generation) +
                                    " is newer than the snapshot's generation " +
                                    std::to_string(recovered_.generation));
      }
      current.push_back(std::move(candidate));
    }

    // Pass 2: read the segments the snapshot does not wholly cover.
    for (std::size_t i = 0; i < current.size(); ++i) {
      const Candidate& segment = current[i];
      const bool next_covered =
          i + 1 < current.size() && current[i + 1].first_index <= snapshot_index_ + 1;
      if (next_covered) {
        // Every entry here is at or below the snapshot index: a leftover of compaction.
        removals_.push_back(segment.path);
        continue;
      }
      const bool is_newest = segment.first_index == newest_first_index;
      if (auto read = read_segment(segment, is_newest); !read) return read.error();
    }
    return {};
  }

  Result<void> read_segment(const Candidate& segment, bool is_newest) {
    auto file = fs_.open_file(segment.path, OpenMode::kExisting);
    if (!file) return file.error();
    auto scanned = scan_segment(*file.value(), /*stop_after_header=*/false);
    if (!scanned) return scanned.error();
    SegmentScan& scan = scanned.value();
    auto file_bytes = file.value()->size();
    if (!file_bytes) return file_bytes.error();
    std::uint64_t size_bytes = file_bytes.value();
    const std::uint64_t readable_bytes = scan.damage ? scan.valid_bytes : size_bytes;
    if (scan.mark && scan.mark->durable_bytes > readable_bytes) {
      // Checked before any repair: a refused directory is left exactly as it was found.
      return shorter_than_durable_error(segment.path, readable_bytes, *scan.mark, scan);
    }
    if (scan.damage) {
      const SegmentScan::Damage& damage = *scan.damage;
      if (!is_newest || damage.next_valid_offset) {
        return corruption_error(segment.path, damage.offset,
                                damage.what + not_torn_suffix(damage.next_valid_offset));
      }
      // A torn tail: the records of an unfinished write. Cut them off so later appends follow
      // the last valid record.
      if (auto cut = file.value()->truncate(scan.valid_bytes); !cut) return cut.error();
      if (durable_) {
        if (auto synced = file.value()->sync(); !synced) return synced.error();
      }
      size_bytes = scan.valid_bytes;
    }

    std::vector<raft::Entry>& log = recovered_.state.entries;
    for (std::size_t j = 0; j < scan.entries.size(); ++j) {
      raft::Entry& entry = scan.entries[j];
      if (entry.index <= snapshot_index_) continue;
      const LogIndex expected = log.empty() ? snapshot_index_ + 1 : log.back().index + 1;
      const Term floor_term = log.empty() ? snapshot_term_ : log.back().term;
      if (entry.index != expected) {
        const std::string after =
            log.empty()
                ? (snapshot_index_ == 0 ? "an empty log"
                                        : "the snapshot at " + std::to_string(snapshot_index_))
                : "entry " + std::to_string(log.back().index);
        return corruption_error(
            segment.path, scan.entry_offsets[j],
            "entry " + std::to_string(entry.index) + " follows " + after + " (a gap in the log)");
      }
      if (entry.term < floor_term) {
        return corruption_error(segment.path, scan.entry_offsets[j],
                                "entry " + std::to_string(entry.index) + " has term " +
                                    std::to_string(entry.term) + ", below the preceding term " +
                                    std::to_string(floor_term));
      }
      log.push_back(std::move(entry));
    }
    max_commit_ = std::max(max_commit_, scan.max_commit);

    const bool holds_live_entries =
        !scan.entries.empty() && scan.entries.back().index > snapshot_index_;
    if (!holds_live_entries) {
      removals_.push_back(segment.path);
      return {};
    }
    SegmentInfo info;
    info.path = segment.path;
    info.first_index = segment.first_index;
    info.last_index = scan.entries.back().index;
    info.size_bytes = size_bytes;
    info.entry_offsets = std::move(scan.entry_offsets);
    info.has_mark = scan.header->format_version == kSegmentFormatVersion;
    info.marked_bytes = scan.mark ? scan.mark->durable_bytes : 0;
    recovered_.segments.push_back(std::move(info));
    return {};
  }

  // A segment that ends (or is damaged) before the end its durable mark records lost entries
  // that were synced, and that other nodes or clients may have been told are stored.
  static Error shorter_than_durable_error(const std::string& path, std::uint64_t readable_bytes,
                                          const DurableMark& mark, const SegmentScan& scan) {
    const std::string last_entry =
        scan.entries.empty() ? "no entry" : "entry " + std::to_string(scan.entries.back().index);
    return corruption_error(
        path, readable_bytes,
        "the segment is readable only up to here (" + last_entry + "), but its first " +
            std::to_string(mark.durable_bytes) + " bytes, through entry " +
            std::to_string(mark.durable_last_index) +
            ", were durable: synced (and possibly acknowledged) entries are missing, so the file "
            "was cut short or the disk lost synced writes. " +
            std::string(kRefusalAdvice));
  }

  Result<void> remove_leftovers() {
    for (const std::string& path : removals_) {
      if (auto removed = fs_.remove(path); !removed) return removed;
    }
    if (!removals_.empty() && durable_) return fs_.sync_dir(dir_);
    return {};
  }

  Result<void> finish_state() {
    raft::RaftState& state = recovered_.state;
    state.hard_state = recovered_.stored_hard_state;
    const LogIndex last_index =
        state.entries.empty() ? snapshot_index_ : state.entries.back().index;
    // The hard state's commit index is written only once the entries it covers are durable
    // (raft_storage.cpp), so a log that ends before it lost committed entries.
    if (recovered_.stored_hard_state.commit > last_index) {
      // The commit index is the hard state record's third field.
      constexpr std::uint64_t kCommitOffset = kRecordHeaderBytes + 16;
      return corruption_error(join_path(dir_, std::string(kHardStateFileName)), kCommitOffset,
                              "the hard state records commit index " +
                                  std::to_string(recovered_.stored_hard_state.commit) +
                                  ", but the log ends at " + std::to_string(last_index) +
                                  ": committed entries are missing (a segment was removed or cut "
                                  "short). " +
                                  std::string(kRefusalAdvice));
    }
    const Term last_term = state.entries.empty() ? snapshot_term_ : state.entries.back().term;
    recovered_.stored_commit = std::max(recovered_.stored_hard_state.commit, max_commit_);
    // The stored commit index may lag (it is written lazily) or, after a crash lost unsynced
    // entries, point past the log; the snapshot is committed by definition.
    state.hard_state.commit =
        std::min(std::max(recovered_.stored_commit, snapshot_index_), last_index);
    if (last_term > state.hard_state.term) {
      state.hard_state.term = last_term;
      state.hard_state.vote = kNoNode;
    }
    return {};
  }

  // Writes a term raised by finish_state, so that the term reported to Raft cannot go back down
  // at the next start if the entries that justified it are later replaced.
  Result<void> store_raised_term() {
    const raft::HardState& reported = recovered_.state.hard_state;
    raft::HardState& stored = recovered_.stored_hard_state;
    if (reported.term == stored.term && reported.vote == stored.vote) return {};
    std::string record;
    append_hard_state_record(record, reported);
    auto written =
        replace_file_atomically(fs_, dir_, std::string(kHardStateFileName), {record}, durable_);
    if (!written) return written;
    stored = reported;
    return {};
  }

  FileSystem& fs_;
  const std::string dir_;
  const bool durable_;
  RecoveredStorage recovered_;
  LogIndex snapshot_index_ = 0;
  Term snapshot_term_ = 0;
  LogIndex max_commit_ = 0;
  std::vector<std::string> removals_;
};

}  // namespace

Result<RecoveredStorage> recover_storage(FileSystem& fs, const std::string& dir, bool durable) {
  return Recovery(fs, dir, durable).run();
}

}  // namespace bcast::io
