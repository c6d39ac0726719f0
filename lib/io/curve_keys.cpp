#include "io/curve_keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace bcast::io {
namespace {

constexpr std::size_t kZ85KeyChars = 40;

Error io_error(const std::string& what, int error) {
  return make_error(ErrorCode::kIo, what + ": " + std::strerror(error));
}

Result<void> write_new_file(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      return make_error(ErrorCode::kInvalidArgument,
                        path + " exists; not replacing a key (remove it first)");
    }
    return io_error("cannot create " + path, errno);
  }
  // The mode given to open(2) is narrowed by the umask, never widened: set it exactly.
  const bool written = ::fchmod(fd, mode) == 0 &&
                       ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  if (!written) return io_error("cannot write " + path, error);
  return {};
}

}  // namespace

Result<CurveKeyPair> generate_key_pair() {
  for (;;) {
    char public_key[kZ85KeyChars + 1] = {};
    char secret_key[kZ85KeyChars + 1] = {};
    if (zmq_curve_keypair(public_key, secret_key) != 0) {
      return make_error(ErrorCode::kIo, std::string("cannot make a CURVE key pair (is libzmq built "
                                                    "with CURVE?): ") +
                                            zmq_strerror(zmq_errno()));
    }
    CurveKeyPair pair{public_key, secret_key};
    // A '#' would start a comment in a config file line: draw again (about one pair in four).
    if (pair.public_key.find('#') == std::string::npos &&
        pair.secret_key.find('#') == std::string::npos) {
      return pair;
    }
  }
}

Result<void> write_key_files(const std::string& prefix, const CurveKeyPair& pair) {
  const std::string secret_text =
      "# bcastd CURVE key pair: keep this file private (bcastd --secret-key)\n"
      "secret-key = " +
      pair.secret_key + "\npublic-key = " + pair.public_key + "\n";
  if (auto written = write_new_file(prefix + ".key", secret_text, 0600); !written) return written;
  return write_new_file(prefix + ".pub", pair.public_key + "\n", 0644);
}

Result<CurveKeyPair> read_secret_key_file(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return io_error("--secret-key " + path, errno);
  if ((info.st_mode & 077) != 0) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "--secret-key " + path + ": other users may read it (mode " +
            [&] {
              std::ostringstream mode;
              mode << std::oct << (info.st_mode & 0777);
              return mode.str();
            }() +
            "); chmod 600 it, and make a new key if it may have leaked");
  }
  std::ifstream file(path);
  if (!file) return io_error("--secret-key " + path, errno);
  std::string line;
  std::string secret;
  while (std::getline(file, line)) {
    const std::string key = "secret-key = ";
    if (line.rfind(key, 0) == 0) secret = line.substr(key.size());
  }
  if (secret.size() != kZ85KeyChars || invalid_key(secret)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--secret-key " + path +
                          ": no 'secret-key = ' line with a 40-character Z85 key (make one "
                          "with bcastctl keygen)");
  }
  char public_key[kZ85KeyChars + 1] = {};
  if (zmq_curve_public(public_key, secret.c_str()) != 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--secret-key " + path + ": " + zmq_strerror(zmq_errno()));
  }
  return CurveKeyPair{public_key, secret};
}

std::optional<std::string> invalid_key(const std::string& key) {
  if (key.size() != kZ85KeyChars) {
    return "a key is 40 characters of Z85, got " + std::to_string(key.size()) +
           " (in a config file, a '#' starts a comment)";
  }
  std::uint8_t bytes[32];
  if (zmq_z85_decode(bytes, key.c_str()) == nullptr) return "not Z85 text";
  return std::nullopt;
}

std::string decode_key(const std::string& z85) {
  std::string bytes(32, '\0');
  zmq_z85_decode(reinterpret_cast<std::uint8_t*>(bytes.data()), z85.c_str());
  return bytes;
}

}  // namespace bcast::io
