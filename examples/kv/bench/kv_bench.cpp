// bcast-kv-bench: the cost of each read level (and of writes) of the KV store, for
// docs/consistency.md. N client threads, each with its own replica (its own Client) on the
// daemons given round-robin, run one kind of operation for a while; W writer threads put
// meanwhile, so local reads also pay for taking in the writes that arrive.
//
//   bcast-kv-bench --socket S1 [--socket S2 ...] --level strong|sequential|eventual|put
//                  [--clients N] [--writers W] [--seconds T] [--keys K] [--group G]
//
// With --etcd URL (repeated: one per member, e.g. http://127.0.0.1:2379) the same load runs
// against etcd's v3 JSON gateway instead (bench/etcd_compare.sh): put is /v3/kv/put, strong is a
// linearizable /v3/kv/range, sequential and eventual are serializable ranges (the member's local
// state). One keep-alive HTTP connection per client thread, to the members round-robin.
//
// Prints one JSON line: ops, throughput, latency percentiles in microseconds. Eventual reads
// take in arrivals (poll(0)) between reads, outside the timed part: a server does that between
// requests, and a replica that never reads would fall behind and be disconnected.
#include <httplib.h>

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
  std::vector<std::string> etcd;  // member URLs: benchmark etcd instead
  std::string level = "strong";
  std::string group = "kv-bench";
  int clients = 8;
  int writers = 1;
  int seconds = 10;
  int keys = 100;
};

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  if (i < bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// One client of etcd: a keep-alive connection to one member.
class EtcdClient {
 public:
  explicit EtcdClient(const std::string& url) : http_(url) {
    http_.set_keep_alive(true);
    http_.set_tcp_nodelay(true);  // else Nagle and delayed ACKs add 40 ms to every request
    http_.set_read_timeout(10, 0);
  }
  bool put(const std::string& key, const std::string& value) {
    return post("/v3/kv/put",
                "{\"key\":\"" + base64(key) + "\",\"value\":\"" + base64(value) + "\"}");
  }
  bool get(const std::string& key, bool linearizable) {
    return post("/v3/kv/range", "{\"key\":\"" + base64(key) + "\"" +
                                    (linearizable ? "" : ",\"serializable\":true") + "}");
  }

 private:
  bool post(const std::string& path, const std::string& body) {
    auto response = http_.Post(path, body, "application/json");
    return response && response->status == 200;
  }
  httplib::Client http_;
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
  const bool etcd = !config.etcd.empty();
  std::vector<std::unique_ptr<KvStore>> stores;
  std::vector<std::unique_ptr<EtcdClient>> etcd_clients;
  for (int i = 0; i < config.clients + config.writers; ++i) {
    if (etcd) {
      etcd_clients.push_back(std::make_unique<EtcdClient>(config.etcd[i % config.etcd.size()]));
    } else {
      stores.push_back(open_store(config, i));
    }
  }
  // Every key exists before reads start.
  for (int k = 0; k < config.keys; ++k) {
    Session session;
    const std::string key = "k" + std::to_string(k);
    if (etcd ? !etcd_clients[0]->put(key, "0") : !stores[0]->put(key, "0", session)) {
      std::cerr << "bcast-kv-bench: cannot write the initial keys\n";
      return 1;
    }
  }
  for (auto& store : stores) (void)store->replica().sync();
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::vector<double> latencies_us;
  auto worker = [&](int index, bool measured) {
    Session session;
    std::mt19937 rng(static_cast<unsigned>(index + 1));
    std::vector<double> mine;
    while (!stop) {
      const std::string key = "k" + std::to_string(rng() % config.keys);
      const auto start = Clock::now();
      bool ok = true;
      const bool write = !measured || writes;
      if (etcd) {
        EtcdClient& client = *etcd_clients[index];
        ok = write ? client.put(key, std::to_string(rng()))
                   : client.get(key, level == Consistency::kStrong);
      } else if (write) {
        ok = static_cast<bool>(stores[index]->put(key, std::to_string(rng()), session));
      } else {
        ok = static_cast<bool>(stores[index]->get(key, *level, session));
      }
      const auto end = Clock::now();
      if (!ok) {
        failed = true;
        break;
      }
      if (measured) mine.push_back(std::chrono::duration<double, std::micro>(end - start).count());
      if (!etcd && measured && level == Consistency::kEventual) {
        (void)stores[index]->replica().poll(std::chrono::milliseconds(0));
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
  std::cout << "{\"system\":\"" << (etcd ? "etcd" : "bcastd") << "\",\"level\":\"" << config.level
            << "\",\"clients\":" << config.clients << ",\"writers\":" << config.writers
            << ",\"seconds\":" << elapsed << ",\"ops\":" << latencies_us.size()
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
    } else if (name == "--etcd") {
      config.etcd.push_back(value);
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
  if ((config.sockets.empty() == config.etcd.empty()) || config.clients < 1 || config.keys < 1 ||
      config.seconds < 1) {
    std::cerr << "usage: bcast-kv-bench (--socket S ... | --etcd URL ...) --level "
                 "strong|sequential|eventual|put [--clients N] [--writers W] [--seconds T] "
                 "[--keys K]\n";
    return 2;
  }
  return run(config);
}
