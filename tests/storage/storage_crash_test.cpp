// Crash-point test: a seeded workload shaped like Raft's PersistRequests runs against
// RaftStorage on a FaultyFileSystem, the machine loses power at a random point (between two
// file-system operations, so also inside a persist or inside open's own repairs), and the next
// open must recover a state that keeps every promise storage made.
//
// Each scenario (one seed) lives through several crashes; each crash is one crash point.
//   BCAST_CRASH_POINTS=N   run N crash points (default kDefaultCrashPoints, the CI setting)
//   BCAST_CRASH_SEED=S     run only the scenario with seed S (to reproduce a failure)
//
// What is checked after every crash (the oracle is this file, independent of storage's code):
//  * open succeeds: crash damage is never reported as corruption;
//  * the log is contiguous after the snapshot, with non-decreasing terms;
//  * every entry is a version some request wrote at that index, and consecutive entries were
//    written one after the other (the recovered log is a chain, never a splice of two
//    histories); after a log reset only entries written since the reset come back;
//  * every entry that was durable at the last sync point (a persist with sync=true returned, or
//    the last successful open) survives unchanged unless a later request (finished or
//    interrupted) replaced it or a recovered snapshot covers it;
//  * the snapshot is the one durable at the sync point or a newer one issued since;
//  * term and vote never go backwards from the sync point, every (term, vote) was issued, and
//    the term is at least the last entry's.
// With StorageOptions::fsync off, a crash is a process crash (the page cache survives): there
// every completed persist counts as a sync point.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "io/raft_storage.hpp"
#include "support/faulty_file_system.hpp"

namespace bcast::test {
namespace {

constexpr std::uint64_t kDefaultCrashPoints = 2400;
constexpr int kCrashesPerScenario = 4;
const std::string kDir = "/node";

std::optional<std::uint64_t> env_number(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::strtoull(value, nullptr, 10);
}

// The state Raft believes it has handed to storage.
struct NodeView {
  raft::HardState hard_state;
  std::optional<raft::Snapshot> snapshot;
  std::vector<raft::Entry> log;  // the entries after the snapshot
  // Data of the entry at the snapshot index if this view compacted it ("" if unknown): the
  // predecessor of the next entry.
  std::string compacted_last_data;

  LogIndex snapshot_index() const { return snapshot ? snapshot->meta.index : 0; }
  Term snapshot_term() const { return snapshot ? snapshot->meta.term : 0; }
  LogIndex last_index() const { return snapshot_index() + log.size(); }
  Term last_term() const { return log.empty() ? snapshot_term() : log.back().term; }
  const raft::Entry* find(LogIndex index) const {
    if (index <= snapshot_index() || index > last_index()) return nullptr;
    return &log[index - snapshot_index() - 1];
  }
};

struct WrittenEntry {
  raft::Entry entry;
  std::uint64_t seq = 0;    // the request that wrote it
  std::string predecessor;  // data of the entry before it when written ("" if none)
};

struct WrittenSnapshot {
  raft::SnapshotMeta meta;
  std::uint64_t seq = 0;
  bool resets_log = false;
};

class CrashScenario {
 public:
  explicit CrashScenario(std::uint64_t seed) : seed_(seed), rng_(seed) {
    workload_rng_ = rng_.fork();
    crash_rng_ = rng_.fork();
    options_.fsync = !rng_.chance(1, 6);
    options_.segment_bytes = rng_.uniform(256, 4096);
    fault_rng_ = rng_.fork();  // last, so the workloads of older seeds stay as they were
  }

