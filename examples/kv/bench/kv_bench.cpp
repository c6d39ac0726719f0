// bcast-kv-bench: the cost of each read level (and of writes) of the KV store, for
// docs/consistency.md. N client threads, each with its own replica (its own Client) on the
// daemons given round-robin, run one kind of operation for a while; W writer threads put
// meanwhile, so local reads also pay for taking in the writes that arrive.
//
//   bcast-kv-bench --socket S1 [--socket S2 ...] --level strong|sequential|eventual|put
//                  [--clients N] [--writers W] [--seconds T] [--keys K] [--group G]
//
// Prints one JSON line: ops, throughput, latency percentiles in microseconds. Eventual reads
// take in arrivals (poll(0)) between reads, outside the timed part: a server does that between
// requests, and a replica that never reads would fall behind and be disconnected.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kv_store.hpp"

namespace {

using bcast::kv::Consistency;
using bcast::kv::KvStore;
using bcast::kv::Session;
using Clock = std::chrono::steady_clock;

struct Config {
  std::vector<std::string> sockets;
  std::string level = "strong";
  std::string group = "kv-bench";
  int clients = 8;
  int writers = 1;
  int seconds = 10;
  int keys = 100;
};

std::unique_ptr<KvStore> open_store(const Config& config, int index) {
  bcast::ReplicaOptions options;
  options.client.socket_path = config.sockets[index % config.sockets.size()];
  options.client.request_timeout = std::chrono::seconds(10);
  options.client.client_name = "bcast-kv-bench";
  options.group = config.group;
  auto store = KvStore::open(options);
  if (!store) {
    std::cerr << "bcast-kv-bench: " << store.error().message << "\n";
    std::exit(1);
  }
  return std::move(store.value());
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

int run(const Config& config) {
  const bool writes = config.level == "put";
  std::optional<Consistency> level;
  if (!writes) {
    level = bcast::kv::parse_consistency(config.level);
    if (!level) {
      std::cerr << "bcast-kv-bench: unknown level " << config.level << "\n";
      return 2;
    }
  }
  std::vector<std::unique_ptr<KvStore>> stores;
  for (int i = 0; i < config.clients + config.writers; ++i) stores.push_back(open_store(config, i));
  {  // every key exists before reads start
    Session session;
    for (int k = 0; k < config.keys; ++k) {
      if (!stores[0]->put("k" + std::to_string(k), "0", session)) return 1;
    }
    for (auto& store : stores) (void)store->replica().sync();
  }
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::vector<double> latencies_us;
  auto worker = [&](int index, bool measured) {
    KvStore& store = *stores[index];
    Session session;
    std::mt19937 rng(static_cast<unsigned>(index + 1));
    std::vector<double> mine;
    while (!stop) {
      const std::string key = "k" + std::to_string(rng() % config.keys);
      const auto start = Clock::now();
      bool ok = true;
      if (!measured || writes) {
        ok = static_cast<bool>(store.put(key, std::to_string(rng()), session));
      } else {
        ok = static_cast<bool>(store.get(key, *level, session));
      }
      const auto end = Clock::now();
      if (!ok) {
        failed = true;
        break;
      }
      if (measured) mine.push_back(std::chrono::duration<double, std::micro>(end - start).count());
      if (measured && level == Consistency::kEventual) {
        (void)store.replica().poll(std::chrono::milliseconds(0));
      }
    }
    std::lock_guard lock(mutex);
    latencies_us.insert(latencies_us.end(), mine.begin(), mine.end());
  };
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int i = 0; i < config.clients; ++i) threads.emplace_back(worker, i, true);
  for (int i = 0; i < config.writers; ++i) threads.emplace_back(worker, config.clients + i, false);
  std::this_thread::sleep_for(std::chrono::seconds(config.seconds));
  stop = true;
  for (auto& thread : threads) thread.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (failed) std::cerr << "bcast-kv-bench: an operation failed; figures cover the rest\n";
  std::sort(latencies_us.begin(), latencies_us.end());
  std::cout << "{\"level\":\"" << config.level << "\",\"clients\":" << config.clients
            << ",\"writers\":" << config.writers << ",\"seconds\":" << elapsed
            << ",\"ops\":" << latencies_us.size()
            << ",\"ops_per_s\":" << static_cast<double>(latencies_us.size()) / elapsed
            << ",\"p50_us\":" << percentile(latencies_us, 0.50)
            << ",\"p99_us\":" << percentile(latencies_us, 0.99)
            << ",\"p999_us\":" << percentile(latencies_us, 0.999)
            << ",\"max_us\":" << (latencies_us.empty() ? 0 : latencies_us.back()) << "}"
            << std::endl;
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const std::string value = argv[i + 1];
    if (name == "--socket") {
      config.sockets.push_back(value);
    } else if (name == "--level") {
      config.level = value;
    } else if (name == "--group") {
      config.group = value;
    } else if (name == "--clients") {
      config.clients = std::stoi(value);
    } else if (name == "--writers") {
      config.writers = std::stoi(value);
    } else if (name == "--seconds") {
      config.seconds = std::stoi(value);
    } else if (name == "--keys") {
      config.keys = std::stoi(value);
    } else {
      std::cerr << "bcast-kv-bench: unknown option " << name << "\n";
      return 2;
    }
  }
  if (config.sockets.empty() || config.clients < 1 || config.keys < 1 || config.seconds < 1) {
    std::cerr << "usage: bcast-kv-bench --socket S [--socket S ...] --level "
                 "strong|sequential|eventual|put [--clients N] [--writers W] [--seconds T] "
                 "[--keys K]\n";
    return 2;
  }
  return run(config);
}
