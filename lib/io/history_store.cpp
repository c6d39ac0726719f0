#include "io/history_store.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "core/byte_codec.hpp"
#include "io/background_thread.hpp"
#include "io/record.hpp"

namespace bcast::io {
namespace {

constexpr std::string_view kSuffix = ".history";
constexpr std::size_t kGseqDigits = 20;

// kHistoryMessage payload: gseq, written_unix_seconds, sender, seq (u64 each), mode (u8), group
// (length-prefixed), then the message payload to the end.
std::string encode_message(const HistoryMessage& m, std::uint64_t now_unix_seconds) {
  std::string out;
  const std::size_t start = begin_record(out);
  put_le<std::uint64_t>(out, m.gseq);
  put_le<std::uint64_t>(out, now_unix_seconds);
  put_le<std::uint64_t>(out, m.sender);
  put_le<std::uint64_t>(out, m.seq);
  put_le<std::uint8_t>(out, static_cast<std::uint8_t>(m.mode));
  put_bytes(out, m.group);
  if (m.payload) out.append(*m.payload);
  finish_record(out, start, RecordKind::kHistoryMessage);
  return out;
}

// kHistoryHole payload: from, to, written_unix_seconds (u64 each).
std::string encode_hole(std::uint64_t from, std::uint64_t to, std::uint64_t now_unix_seconds) {
  std::string out;
  const std::size_t start = begin_record(out);
  put_le<std::uint64_t>(out, from);
  put_le<std::uint64_t>(out, to);
  put_le<std::uint64_t>(out, now_unix_seconds);
  finish_record(out, start, RecordKind::kHistoryHole);
  return out;
}

struct Decoded {
  HistoryItem item;
  std::uint64_t first_gseq = 0;
  std::uint64_t last_gseq = 0;
  std::uint64_t written_unix_seconds = 0;
};

std::optional<Decoded> decode(RecordKind kind, const std::string& payload, bool want_payload) {
  ByteReader in(payload);
  Decoded d;
  if (kind == RecordKind::kHistoryHole) {
    if (!in.read(d.item.hole_from) || !in.read(d.item.hole_to) ||
        !in.read(d.written_unix_seconds) || in.remaining_bytes() != 0 ||
        d.item.hole_from > d.item.hole_to) {
      return std::nullopt;
    }
    d.first_gseq = d.item.hole_from;
    d.last_gseq = d.item.hole_to;
    return d;
  }
  if (kind != RecordKind::kHistoryMessage) return std::nullopt;
  HistoryMessage m;
  std::uint8_t mode = 0;
  std::string_view group;
  if (!in.read(m.gseq) || !in.read(d.written_unix_seconds) || !in.read(m.sender) ||
      !in.read(m.seq) || !in.read(mode) || mode > static_cast<std::uint8_t>(Mode::kGossip) ||
      !in.read_bytes(group) || m.gseq == 0) {
    return std::nullopt;
  }
  m.mode = static_cast<Mode>(mode);
  m.group = std::string(group);
  if (want_payload) m.payload = std::make_shared<const std::string>(in.rest());
  d.first_gseq = d.last_gseq = m.gseq;
  d.item.message = std::move(m);
  return d;
}

std::optional<std::uint64_t> parse_segment_name(const std::string& name) {
  if (name.size() != kGseqDigits + kSuffix.size() || !name.ends_with(kSuffix)) return std::nullopt;
  std::uint64_t first = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + kGseqDigits, first);
  if (ec != std::errc() || end != name.data() + kGseqDigits) return std::nullopt;
  return first;
}

// Takes a record covering gseqs up to `last_gseq` into a read that has reached `next_gseq`:
// nothing if it was passed already; a message of another group only moves the position on; a
// hole is clipped to start there.
void take_item(HistoryItem item, std::uint64_t last_gseq, const std::string& group,
               std::vector<HistoryItem>& out, std::uint64_t& collected_bytes,
               std::uint64_t& next_gseq) {
  if (last_gseq < next_gseq) return;
  const std::uint64_t from = next_gseq;
  next_gseq = last_gseq + 1;
  if (item.message) {
    if (!group.empty() && item.message->group != group) return;
    collected_bytes +=
        (item.message->payload ? item.message->payload->size() : 0) + item.message->group.size();
  } else {
    item.hole_from = std::max(item.hole_from, from);
  }
  out.push_back(std::move(item));
}

Error corrupt(const std::string& path, std::uint64_t offset, const std::string& what) {
  return make_error(ErrorCode::kCorrupt, "history segment " + path + " is damaged at offset " +
                                             std::to_string(offset) + ": " + what);
}

}  // namespace

