// The total-order history: every total-order message this daemon delivered, by gseq, kept on disk
// independently of Raft log compaction, so that a client can replay a group from a position
// ([replay], docs/storage.md "History").
//
// Layout: a directory of segment files named by the first gseq they may hold
// (`00000000000000000001.history`), each a sequence of self-checking records (record.hpp):
// kHistoryMessage (one delivered message) or kHistoryHole (a range of gseqs this daemon skipped,
// e.g. positions covered by an installed snapshot). Gseqs only grow; a jump is always a hole
// record, so a reader can tell "skipped" from "never written".
//
// Bounds: once the history exceeds `max_bytes`, or its oldest segment's newest record is older
// than `max_age_seconds`, whole oldest segments are deleted (never the one being written).
//
// Durability: appends are buffered by the operating system; sync() makes them durable. A crash
// may lose an unsynced tail; the newest segment is cut at its first damaged record at open. The
// daemon syncs the history before Raft compacts the entries it came from, so whatever a crash loses
// here can be derived again from the log on restart (or is announced as a hole).
//
// Background writing (HistoryOptions::background, the daemon's choice): appends are queued and a
// thread of the store's own encodes, writes and syncs them (every `sync_interval`), so the caller
// never waits for the disk; a 16 MiB message written on the daemon's event loop held up its
// heartbeats long enough for an election. Whatever was appended is readable at once: reads take
// the queued tail from memory (payloads are shared, not copied). A write error stops the writing
// for good and is reported by failure() and every later call. Reads, appends and the accessors may
// come from one thread (the caller's) while the store's own thread writes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bcast/result.hpp"
#include "bcast/types.hpp"
#include "io/file_system.hpp"

namespace bcast::io {

struct HistoryOptions {
  std::string dir;                                            // created if missing
  std::uint64_t max_bytes = std::uint64_t{1} << 30;           // 1 GiB
  std::uint64_t max_age_seconds = 7 * 24 * 3600;              // a week
  std::uint64_t segment_bytes = std::uint64_t{64} << 20;      // rotation size
  std::uint64_t max_message_bytes = std::uint64_t{64} << 20;  // a record larger is damage
  bool background = false;  // write on the store's own thread (see above)
  // Background: appends wait while this many payload bytes are queued (a disk far slower than
  // the deliveries slows the caller down instead of filling memory).
  std::uint64_t max_queued_bytes = std::uint64_t{256} << 20;
  std::chrono::milliseconds sync_interval{1000};  // background: how often written data is synced
};

struct HistoryMessage {
  std::uint64_t gseq = 0;
  std::string group;
  SenderId sender = 0;
  std::uint64_t seq = 0;
  Mode mode = Mode::kReliable;
  std::shared_ptr<const std::string> payload;
};

// What a read yields, in gseq order: messages, and the holes between them.
struct HistoryItem {
  std::optional<HistoryMessage> message;  // absent: a hole
  std::uint64_t hole_from = 0;            // a hole: gseqs [hole_from, hole_to] are not here
  std::uint64_t hole_to = 0;
};

class HistoryStore {
 public:
  // Opens (or creates) the history in options.dir; the newest segment is cut at its first
  // damaged record. Damage in an older segment is a kCorrupt error naming the file and offset.
  static Result<std::unique_ptr<HistoryStore>> open(FileSystem& fs, HistoryOptions options);
  // Background: writes and syncs what is queued, then stops the thread.
  ~HistoryStore();
  HistoryStore(const HistoryStore&) = delete;
  HistoryStore& operator=(const HistoryStore&) = delete;

  // Appends a message; its gseq must be above last_gseq(). A gap from last_gseq() + 1 is
  // recorded as a hole first (only after the first append: the history starts anywhere).
  Result<void> append(const HistoryMessage& message, std::uint64_t now_unix_seconds);
  // Records that gseqs [from, to] were skipped here (from must be last_gseq() + 1).
  Result<void> append_hole(std::uint64_t from, std::uint64_t to, std::uint64_t now_unix_seconds);
  // Everything appended so far is durable on return (background: waits for the thread).
  Result<void> sync();
  // Deletes whole oldest segments beyond the size or age bound (background: queued, and an
  // earlier write error is returned).
  Result<void> enforce_retention(std::uint64_t now_unix_seconds);
  // Background: the write error that stopped the writing, if any.
  std::optional<Error> failure() const;