  // Runs `crashes` crash points. Returns the failures found (empty when every check passed).
  std::vector<std::string> run(int crashes) {
    for (int crash = 0; crash < crashes && failures_.empty(); ++crash) {
      // Now and then the halt comes early enough to cut short open's own repairs.
      const std::uint64_t crash_after =
          rng_.chance(1, 8) ? rng_.uniform(0, 6) : rng_.uniform(0, 120);
      fs_.crash_after(crash_after);
      requests_done_ = 0;
      phase_ = "opening";
      if (!storage_) open_and_check();
      if (storage_) run_workload();
      storage_.reset();
      std::string where;
      if (!fs_.halted()) {
        ++tally_.after_workload;
        where = "after the workload's last request";
      } else if (open_halted_) {
        ++tally_.in_open;
        where = "inside open";
      } else {
        ++tally_.in_persist;
        where = "inside persist of request #" + std::to_string(requests_done_);
      }
      last_crash_ = "crash #" + std::to_string(crash) + " (halt after " +
                    std::to_string(crash_after) + " operations, " + where + ")";
      tally_.pending_ops_lost_or_kept += fs_.pending_operations();
      if (options_.fsync) {
        fs_.crash(crash_rng_);
      } else {
        fs_.restart_process();
      }
      ++crash_points_;
    }
    // The last crash point is checked by one more open, with no halt.
    phase_ = "opening";
    if (failures_.empty()) open_and_check();
    if (failures_.empty() && !storage_) fail("the final open did not succeed");
    return failures_;
  }

  int crash_points() const { return crash_points_; }

  // Where the crash points fell, to show the workload reaches the interesting places.
  struct Tally {
    std::uint64_t in_persist = 0;      // the halt cut a persist short
    std::uint64_t in_open = 0;         // the halt cut open's repairs short
    std::uint64_t after_workload = 0;  // the workload ended first; the crash came between calls
    std::uint64_t pending_ops_lost_or_kept = 0;  // unsynced operations a crash decided on
    std::uint64_t recovered_entries = 0;
    std::uint64_t recovered_snapshots = 0;
    std::uint64_t disk_full = 0;  // requests a full disk interrupted (resumed unless a crash came)
    std::uint64_t closes = 0;     // clean closes before the crash

    void add(const Tally& other) {
      disk_full += other.disk_full;
      closes += other.closes;
      in_persist += other.in_persist;
      in_open += other.in_open;
      after_workload += other.after_workload;
      pending_ops_lost_or_kept += other.pending_ops_lost_or_kept;
      recovered_entries += other.recovered_entries;
      recovered_snapshots += other.recovered_snapshots;
    }
  };
  const Tally& tally() const { return tally_; }

 private:
  void fail(const std::string& what) {
    std::ostringstream message;
    message << "seed=" << seed_ << " fsync=" << options_.fsync
            << " segment_bytes=" << options_.segment_bytes << ", last " << last_crash_ << ", "
            << phase_ << ": " << what << "\n  reproduce: BCAST_CRASH_SEED=" << seed_
            << " storage_tests --gtest_filter='StorageCrash.*'";
    failures_.push_back(message.str());
  }

  // --- Opening and checking --------------------------------------------------------------------

  // Opens the storage and checks what it recovered. An open cut short by the halt (its repairs
  // are writes too) leaves storage_ null: that crash point then falls inside recovery, and the
  // next open is checked against the same expectations.
  void open_and_check() {
    auto opened = io::RaftStorage::open(fs_, kDir, options_);
    open_halted_ = !opened.ok() && fs_.halted();
    if (!opened.ok()) {
      if (!fs_.halted()) {
        fail(std::string("open failed: ") + error_code_name(opened.error().code) + ": " +
             opened.error().message);
      }
      return;
    }
    storage_ = std::move(opened.value());
    raft::RaftState recovered = storage_->take_recovered();
    tally_.recovered_entries += recovered.entries.size();
    tally_.recovered_snapshots += recovered.snapshot ? 1 : 0;
    check(std::move(recovered));
    if (!failures_.empty()) storage_.reset();  // the workload would only pile up noise
  }

  void check(raft::RaftState recovered) {
    check_structure(recovered);
    if (failures_.empty()) check_snapshot(recovered);
    if (failures_.empty()) check_hard_state(recovered);
    if (failures_.empty()) check_entries(recovered);
    if (!failures_.empty()) return;
    // What was recovered is on disk (nothing pending after a crash), so it is the new sync
    // point and the node's new view.
    view_ = NodeView{recovered.hard_state, recovered.snapshot, std::move(recovered.entries), ""};
    mark_synced();
  }