std::string history_segment_name(std::uint64_t first_gseq) {
  char digits[kGseqDigits + 1];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(first_gseq));
  return std::string(digits) + std::string(kSuffix);
}

Result<std::unique_ptr<HistoryStore>> HistoryStore::open(FileSystem& fs, HistoryOptions options) {
  std::unique_ptr<HistoryStore> store(new HistoryStore(fs, std::move(options)));
  if (auto loaded = store->load(); !loaded) return loaded.error();
  if (store->options_.background)
    store->writer_ = std::thread([s = store.get()] { s->run_writer(); });
  return store;
}

HistoryStore::~HistoryStore() {
  if (!writer_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  writer_.join();
}

Result<void> HistoryStore::load() {
  auto created = fs_.create_dir(options_.dir);
  if (!created) return created.error();
  if (created.value()) {
    // Its name must be durable before any segment in it is.
    const std::size_t slash = options_.dir.find_last_of('/');
    const std::string parent = slash == 0 ? "/" : options_.dir.substr(0, slash);
    if (slash != std::string::npos) {
      if (auto synced = fs_.sync_dir(parent); !synced) return synced.error();
    }
  }
  auto names = fs_.list_dir(options_.dir);
  if (!names) return names.error();
  for (const std::string& name : names.value()) {
    const auto first = parse_segment_name(name);
    if (!first) continue;  // not ours
    Segment segment;
    segment.path = options_.dir + "/" + name;
    segment.first_gseq = *first;
    segment.last_gseq = *first - 1;
    segments_.push_back(std::move(segment));
  }
  std::sort(segments_.begin(), segments_.end(),
            [](const Segment& a, const Segment& b) { return a.first_gseq < b.first_gseq; });
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (auto scanned = scan(segments_[i], i + 1 == segments_.size()); !scanned) {
      return scanned.error();
    }
    last_gseq_ = std::max(last_gseq_, segments_[i].last_gseq);
  }
  if (!segments_.empty()) {
    auto file = fs_.open_file(segments_.back().path, OpenMode::kExisting);
    if (!file) return file.error();
    active_ = std::move(file.value());
  }
  return {};
}

// Reads a segment's records to learn its range, age and size. The newest segment is cut at its
// first damaged record: its unsynced tail may come back from a power loss torn, or with holes
// where the disk kept later writes but not earlier ones. Nothing is lost for good that way: the
// history is derived from the committed log, and what the log no longer holds is recorded as a
// hole. An older segment was synced whole before the next one began: damage there is an error.
Result<void> HistoryStore::scan(Segment& segment, bool is_newest) {
  auto file = fs_.open_file(segment.path, OpenMode::kExisting);
  if (!file) return file.error();
  auto size = file.value()->size();
  if (!size) return size.error();
  RecordReader reader(*file.value(), size.value(), options_.max_message_bytes + 4096);
  std::uint64_t offset = 0;
  while (true) {
    auto outcome = reader.read(offset);
    if (!outcome) return outcome.error();
    const RecordReader::Outcome& o = outcome.value();
    if (o.status == RecordReader::Outcome::Status::kEnd) break;
    if (o.status == RecordReader::Outcome::Status::kDamaged) {
      if (!is_newest) return corrupt(segment.path, offset, o.damage);
      if (auto cut = file.value()->truncate(offset); !cut) return cut.error();
      cut_bytes_ += size.value() - offset;
      break;
    }
    const auto decoded = decode(o.kind, o.payload, /*want_payload=*/false);
    if (!decoded || decoded->first_gseq <= segment.last_gseq) {
      return corrupt(segment.path, offset, "not a history record in gseq order");
    }
    segment.last_gseq = decoded->last_gseq;
    segment.newest_unix_seconds = decoded->written_unix_seconds;
    offset = o.next_offset;
  }
  segment.size_bytes = offset;
  return {};
}

