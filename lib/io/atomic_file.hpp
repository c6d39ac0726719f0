// Replacing a whole file so that a crash leaves either the old content or the new, never a mix.
//
// Protocol: write `<name>.tmp` (created or emptied), fsync it, rename it over `<name>`, fsync
// the directory. Without the first fsync the rename could reach the disk before the data, and a
// crash would leave an empty or partial file under the real name; without the second the
// rename itself could be lost. A crash before the rename leaves a `.tmp` file, which the next
// startup removes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bcast/result.hpp"
#include "io/file_system.hpp"

namespace bcast::io {

// Replaces `dir`/`name` by the concatenation of `pieces`. With `durable` false nothing is
// fsynced (the caller's `--fsync none`): the replacement is then atomic only against a process
// crash, not a power loss.
Result<void> replace_file_atomically(FileSystem& fs, const std::string& dir,
                                     const std::string& name,
                                     const std::vector<std::string_view>& pieces, bool durable);

}  // namespace bcast::io
