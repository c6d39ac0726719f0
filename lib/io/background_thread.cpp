#include "io/background_thread.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

namespace bcast::io {

namespace {
// Nice 5 against the loop's 0: under contention the scheduler gives the loop about three times
// the writer's share; on an idle core the writer still runs at full speed.
constexpr int kBackgroundNice = 5;
}  // namespace

void become_background_thread(const char* name) {
  (void)pthread_setname_np(pthread_self(), name);
  // On Linux a nice value belongs to the thread (the tid), not the whole process.
  const int current = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  if (current < kBackgroundNice) {
    (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kBackgroundNice);
  }
}

}  // namespace bcast::io
