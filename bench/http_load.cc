// http_load: the project's own HTTP load generator for the gateway. N keep-alive
// connections (Beast client, C++20 coroutines) each send signed requests back to back for
// a fixed time; every request carries a unique query parameter so no signature repeats
// (the gateway refuses replays). Reports requests/s and p50/p90/p99 latency as JSON.
//
// Against a running gateway:
//   http_load --port 8080 --key-id ak_.. --secret ... --path /v1/ping --duration 10
// Self-contained (starts `vaultproof serve` on a temp data dir, creates a key, measures
// GET /v1/ping and POST /v1/echo, writes the results):
//   http_load --vaultproof build/bin/vaultproof --out bench/results/http.json [--db postgres://...]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "vp/base/test_util.h"
#include "vp/http/vp1_auth.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct LoadOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string key_id;
  std::string secret;
  std::string method = "GET";
  std::string path = "/v1/ping";
  std::string body;
  int connections = 64;
  int threads = 1;
  double duration_s = 10;
  double warmup_s = 1;
};

struct ConnStats {
  std::vector<uint32_t> latencies_us;
  uint64_t ok = 0;
  uint64_t errors = 0;  // non-2xx
  uint64_t failures = 0;  // transport
};

int64_t NowS() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

asio::awaitable<void> Worker(const LoadOptions& o, int index, ConnStats& stats, std::chrono::steady_clock::time_point start,
                             std::chrono::steady_clock::time_point end) {
  auto ex = co_await asio::this_coro::executor;
  beast::tcp_stream stream(ex);
  tcp::endpoint ep(asio::ip::make_address(o.host), o.port);
  auto [cec] = co_await stream.async_connect(ep, kTuple);
  if (cec) {
    ++stats.failures;
    co_return;
  }
  stream.socket().set_option(tcp::no_delay(true));
  beast::flat_buffer buffer;
  uint64_t seq = 0;
  std::string prefix = "c" + std::to_string(index) + "_" + std::to_string(::getpid()) + "_";
  while (std::chrono::steady_clock::now() < end) {
    std::string query = "n=" + prefix + std::to_string(seq++);
    bhttp::request<bhttp::string_body> req{o.method == "POST" ? bhttp::verb::post : bhttp::verb::get,
                                           o.path + "?" + query, 11};
    req.set(bhttp::field::host, o.host);
    req.set(bhttp::field::authorization,
            vp::http::Vp1AuthorizationHeader(o.key_id, vp::AsBytes(o.secret), o.method, o.path, query, NowS(), o.body));
    if (o.method == "POST") {
      req.set(bhttp::field::content_type, "application/json");
      req.body() = o.body;
    }
    req.keep_alive(true);
    req.prepare_payload();
    auto t0 = std::chrono::steady_clock::now();
    auto [wec, wn] = co_await bhttp::async_write(stream, req, kTuple);
    (void)wn;
    if (wec) {
      ++stats.failures;
      co_return;
    }
    bhttp::response<bhttp::string_body> res;
    auto [rec, rn] = co_await bhttp::async_read(stream, buffer, res, kTuple);
    (void)rn;
    if (rec) {
      ++stats.failures;
      co_return;
    }
    auto t1 = std::chrono::steady_clock::now();
    if (t0 < start) continue;  // warm-up
    if (t1 > end) break;
    if (res.result_int() / 100 == 2) {
      ++stats.ok;
      stats.latencies_us.push_back(
          static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count()));
    } else {
      ++stats.errors;
      if (stats.errors == 1) std::cerr << "http_load: status " << res.result_int() << ": " << res.body() << "\n";
    }
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

json RunLoad(const LoadOptions& o) {
  asio::io_context io(o.threads);
  std::vector<ConnStats> stats(static_cast<size_t>(o.connections));
  auto start = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(o.warmup_s * 1000));
  auto end = start + std::chrono::milliseconds(static_cast<int64_t>(o.duration_s * 1000));
  for (int i = 0; i < o.connections; ++i) {
    asio::co_spawn(io, Worker(o, i, stats[static_cast<size_t>(i)], start, end), asio::detached);
  }
  std::vector<std::thread> threads;
  for (int t = 1; t < o.threads; ++t) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();

  std::vector<uint32_t> all;
  uint64_t ok = 0, errors = 0, failures = 0;
  for (auto& s : stats) {
    all.insert(all.end(), s.latencies_us.begin(), s.latencies_us.end());
    ok += s.ok;
    errors += s.errors;
    failures += s.failures;
  }
  std::sort(all.begin(), all.end());
  auto pct = [&all](double p) -> double {
    if (all.empty()) return 0;
    size_t i = static_cast<size_t>(p * static_cast<double>(all.size() - 1));
    return static_cast<double>(all[i]) / 1000.0;
  };
  return json{{"method", o.method},
              {"path", o.path},
              {"connections", o.connections},
              {"clientThreads", o.threads},
              {"durationSeconds", o.duration_s},
              {"requests", ok},
              {"errors", errors},
              {"transportFailures", failures},
              {"requestsPerSecond", static_cast<double>(ok) / o.duration_s},
              {"latencyMs", {{"p50", pct(0.50)}, {"p90", pct(0.90)}, {"p99", pct(0.99)}, {"max", pct(1.0)}}}};
}

