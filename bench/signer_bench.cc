// Signer socket benchmark: signs per second and latency through the real kms + signer
// processes (started by the launcher, as the gateway runs them), against raw in-process
// libsecp256k1 signing. Issue 3's target: at saturation the socket path costs less than
// 25% over raw signing. Writes one JSON object per line to stdout; --out writes the
// whole run as one document (scripts/bench: bench/results/signer.json).
//
//   signer_bench [--bin-dir build/bin] [--seconds 3] [--warmup 0.5] [--threads N]
//                [--clients 1,2,4,8,16] [--out FILE]
//
// Two overhead figures, because on a small machine the client and the signer share cores:
//  - throughput: raw signs/s on N threads / best socket req/s - 1. Fair only when the
//    client has cores of its own; on 2 cores it counts the client's CPU against the signer.
//  - CPU per request: signer (+ kms) CPU µs per request, and this process's (the client's)
//    CPU µs per request, against raw CPU µs per sign. The fair figure on a shared machine.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "vp/crypto/random.h"
#include "vp/crypto/secp256k1.h"
#include "vp/eth/address.h"
#include "vp/eth/transaction.h"
#include "vp/signer/testing.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string bin_dir = "build/bin";
  double seconds = 3;
  double warmup_s = 0.5;
  unsigned threads = 0;  // raw signing threads; 0 = hardware_concurrency
  std::vector<unsigned> clients = {1, 2, 4, 8, 16};
  std::string out;
};

// CPU seconds (user + system) of this whole process: the client threads, plus the
// launcher's supervisor thread, which sleeps while the children are healthy.
double SelfCpuS() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds (utime + stime, fields 14 and 15 of /proc/<pid>/stat) of another process;
// -1 if it cannot be read. Resolution is one clock tick (10 ms), fine over seconds.
double ProcessCpuS(pid_t pid) {
  if (pid <= 0) return -1;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return -1;
  const size_t close = line.rfind(')');  // the command name may contain spaces
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  const long tick = sysconf(_SC_CLK_TCK);
  return static_cast<double>(utime + stime) / static_cast<double>(tick > 0 ? tick : 100);
}

double LoadAvg() {
  double l = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = 0;
    std::fclose(f);
  }
  return l;
}

std::string CpuModel() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown";
}