  void check_structure(const raft::RaftState& r) {
    LogIndex expected = r.snapshot ? r.snapshot->meta.index + 1 : 1;
    Term floor = r.snapshot ? r.snapshot->meta.term : 0;
    for (const raft::Entry& entry : r.entries) {
      if (entry.index != expected) {
        fail("log not contiguous: entry " + std::to_string(entry.index) + " where " +
             std::to_string(expected) + " was expected");
        return;
      }
      if (entry.term < floor) {
        fail("term goes down at entry " + std::to_string(entry.index));
        return;
      }
      ++expected;
      floor = entry.term;
    }
  }

  void check_snapshot(const raft::RaftState& r) {
    if (!r.snapshot) {
      if (synced_.snapshot) fail("the synced snapshot was lost");
      return;
    }
    const std::string data = r.snapshot->data ? *r.snapshot->data : "";
    auto it = snapshots_.find(data);
    if (it == snapshots_.end() || !(it->second.meta == r.snapshot->meta)) {
      fail("recovered a snapshot that was never written (index " +
           std::to_string(r.snapshot->meta.index) + ")");
      return;
    }
    if (synced_.snapshot && *synced_.snapshot->data != data && it->second.seq <= synced_seq_) {
      fail("recovered snapshot at " + std::to_string(r.snapshot->meta.index) +
           " is older than the synced one at " + std::to_string(synced_.snapshot_index()));
    }
  }

  void check_hard_state(const raft::RaftState& r) {
    const raft::HardState& hs = r.hard_state;
    const raft::HardState& synced = synced_.hard_state;
    if (hs.term < synced.term) {
      fail("term went back from " + std::to_string(synced.term) + " to " + std::to_string(hs.term));
    }
    if (hs.term == synced.term && synced.vote != kNoNode && hs.vote != synced.vote) {
      fail("vote in term " + std::to_string(hs.term) + " changed from " +
           std::to_string(synced.vote) + " to " + std::to_string(hs.vote));
    }
    if (hs.vote != kNoNode && !votes_.contains({hs.term, hs.vote})) {
      fail("recovered a vote never cast: term " + std::to_string(hs.term) + " vote " +
           std::to_string(hs.vote));
    }
    const Term last_term =
        r.entries.empty() ? (r.snapshot ? r.snapshot->meta.term : 0) : r.entries.back().term;
    if (hs.term < last_term) {
      fail("term " + std::to_string(hs.term) + " below the last entry's term " +
           std::to_string(last_term));
    }
  }

  void check_entries(const raft::RaftState& r) {
    // Did a log reset issued since the sync point take effect? Then the recovered snapshot is
    // that reset or newer.
    std::uint64_t reset_seq = 0;
    if (r.snapshot) {
      const WrittenSnapshot& recovered = snapshots_.at(*r.snapshot->data);  // checked before
      for (const std::uint64_t seq : resets_since_sync_) {
        if (seq <= recovered.seq) reset_seq = std::max(reset_seq, seq);
      }
    }
    const LogIndex covered = r.snapshot ? r.snapshot->meta.index : 0;

    // Every recovered entry is a version written at its index, the right one, chained.
    for (std::size_t i = 0; i < r.entries.size(); ++i) {
      const raft::Entry& entry = r.entries[i];
      auto it = written_.find(entry.data.str());
      if (it == written_.end() || !(it->second.entry == entry)) {
        fail("entry " + std::to_string(entry.index) + " was never written");
        return;
      }
      const WrittenEntry& version = it->second;
      if (reset_seq != 0 && version.seq < reset_seq) {
        fail("entry " + std::to_string(entry.index) + " predates a log reset that took effect");
        return;
      }
      const raft::Entry* synced = reset_seq == 0 ? synced_.find(entry.index) : nullptr;
      const bool is_synced_version = synced != nullptr && synced->data == entry.data;
      if (!is_synced_version && version.seq <= synced_seq_) {
        fail("entry " + std::to_string(entry.index) +
             " is a version older than the synced one (or was replaced before the sync point)");
        return;
      }
      if (i > 0 && version.predecessor != r.entries[i - 1].data) {
        fail("entries " + std::to_string(entry.index - 1) + " and " + std::to_string(entry.index) +
             " were not written one after the other");
        return;
      }
    }

    // Every synced entry not touched since survives (in the log or under the snapshot).
    if (reset_seq != 0) return;
    const LogIndex first_recovered = covered + 1;
    for (const raft::Entry& entry : synced_.log) {
      if (entry.index >= touched_from_) break;
      if (entry.index <= covered) continue;
      const std::size_t position = entry.index - first_recovered;
      if (position >= r.entries.size() || r.entries[position].data != entry.data) {
        fail("synced entry " + std::to_string(entry.index) + " (term " +
             std::to_string(entry.term) + ") was lost or changed");
        return;
      }
    }
  }

