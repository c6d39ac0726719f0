// A ceiling on the descriptor numbers of accepted connections, enforced for the whole process by
// wrapping the C library's accept(2) and accept4(2).
//
// Why: ZeroMQ accepts every connection that arrives, without limit, and libzmq 4.3's ipc
// listener aborts the process when accept fails with EMFILE (src/ipc_listener.cpp:325). So a
// flood of connections (a few hundred half-open clients under `ulimit -n 256`, or raw TCP
// connections to the peer port) would take the descriptor table, then the process. The caps of
// ListenerGuard keep each socket's connections in bounds, but only after ZeroMQ has reported
// them, which a fast enough flood outruns.
//
// How: Linux gives a new descriptor the lowest free number, so a connection whose descriptor is
// at or above the ceiling arrived when fewer than `limit - ceiling` descriptors were free. It is
// closed at once and accept reports ECONNABORTED, which ZeroMQ takes as "the peer gave up" (a
// ZMQ_EVENT_ACCEPT_FAILED for the monitor). Descriptors below the limit thus always remain for
// storage and ZeroMQ's own needs. Should the table be full anyway (EMFILE, ENFILE), a spare
// descriptor is released to take the waiting connection off the queue and close it, so that
// ZeroMQ neither aborts nor keeps retrying the same accept.
//
// The wrappers are found before the C library's by the dynamic linker because they are defined
// in the executable that links this file; set_accept_ceiling() is what pulls them in.
#pragma once

#include <cstdint>

namespace bcast::io {

// Connections whose descriptor would be `ceiling` or higher are refused; 0 lifts the ceiling.
// Thread-safe; call it before the sockets listen.
void set_accept_ceiling(int ceiling);

// How many connections the ceiling (or a full descriptor table) refused so far.
std::uint64_t accepts_refused();

}  // namespace bcast::io
