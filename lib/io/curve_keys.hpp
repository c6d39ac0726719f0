// CurveZMQ keys of the peer links (docs/security.md).
//
// A key is 32 bytes, written as 40 characters of Z85 text. `bcastctl keygen --out PREFIX` writes
// PREFIX.key (this file format, mode 0600: the secret key and, for convenience, the public one)
// and PREFIX.pub (the public key alone); `bcastd --secret-key PREFIX.key` reads the first and
// `--peer-key ID=PUBLIC` binds a node id to a public key. Keys that contain '#' are never
// generated: a '#' would start a comment in a config file line.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "bcast/result.hpp"
#include "bcast/types.hpp"

namespace bcast::io {

struct CurveKeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;  // Z85, 40 characters
};

// What a daemon needs to run CURVE on every peer link: its own pair, and every member's public
// key by node id (its own included).
struct CurveSecurity {
  CurveKeyPair own;
  std::map<NodeId, std::string> peer_keys;
};

Result<CurveKeyPair> generate_key_pair();
// Writes PREFIX.key (0600, refusing to replace an existing file) and PREFIX.pub.
Result<void> write_key_files(const std::string& prefix, const CurveKeyPair& pair);
// Reads a secret key file; refuses one that other users may read.
Result<CurveKeyPair> read_secret_key_file(const std::string& path);
// Why `key` is not a Z85 public key, if it is not.
std::optional<std::string> invalid_key(const std::string& key);
// The 32 bytes of a valid Z85 key.
std::string decode_key(const std::string& z85);

}  // namespace bcast::io