std::uint64_t HistoryStore::first_gseq() const {
  std::lock_guard lock(mutex_);
  for (const Segment& s : segments_) {
    if (s.last_gseq >= s.first_gseq) return s.first_gseq;
  }
  for (const Job& job : jobs_) {
    if (job.kind == Job::Kind::kRecord) return job.first_gseq;
  }
  return 0;
}

std::uint64_t HistoryStore::size_bytes() const {
  std::lock_guard lock(mutex_);
  return written_bytes();
}

std::uint64_t HistoryStore::written_bytes() const {
  std::uint64_t total = 0;
  for (const Segment& s : segments_) total += s.size_bytes;
  return total;
}

std::optional<Error> HistoryStore::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

Result<void> HistoryStore::append(const HistoryMessage& message, std::uint64_t now_unix_seconds) {
  if (message.gseq <= last_gseq_) {
    return make_error(ErrorCode::kInvalidArgument,
                      "history append of gseq " + std::to_string(message.gseq) +
                          " at or below the last, " + std::to_string(last_gseq_));
  }
  if (last_gseq_ != 0 && message.gseq > last_gseq_ + 1) {
    if (auto hole = append_hole(last_gseq_ + 1, message.gseq - 1, now_unix_seconds); !hole) {
      return hole;
    }
  }
  Job job;
  job.first_gseq = job.last_gseq = message.gseq;
  job.message = message;
  job.unix_seconds = now_unix_seconds;
  auto done = submit(std::move(job));
  if (done) last_gseq_ = message.gseq;
  return done;
}

Result<void> HistoryStore::append_hole(std::uint64_t from, std::uint64_t to,
                                       std::uint64_t now_unix_seconds) {
  if (from > to || from <= last_gseq_ || (last_gseq_ != 0 && from != last_gseq_ + 1)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "history hole " + std::to_string(from) + ".." + std::to_string(to) +
                          " does not follow gseq " + std::to_string(last_gseq_));
  }
  Job job;
  job.first_gseq = from;
  job.last_gseq = to;
  job.unix_seconds = now_unix_seconds;
  auto done = submit(std::move(job));
  if (done) last_gseq_ = to;
  return done;
}

Result<void> HistoryStore::carry_out(const Job& job) {
  switch (job.kind) {
    case Job::Kind::kRecord:
      return write_record(job.first_gseq, job.last_gseq,
                          job.message
                              ? encode_message(*job.message, job.unix_seconds)
                              : encode_hole(job.first_gseq, job.last_gseq, job.unix_seconds),
                          job.unix_seconds);
    case Job::Kind::kSync:
      return active_ ? active_->sync() : Result<void>{};
    case Job::Kind::kRetention:
      return remove_expired(job.unix_seconds);
  }
  return {};
}

Result<void> HistoryStore::submit(Job job) {
  return options_.background ? enqueue(std::move(job)) : carry_out(job);
}

Result<void> HistoryStore::enqueue(Job job) {
  std::unique_lock lock(mutex_);
  const std::uint64_t bytes =
      job.message && job.message->payload ? job.message->payload->size() : 0;
  changed_.wait(lock, [&] {
    return failure_ || bytes == 0 || queued_payload_bytes_ == 0 ||
           queued_payload_bytes_ + bytes <= options_.max_queued_bytes;
  });
  if (failure_) return *failure_;
  queued_payload_bytes_ += bytes;
  jobs_.push_back(std::move(job));
  changed_.notify_all();
  return {};
}