  void mark_synced() {
    synced_ = view_;
    synced_seq_ = seq_;
    touched_from_ = UINT64_MAX;
    resets_since_sync_.clear();
  }

  // --- Workload --------------------------------------------------------------------------------

  void run_workload() {
    const std::uint64_t requests = workload_rng_.uniform(1, 40);
    phase_ = "running the workload";
    for (requests_done_ = 0; requests_done_ < requests; ++requests_done_) {
      PersistRequest request = next_request();
      if (request.empty()) continue;
      // Now and then the disk is nearly full: the request may be interrupted, and is resumed
      // once there is room (unless the crash comes first).
      if (fault_rng_.chance(1, 10)) {
        fs_.set_capacity_bytes(fs_.used_bytes() + fault_rng_.uniform(0, 400));
      }
      auto result = storage_->persist(request);
      if (!result.ok() && io::is_disk_full(result.error())) {
        ++tally_.disk_full;
        result = storage_->resume();  // still full: refused again, nothing changes
        if (!result.ok() && io::is_disk_full(result.error())) {
          fs_.set_capacity_bytes(std::nullopt);
          result = storage_->resume();
        }
      }
      fs_.set_capacity_bytes(std::nullopt);
      if (!result.ok()) {
        if (!fs_.halted()) {
          fail(std::string("persist failed: ") + error_code_name(result.error().code) + ": " +
               result.error().message);
        }
        return;
      }
      if (request.sync || !options_.fsync) mark_synced();
    }
    // A clean stop now and then: everything becomes durable, and the log's end is recorded.
    if (fault_rng_.chance(1, 4)) {
      phase_ = "closing";
      const auto closed = storage_->close();
      if (!closed.ok()) {
        if (!fs_.halted()) fail("close failed: " + closed.error().message);
        return;
      }
      ++tally_.closes;
      mark_synced();
    }
  }

  std::string new_data(LogIndex index) {
    std::string data = "s" + std::to_string(seed_) + "/q" + std::to_string(seq_) + "/i" +
                       std::to_string(index) + "/";
    // Mostly small entries, now and then one larger than a segment.
    const std::uint64_t extra = workload_rng_.chance(1, 40) ? workload_rng_.uniform(500, 5000)
                                                            : workload_rng_.uniform(0, 80);
    for (std::uint64_t i = 0; i < extra; ++i) {
      data.push_back(static_cast<char>(workload_rng_.uniform(0, 255)));
    }
    return data;
  }

  // Appends `count` entries in the current term after `after` (replacing anything from there).
  void write_entries(PersistRequest& request, LogIndex after, std::uint64_t count) {
    if (after < view_.last_index()) {
      touched_from_ = std::min(touched_from_, after + 1);
      view_.log.resize(after - view_.snapshot_index());
    }
    std::vector<raft::Entry> batch;
    for (std::uint64_t i = 0; i < count; ++i) {
      const LogIndex index = view_.last_index() + 1;
      raft::Entry entry{view_.hard_state.term, index, raft::EntryType::kNormal, new_data(index)};
      entry.type = static_cast<raft::EntryType>(workload_rng_.uniform(0, 2));
      const std::string predecessor =
          view_.log.empty() ? view_.compacted_last_data : view_.log.back().data.str();
      written_[entry.data.str()] = WrittenEntry{entry, seq_, predecessor};
      view_.log.push_back(entry);
      batch.push_back(std::move(entry));
    }
    request.append_entries(std::move(batch));
  }

