// The daemon's file descriptors: the limit, raised as far as allowed at start, and how it is
// shared out between the connections the daemon accepts.
//
// Every accepted connection (a client on the ipc socket, a peer or anything else on the TCP
// port) costs one descriptor, and libzmq aborts the process when an accept fails for lack of one
// (accept_ceiling.hpp). So the connections of each listening socket are capped, together well
// below the limit: what the daemon already holds at start (ZeroMQ's own descriptors, storage,
// outgoing peer connections) plus a reserve for what it opens later (segment files, the
// temporary files of atomic replacements, directory syncs) and for accepts that happen before a
// cap takes effect. Beneath the caps, the accept ceiling keeps the last descriptors free
// whatever happens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "bcast/result.hpp"

namespace bcast::io {

struct DescriptorLimit {
  std::uint64_t soft = 0;  // after raising
  std::uint64_t hard = 0;
  std::uint64_t was = 0;  // the soft limit found at start
};

// Raises RLIMIT_NOFILE's soft limit to its hard limit.
Result<DescriptorLimit> raise_descriptor_limit();

// How many descriptors the process has open (the entries of /proc/self/fd).
Result<std::uint64_t> open_descriptors();

struct DescriptorBudget {
  std::uint64_t reserve = 0;  // kept free
  // Connections never get a descriptor at or above this (accept_ceiling.hpp): the last few stay
  // free whatever floods the sockets.
  int accept_ceiling = 0;
  std::size_t max_peer_connections = 0;    // accepted on the peer port
  std::size_t max_client_connections = 0;  // accepted on the client socket
  std::size_t max_clients = 0;             // that said hello: at most the requested number
};

// Shares `limit - in_use` out. Peers get room for every daemon of the cluster several times
// over (reconnections overlap), clients what is left up to `max_clients` plus room for
// connections that have not said hello yet. Fails with kInvalidArgument, saying what limit is
// needed, when even a minimal daemon would not fit.
Result<DescriptorBudget> plan_descriptors(std::uint64_t limit, std::uint64_t in_use,
                                          std::size_t cluster_size, std::size_t max_clients);

}  // namespace bcast::io