// The store's own thread: carries out the queued jobs in order, syncs what it wrote every
// sync_interval, and on stop finishes the queue and syncs.
void HistoryStore::run_writer() {
  become_background_thread("bcast-history");
  std::unique_lock lock(mutex_);
  bool unsynced = false;
  auto last_sync = std::chrono::steady_clock::now();
  while (!failure_) {
    const auto sync_at = last_sync + options_.sync_interval;
    const bool sync_due = unsynced && std::chrono::steady_clock::now() >= sync_at;
    if (sync_due || (stopping_ && jobs_.empty() && unsynced)) {
      Job sync;  // before the next record: a steady stream of them must not put it off
      sync.kind = Job::Kind::kSync;
      jobs_.push_front(std::move(sync));
    } else if (jobs_.empty()) {
      if (stopping_) break;  // all written and synced
      if (unsynced) {
        changed_.wait_until(lock, sync_at);
      } else {
        changed_.wait(lock);
      }
      continue;
    }
    const Job job = jobs_.front();  // shares the payload; readers still find it queued
    lock.unlock();
    auto done = carry_out(job);
    lock.lock();
    jobs_.pop_front();
    if (job.message && job.message->payload) queued_payload_bytes_ -= job.message->payload->size();
    if (!done) {
      failure_ = done.error();
    } else if (job.kind == Job::Kind::kSync) {
      unsynced = false;
      last_sync = std::chrono::steady_clock::now();
      sync_tickets_done_ = std::max(sync_tickets_done_, job.sync_ticket);
    } else if (job.kind == Job::Kind::kRecord) {
      unsynced = true;
    }
    changed_.notify_all();
  }
}

Result<void> HistoryStore::write_record(std::uint64_t first_gseq, std::uint64_t last_gseq,
                                        const std::string& record, std::uint64_t now_unix_seconds) {
  if (!active_ || segments_.back().size_bytes >= options_.segment_bytes) {
    if (auto started = start_segment(first_gseq); !started) return started;
  }
  Segment& segment = segments_.back();
  if (auto written = active_->write_at(segment.size_bytes, record); !written) return written;
  std::lock_guard lock(mutex_);  // what readers see grows by the whole record at once
  segment.size_bytes += record.size();
  segment.last_gseq = last_gseq;
  segment.newest_unix_seconds = now_unix_seconds;
  return {};
}

Result<void> HistoryStore::start_segment(std::uint64_t first_gseq) {
  if (active_) {
    if (auto synced = active_->sync(); !synced) return synced;  // a finished segment is whole
  }
  Segment segment;
  segment.path = options_.dir + "/" + history_segment_name(first_gseq);
  segment.first_gseq = first_gseq;
  segment.last_gseq = first_gseq - 1;
  auto file = fs_.open_file(segment.path, OpenMode::kCreateTruncating);
  if (!file) return file.error();
  if (auto synced = fs_.sync_dir(options_.dir); !synced) return synced;
  active_ = std::move(file.value());
  std::lock_guard lock(mutex_);
  segments_.push_back(std::move(segment));
  return {};
}

Result<void> HistoryStore::sync() {
  Job job;
  job.kind = Job::Kind::kSync;
  if (!options_.background) return carry_out(job);
  std::unique_lock lock(mutex_);
  if (failure_) return *failure_;
  job.sync_ticket = ++sync_tickets_issued_;
  const std::uint64_t ticket = job.sync_ticket;
  jobs_.push_back(std::move(job));
  changed_.notify_all();
  changed_.wait(lock, [&] { return failure_ || sync_tickets_done_ >= ticket; });
  if (failure_) return *failure_;
  return {};
}

