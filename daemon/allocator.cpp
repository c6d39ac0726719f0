// bcastd allocates with jemalloc (linked in daemon/CMakeLists.txt; sanitizer builds keep their
// own allocator), configured here: jemalloc reads this symbol when the process starts, and
// MALLOC_CONF in the environment still overrides it.
//
// Why: a large message (up to 64 MiB) passes through several buffers on its way (decoded, put
// in a Raft entry, encoded per follower, written to the history). glibc returns every freed
// buffer of that size to the kernel, which zeroes its pages again on the next first touch, 4 KiB
// at a time: on a virtual machine a fresh 16 MiB buffer cost 65 ms, a daemon's round with one
// such message over 200 ms of CPU, and followers timed out ([robustness] item 6,
// LargeMessages.SixteenMebibyteMessagesCauseNoElection). jemalloc keeps freed pages for reuse
// (decaying over 10 s, so memory still goes back when idle) and, with thp:always, asks for
// transparent huge pages (a kernel in `madvise` mode grants them to such regions), so what is
// fresh faults in 2 MiB steps. The same round then took 10-70 ms.
//
// oversize_threshold:0: by default jemalloc serves requests over 8 MiB from a separate arena
// that hands freed pages straight back to the kernel, which is exactly the buffers above; without
// it they are kept for reuse like the rest (page faults while 20 messages of 16 MiB passed a
// 3-daemon cluster: 160,000-200,000 before, 46,000-53,000 after).
//
// dirty_decay_ms:0,muzzy_decay_ms:-1: freed pages are at once marked free-when-needed
// (MADV_FREE) and never unmapped: the kernel takes them back only when memory runs short, and
// until then reusing one costs nothing. jemalloc's default (unmapping over 10 s) still made every
// 16 MiB message zero fresh pages on the event loop, up to 180 ms on this virtual machine; with
// this, 16 messages of 16 MiB in a row made no round over 100 ms and daemon CPU fell from 7.3 s
// to 6.9 s (tools/large-message-rounds.sh, with MALLOC_CONF set to each in turn).
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's interface.
const char* malloc_conf = "thp:always,oversize_threshold:0,dirty_decay_ms:0,muzzy_decay_ms:-1";
}