std::string Capture(const std::string& cmd) { return vp::testing::RunCapture(cmd); }

// One signed request, synchronously (setting up the benchmark: a wallet to sign with).
json SignedCall(const LoadOptions& o, const std::string& method, const std::string& path, const std::string& body) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  stream.connect(tcp::endpoint(asio::ip::make_address(o.host), o.port), ec);
  if (ec) return json{{"error", ec.message()}};
  const std::string query = "n=setup_" + std::to_string(::getpid());
  bhttp::request<bhttp::string_body> req{method == "POST" ? bhttp::verb::post : bhttp::verb::get, path + "?" + query, 11};
  req.set(bhttp::field::host, o.host);
  req.set(bhttp::field::authorization,
          vp::http::Vp1AuthorizationHeader(o.key_id, vp::AsBytes(o.secret), method, path, query, NowS(), body));
  req.set(bhttp::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  bhttp::write(stream, req, ec);
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  if (!ec) bhttp::read(stream, buffer, res, ec);
  if (ec) return json{{"error", ec.message()}};
  return json::parse(res.body(), nullptr, false);
}

// Starts `vaultproof serve` with limits raised for the benchmark; returns its pid and port.
pid_t StartServer(const std::string& bin, const std::string& dir, const std::string& db, int server_threads,
                  uint16_t* port) {
  int out[2];
  if (::pipe(out) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    ::setenv("VAULTPROOF_RATE_LIMITS_PER_KEY_LIMIT", "1000000000", 1);
    ::setenv("VAULTPROOF_RATE_LIMITS_PER_IP_LIMIT", "1000000000", 1);
    ::setenv("VAULTPROOF_RATE_LIMITS_GLOBAL_HOURLY", "1000000000", 1);
    ::setenv("VAULTPROOF_RATE_LIMITS_GLOBAL_DAILY", "1000000000", 1);
    ::setenv("VAULTPROOF_LOG_LEVEL", "warn", 1);
    if (server_threads > 0) ::setenv("VAULTPROOF_SERVER_THREADS", std::to_string(server_threads).c_str(), 1);
    if (!db.empty()) ::setenv("VAULTPROOF_STORE_URL", db.c_str(), 1);
    ::execl(bin.c_str(), bin.c_str(), "serve", "--listen", "127.0.0.1:0", "--data-dir", dir.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string line;
  char c;
  while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
  ::close(out[0]);
  json j = json::parse(line, nullptr, false);
  if (!j.is_object() || !j.contains("listening")) return -1;
  std::string addr = j["listening"];
  *port = static_cast<uint16_t>(std::atoi(addr.substr(addr.rfind(':') + 1).c_str()));
  return pid;
}

void Usage() {
  std::cerr << "usage: http_load [--host H] [--port P] --key-id ID --secret S [--method GET|POST] [--path P]\n"
               "                 [--body JSON] [--connections N] [--threads N] [--duration S] [--warmup S]\n"
               "       http_load --vaultproof BIN [--db URL] [--server-threads N] [--out FILE] [--duration S]\n"
               "                 [--scenario gateway|sign]   (sign: POST /v1/wallets/{id}/sign/transaction)\n";
}

}  // namespace

int main(int argc, char** argv) {
  LoadOptions o;
  std::string vaultproof, out_file, db, scenario = "gateway";
  int server_threads = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        Usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--host") o.host = next();
    else if (a == "--port") o.port = static_cast<uint16_t>(std::atoi(next().c_str()));
    else if (a == "--key-id") o.key_id = next();
    else if (a == "--secret") o.secret = next();
    else if (a == "--method") o.method = next();
    else if (a == "--path") o.path = next();
    else if (a == "--body") o.body = next();
    else if (a == "--connections") o.connections = std::atoi(next().c_str());
    else if (a == "--threads") o.threads = std::atoi(next().c_str());
    else if (a == "--duration") o.duration_s = std::atof(next().c_str());
    else if (a == "--warmup") o.warmup_s = std::atof(next().c_str());
    else if (a == "--vaultproof") vaultproof = next();
    else if (a == "--db") db = next();
    else if (a == "--server-threads") server_threads = std::atoi(next().c_str());
    else if (a == "--out") out_file = next();
    else if (a == "--scenario") scenario = next();
    else {
      Usage();
      return 2;
    }
  }
  if (o.connections < 1 || o.threads < 1 || o.duration_s <= 0 || (scenario != "gateway" && scenario != "sign")) {
    Usage();
    return 2;
  }

  if (vaultproof.empty()) {
    if (o.key_id.empty() || o.secret.empty()) {
      Usage();
      return 2;
    }
    json r = RunLoad(o);
    std::cout << r.dump(2) << std::endl;
    return 0;
  }

  char tmpl[] = "/tmp/vp-http-load-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string created = Capture(vaultproof + " api-key create --data-dir " + dir + " --role " +
                                (scenario == "sign" ? "admin" : "operator") + " --name bench" +
                                (db.empty() ? "" : " --db '" + db + "'"));
  json key = json::parse(created, nullptr, false);
  if (!key.is_object() || !key.contains("keyId")) {
    std::cerr << "http_load: cannot create a key: " << created << "\n";
    return 1;
  }
  o.key_id = key["keyId"];
  o.secret = key["secret"];
  pid_t pid = StartServer(vaultproof, dir, db, server_threads, &o.port);
  if (pid <= 0) {
    std::cerr << "http_load: server did not start\n";
    return 1;
  }
  json results = json::array();
  if (scenario == "sign") {
    // End-to-end signing: auth, limits, idempotency-free POST, the wallet's key blob from
    // the store, the signer process, and a durable audit record before each response.
    json w = SignedCall(o, "POST", "/v1/wallets", R"({"name":"bench","chain":"evm","kind":"single"})");
    if (!w.contains("data") || !w["data"].contains("id")) {
      std::cerr << "http_load: cannot create a wallet: " << w.dump() << "\n";
      ::kill(pid, SIGTERM);
      return 1;
    }
    LoadOptions sign = o;
    sign.method = "POST";
    sign.path = "/v1/wallets/" + w["data"]["id"].get<std::string>() + "/sign/transaction";
    sign.body = R"({"transaction":{"type":2,"chainId":1,"nonce":7,"to":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8",)"
                R"("value":"1000000000000000000","gasLimit":21000,"maxFeePerGas":"30000000000",)"
                R"("maxPriorityFeePerGas":"1000000000"}})";
    results.push_back(RunLoad(sign));
    std::cerr << results.back().dump() << "\n";
  }
  LoadOptions ping = o;
  ping.method = "GET";
  ping.path = "/v1/ping";
  LoadOptions echo = o;
  echo.method = "POST";
  echo.path = "/v1/echo";
  echo.body = R"({"amount":"1000000000000000000","to":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","memo":"bench"})";
  if (scenario == "gateway") {
    results.push_back(RunLoad(ping));
    std::cerr << results.back().dump() << "\n";
    results.push_back(RunLoad(echo));
    std::cerr << results.back().dump() << "\n";
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);

  double load1 = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load1) != 1) load1 = -1;
    std::fclose(f);
  }
  json doc = {{"benchmark", scenario == "sign" ? "http_load --scenario sign" : "http_load"},
              {"store", db.empty() ? "sqlite" : "postgres"},
              {"cores", std::thread::hardware_concurrency()},
              {"loadAverageAfter", load1},
              {"serverExit", WIFEXITED(status) ? WEXITSTATUS(status) : -1},
              {"results", results}};
  std::string text = doc.dump(2);
  std::cout << text << std::endl;
  if (!out_file.empty()) std::ofstream(out_file) << text << "\n";
  return 0;
}