Result<void> HistoryStore::enforce_retention(std::uint64_t now_unix_seconds) {
  Job job;
  job.kind = Job::Kind::kRetention;
  job.unix_seconds = now_unix_seconds;
  return submit(std::move(job));
}

Result<void> HistoryStore::remove_expired(std::uint64_t now_unix_seconds) {
  bool removed = false;
  std::unique_lock lock(mutex_);
  while (segments_.size() > 1) {
    const Segment& oldest = segments_.front();
    const bool too_big = written_bytes() > options_.max_bytes;
    const bool too_old = now_unix_seconds > oldest.newest_unix_seconds &&
                         now_unix_seconds - oldest.newest_unix_seconds > options_.max_age_seconds;
    if (!too_big && !too_old) break;
    // Under the lock: no reader is in it, and none finds it once gone from the list.
    if (auto gone = fs_.remove(oldest.path); !gone) return gone;
    segments_.pop_front();
    removed = true;
  }
  lock.unlock();
  if (removed) return fs_.sync_dir(options_.dir);
  return {};
}

Result<std::vector<HistoryItem>> HistoryStore::read(std::uint64_t from_gseq,
                                                    const std::string& group,
                                                    std::uint64_t max_bytes,
                                                    std::uint64_t& next_gseq) {
  std::vector<HistoryItem> out;
  std::uint64_t collected_bytes = 0;
  next_gseq = std::max(from_gseq, first_gseq());
  // Held while reading: the writer's thread neither removes a segment nor publishes a record
  // meanwhile (it may write the bytes of the next one, beyond what is read).
  std::lock_guard lock(mutex_);
  for (const Segment& segment : segments_) {
    if (collected_bytes >= max_bytes) return out;
    if (segment.last_gseq < next_gseq || segment.last_gseq < segment.first_gseq) continue;
    if (auto read = read_segment(segment, group, max_bytes, out, collected_bytes, next_gseq);
        !read) {
      return read.error();
    }
  }
  // Then what is queued for writing, straight from memory.
  for (const Job& job : jobs_) {
    if (collected_bytes >= max_bytes) return out;
    if (job.kind != Job::Kind::kRecord || job.last_gseq < next_gseq) continue;
    HistoryItem item = job.message ? HistoryItem{job.message}
                                   : HistoryItem{std::nullopt, job.first_gseq, job.last_gseq};
    take_item(std::move(item), job.last_gseq, group, out, collected_bytes, next_gseq);
  }
  if (collected_bytes < max_bytes) next_gseq = std::max(next_gseq, last_gseq_ + 1);
  return out;
}

// Appends the items of `segment` from next_gseq on; advances next_gseq past every record read
// (also those of other groups), and stops once max_bytes of payload are collected.
Result<void> HistoryStore::read_segment(const Segment& segment, const std::string& group,
                                        std::uint64_t max_bytes, std::vector<HistoryItem>& out,
                                        std::uint64_t& collected_bytes, std::uint64_t& next_gseq) {
  auto file = fs_.open_file(segment.path, OpenMode::kExisting);
  if (!file) return file.error();
  // Only what was verified or written through this store.
  RecordReader reader(*file.value(), segment.size_bytes, options_.max_message_bytes + 4096);
  std::uint64_t offset = 0;
  while (offset < segment.size_bytes && collected_bytes < max_bytes) {
    auto outcome = reader.read(offset);
    if (!outcome) return outcome.error();
    const RecordReader::Outcome& o = outcome.value();
    if (o.status != RecordReader::Outcome::Status::kRecord) {
      return corrupt(segment.path, offset, o.damage);
    }
    auto decoded = decode(o.kind, o.payload, /*want_payload=*/true);
    if (!decoded) return corrupt(segment.path, offset, "not a history record");
    offset = o.next_offset;
    take_item(std::move(decoded->item), decoded->last_gseq, group, out, collected_bytes, next_gseq);
  }
  return {};
}

}  // namespace bcast::io