  void new_term(PersistRequest& request, bool vote) {
    view_.hard_state.term += workload_rng_.uniform(1, 2);
    view_.hard_state.vote = vote ? workload_rng_.uniform(1, 3) : kNoNode;
    votes_.insert({view_.hard_state.term, view_.hard_state.vote});
    request.hard_state = view_.hard_state;
    request.sync = true;
  }

  void take_snapshot(PersistRequest& request, LogIndex index, Term term, bool resets_log) {
    const std::string data = "snapshot/s" + std::to_string(seed_) + "/q" + std::to_string(seq_);
    raft::Snapshot snapshot;
    snapshot.meta.index = index;
    snapshot.meta.term = term;
    snapshot.meta.conf.voters = {1, 2, 3};
    snapshot.data = std::make_shared<const std::string>(data);
    snapshots_[data] = WrittenSnapshot{snapshot.meta, seq_, resets_log};
    if (resets_log) {
      view_.log.clear();
      view_.compacted_last_data.clear();
      resets_since_sync_.push_back(seq_);
    } else {
      view_.compacted_last_data = view_.find(index)->data;
      view_.log.erase(view_.log.begin(), view_.log.begin() + static_cast<std::ptrdiff_t>(
                                                                 index - view_.snapshot_index()));
    }
    view_.snapshot = snapshot;
    view_.hard_state.commit = std::max(view_.hard_state.commit, index);
    request.set_snapshot(std::move(snapshot), resets_log);
  }

  PersistRequest next_request() {
    ++seq_;
    PersistRequest request;
    raft::HardState& hs = view_.hard_state;
    const std::uint64_t kind = workload_rng_.uniform(0, 99);
    if (hs.term == 0 || kind < 8) {
      new_term(request, workload_rng_.chance(1, 2));
    } else if (kind < 50) {
      // A leader's (or follower's) append, often with a commit advance.
      write_entries(request, view_.last_index(), workload_rng_.uniform(1, 4));
      request.sync = !workload_rng_.chance(1, 8);
      if (workload_rng_.chance(1, 2)) {
        hs.commit = workload_rng_.uniform(hs.commit, view_.last_index());
        request.hard_state = hs;
      }
    } else if (kind < 65) {
      // A new leader's entries replace an uncommitted suffix.
      const LogIndex floor = std::max(hs.commit, view_.snapshot_index());
      if (view_.last_index() > floor) {
        new_term(request, workload_rng_.chance(1, 2));
        const LogIndex after = workload_rng_.uniform(floor, view_.last_index() - 1);
        write_entries(request, after, workload_rng_.uniform(1, 4));
        request.sync = !workload_rng_.chance(1, 8);
      }
    } else if (kind < 70) {
      if (hs.vote == kNoNode) {
        hs.vote = workload_rng_.uniform(1, 3);
        votes_.insert({hs.term, hs.vote});
        request.hard_state = hs;
        request.sync = true;
      }
    } else if (kind < 82) {
      // Commit-only update: never synced by Raft.
      if (hs.commit < view_.last_index()) {
        hs.commit = workload_rng_.uniform(hs.commit + 1, view_.last_index());
        request.hard_state = hs;
      }
    } else if (kind < 92) {
      // Compaction of applied entries: Raft does not sync it.
      if (hs.commit > view_.snapshot_index()) {
        const LogIndex index = workload_rng_.uniform(view_.snapshot_index() + 1, hs.commit);
        take_snapshot(request, index, view_.find(index)->term, /*resets_log=*/false);
        request.sync = workload_rng_.chance(1, 4);
        if (workload_rng_.chance(1, 3)) {
          write_entries(request, view_.last_index(), workload_rng_.uniform(1, 3));
        }
      }
    } else {
      // InstallSnapshot: the leader's snapshot replaces a log that disagrees with it.
      const LogIndex index = workload_rng_.uniform(hs.commit + 1, view_.last_index() + 5);
      take_snapshot(request, index, hs.term, /*resets_log=*/true);
      request.hard_state = hs;
      request.sync = true;
      if (workload_rng_.chance(1, 3)) {
        write_entries(request, view_.last_index(), workload_rng_.uniform(1, 3));
      }
    }
    return request;
  }

