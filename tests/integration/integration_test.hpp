// The fixture every integration test uses: a temporary directory (kept, and its path printed,
// when the test fails, so the daemon logs can be read), and checks that the binaries exist.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cluster.hpp"
#include "delivery_check.hpp"
#include "process.hpp"

namespace bcast::integration {

class IntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const std::string& binary : {bcastd_path(), bcastctl_path()}) {
      ASSERT_TRUE(std::filesystem::exists(binary)) << binary << " is not built";
    }
  }
  void TearDown() override {
    if (HasFailure()) {
      dir_.keep();
      std::cerr << "integration test files (daemon logs, client stderr) kept in " << dir_.path()
                << "\n";
    }
  }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }
  // `bcastctl --socket SOCKET ARGS...`, run to completion (stdout and stderr together).
  static CommandResult ctl(const std::string& socket, const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout = 30s) {
    std::vector<std::string> argv = {bcastctl_path(), "--socket", socket};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, timeout);
  }

  TempDir dir_;
};

// Everything worth reading when a scenario fails: each client's stderr and each daemon's log.
inline std::string diagnostics(const LocalCluster* cluster, const std::vector<Subscriber*>& subs,
                               const std::vector<Publisher*>& pubs) {
  std::string text;
  for (Subscriber* s : subs) {
    text += "--- " + s->name() + " stderr:\n" + s->stderr_text() + "\n";
  }
  for (Publisher* p : pubs) {
    text += "--- publisher " + p->tag() + " stderr:\n" + p->stderr_text() + "\n";
  }
  if (cluster != nullptr) text += cluster->all_logs();
  return text;
}

// Waits until every subscriber printed its first view (it joined the group).
inline void wait_joined(const std::vector<Subscriber*>& subs, const LocalCluster* cluster,
                        std::chrono::milliseconds timeout = 10000ms) {
  std::vector<Process*> procs;
  for (Subscriber* s : subs) procs.push_back(&s->process());
  const bool joined = pump_until(
      procs, Clock::now() + timeout,
      [&] {
        for (Subscriber* s : subs) {
          if (!s->joined()) return false;
        }
        return true;
      },
      [&] {
        for (Subscriber* s : subs) s->consume();
      });
  if (!joined) {
    std::string who;
    for (Subscriber* s : subs) {
      if (!s->joined()) who += " " + s->name();
    }
    fail("no {\"type\":\"view\"} line within " + std::to_string(timeout.count()) + " ms from" +
         who + "\n" + diagnostics(cluster, subs, {}));
  }
}

}  // namespace bcast::integration
