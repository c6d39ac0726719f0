#include "io/accept_ceiling.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>

namespace bcast::io {
namespace {

using AcceptFunction = int (*)(int, sockaddr*, socklen_t*);
using Accept4Function = int (*)(int, sockaddr*, socklen_t*, int);

std::atomic<int> g_ceiling{0};
std::atomic<std::uint64_t> g_refused{0};
std::mutex g_spare_mutex;
int g_spare = -1;  // an open descriptor held in reserve for a full table

AcceptFunction real_accept() {
  static const auto function = reinterpret_cast<AcceptFunction>(dlsym(RTLD_NEXT, "accept"));
  return function;
}

Accept4Function real_accept4() {
  static const auto function = reinterpret_cast<Accept4Function>(dlsym(RTLD_NEXT, "accept4"));
  return function;
}

int refuse() {
  g_refused.fetch_add(1);
  errno = ECONNABORTED;
  return -1;
}

// The outcome of a real accept: kept if below the ceiling, otherwise closed and refused. A full
// table takes the waiting connection off the queue with the spare descriptor.
int admit(int fd, int listener) {
  const int ceiling = g_ceiling.load();
  if (fd >= 0) {
    if (ceiling > 0 && fd >= ceiling) {
      ::close(fd);
      return refuse();
    }
    return fd;
  }
  if (ceiling == 0 || (errno != EMFILE && errno != ENFILE)) return fd;
  std::lock_guard lock(g_spare_mutex);
  if (g_spare >= 0) {
    ::close(g_spare);
    const int waiting = real_accept4()(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (waiting >= 0) ::close(waiting);
    g_spare = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  return refuse();
}

}  // namespace

void set_accept_ceiling(int ceiling) {
  {
    std::lock_guard lock(g_spare_mutex);
    if (ceiling > 0 && g_spare < 0) g_spare = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  g_ceiling.store(ceiling);
}

std::uint64_t accepts_refused() { return g_refused.load(); }

}  // namespace bcast::io

// The wrappers (see the header). They keep the C library's contract: the same arguments, the
// same results, ECONNABORTED for a refused connection (a documented accept error).
extern "C" int accept(int listener, sockaddr* address, socklen_t* length) {
  return bcast::io::admit(bcast::io::real_accept()(listener, address, length), listener);
}

extern "C" int accept4(int listener, sockaddr* address, socklen_t* length, int flags) {
  return bcast::io::admit(bcast::io::real_accept4()(listener, address, length, flags), listener);
}