  const std::uint64_t seed_;
  Rng rng_;
  Rng workload_rng_{0};
  Rng crash_rng_{0};
  io::StorageOptions options_;
  FaultyFileSystem fs_;
  std::unique_ptr<io::RaftStorage> storage_;

  NodeView view_;                       // what Raft has handed to storage so far
  NodeView synced_;                     // what was durable at the last sync point
  std::uint64_t seq_ = 0;               // requests issued
  std::uint64_t synced_seq_ = 0;        // requests issued up to the last sync point
  LogIndex touched_from_ = UINT64_MAX;  // lowest index replaced since the sync point
  std::vector<std::uint64_t> resets_since_sync_;

  std::map<std::string, WrittenEntry> written_;       // every entry ever written, by its data
  std::map<std::string, WrittenSnapshot> snapshots_;  // every snapshot ever written, by its data
  std::set<std::pair<Term, NodeId>> votes_;           // every (term, vote) issued

  std::vector<std::string> failures_;
  Tally tally_;
  bool open_halted_ = false;  // the last open was cut short by the halt
  int crash_points_ = 0;
  std::string last_crash_ = "crash: none yet";  // where the last crash fell, for messages
  std::string phase_;                           // what the scenario is doing now
  std::uint64_t requests_done_ = 0;             // requests completed since the last crash
  Rng fault_rng_{0};                            // full disks and clean closes
};

TEST(StorageCrash, RecoversFromEveryCrashPoint) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::uint64_t> seeds;
  if (auto seed = env_number("BCAST_CRASH_SEED")) {
    seeds.push_back(*seed);
  } else {
    const std::uint64_t points = env_number("BCAST_CRASH_POINTS").value_or(kDefaultCrashPoints);
    const std::uint64_t scenarios = (points + kCrashesPerScenario - 1) / kCrashesPerScenario;
    for (std::uint64_t seed = 1; seed <= scenarios; ++seed) seeds.push_back(seed);
  }
  int crash_points = 0;
  int failed_scenarios = 0;
  CrashScenario::Tally tally;
  for (const std::uint64_t seed : seeds) {
    CrashScenario scenario(seed);
    const std::vector<std::string> failures = scenario.run(kCrashesPerScenario);
    crash_points += scenario.crash_points();
    tally.add(scenario.tally());
    for (const std::string& failure : failures) ADD_FAILURE() << failure;
    if (!failures.empty() && ++failed_scenarios >= 5) break;  // enough to debug with
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "crash points: %d in %zu scenarios, %.2f s\n"
      "  crashes inside persist: %llu, inside open: %llu, between calls: %llu\n"
      "  unsynced operations at crash time: %llu; entries recovered: %llu, snapshots: %llu\n"
      "  requests interrupted by a full disk: %llu; clean closes: %llu\n",
      crash_points, seeds.size(), seconds, static_cast<unsigned long long>(tally.in_persist),
      static_cast<unsigned long long>(tally.in_open),
      static_cast<unsigned long long>(tally.after_workload),
      static_cast<unsigned long long>(tally.pending_ops_lost_or_kept),
      static_cast<unsigned long long>(tally.recovered_entries),
      static_cast<unsigned long long>(tally.recovered_snapshots),
      static_cast<unsigned long long>(tally.disk_full),
      static_cast<unsigned long long>(tally.closes));
  if (!env_number("BCAST_CRASH_SEED")) {
    EXPECT_GE(crash_points, 2000);
  }
}

}  // namespace
}  // namespace bcast::test
