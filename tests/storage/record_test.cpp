// The record framing and the payload encodings: round trips and rejection of damage.
#include "io/record.hpp"

#include <gtest/gtest.h>

#include "io/storage_layout.hpp"
#include "io/storage_records.hpp"
#include "support/faulty_file_system.hpp"

namespace bcast::test {
namespace {

TEST(Record, HeaderLayoutIsAsDocumented) {
  std::string bytes;
  io::append_record(bytes, io::RecordKind::kCommit, std::string("\x07\0\0\0\0\0\0\0", 8));
  ASSERT_EQ(bytes.size(), io::kRecordHeaderBytes + 8);
  EXPECT_EQ(bytes.substr(0, 4), "BCR1");
  EXPECT_EQ(bytes[4], 3);  // kind, little-endian u16
  EXPECT_EQ(bytes[5], 0);
  EXPECT_EQ(bytes[8], 8);  // payload length, little-endian u64
  std::string why;
  const auto header = io::decode_record_header(bytes, why);
  ASSERT_TRUE(header) << why;
  EXPECT_EQ(header->kind, io::RecordKind::kCommit);
  EXPECT_EQ(header->payload_bytes, 8u);
  auto commit = io::decode_commit(bytes.substr(io::kRecordHeaderBytes), why);
  ASSERT_TRUE(commit);
  EXPECT_EQ(*commit, 7u);
}

TEST(Record, EveryFlippedHeaderBitIsDetected) {
  std::string bytes;
  io::append_record(bytes, io::RecordKind::kEntry, "payload");
  for (std::size_t bit = 0; bit < io::kRecordHeaderBytes * 8; ++bit) {
    std::string damaged = bytes;
    damaged[bit / 8] = static_cast<char>(damaged[bit / 8] ^ (1 << (bit % 8)));
    std::string why;
    EXPECT_FALSE(io::decode_record_header(damaged, why)) << "bit " << bit;
  }
}

TEST(Record, EntryRoundTripsAndRejectsUnknownTypes) {
  const raft::Entry entry{9, 42, raft::EntryType::kConfChange, std::string("a\0b", 3)};
  std::string bytes;
  io::append_entry_record(bytes, entry);
  std::string why;
  const std::string payload = bytes.substr(io::kRecordHeaderBytes);
  auto decoded = io::decode_entry(payload, why);
  ASSERT_TRUE(decoded) << why;
  EXPECT_EQ(*decoded, entry);

  std::string bad_type = payload;
  bad_type[16] = 9;
  EXPECT_FALSE(io::decode_entry(bad_type, why));
  EXPECT_NE(why.find("unknown entry type"), std::string::npos);
  EXPECT_FALSE(io::decode_entry(payload.substr(0, 10), why));
}

TEST(Record, SnapshotRoundTripsAndBoundsItsCounts) {
  raft::SnapshotMeta meta;
  meta.index = 100;
  meta.term = 7;
  meta.conf.voters = {1, 2, 3};
  meta.conf.learners = {9};
  const std::string data = "the state machine";
  std::string file = io::encode_snapshot_record_prefix(meta, 4, data) + data;
  std::string why;
  std::uint64_t offset = 0;
  auto payload = io::decode_single_record_file(file, io::RecordKind::kSnapshot, why, offset);
  ASSERT_TRUE(payload) << why;
  auto decoded = io::decode_snapshot(*payload, why);
  ASSERT_TRUE(decoded) << why;
  EXPECT_EQ(decoded->snapshot.meta, meta);
  EXPECT_EQ(decoded->generation, 4u);
  EXPECT_EQ(*decoded->snapshot.data, data);

  // A voter count far beyond the bytes present is refused before anything is allocated.
  std::string huge_count = *payload;
  huge_count[24 + 3] = '\x7f';
  EXPECT_FALSE(io::decode_snapshot(huge_count, why));

  // One byte of the data missing.
  file.pop_back();
  EXPECT_FALSE(io::decode_single_record_file(file, io::RecordKind::kSnapshot, why, offset));
}

TEST(Record, ReaderReportsTornAndCorruptRecords) {
  FaultyFileSystem fs;
  auto file = fs.open_file("/f", io::OpenMode::kCreate);
  ASSERT_TRUE(file.ok());
  std::string bytes;
  io::append_record(bytes, io::RecordKind::kCommit, std::string(8, '\1'));
  io::append_record(bytes, io::RecordKind::kCommit, std::string(8, '\2'));
  ASSERT_TRUE(file.value()->write_at(0, bytes.substr(0, bytes.size() - 1)).ok());

  io::RecordReader reader(*file.value(), bytes.size() - 1, 1024);
  auto first = reader.read(0);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.value().status, io::RecordReader::Outcome::Status::kRecord);
  auto second = reader.read(first.value().next_offset);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.value().status, io::RecordReader::Outcome::Status::kDamaged);
  EXPECT_NE(second.value().damage.find("incomplete record"), std::string::npos);
  auto after = reader.find_valid_record(first.value().next_offset + 1);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after.value());
  auto from_start = reader.find_valid_record(0);
  ASSERT_TRUE(from_start.ok());
  EXPECT_EQ(from_start.value(), std::optional<std::uint64_t>(0));
}

TEST(StorageLayout, NamesRoundTripAndSortByIndex) {
  EXPECT_EQ(io::segment_file_name(42), "log-00000000000000000042.seg");
  EXPECT_EQ(io::parse_segment_file_name("log-00000000000000000042.seg"), 42u);
  EXPECT_EQ(io::parse_segment_file_name(io::segment_file_name(UINT64_MAX)), UINT64_MAX);
  EXPECT_FALSE(io::parse_segment_file_name("log-99999999999999999999.seg"));  // overflows
  EXPECT_FALSE(io::parse_segment_file_name("log-0000000000000000004x.seg"));
  EXPECT_FALSE(io::parse_segment_file_name("log-42.seg"));
  EXPECT_EQ(io::parse_snapshot_file_name(io::snapshot_file_name(7)), 7u);
  EXPECT_LT(io::segment_file_name(9), io::segment_file_name(10));
  EXPECT_TRUE(io::is_temp_file_name("hardstate.tmp"));
  EXPECT_TRUE(io::is_temp_file_name(io::snapshot_file_name(3) + ".tmp"));
  EXPECT_FALSE(io::is_temp_file_name("notes.tmp"));
}

}  // namespace
}  // namespace bcast::test
