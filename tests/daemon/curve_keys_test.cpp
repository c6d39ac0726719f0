// CURVE key files (lib/io/curve_keys.hpp): what bcastctl keygen writes, bcastd reads back; a
// secret key others may read, an existing key, and a malformed key are refused.
#include "io/curve_keys.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace bcast::io {
namespace {

class CurveKeys : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/bcast-keys-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(CurveKeys, KeygenWritesAPrivatePairThatReadsBack) {
  auto pair = generate_key_pair();
  ASSERT_TRUE(pair.ok()) << pair.error().message;
  EXPECT_EQ(pair.value().public_key.size(), 40u);
  EXPECT_EQ(pair.value().public_key.find('#'), std::string::npos);
  EXPECT_EQ(invalid_key(pair.value().public_key), std::nullopt);
  ::umask(0);  // the secret file is 0600 whatever the umask
  ASSERT_TRUE(write_key_files(dir_ + "/n", pair.value()).ok());
  ::umask(022);
  struct stat info {};
  ASSERT_EQ(::stat((dir_ + "/n.key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::ifstream pub(dir_ + "/n.pub");
  std::string line;
  std::getline(pub, line);
  EXPECT_EQ(line, pair.value().public_key);
  auto read = read_secret_key_file(dir_ + "/n.key");
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read.value().public_key, pair.value().public_key);
  EXPECT_EQ(read.value().secret_key, pair.value().secret_key);
  // A second keygen to the same prefix does not replace the key.
  auto again = write_key_files(dir_ + "/n", generate_key_pair().value());
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("not replacing"), std::string::npos);
}

TEST_F(CurveKeys, ASecretKeyOthersMayReadIsRefused) {
  ASSERT_TRUE(write_key_files(dir_ + "/n", generate_key_pair().value()).ok());
  ASSERT_EQ(::chmod((dir_ + "/n.key").c_str(), 0644), 0);
  auto read = read_secret_key_file(dir_ + "/n.key");
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find("chmod 600"), std::string::npos) << read.error().message;
}

TEST_F(CurveKeys, MalformedKeysAreNamed) {
  EXPECT_NE(invalid_key("short"), std::nullopt);
  EXPECT_NE(invalid_key(std::string(40, '~')), std::nullopt);  // '~' is not Z85
  std::ofstream(dir_ + "/bad.key") << "secret-key = nonsense\n";
  ::chmod((dir_ + "/bad.key").c_str(), 0600);
  EXPECT_FALSE(read_secret_key_file(dir_ + "/bad.key").ok());
}

}  // namespace
}  // namespace bcast::io
