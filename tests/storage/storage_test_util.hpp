// Small helpers shared by the storage tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/outbox.hpp"
#include "io/raft_storage.hpp"
#include "io/storage_layout.hpp"

namespace bcast::test {

inline raft::Entry make_entry(LogIndex index, Term term, std::string data = "") {
  if (data.empty()) data = "entry-" + std::to_string(index) + "-term-" + std::to_string(term);
  return raft::Entry{term, index, raft::EntryType::kNormal, std::move(data)};
}

// Entries [first, last], all in `term`.
inline std::vector<raft::Entry> make_entries(LogIndex first, LogIndex last, Term term,
                                             std::size_t data_bytes = 0) {
  std::vector<raft::Entry> entries;
  for (LogIndex index = first; index <= last; ++index) {
    std::string data = "entry-" + std::to_string(index) + "-term-" + std::to_string(term);
    if (data.size() < data_bytes) data.resize(data_bytes, 'x');
    entries.push_back(make_entry(index, term, std::move(data)));
  }
  return entries;
}

inline PersistRequest append_request(std::vector<raft::Entry> entries, bool sync = true) {
  PersistRequest request;
  request.entries = std::move(entries);
  request.sync = sync;
  return request;
}

inline PersistRequest hard_state_request(Term term, NodeId vote, LogIndex commit,
                                         bool sync = true) {
  PersistRequest request;
  request.hard_state = raft::HardState{term, vote, commit};
  request.sync = sync;
  return request;
}

inline raft::Snapshot make_snapshot(LogIndex index, Term term, std::string data) {
  raft::Snapshot snapshot;
  snapshot.meta.index = index;
  snapshot.meta.term = term;
  snapshot.meta.conf.voters = {1, 2, 3};
  snapshot.meta.conf.learners = {7};
  snapshot.data = std::make_shared<const std::string>(std::move(data));
  return snapshot;
}

inline std::string segment_path(const std::string& dir, LogIndex first_index) {
  return dir + "/" + io::segment_file_name(first_index);
}

// The names in `dir` that are segment files, in index order.
inline std::vector<LogIndex> segment_indices(io::FileSystem& fs, const std::string& dir) {
  std::vector<LogIndex> indices;
  auto names = fs.list_dir(dir);
  EXPECT_TRUE(names.ok());
  if (!names.ok()) return indices;
  for (const std::string& name : names.value()) {
    if (auto index = io::parse_segment_file_name(name)) indices.push_back(*index);
  }
  return indices;
}

}  // namespace bcast::test