std::string UtcNow() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A distinct digest per request: thread index and counter, no hashing (that would be
// client work the raw figure does not have).
vp::crypto::Hash256 Digest(unsigned thread, uint64_t n) {
  vp::crypto::Hash256 d{};
  d.fill(0x5a);
  for (size_t i = 0; i < 8; ++i) d[i] = static_cast<uint8_t>(n >> (8 * i));
  d[8] = static_cast<uint8_t>(thread);
  return d;
}

// EIP-1559 with ethers' field names; the nonce changes so every transaction differs.
std::string Tx1559(uint64_t nonce) {
  return R"({"type":2,"chainId":1,"nonce":)" + std::to_string(nonce) +
         R"(,"to":"0x3535353535353535353535353535353535353535","value":"1000000000000000000",)"
         R"("gasLimit":21000,"maxFeePerGas":"30000000000","maxPriorityFeePerGas":"1000000000"})";
}

struct RunStats {
  unsigned threads = 0;
  uint64_t ok = 0;
  uint64_t errors = 0;
  std::string first_error;
  double wall_s = 0;
  double self_cpu_s = 0;
  double signer_cpu_s = 0;  // -1 if unreadable (raw runs: unused)
  double kms_cpu_s = 0;
  std::vector<double> latencies_us;  // sorted
};

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// One request: thread index and per-thread counter; returns OK or the error.
using RequestFn = std::function<vp::Status(unsigned thread, uint64_t n)>;

// Runs `threads` threads, each sending requests back to back for `seconds`, and records
// every latency. CPU is sampled around the run for this process and for the children.
RunStats Run(unsigned threads, double seconds, const RequestFn& request, pid_t signer_pid, pid_t kms_pid,
             bool record_latency) {
  struct PerThread {
    uint64_t ok = 0, errors = 0;
    std::string first_error;
    std::vector<double> lat;
  };
  std::vector<PerThread> per(threads);
  const double self0 = SelfCpuS(), signer0 = ProcessCpuS(signer_pid), kms0 = ProcessCpuS(kms_pid);
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      PerThread& me = per[t];
      if (record_latency) me.lat.reserve(1 << 16);
      for (uint64_t n = 0;; ++n) {
        const auto t0 = Clock::now();
        if (t0 >= deadline) break;
        const vp::Status s = request(t, n);
        if (s.ok()) {
          ++me.ok;
          if (record_latency) me.lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        } else if (me.errors++ == 0) {
          me.first_error = s.ToString();
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  RunStats r;
  r.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  r.self_cpu_s = SelfCpuS() - self0;
  const double signer1 = ProcessCpuS(signer_pid), kms1 = ProcessCpuS(kms_pid);
  r.signer_cpu_s = (signer0 < 0 || signer1 < 0) ? -1 : signer1 - signer0;
  r.kms_cpu_s = (kms0 < 0 || kms1 < 0) ? -1 : kms1 - kms0;
  r.threads = threads;
  for (auto& p : per) {
    r.ok += p.ok;
    r.errors += p.errors;
    if (r.first_error.empty()) r.first_error = p.first_error;
    r.latencies_us.insert(r.latencies_us.end(), p.lat.begin(), p.lat.end());
  }
  std::sort(r.latencies_us.begin(), r.latencies_us.end());
  return r;
}

double PerSec(const RunStats& r) { return r.wall_s > 0 ? static_cast<double>(r.ok) / r.wall_s : 0; }
double UsPer(double cpu_s, const RunStats& r) { return r.ok > 0 && cpu_s >= 0 ? cpu_s * 1e6 / static_cast<double>(r.ok) : -1; }

json RawJson(const RunStats& r) {
  return json{{"bench", "raw"},          {"op", "secp256k1Sign"},        {"threads", r.threads},
              {"signs", r.ok},           {"seconds", r.wall_s},          {"signsPerSec", PerSec(r)},
              {"cpuUsPerSign", UsPer(r.self_cpu_s, r)}, {"loadAvg", LoadAvg()}};
}

json SocketJson(const std::string& op, const RunStats& r) {
  json j{{"bench", "socket"},
         {"op", op},
         {"clients", r.threads},
         {"requests", r.ok},
         {"errors", r.errors},
         {"seconds", r.wall_s},
         {"reqPerSec", PerSec(r)},
         {"p50Us", Percentile(r.latencies_us, 0.50)},
         {"p99Us", Percentile(r.latencies_us, 0.99)},
         {"p999Us", Percentile(r.latencies_us, 0.999)},
         {"clientCpuUsPerReq", UsPer(r.self_cpu_s, r)},
         {"signerCpuUsPerReq", UsPer(r.signer_cpu_s, r)},
         {"kmsCpuUsPerReq", UsPer(r.kms_cpu_s, r)},
         {"loadAvg", LoadAvg()}};
  if (r.errors > 0) j["firstError"] = r.first_error;
  return j;
}

void Emit(const json& j, json& results) {
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
  results.push_back(j);
}

bool ParseClients(const char* text, std::vector<unsigned>& out) {
  out.clear();
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const long v = std::strtol(item.c_str(), nullptr, 10);
    if (v < 1 || v > 60) return false;  // the signer accepts 64 connections
    out.push_back(static_cast<unsigned>(v));
  }
  return !out.empty();
}

int Usage() {
  std::fprintf(stderr,
               "usage: signer_bench [--bin-dir DIR] [--seconds S] [--warmup S] [--threads N] "
               "[--clients 1,2,4,8,16] [--out FILE]\n");
  return 2;
}

// Checks a SignDigest reply recovers to the key's address, so we time real signatures.
bool Recovers(const vp::crypto::Hash256& digest, const vp::ByteArray<65>& rsv, const vp::eth::Address& address) {
  vp::crypto::RecoverableSignature sig;
  std::copy_n(rsv.begin(), 32, sig.r.begin());
  std::copy_n(rsv.begin() + 32, 32, sig.s.begin());
  sig.recovery_id = static_cast<uint8_t>(rsv[64] - 27);
  auto pub = vp::crypto::Secp256k1Recover(digest, sig);
  return pub.ok() && vp::eth::Address::FromPublicKey(*pub) == address;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--bin-dir" && has_value) {
      o.bin_dir = argv[++i];
    } else if (a == "--seconds" && has_value) {
      o.seconds = std::atof(argv[++i]);
    } else if (a == "--warmup" && has_value) {
      o.warmup_s = std::atof(argv[++i]);
    } else if (a == "--threads" && has_value) {
      o.threads = static_cast<unsigned>(std::atoi(argv[++i]));
    } else if (a == "--clients" && has_value) {
      if (!ParseClients(argv[++i], o.clients)) return Usage();
    } else if (a == "--out" && has_value) {
      o.out = argv[++i];
    } else {
      return Usage();
    }
  }
  if (!(o.seconds > 0) || o.warmup_s < 0) return Usage();
  if (o.threads == 0) o.threads = std::max(1u, std::thread::hardware_concurrency());
  std::error_code ec;
  const std::string bin_dir = std::filesystem::absolute(o.bin_dir, ec).string();
  ::setenv("VP_BIN_DIR", bin_dir.c_str(), 1);  // CustodyStack finds the binaries there
  json results = json::array();

  // 1. Raw: libsecp256k1 in this process, with a key already in memory.
  auto raw_key = vp::crypto::RandomSecret(32);
  if (!raw_key.ok()) {
    std::fprintf(stderr, "no random key: %s\n", raw_key.status().ToString().c_str());
    return 1;
  }
  const RequestFn raw_sign = [&](unsigned t, uint64_t n) {
    return vp::crypto::Secp256k1Sign(raw_key->view(), Digest(t, n)).status();
  };
  (void)Run(o.threads, o.warmup_s, raw_sign, 0, 0, false);
  const RunStats raw1 = Run(1, o.seconds, raw_sign, 0, 0, false);
  Emit(RawJson(raw1), results);
  const RunStats rawT = o.threads == 1 ? raw1 : Run(o.threads, o.seconds, raw_sign, 0, 0, false);
  if (o.threads != 1) Emit(RawJson(rawT), results);

  // 2, 3. Through the socket: the real kms and signer, started as the gateway starts them.
  vp::signer::CustodyStack stack;
  if (vp::Status s = stack.Start(); !s.ok()) {
    std::fprintf(stderr, "custody stack did not start (bin dir %s): %s\n", bin_dir.c_str(), s.ToString().c_str());
    return 1;
  }
  vp::signer::SignerClient& client = stack.launcher().client();
  const pid_t signer_pid = stack.launcher().signer_pid();
  const pid_t kms_pid = stack.launcher().kms_pid();

  // One key per client thread, as separate wallets would have. The signer caches the
  // unwrapped data key and the usable private key (by design: a busy wallet must not cost
  // a kms round trip per signature), so after each key's first sign, which the warm-up
  // absorbs, a request costs the socket, the request mac, the cache lookup and the sign.
  const unsigned max_clients = *std::max_element(o.clients.begin(), o.clients.end());
  std::vector<vp::signer::CreatedKey> keys;
  for (unsigned t = 0; t < max_clients; ++t) {
    auto created = client.CreateKey(vp::signer::KeyContext{.wallet_id = "bench-" + std::to_string(t),
                                                            .address = {},
                                                            .key_version = 1,
                                                            .key_kind = vp::signer::KeyKind::kSecp256k1});
    if (!created.ok()) {
      std::fprintf(stderr, "CreateKey failed: %s\n", created.status().ToString().c_str());
      return 1;
    }
    keys.push_back(std::move(*created));
  }
  {  // Sanity: the replies are signatures by the keys' addresses.
    const auto digest = Digest(0, 0);
    auto d = client.SignDigest(keys[0].blob, keys[0].context, "", digest);
    auto tx = client.SignTransaction(keys[0].blob, keys[0].context, "", Tx1559(0));
    const vp::eth::Address address(keys[0].context.address);
    if (!d.ok() || !Recovers(digest, d->signature, address) || !tx.ok()) {
      std::fprintf(stderr, "signer replies do not verify: %s %s\n", d.status().ToString().c_str(),
                   tx.status().ToString().c_str());
      return 1;
    }
    auto decoded = vp::eth::DecodeSignedTransaction(tx->raw);
    if (!decoded.ok() || decoded->from != address) {
      std::fprintf(stderr, "signed transaction does not decode to the key's address\n");
      return 1;
    }
  }

  // The client multiplexes concurrent calls over `connections` sockets (requests pipeline
  // and the signer answers them in batches); both one connection and several are measured.
  vp::signer::SignerClient* active = &client;
  const RequestFn sign_digest = [&](unsigned t, uint64_t n) {
    return active->SignDigest(keys[t].blob, keys[t].context, "", Digest(t, n)).status();
  };
  const RequestFn sign_tx = [&](unsigned t, uint64_t n) {
    return active->SignTransaction(keys[t].blob, keys[t].context, "", Tx1559(n)).status();
  };

  uint64_t total_errors = 0;
  RunStats best;
  std::unique_ptr<vp::signer::SignerClient> best_client;
  size_t best_connections = 0;
  for (size_t connections : {size_t{1}, size_t{2}, size_t{4}}) {
    auto mux = std::make_unique<vp::signer::SignerClient>(stack.dir() + "/signer.sock",
                                                          [&] { return stack.launcher().Credentials(); }, 10000,
                                                          connections);
    active = mux.get();
    bool improved = false;
    for (unsigned c : o.clients) {
      (void)Run(c, o.warmup_s, sign_digest, signer_pid, kms_pid, false);
      RunStats r = Run(c, o.seconds, sign_digest, signer_pid, kms_pid, true);
      total_errors += r.errors;
      json line = SocketJson("signDigest", r);
      line["connections"] = connections;
      Emit(line, results);
      if (PerSec(r) > PerSec(best)) {
        best = std::move(r);
        improved = true;
      }
    }
    if (improved) {
      best_client = std::move(mux);
      best_connections = connections;
    }
  }
  active = best_client ? best_client.get() : &client;
  std::vector<unsigned> tx_clients = {1};
  if (best.threads != 1) tx_clients.push_back(best.threads);
  for (unsigned c : tx_clients) {
    (void)Run(c, o.warmup_s, sign_tx, signer_pid, kms_pid, false);
    const RunStats r = Run(c, o.seconds, sign_tx, signer_pid, kms_pid, true);
    total_errors += r.errors;
    json line = SocketJson("signTransaction", r);
    line["connections"] = best_connections;
    Emit(line, results);
  }

  // 4. Overhead at the best SignDigest concurrency.
  const double raw_rate = PerSec(rawT);
  const double best_rate = PerSec(best);
  const double raw_cpu = UsPer(rawT.self_cpu_s, rawT);
  const double signer_cpu = UsPer(best.signer_cpu_s, best);
  const double kms_cpu = std::max(0.0, UsPer(best.kms_cpu_s, best));
  const double client_cpu = UsPer(best.self_cpu_s, best);
  const double path_cpu = signer_cpu >= 0 && client_cpu >= 0 ? signer_cpu + kms_cpu + client_cpu : -1;
  auto pct = [](double ratio) { return (ratio - 1) * 100; };
  json overhead{
      {"bench", "overhead"},
      {"rawThreads", rawT.threads},
      {"rawSignsPerSec", raw_rate},
      {"bestSocketClients", best.threads},
      {"bestSocketConnections", best_connections},
      {"bestSocketReqPerSec", best_rate},
      {"throughputOverheadPct", best_rate > 0 ? pct(raw_rate / best_rate) : -1},
      {"rawCpuUsPerSign", raw_cpu},
      {"signerCpuUsPerReq", signer_cpu},
      {"kmsCpuUsPerReq", kms_cpu},
      {"clientCpuUsPerReq", client_cpu},
      {"socketPathCpuUsPerReq", path_cpu},
      {"signerCpuOverheadPct", raw_cpu > 0 && signer_cpu >= 0 ? pct(signer_cpu / raw_cpu) : -1},
      {"socketPathCpuOverheadPct", raw_cpu > 0 && path_cpu >= 0 ? pct(path_cpu / raw_cpu) : -1},
      {"targetPct", 25},
      {"cores", std::thread::hardware_concurrency()},
      {"note",
       "throughputOverheadPct = raw signs/s on rawThreads threads / best socket req/s - 1; "
       "fair only when client and signer have cores of their own. signerCpuOverheadPct = "
       "signer CPU per request / raw CPU per sign - 1 (the signer process alone); "
       "socketPathCpuOverheadPct counts signer + kms + client (this process) CPU per request. "
       "On a machine where client and signer share cores the CPU figures are the fair ones."}};
  std::printf("%s\n", overhead.dump().c_str());
  std::fprintf(stderr,
               "raw %.0f signs/s on %u threads (%.1f CPU us/sign); socket best %.0f req/s at %u clients "
               "(signer %.1f + kms %.1f + client %.1f CPU us/req)\n"
               "overhead: throughput %+.1f%%, signer CPU %+.1f%%, whole socket path CPU %+.1f%% (target < 25%%)\n",
               raw_rate, rawT.threads, raw_cpu, best_rate, best.threads, signer_cpu, kms_cpu, client_cpu,
               overhead["throughputOverheadPct"].get<double>(), overhead["signerCpuOverheadPct"].get<double>(),
               overhead["socketPathCpuOverheadPct"].get<double>());

  if (!o.out.empty()) {
    json doc{{"machine", {{"cores", std::thread::hardware_concurrency()}, {"model", CpuModel()}}},
             {"date", UtcNow()},
             {"seconds", o.seconds},
             {"results", results},
             {"overhead", overhead}};
    std::ofstream f(o.out, std::ios::trunc);
    f << doc.dump(2) << "\n";
    f.close();
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", o.out.c_str());
      return 1;
    }
  }
  stack.Stop();
  if (total_errors > 0) {
    std::fprintf(stderr, "%llu requests failed\n", static_cast<unsigned long long>(total_errors));
    return 1;
  }
  return 0;
}
