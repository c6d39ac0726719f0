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
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's interface.
const char* malloc_conf = "thp:always";
}
