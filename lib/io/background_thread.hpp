// What a daemon's helper thread (the storage writer, the history writer) does first: it takes a
// name operators see in top, ps and perf, and yields the CPU to the event loop. On a busy
// machine the loop must win: while it waits for a core, no heartbeat leaves or is answered, and a
// writer encoding a 16 MiB record is throughput work that can wait a few milliseconds.
#pragma once

namespace bcast::io {

// `name`: at most 15 characters (the kernel's limit). Best effort: a failure changes nothing.
void become_background_thread(const char* name);

}  // namespace bcast::io