  // The oldest gseq still held (0 while empty) and the newest appended (0 while empty).
  std::uint64_t first_gseq() const;
  std::uint64_t last_gseq() const { return last_gseq_; }
  std::uint64_t size_bytes() const;
  // Bytes cut off the newest segment at open (an unsynced tail damaged by a power loss).
  std::uint64_t cut_bytes() const { return cut_bytes_; }

  // Items with gseq >= from_gseq, in order, of `group` only (holes always), until about
  // `max_bytes` of payload are collected or the history ends. `next_gseq` is where a following
  // read continues (last_gseq() + 1 at the end). Reads from disk: memory stays bounded by
  // max_bytes plus one record, whatever the history holds.
  Result<std::vector<HistoryItem>> read(std::uint64_t from_gseq, const std::string& group,
                                        std::uint64_t max_bytes, std::uint64_t& next_gseq);

 private:
  struct Segment {
    std::string path;
    std::uint64_t first_gseq = 0;  // from the file name
    std::uint64_t last_gseq = 0;   // first_gseq - 1 while empty
    std::uint64_t size_bytes = 0;
    std::uint64_t newest_unix_seconds = 0;
  };

  // A record to write (a message, or a hole when `message` is empty), or a sync or retention
  // pass; background writing queues them in order.
  struct Job {
    enum class Kind : std::uint8_t { kRecord, kSync, kRetention };
    Kind kind = Kind::kRecord;
    std::uint64_t first_gseq = 0;
    std::uint64_t last_gseq = 0;
    std::optional<HistoryMessage> message;
    std::uint64_t unix_seconds = 0;
    std::uint64_t sync_ticket = 0;  // kSync
  };

  HistoryStore(FileSystem& fs, HistoryOptions options) : fs_(fs), options_(std::move(options)) {}
  Result<void> load();
  Result<void> scan(Segment& segment, bool is_newest);
  // Carries out a job now, in the calling thread (the store's own when in the background).
  Result<void> carry_out(const Job& job);
  // Carries a job out now, or queues it when writing in the background.
  Result<void> submit(Job job);
  // Background: queues a job (waiting for room if records are queued beyond the bound).
  Result<void> enqueue(Job job);
  void run_writer();
  Result<void> write_record(std::uint64_t first_gseq, std::uint64_t last_gseq,
                            const std::string& record, std::uint64_t now_unix_seconds);
  Result<void> start_segment(std::uint64_t first_gseq);
  Result<void> remove_expired(std::uint64_t now_unix_seconds);
  std::uint64_t written_bytes() const;  // with mutex_ held
  Result<void> read_segment(const Segment& segment, const std::string& group,
                            std::uint64_t max_bytes, std::vector<HistoryItem>& out,
                            std::uint64_t& collected_bytes, std::uint64_t& next_gseq);

  FileSystem& fs_;
  HistoryOptions options_;
  // Changed under mutex_ (by the writing thread); the caller's thread reads them under it.
  std::deque<Segment> segments_;
  std::unique_ptr<File> active_;  // the newest segment, open for appending; the writer's only
  std::uint64_t last_gseq_ = 0;   // appended (queued or written); the caller's thread only
  std::uint64_t cut_bytes_ = 0;

  // Background writing.
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job> jobs_;  // the front is being carried out; readers see its records until done
  std::uint64_t queued_payload_bytes_ = 0;
  std::uint64_t sync_tickets_issued_ = 0;
  std::uint64_t sync_tickets_done_ = 0;
  std::optional<Error> failure_;
  bool stopping_ = false;
  std::thread writer_;
};

std::string history_segment_name(std::uint64_t first_gseq);

}  // namespace bcast::io
