#include "vp/http/gateway.h"

#include <sys/stat.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "vp/audit/audit.h"
#include "vp/crypto/hash.h"
#include "vp/election/election.h"
#include "vp/election/finalize.h"
#include "vp/objects/object_store.h"
#include "vp/election/turnstile.h"
#include "vp/http/api_key_service.h"
#include "vp/http/envelope.h"
#include "vp/http/metrics.h"
#include "vp/http/leased_limiter.h"
#include "vp/http/rate_limiter.h"
#include "vp/http/replay_batcher.h"
#include "vp/http/replay_guard.h"
#include "vp/http/router.h"
#include "vp/http/server.h"
#include "vp/http/static_site.h"
#include "vp/http/vp1_auth.h"
#include "vp/http/custody.h"
#include "vp/signer/launcher.h"
#include "vp/wallet/broadcast.h"
#include "vp/wallet/chains.h"
#include "vp/wallet/policy.h"
#include "vp/wallet/webhooks.h"
#include "vp/wallet/wallets.h"
#include "vp/store/db.h"
#include "vp/store/idempotency.h"
#include "vp/store/rate_limits.h"
#include "vp/store/replay.h"
#include "vp/store/worker.h"

namespace vp::http {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr int64_t kHourMs = 3600LL * 1000;
constexpr int64_t kDayMs = 24 * kHourMs;
constexpr int64_t kMaintenanceMs = 60000;

std::string_view LastSegment(std::string_view path) { return path.substr(path.rfind('/') + 1); }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// One JSON object per line on stderr: {"time","level","msg",...fields}. Never secrets.
std::shared_ptr<spdlog::logger> MakeLogger(const std::string& level) {
  auto logger = std::make_shared<spdlog::logger>("vp", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("{\"time\":\"%Y-%m-%dT%H:%M:%S.%eZ\",\"level\":\"%l\",%v}", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::warn);
  return logger;
}

std::string LogFields(std::string_view msg, const json& fields) {
  std::string out = "\"msg\":" + json(std::string(msg)).dump(-1, ' ', false, json::error_handler_t::replace);
  for (const auto& [k, v] : fields.items()) {
    out += ",\"" + k + "\":" + v.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return out;
}

// Decodes %XX and '+' in a query component; malformed escapes are kInvalidArgument.
StatusOr<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= s.size()) return InvalidArgumentError("query: bad % escape");
      auto b = HexDecode(s.substr(i + 1, 2), HexPrefix::kForbidden);
      if (!b.ok() || b->size() != 1) return InvalidArgumentError("query: bad % escape");
      out += static_cast<char>((*b)[0]);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    if (!part.empty()) {
      size_t eq = part.find('=');
      ASSIGN_OR_RETURN(std::string k, PercentDecode(part.substr(0, eq)));
      std::string v;
      if (eq != std::string_view::npos) {
        ASSIGN_OR_RETURN(v, PercentDecode(part.substr(eq + 1)));
      }
      out.emplace_back(std::move(k), std::move(v));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

StatusOr<int64_t> ParseNonNegative(std::string_view text, const char* what) {
  if (text.empty() || text.size() > 18) return InvalidArgumentError(std::string(what) + ": expected a non-negative integer");
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return InvalidArgumentError(std::string(what) + ": expected a non-negative integer");
    v = v * 10 + (c - '0');
  }
  return v;
}

// The query of a list route: `limit` (default 100) and the named text parameters ("" when
// absent; the last one wins when repeated). Other parameters are ignored (clients add `n=`).
struct ListQuery {
  int64_t limit = 100;
  std::map<std::string, std::string, std::less<>> text;
  std::string Text(std::string_view name) const {
    auto it = text.find(name);
    return it == text.end() ? std::string() : it->second;
  }
};

StatusOr<ListQuery> ParseListQuery(std::string_view query, std::initializer_list<std::string_view> names) {
  ASSIGN_OR_RETURN(auto params, ParseQuery(query));
  ListQuery out;
  for (const auto& [k, v] : params) {
    if (k == "limit") {
      ASSIGN_OR_RETURN(out.limit, ParseNonNegative(v, "limit"));
    } else if (std::find(names.begin(), names.end(), k) != names.end()) {
      out.text[k] = v;
    }
  }
  return out;
}

json AuditRecordJson(const audit::AuditRecord& r) {
  return json{{"seq", r.seq},           {"time", r.time_ms},      {"requestId", r.request_id},
              {"principal", r.principal}, {"action", r.action},   {"resource", r.resource},
              {"outcome", r.outcome},   {"sourceIp", r.source_ip}, {"details", r.details},
              {"hash", HexEncode(r.hash)}};
}

json ApiKeyJson(const store::ApiKey& k) {
  json j = {{"keyId", k.id}, {"name", k.name}, {"role", k.role}, {"disabled", k.disabled},
            {"createdAt", k.created_at_ms}};
  j["lastUsedAt"] = k.last_used_at_ms ? json(*k.last_used_at_ms) : json(nullptr);
  return j;
}

std::string OutcomeFor(unsigned status) {
  if (status < 400) return "success";
  if (status == 401 || status == 403) return "denied";
  if (status == 429) return "rate_limited";
  if (status < 500) return "rejected";
  return "error";
}

// The Turnstile secret key: the file's first line.
StatusOr<std::string> ReadTurnstileSecret(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgumentError("config: ballot.turnstile_secret_file: cannot read " + path);
  std::string secret;
  std::getline(in, secret);
  while (!secret.empty() && (secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
  if (secret.empty()) return InvalidArgumentError("config: ballot.turnstile_secret_file: " + path + " is empty");
  return secret;
}

}  // namespace

struct Principal {
  std::string key_id;
  std::string role;
};

// kBallot: the ballot API under /api: no API key (the session capability, checked by the
// handler, authenticates), per-IP limits, the /api body limit.
enum class Access { kPublic, kAuthenticated, kBallot };
enum class AuditMode { kNone, kAsync, kDurable };

struct Gateway::Impl {
  using RouteFn = asio::awaitable<Response> (Impl::*)(Request&, const Principal&);
  struct RouteSpec {
    Access access;
    std::vector<std::string> roles;  // empty: any role
    AuditMode audit;
    bool idempotent;  // honours Idempotency-Key (POST)
    RouteFn fn;
  };

  GatewayConfig cfg;
  std::shared_ptr<spdlog::logger> log;
  std::unique_ptr<store::Db> db;
  bool distributed = false;  // PostgreSQL: limits and replay state live in the store
  std::shared_ptr<const audit::DigestSigner> signer;  // in the signer process with custody
  std::unique_ptr<audit::AuditWriter> audit;
  std::unique_ptr<ApiKeyService> keys;
  std::unique_ptr<store::IdempotencyRepo> idempotency;
  std::unique_ptr<store::RateLimitRepo> rate_repo;
  std::unique_ptr<store::ReplayRepo> replay_repo;
  std::shared_ptr<signer::Launcher> custody;  // null when [custody] enabled = false
  std::unique_ptr<wallet::WalletService> wallets;  // with custody
  std::unique_ptr<wallet::ChainRegistry> chains;
  std::unique_ptr<wallet::WebhookService> webhooks;  // the transactions' event sink
  std::unique_ptr<wallet::Broadcaster> broadcaster;
  std::unique_ptr<wallet::TransactionService> transactions;
  std::unique_ptr<election::ElectionService> ballot;  // the ballot API (docs/api.md "Ballot API")
  std::unique_ptr<election::TurnstileVerifier> turnstile;
  std::unique_ptr<objects::ObjectStore> objects;          // bundles and sealed prover inputs
  std::unique_ptr<election::FinalizeService> finalize;    // POST /api/finalize and verification
  StaticSite site;  // the web pages, read once at start (static_site.h)
  MemoryRateLimiter limiter;       // one gateway (SQLite)
  LeasedRateLimiter leased;         // several gateways (PostgreSQL)
  ReplayGuard replay_guard;         // both: a local replay is refused without the store
  std::unique_ptr<ReplayBatcher> replay_batcher;  // PostgreSQL
  Router router;
  std::vector<RouteSpec> routes;
  std::unique_ptr<Metrics> metrics;
  std::atomic<uint64_t> audit_failures{0};
  std::unique_ptr<asio::thread_pool> store_pool;
  // Job workers: after the services their handlers use, so they stop first.
  class JobObserver;
  std::unique_ptr<JobObserver> job_observer;
  std::unique_ptr<store::WorkerPool> workers;
  std::mutex job_counts_mu;
  std::vector<store::QueueCounts> job_counts;  // refreshed by Background for the gauges
  // Last: destroyed first, so no coroutine outlives the members it uses.
  std::unique_ptr<HttpServer> server;

  explicit Impl(const GatewayConfig& c) : cfg(c), replay_guard(c.max_skew_s) {}

  void Add(const char* method, const char* pattern, Access access, std::vector<std::string> roles, AuditMode audit_mode,
           bool idem, RouteFn fn) {
    auto idx = router.Add(method, pattern);
    if (!idx.ok()) return;  // the table below is fixed; duplicates are a programming error caught by tests
    routes.push_back({access, std::move(roles), audit_mode, idem, fn});
  }

  // ---- running blocking store work off the io threads ----

  template <typename Fn>
  auto OnStore(const char* op, Fn fn) -> asio::awaitable<decltype(fn())> {
    using T = decltype(fn());
    auto ex = co_await asio::this_coro::executor;
    std::optional<T> result;
    // The initiation is a named object: GCC 12 destroys a lambda with non-trivial captures
    // (here the executor) twice when it is created inside the co_await expression.
    auto initiation = [this, &fn, &result, ex, op](auto handler) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          asio::post(*store_pool, [this, h, &fn, &result, ex, op] {
            auto t0 = std::chrono::steady_clock::now();
            try {
              result.emplace(fn());
            } catch (const std::exception& e) {
              result.emplace(InternalError(std::string("store call threw: ") + e.what()));
            }
            metrics->Observe("vp_store_latency_seconds", "op", op, SecondsSince(t0));
            asio::post(ex, [h] { std::move(*h)(); });
          });
        };
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(initiation, asio::use_awaitable);
    co_return std::move(*result);
  }

  // Appends and waits for COMMIT (group commit: one transaction for every record queued
  // meanwhile, from every connection).
  asio::awaitable<StatusOr<int64_t>> AuditDurable(audit::AuditRecord& rec) {
    auto ex = co_await asio::this_coro::executor;
    std::optional<StatusOr<int64_t>> result;
    auto initiation = [this, &rec, &result, ex](auto handler) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          audit->Append(std::move(rec), [h, &result, ex](StatusOr<int64_t> seq) {
            result.emplace(std::move(seq));
            asio::post(ex, [h] { std::move(*h)(); });
          });
        };
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(initiation, asio::use_awaitable);
    co_return std::move(*result);
  }

  asio::awaitable<StatusOr<bool>> RememberShared(store::ReplayRepo::Item& item) {
    auto ex = co_await asio::this_coro::executor;
    std::optional<StatusOr<bool>> result;
    auto initiation = [this, &item, &result, ex](auto handler) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          auto t0 = std::chrono::steady_clock::now();
          replay_batcher->Submit(std::move(item), [this, h, &result, ex, t0](StatusOr<bool> fresh) {
            metrics->Observe("vp_store_latency_seconds", "op", "replay_batch", SecondsSince(t0));
            result.emplace(std::move(fresh));
            asio::post(ex, [h] { std::move(*h)(); });
          });
        };
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(initiation, asio::use_awaitable);
    co_return std::move(*result);
  }

  // Unused slots of leases that ended go back to the store (PostgreSQL).
  Status ReturnLeases(bool everything) {
    Status first;
    for (const LeasedRateLimiter::Returns& r : leased.TakeReturns(NowMs(), everything)) {
      Status s = rate_repo->Return(r.bucket, r.window_ms, r.kind, r.returns);
      if (first.ok() && !s.ok()) first = s;
    }
    return first;
  }

  void AuditAsync(audit::AuditRecord rec) {
    audit->Append(std::move(rec), [this](StatusOr<int64_t> seq) {
      if (!seq.ok()) audit_failures.fetch_add(1, std::memory_order_relaxed);
    });
  }

  audit::AuditRecord Record(const Request& req, std::string principal, std::string action, std::string outcome,
                            json details) {
    audit::AuditRecord r;
    r.request_id = req.request_id;
    r.principal = std::move(principal);
    r.action = std::move(action);
    r.resource = req.path;
    r.outcome = std::move(outcome);
    r.source_ip = req.remote_ip;
    r.details = details.dump(-1, ' ', false, json::error_handler_t::replace);
    return r;
  }

  // ---- the pipeline ----

  bool OriginAllowed(std::string_view origin) const {
    for (const std::string& o : cfg.cors_origins) {
      if (o == "*" || o == origin) return true;
    }
    return false;
  }

  Response Preflight(const Request& req, std::string_view origin) {
    std::string_view want = req.Header("access-control-request-method");
    RouteMatch m = router.Match(want, req.path);
    if (!OriginAllowed(origin)) {
      return ErrorResponse(PermissionDeniedError("CORS: origin not allowed"), req.request_id);
    }
    if (m.kind != RouteMatch::kFound) {
      return ErrorResponse(PermissionDeniedError("CORS: method not allowed for this path"), req.request_id);
    }
    Response r;
    r.status = 204;
    r.content_type = "text/plain";
    r.SetHeader("Access-Control-Allow-Origin", std::string(origin));
    r.SetHeader("Access-Control-Allow-Methods", std::string(want));
    r.SetHeader("Access-Control-Allow-Headers",
                "Authorization, Content-Type, Idempotency-Key, X-Session-ID, X-Session-Capability");
    r.SetHeader("Access-Control-Max-Age", "600");
    r.SetHeader("Vary", "Origin");
    return r;
  }

  asio::awaitable<Response> Handle(Request& req) {
    std::string_view origin = req.Header("origin");
    Response res;
    size_t metric_route = metrics->unmatched_route();
    if (req.method == "OPTIONS" && !origin.empty() && req.HasHeader("access-control-request-method")) {
      res = Preflight(req, origin);
    } else {
      RouteMatch m = router.Match(req.method, req.path);
      if (m.kind == RouteMatch::kNotFound) {
        res = ErrorResponse(NotFoundError("no route for " + req.method + " " + req.path), req.request_id);
      } else if (m.kind == RouteMatch::kMethodNotAllowed) {
        res = ErrorResponse(InvalidArgumentError("method " + req.method + " not allowed; allowed: " + m.allowed),
                            req.request_id, 405);
        res.SetHeader("Allow", m.allowed);
      } else {
        req.params = std::move(m.params);
        req.route = router.Label(m.index);
        req.route_index = m.index;
        metric_route = m.index;
        res = co_await Process(req, routes[m.index]);
      }
      if (!origin.empty() && OriginAllowed(origin)) {
        res.SetHeader("Access-Control-Allow-Origin", std::string(origin));
        res.SetHeader("Access-Control-Expose-Headers", "X-Request-ID, Retry-After, Idempotent-Replayed");
        res.SetHeader("Vary", "Origin");
      }
    }
    double took = SecondsSince(req.received_at);
    metrics->ObserveRequest(metric_route, res.status, took);
    if (cfg.access_log || res.status >= 500) {
      log->log(res.status >= 500 ? spdlog::level::warn : spdlog::level::info,
               LogFields("request", {{"requestId", req.request_id},
                                     {"method", req.method},
                                     {"path", req.path},
                                     {"status", res.status},
                                     {"ms", took * 1000},
                                     {"ip", req.remote_ip}}));
    }
    co_return res;
  }

  struct LimitSpec {
    std::string bucket;
    int64_t window_ms;
    int64_t limit;
    RateKind kind;
    const char* scope;
  };

  asio::awaitable<std::optional<Response>> CheckLimits(const Request& req, const std::vector<LimitSpec>& limits,
                                                        const std::string& principal) {
    int64_t now = NowMs();
    for (const LimitSpec& l : limits) {
      RateDecision d;
      if (distributed) {
        std::optional<RateDecision> local = leased.TryLocal(l.bucket, now);
        if (local) {
          d = *local;
        } else {
          const store::WindowKind kind =
              l.kind == RateKind::kSliding ? store::WindowKind::kSliding : store::WindowKind::kFixed;
          const LeasedRateLimiter::LeaseRequest ask = leased.Prepare(l.bucket, l.window_ms, kind, now);
          auto r = co_await OnStore("rate_limit_lease", [&] {
            return rate_repo->Lease(l.bucket, l.window_ms, l.limit, now, kind, ask.want, leased.hold_ms(),
                                    ask.returns);
          });
          if (!r.ok()) co_return ErrorResponse(UnavailableError("rate limiter unavailable"), req.request_id);
          d = leased.Apply(l.bucket, *r, now);
        }
      } else {
        d = limiter.Hit(l.bucket, l.window_ms, l.limit, now, l.kind);
      }
      if (!d.allowed) {
        metrics->Count("vp_rate_limited_total", "scope", l.scope);
        Response res = ErrorResponse(ResourceExhaustedError(std::string("rate limit exceeded (") + l.scope + ")"),
                                     req.request_id);
        res.SetHeader("Retry-After", std::to_string(RetryAfterSeconds(d.retry_after_ms)));
        AuditAsync(Record(req, principal, "rate_limit.refused", "denied", {{"scope", l.scope}, {"route", req.route}}));
        co_return res;
      }
    }
    co_return std::nullopt;
  }

  const RouteRateLimit* RouteLimit(std::string_view label) const {
    auto it = cfg.route_limits.find(std::string(label));
    return it == cfg.route_limits.end() ? nullptr : &it->second;
  }

  // Authenticates the request; on failure returns the Status (401 / 503) and the reason label.
  asio::awaitable<StatusOr<Principal>> Authenticate(const Request& req, std::string* reason,
                                                    std::string* claimed_key) {
    std::string_view header = req.Header("authorization");
    if (header.empty()) {
      *reason = "missing";
      co_return UnauthenticatedError("missing Authorization header (VP1-HMAC-SHA256)");
    }
    auto auth = ParseVp1Authorization(header);
    if (!auth.ok()) {
      *reason = "malformed";
      co_return auth.status();
    }
    *claimed_key = auth->key_id;
    int64_t now_ms = NowMs();
    Status skew = Vp1CheckSkew(auth->timestamp, now_ms / 1000, cfg.max_skew_s);
    if (!skew.ok()) {
      *reason = "skew";
      co_return skew;
    }
    std::shared_ptr<const CachedApiKey> key = keys->Cached(auth->key_id, now_ms);
    if (!key) {
      auto loaded = co_await OnStore("api_key_get", [&] { return keys->Load(auth->key_id, now_ms); });
      if (!loaded.ok()) {
        *reason = "store";
        log->error(LogFields("api key lookup failed", {{"requestId", req.request_id},
                                                        {"error", loaded.status().ToString()}}));
        co_return loaded.status().code() == StatusCode::kInternal
            ? UnauthenticatedError("API key cannot be verified")
            : UnavailableError("key store unavailable");
      }
      key = *loaded;
    }
    if (!key->found) {
      *reason = "unknown_key";
      co_return UnauthenticatedError("unknown API key");
    }
    if (key->disabled) {
      *reason = "disabled_key";
      co_return UnauthenticatedError("API key is disabled");
    }
    Status sig = Vp1Verify(*auth, key->secret.view(), req.method, req.path, req.query, req.body);
    if (!sig.ok()) {
      *reason = "bad_signature";
      co_return sig;
    }
    // Seen here before: a replay, no store needed. With several gateways the store decides
    // the rest, in batches shared by every request in flight.
    bool fresh = replay_guard.Remember(auth->timestamp, auth->signature, now_ms / 1000);
    if (fresh && distributed) {
      store::ReplayRepo::Item item{auth->key_id, HexEncode(auth->signature),
                                   (auth->timestamp + cfg.max_skew_s + 1) * 1000};
      StatusOr<bool> r = co_await RememberShared(item);
      if (!r.ok()) {
        *reason = "store";
        co_return UnavailableError("replay store unavailable");
      }
      fresh = *r;
    }
    if (!fresh) {
      *reason = "replay";
      co_return UnauthenticatedError("replayed signature: add a unique query parameter to repeat a request");
    }
    keys->NoteUse(key->id, now_ms);
    co_return Principal{key->id, key->role};
  }

  asio::awaitable<Response> Process(Request& req, const RouteSpec& spec) {
    // GCC 12 may destroy temporaries inside a co_await expression twice: every argument of
    // a co_awaited call in this file is a named object.
    if (spec.access == Access::kPublic) {
      const Principal nobody;
      co_return co_await (this->*spec.fn)(req, nobody);
    }
    if (spec.access == Access::kBallot) co_return co_await ProcessBallot(req, spec);

    const RouteRateLimit* rl = RouteLimit(req.route);
    {
      std::vector<LimitSpec> ip_limits;
      ip_limits.push_back({"ip:" + req.remote_ip, cfg.per_ip_window_ms, cfg.per_ip_limit, RateKind::kSliding, "ip"});
      if (rl != nullptr && rl->per_ip > 0) {
        ip_limits.push_back({"route:" + std::string(req.route) + "|ip:" + req.remote_ip,
                             rl->window_ms > 0 ? rl->window_ms : cfg.per_ip_window_ms, rl->per_ip,
                             RateKind::kSliding, "route_ip"});
      }
      const std::string anonymous;
      std::optional<Response> refused = co_await CheckLimits(req, ip_limits, anonymous);
      if (refused) co_return std::move(*refused);
    }

    std::string reason, claimed;
    StatusOr<Principal> who = co_await Authenticate(req, &reason, &claimed);
    if (!who.ok()) {
      metrics->Count("vp_auth_failures_total", "reason", reason);
      AuditAsync(Record(req, claimed, "auth.failure", "denied",
                        {{"reason", reason}, {"route", req.route}}));
      co_return ErrorResponse(who.status(), req.request_id);
    }
    const Principal& p = *who;
    if (!spec.roles.empty()) {
      bool allowed = false;
      for (const std::string& r : spec.roles) allowed = allowed || r == p.role;
      if (!allowed) {
        metrics->Count("vp_auth_failures_total", "reason", "role");
        AuditAsync(Record(req, p.key_id, "authz.denied", "denied", {{"role", p.role}, {"route", req.route}}));
        co_return ErrorResponse(PermissionDeniedError("role " + p.role + " may not call " + std::string(req.route)),
                                req.request_id);
      }
    }

    {
      std::vector<LimitSpec> limits;
      limits.push_back({"key:" + p.key_id, cfg.per_key_window_ms, cfg.per_key_limit, RateKind::kSliding, "key"});
      if (rl != nullptr && rl->per_key > 0) {
        limits.push_back({"route:" + std::string(req.route) + "|key:" + p.key_id,
                          rl->window_ms > 0 ? rl->window_ms : cfg.per_key_window_ms, rl->per_key,
                          RateKind::kSliding, "route_key"});
      }
      if (cfg.global_hourly > 0) limits.push_back({"global:hour", kHourMs, cfg.global_hourly, RateKind::kFixed, "global_hour"});
      if (cfg.global_daily > 0) limits.push_back({"global:day", kDayMs, cfg.global_daily, RateKind::kFixed, "global_day"});
      std::optional<Response> refused = co_await CheckLimits(req, limits, p.key_id);
      if (refused) co_return std::move(*refused);
    }

    // Idempotency: the request hash covers method, path and body, not the query or the
    // signature, so a retry (new timestamp, new nonce parameter) still matches.
    std::string idem_key(req.Header("idempotency-key"));
    bool idem = spec.idempotent && req.method == "POST" && !idem_key.empty();
    if (idem) {
      if (idem_key.size() > 255) {
        co_return ErrorResponse(InvalidArgumentError("Idempotency-Key: at most 255 characters"), req.request_id);
      }
      std::string material = req.method + "\n" + req.path + "\n";
      material += HexEncode(crypto::Sha256(AsBytes(req.body)));
      ByteArray<32> request_hash = crypto::Sha256(AsBytes(material));
      int64_t now = NowMs();
      auto reservation = co_await OnStore("idempotency_reserve", [&] {
        return idempotency->Reserve(p.key_id, idem_key, request_hash, now);
      });
      if (!reservation.ok()) {
        if (reservation.status().code() == StatusCode::kInvalidArgument) {
          co_return ErrorResponse(reservation.status(), req.request_id);
        }
        co_return ErrorResponse(UnavailableError("idempotency store unavailable"), req.request_id);
      }
      switch (reservation->outcome) {
        case store::ReserveOutcome::kNew:
          break;
        case store::ReserveOutcome::kInProgress:
          co_return ErrorResponse(FailedPreconditionError("a request with this Idempotency-Key is still in progress"),
                                  req.request_id);
        case store::ReserveOutcome::kConflict:
          co_return ErrorResponse(
              FailedPreconditionError("Idempotency-Key was already used with a different request"), req.request_id);
        case store::ReserveOutcome::kCompleted: {
          const store::StoredResponse& stored = *reservation->response;
          Response res;
          res.status = static_cast<unsigned>(stored.status_code);
          res.content_type = stored.content_type;
          res.body.assign(stored.body.begin(), stored.body.end());
          res.SetHeader("Idempotent-Replayed", "true");
          audit::AuditRecord rec = Record(req, p.key_id, std::string(req.route), OutcomeFor(res.status),
                                          {{"status", res.status}, {"idempotentReplay", true}});
          if (spec.audit == AuditMode::kDurable) {
            auto seq = co_await AuditDurable(rec);
            if (!seq.ok()) co_return ErrorResponse(UnavailableError("audit log unavailable"), req.request_id);
          } else if (spec.audit == AuditMode::kAsync) {
            AuditAsync(std::move(rec));
          }
          co_return res;
        }
      }
    }

    Response res = co_await (this->*spec.fn)(req, p);

    audit::AuditRecord rec = Record(req, p.key_id, std::string(req.route), OutcomeFor(res.status),
                                    {{"status", res.status}});
    if (spec.audit == AuditMode::kDurable) {
      auto seq = co_await AuditDurable(rec);
      if (!seq.ok()) {
        // Never acknowledge what the audit log does not hold.
        log->error(LogFields("audit append failed", {{"requestId", req.request_id},
                                                      {"error", seq.status().ToString()}}));
        if (idem) co_await OnStore("idempotency_release", [&] { return idempotency->Release(p.key_id, idem_key); });
        co_return ErrorResponse(UnavailableError("audit log unavailable"), req.request_id);
      }
    } else if (spec.audit == AuditMode::kAsync && cfg.audit_reads) {
      AuditAsync(std::move(rec));
    }

    if (idem) {
      int64_t now = NowMs();
      Status s;
      if (res.status >= 500) {
        s = co_await OnStore("idempotency_release", [&] { return idempotency->Release(p.key_id, idem_key); });
      } else {
        s = co_await OnStore("idempotency_complete", [&] {
          return idempotency->Complete(p.key_id, idem_key, static_cast<int>(res.status), res.content_type,
                                       AsBytes(res.body), now);
        });
      }
      if (!s.ok()) {
        log->warn(LogFields("idempotency record not stored", {{"requestId", req.request_id},
                                                               {"error", s.ToString()}}));
      }
    }
    co_return res;
  }

  // The ballot routes: the client's IP limits (the platform's per-IP bucket, then the
  // route's: [rate_limits.routes] per_ip when set, else [ballot] vote/session limits), the
  // /api body limit, the handler (which checks the session capability), and an asynchronous
  // audit record for the writes.
  asio::awaitable<Response> ProcessBallot(Request& req, const RouteSpec& spec) {
    {
      std::vector<LimitSpec> limits;
      limits.push_back({"ip:" + req.remote_ip, cfg.per_ip_window_ms, cfg.per_ip_limit, RateKind::kSliding, "ip"});
      const BallotLimit bl = BallotRouteLimit(req.route);
      if (bl.limit > 0) {
        limits.push_back({"route:" + std::string(req.route) + "|ip:" + req.remote_ip, bl.window_ms, bl.limit,
                          RateKind::kSliding, "route_ip"});
      }
      if (req.route == "POST /api/finalize") {
        // Proofs are the expensive call: global windows besides the per-IP one.
        if (cfg.ballot_finalize_global_per_hour > 0) {
          limits.push_back({"route:POST /api/finalize|global:hour", kHourMs, cfg.ballot_finalize_global_per_hour,
                            RateKind::kSliding, "route_global"});
        }
        if (cfg.ballot_finalize_global_per_day > 0) {
          limits.push_back({"route:POST /api/finalize|global:day", kDayMs, cfg.ballot_finalize_global_per_day,
                            RateKind::kSliding, "route_global"});
        }
      }
      const std::string anonymous;
      std::optional<Response> refused = co_await CheckLimits(req, limits, anonymous);
      if (refused) co_return std::move(*refused);
    }
    if (req.body.size() > static_cast<size_t>(cfg.ballot_body_bytes)) {
      co_return ErrorResponse(
          ResourceExhaustedError("body over the " + std::to_string(cfg.ballot_body_bytes) + "-byte limit of /api"),
          req.request_id, 413);
    }
    const Principal nobody;
    Response res = co_await (this->*spec.fn)(req, nobody);
    if (spec.audit == AuditMode::kAsync) {
      AuditAsync(Record(req, "", std::string(req.route), OutcomeFor(res.status), {{"status", res.status}}));
    }
    co_return res;
  }

  struct BallotLimit {
    int64_t limit = 0;
    int64_t window_ms = 0;
  };
  BallotLimit BallotRouteLimit(std::string_view route) const {
    BallotLimit out{0, cfg.ballot_limit_window_ms};
    if (const RouteRateLimit* rl = RouteLimit(route); rl != nullptr && rl->per_ip > 0) {
      out.limit = rl->per_ip;
      if (rl->window_ms > 0) out.window_ms = rl->window_ms;
    } else if (route == "POST /api/vote") {
      out.limit = cfg.ballot_vote_limit_per_ip;
    } else if (route == "POST /api/session") {
      out.limit = cfg.ballot_session_limit_per_ip;
    } else if (route == "POST /api/finalize") {
      out.limit = cfg.ballot_finalize_limit_per_ip;
      out.window_ms = kDayMs;
    } else if (route == "POST /api/finalize/cancel") {
      out.limit = cfg.ballot_cancel_limit_per_ip;
      out.window_ms = 60000;
    }
    return out;
  }

  // ---- the ballot API (docs/api.md, "Ballot API") ----

  // Refusals with their codes (ALREADY_VOTED, SESSION_EXPIRED, CAPTCHA_FAILED, ...); a signer
  // that is down or restarting is 503 SIGNER_UNAVAILABLE.
  static Response BallotError(const Status& s, const Request& req) {
    if (std::string_view code = election::ErrorCode(s); !code.empty()) return ErrorResponseNamed(s, code, req.request_id);
    if (s.code() == StatusCode::kUnavailable && s.message().rfind("signer unavailable", 0) == 0)
      return ErrorResponseNamed(s, "SIGNER_UNAVAILABLE", req.request_id);
    return ErrorResponse(s, req.request_id);
  }

  using BallotWork = std::function<StatusOr<json>()>;

  // Runs ballot work on a store thread (it may also wait for the signer and siteverify).
  // The work is built by plain functions before this coroutine (GCC 12 and coroutine frames).
  asio::awaitable<Response> RunBallotWork(Request& req, const char* op, StatusOr<BallotWork> work, unsigned ok_status) {
    if (!ballot) co_return ErrorResponse(UnavailableError("the ballot service is not running"), req.request_id);
    if (!work.ok()) co_return BallotError(work.status(), req);
    BallotWork fn = std::move(*work);
    auto out = co_await OnStore(op, fn);
    if (!out.ok()) co_return BallotError(out.status(), req);
    co_return DataResponse(*out, ok_status);
  }

  struct SessionHeaders {
    std::string id;
    std::string capability;
  };
  static SessionHeaders SessionOf(const Request& req) {
    return {std::string(req.Header("x-session-id")), std::string(req.Header("x-session-capability"))};
  }

  // The optional turnstileToken of a body object ("" when absent or null).
  static StatusOr<std::string> TurnstileToken(const json& body) {
    if (!body.contains("turnstileToken") || body["turnstileToken"].is_null()) return std::string();
    if (!body["turnstileToken"].is_string()) return InvalidArgumentError("turnstileToken: must be a string");
    return body["turnstileToken"].get<std::string>();
  }

  StatusOr<BallotWork> SessionWork(const Request& req) {
    std::string token;
    if (!req.body.empty()) {
      ASSIGN_OR_RETURN(json j, ParseJsonObject(req.body));
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key() != "turnstileToken") return InvalidArgumentError("unknown field \"" + it.key() + "\" (turnstileToken)");
      }
      ASSIGN_OR_RETURN(token, TurnstileToken(j));
    }
    return BallotWork([this, token, ip = req.remote_ip, now = NowMs()]() -> StatusOr<json> {
      RETURN_IF_ERROR(turnstile->Verify(token, "session", ip));
      ASSIGN_OR_RETURN(election::CreatedSession s, ballot->CreateSession(now));
      return election::CreatedSessionJson(s);
    });
  }

  StatusOr<BallotWork> VoteWork(const Request& req) {
    return BallotWork([this, who = SessionOf(req), body = req.body, ip = req.remote_ip, now = NowMs()]() -> StatusOr<json> {
      ASSIGN_OR_RETURN(election::SessionContext ctx, ballot->Authenticate(who.id, who.capability, now));
      ASSIGN_OR_RETURN(json j, ParseJsonObject(body));
      ASSIGN_OR_RETURN(election::VoteInput vote, election::ParseVoteInput(j));
      ASSIGN_OR_RETURN(std::string token, TurnstileToken(j));
      RETURN_IF_ERROR(turnstile->Verify(token, "vote", ip));
      ASSIGN_OR_RETURN(election::Receipt receipt, ballot->CastVote(ctx, vote, now));
      return election::ReceiptJson(receipt);
    });
  }

  // Reads of the session's election: authenticate, then `read` with the election id.
  BallotWork SessionRead(const Request& req, std::function<StatusOr<json>(const std::string&)> read) {
    return BallotWork([this, who = SessionOf(req), read = std::move(read), now = NowMs()]() -> StatusOr<json> {
      ASSIGN_OR_RETURN(election::SessionContext ctx, ballot->Authenticate(who.id, who.capability, now));
      return read(ctx.election.id);
    });
  }

  struct BulletinQuery {
    int64_t offset = 0;
    int64_t limit = 100;
    int64_t old_size = -1;
    int64_t new_size = -1;
  };
  static StatusOr<BulletinQuery> ParseBulletinQuery(std::string_view query) {
    ASSIGN_OR_RETURN(auto params, ParseQuery(query));
    BulletinQuery q;
    for (const auto& kv : params) {
      if (kv.first == "offset") {
        ASSIGN_OR_RETURN(q.offset, ParseNonNegative(kv.second, "offset"));
      } else if (kv.first == "limit") {
        ASSIGN_OR_RETURN(q.limit, ParseNonNegative(kv.second, "limit"));
      } else if (kv.first == "oldSize") {
        ASSIGN_OR_RETURN(q.old_size, ParseNonNegative(kv.second, "oldSize"));
      } else if (kv.first == "newSize") {
        ASSIGN_OR_RETURN(q.new_size, ParseNonNegative(kv.second, "newSize"));
      }  // others are ignored, as on every list route
    }
    return q;
  }

  StatusOr<BallotWork> BulletinWork(const Request& req) {
    ASSIGN_OR_RETURN(BulletinQuery q, ParseBulletinQuery(req.query));
    return SessionRead(req, [this, q](const std::string& id) { return ballot->Bulletin(id, q.offset, q.limit); });
  }
  StatusOr<BallotWork> ConsistencyWork(const Request& req) {
    ASSIGN_OR_RETURN(BulletinQuery q, ParseBulletinQuery(req.query));
    if (q.old_size < 0 || q.new_size < 0) return InvalidArgumentError("oldSize and newSize: required");
    return SessionRead(req, [this, q](const std::string& id) {
      return ballot->ConsistencyProof(id, q.old_size, q.new_size);
    });
  }
  StatusOr<BallotWork> InclusionWork(const Request& req) {
    return SessionRead(req, [this, vote = std::string(req.Param("voteId"))](const std::string& id) {
      return ballot->InclusionProof(id, vote);
    });
  }
  StatusOr<BallotWork> SthWork(const Request& req) {
    return SessionRead(req, [this](const std::string& id) -> StatusOr<json> {
      ASSIGN_OR_RETURN(ballot::SignedSth head, ballot->LatestSth(id));
      return json{{"electionId", id},
                  {"sth", election::SthJson(head)},
                  {"logPublicKey", HexEncode(ballot->log_public_key())}};
    });
  }
  StatusOr<BallotWork> ProgressWork(const Request& req) {
    return SessionRead(req, [this](const std::string& id) { return ballot->Progress(id); });
  }

  // ---- finalization and verification (election/finalize.h) ----

  // Work on the caller's own session: authenticate, then fn with the context.
  BallotWork SessionAct(const Request& req, std::function<StatusOr<json>(const election::SessionContext&, int64_t)> fn) {
    return BallotWork([this, who = SessionOf(req), fn = std::move(fn), now = NowMs()]() -> StatusOr<json> {
      if (!finalize) return UnavailableError("finalization is not running");
      ASSIGN_OR_RETURN(election::SessionContext ctx, ballot->Authenticate(who.id, who.capability, now));
      return fn(ctx, now);
    });
  }
  StatusOr<BallotWork> FinalizeWork(const Request& req) {
    ASSIGN_OR_RETURN(json j, ParseJsonObject(req.body));
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() != "scenarioId" && it.key() != "turnstileToken") {
        return InvalidArgumentError("unknown field \"" + it.key() + "\"");
      }
    }
    if (!j.contains("scenarioId") || !j["scenarioId"].is_string()) {
      return Status(StatusCode::kInvalidArgument,
                    std::string(election::kInvalidScenario) + ": scenarioId must be one of S0..S5");
    }
    ASSIGN_OR_RETURN(std::string token, TurnstileToken(j));
    const bool sync = cfg.ballot_finalize_mode == "sync";
    return SessionAct(req, [this, scenario = j["scenarioId"].get<std::string>(), token, ip = req.remote_ip, sync](
                               const election::SessionContext& ctx, int64_t now) -> StatusOr<json> {
      RETURN_IF_ERROR(turnstile->Verify(token, "finalize", ip));
      ASSIGN_OR_RETURN(election::Execution e, finalize->Start(ctx, scenario, now));
      if (sync) {
        ASSIGN_OR_RETURN(e, finalize->WaitFor(e.id, cfg.ballot_finalize_timeout_ms));
      }
      return finalize->StatusJson(e, NowMs());
    });
  }
  StatusOr<BallotWork> SessionStatusWork(const Request& req) {
    return SessionAct(req, [this, id = std::string(req.Param("sessionId"))](const election::SessionContext& ctx,
                                                                          int64_t now) -> StatusOr<json> {
      if (id != ctx.session.id) return PermissionDeniedError("a session can read only its own status");
      auto e = finalize->Latest(ctx.session.id);
      if (!e.ok() && e.status().code() == StatusCode::kNotFound) {
        return json{{"sessionId", ctx.session.id}, {"state", "none"}, {"voted", ctx.session.voted}};
      }
      if (!e.ok()) return e.status();
      json out = finalize->StatusJson(*e, now);
      out["sessionId"] = ctx.session.id;
      out["voted"] = ctx.session.voted;
      return out;
    });
  }
  StatusOr<BallotWork> FinalizeCancelWork(const Request& req) {
    return SessionAct(req, [this](const election::SessionContext& ctx, int64_t now) -> StatusOr<json> {
      ASSIGN_OR_RETURN(election::Execution e, finalize->Cancel(ctx, now));
      return finalize->StatusJson(e, now);
    });
  }
  StatusOr<BallotWork> VerifyWork(const Request& req) {
    return SessionAct(req, [this](const election::SessionContext& ctx, int64_t) { return finalize->Verify(ctx); });
  }
  StatusOr<BallotWork> VerificationRunWork(const Request& req) {
    return SessionAct(req, [this](const election::SessionContext& ctx, int64_t now) {
      return finalize->RunVerification(ctx, now);
    });
  }

  asio::awaitable<Response> BallotFinalize(Request& req, const Principal&) {
    return RunBallotWork(req, "ballot_finalize", FinalizeWork(req), cfg.ballot_finalize_mode == "sync" ? 200 : 202);
  }
  asio::awaitable<Response> BallotSessionStatus(Request& req, const Principal&) {
    return RunBallotWork(req, "ballot_read", SessionStatusWork(req), 200);
  }
  asio::awaitable<Response> BallotFinalizeCancel(Request& req, const Principal&) {
    return RunBallotWork(req, "ballot_finalize", FinalizeCancelWork(req), 200);
  }
  asio::awaitable<Response> BallotVerify(Request& req, const Principal&) {
    return RunBallotWork(req, "ballot_verify", VerifyWork(req), 200);
  }
  asio::awaitable<Response> BallotVerificationRun(Request& req, const Principal&) {
    return RunBallotWork(req, "ballot_verify", VerificationRunWork(req), 200);
  }
  // The bundle is public evidence: anyone holding both ids may fetch it.
  asio::awaitable<Response> BallotBundle(Request& req, const Principal&) {
    if (!finalize) co_return ErrorResponse(UnavailableError("finalization is not running"), req.request_id);
    const std::string session_id(req.Param("sessionId"));
    const std::string execution_id(req.Param("executionId"));
    std::function<StatusOr<Bytes>()> fetch = [this, session_id, execution_id]() {
      return finalize->Bundle(session_id, execution_id);
    };
    auto zip = co_await OnStore("ballot_bundle", fetch);
    if (!zip.ok()) co_return BallotError(zip.status(), req);
    Response r;
    r.content_type = "application/zip";
    r.body.assign(zip->begin(), zip->end());
    r.SetHeader("Content-Disposition", "attachment; filename=\"bundle.zip\"");
    co_return r;
  }

  asio::awaitable<Response> BallotSession(Request& req, const Principal&) {
    return RunBallotWork(req, "ballot_session", SessionWork(req), 201);
  }
  asio::awaitable<Response> BallotVote(Request& req, const Principal&) {
    return RunBallotWork(req, "ballot_vote", VoteWork(req), 201);
  }
  asio::awaitable<Response> BallotProgress(Request& req, const Principal&) {
    return RunBallotWork(req, "ballot_read", ProgressWork(req), 200);
  }
  asio::awaitable<Response> BallotBulletin(Request& req, const Principal&) {
    return RunBallotWork(req, "ballot_read", BulletinWork(req), 200);
  }
  asio::awaitable<Response> BallotInclusion(Request& req, const Principal&) {
    return RunBallotWork(req, "ballot_proof", InclusionWork(req), 200);
  }
  asio::awaitable<Response> BallotConsistency(Request& req, const Principal&) {
    return RunBallotWork(req, "ballot_proof", ConsistencyWork(req), 200);
  }
  asio::awaitable<Response> BallotSth(Request& req, const Principal&) {
    return RunBallotWork(req, "ballot_read", SthWork(req), 200);
  }

  // ---- handlers ----

  asio::awaitable<Response> Healthz(Request&, const Principal&) {
    co_return DataResponse({{"status", "ok"}});
  }

  asio::awaitable<Response> WebPage(Request& req, const Principal&) { co_return site.Serve(req.path, req.request_id); }

  asio::awaitable<Response> Readyz(Request& req, const Principal&) {
    if (server->draining()) co_return ErrorResponse(UnavailableError("shutting down"), req.request_id);
    Status s = co_await OnStore("ping", [&] {
      return db->WithConn([](store::Conn& c) { return c.Query("SELECT 1").status(); });
    });
    if (!s.ok()) co_return ErrorResponse(UnavailableError("store unreachable"), req.request_id);
    // Ready needs the signer when this gateway runs one (it is restarting otherwise).
    if (custody && !custody->signer_up())
      co_return ErrorResponseNamed(UnavailableError("signer not ready"), "SIGNER_UNAVAILABLE", req.request_id);
    co_return DataResponse({{"status", "ready"}, {"store", "ok"}, {"audit", "ok"},
                            {"signer", custody ? "ok" : "disabled"}});
  }

  asio::awaitable<Response> MetricsText(Request&, const Principal&) {
    Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics->Render();
    co_return r;
  }

  asio::awaitable<Response> Ping(Request&, const Principal& p) {
    co_return DataResponse({{"pong", true}, {"keyId", p.key_id}, {"role", p.role}, {"time", NowMs()}});
  }

  // The signer's own health (hardening, caches) and the launcher's view of both children.
  // 503 SIGNER_UNAVAILABLE while the signer is down or restarting.
  asio::awaitable<Response> CustodyHealth(Request& req, const Principal&) {
    if (!custody) co_return ErrorResponseNamed(UnavailableError("custody is disabled in this gateway's config"),
                                               "SIGNER_UNAVAILABLE", req.request_id);
    auto health = co_await OnStore("custody_health", [&] { return custody->client().Health(); });
    if (!health.ok()) {
      if (health.status().code() == StatusCode::kUnavailable)
        co_return ErrorResponseNamed(health.status(), "SIGNER_UNAVAILABLE", req.request_id);
      co_return ErrorResponse(health.status(), req.request_id);
    }
    co_return DataResponse({{"signer", *health}, {"launcher", custody->StatusJson()}});
  }

  // ---- wallets (docs/api.md, "Wallets") ----

  // A signer that is down or restarting is 503 SIGNER_UNAVAILABLE; everything else maps as usual.
  static Response WalletError(const Status& s, const Request& req) {
    if (s.code() == StatusCode::kUnavailable && s.message().rfind("signer unavailable", 0) == 0)
      return ErrorResponseNamed(s, "SIGNER_UNAVAILABLE", req.request_id);
    if (std::string_view code = wallet::RefusalCode(s); !code.empty()) return ErrorResponseNamed(s, code, req.request_id);
    return ErrorResponse(s, req.request_id);
  }

  // Runs wallet work on a store thread and answers with its JSON or its refusal. The work
  // is built by plain functions before this coroutine (GCC 12 and large coroutine frames).
  asio::awaitable<Response> RunWalletWork(Request& req, const char* op, StatusOr<std::function<StatusOr<json>()>> work,
                                          unsigned ok_status) {
    Response early;
    if (!WalletsReady(req, early)) co_return early;
    if (!work.ok()) co_return ErrorResponse(work.status(), req.request_id);
    std::function<StatusOr<json>()> fn = std::move(*work);
    auto out = co_await OnStore(op, fn);
    if (!out.ok()) co_return WalletError(out.status(), req);
    // The work may have enqueued jobs (broadcasts, webhook deliveries): run them now rather
    // than at the workers' next poll.
    if (workers && req.method != "GET") workers->Notify();
    co_return DataResponse(*out, ok_status);
  }
  using Work = std::function<StatusOr<json>()>;

  asio::awaitable<Response> PrepareImport(Request& req, const Principal&) {
    auto work = [&]() -> StatusOr<Work> {
      ASSIGN_OR_RETURN(json j, ParseJsonObject(req.body));
      if (!j.contains("kind") || !j["kind"].is_string()) return InvalidArgumentError("kind: required string");
      return Work([this, kind = j["kind"].get<std::string>()] { return wallets->PrepareImport(kind); });
    };
    return RunWalletWork(req, "wallet_import", work(), 200);
  }
  asio::awaitable<Response> ImportWallet(Request& req, const Principal& p) {
    auto work = [&]() -> StatusOr<Work> {
      ASSIGN_OR_RETURN(json j, ParseJsonObject(req.body));
      for (const char* f : {"walletId", "name", "kind", "sealedSecret"}) {
        if (!j.contains(f) || !j[f].is_string()) return InvalidArgumentError(std::string(f) + ": required string");
      }
      ASSIGN_OR_RETURN(Bytes sealed, HexDecode(j["sealedSecret"].get<std::string>(), HexPrefix::kRequired));
      if (sealed.size() > 4096) return InvalidArgumentError("sealedSecret: at most 4096 bytes");
      return Work([this, id = j["walletId"].get<std::string>(), name = j["name"].get<std::string>(),
                   kind = j["kind"].get<std::string>(), sealed, who = p.key_id, now = NowMs()]() -> StatusOr<json> {
        ASSIGN_OR_RETURN(wallet::Wallet w, wallets->Import(id, name, kind, sealed, who, now));
        return wallet::WalletJson(w);
      });
    };
    return RunWalletWork(req, "wallet_import", work(), 201);
  }

  asio::awaitable<Response> PutPolicy(Request& req, const Principal& p) {
    auto work = [&]() -> StatusOr<Work> {
      ASSIGN_OR_RETURN(json j, ParseJsonObject(req.body));
      ASSIGN_OR_RETURN(wallet::Policy policy, wallet::ParsePolicy(j));
      return Work([this, id = std::string(req.Param("id")), policy, who = p.key_id, now = NowMs()]() -> StatusOr<json> {
        if (Status s = transactions->PutPolicy(id, policy, who, now); !s.ok()) return s;
        return transactions->GetPolicy(id);
      });
    };
    return RunWalletWork(req, "wallet_policy", work(), 200);
  }
  asio::awaitable<Response> GetPolicy(Request& req, const Principal&) {
    return RunWalletWork(req, "wallet_policy", Work([this, id = std::string(req.Param("id"))] {
                           return transactions->GetPolicy(id);
                         }), 200);
  }
  asio::awaitable<Response> CreateTransaction(Request& req, const Principal& p) {
    auto work = [&]() -> StatusOr<Work> {
      ASSIGN_OR_RETURN(json j, ParseJsonObject(req.body));
      // The Idempotency-Key goes into the record's own transaction (migration 17): a retry
      // after a crash between that commit and the key's completion finds the transfer.
      return Work([this, id = std::string(req.Param("id")), j, who = p.key_id, now = NowMs(),
                   idem = std::string(req.Header("idempotency-key"))] {
        return transactions->Create(id, j, who, now, idem);
      });
    };
    return RunWalletWork(req, "wallet_tx_create", work(), 201);
  }
  asio::awaitable<Response> GetTransaction(Request& req, const Principal&) {
    return RunWalletWork(req, "wallet_tx_get", Work([this, id = std::string(req.Param("id"))] {
                           return transactions->Get(id);
                         }), 200);
  }
  asio::awaitable<Response> ListTransactions(Request& req, const Principal&) {
    auto work = [&]() -> StatusOr<Work> {
      ASSIGN_OR_RETURN(ListQuery q, ParseListQuery(req.query, {"walletId", "status"}));
      return Work([this, wallet_id = q.Text("walletId"), status = q.Text("status"), limit = q.limit] {
        return transactions->List(wallet_id, status, limit);
      });
    };
    return RunWalletWork(req, "wallet_tx_list", work(), 200);
  }
  // ---- chains and webhooks (docs/chains.md, docs/api.md "Webhooks") ----

  static StatusOr<uint64_t> ParseChainId(std::string_view text) {
    ASSIGN_OR_RETURN(int64_t id, ParseNonNegative(text, "chainId"));
    if (id == 0) return InvalidArgumentError("chainId: must be positive");
    return static_cast<uint64_t>(id);
  }

  asio::awaitable<Response> PutChain(Request& req, const Principal& p) {
    auto work = [&]() -> StatusOr<Work> {
      ASSIGN_OR_RETURN(uint64_t id, ParseChainId(req.Param("chainId")));
      ASSIGN_OR_RETURN(json j, ParseJsonObject(req.body));
      wallet::ChainConfig chain;
      for (const auto& [k, v] : j.items()) {
        if (k == "rpcUrl" && v.is_string()) {
          chain.rpc_url = v.get<std::string>();
        } else if (k == "confirmations" && v.is_number_integer()) {
          chain.confirmations = v.get<int64_t>();
        } else {
          return InvalidArgumentError(k == "rpcUrl" || k == "confirmations" ? k + ": wrong type"
                                                                            : "unknown field " + k);
        }
      }
      if (chain.rpc_url.empty()) return InvalidArgumentError("rpcUrl: required string");
      return Work([this, id, chain, who = p.key_id, now = NowMs()]() -> StatusOr<json> {
        if (Status s = chains->Put(id, chain, who, now); !s.ok()) return s;
        ASSIGN_OR_RETURN(wallet::Chain c, chains->Get(id));
        return wallet::ChainJson(c);
      });
    };
    return RunWalletWork(req, "chain_put", work(), 200);
  }
  asio::awaitable<Response> GetChain(Request& req, const Principal&) {
    auto work = [&]() -> StatusOr<Work> {
      ASSIGN_OR_RETURN(uint64_t id, ParseChainId(req.Param("chainId")));
      return Work([this, id]() -> StatusOr<json> {
        ASSIGN_OR_RETURN(wallet::Chain c, chains->Get(id));
        return wallet::ChainJson(c);
      });
    };
    return RunWalletWork(req, "chain_get", work(), 200);
  }
  asio::awaitable<Response> ListChains(Request& req, const Principal&) {
    return RunWalletWork(req, "chain_list", Work([this]() -> StatusOr<json> {
                           ASSIGN_OR_RETURN(std::vector<wallet::Chain> all, chains->List());
                           json out = json::array();
                           for (const wallet::Chain& c : all) out.push_back(wallet::ChainJson(c));
                           return json{{"chains", out}};
                         }), 200);
  }

  asio::awaitable<Response> CreateWebhook(Request& req, const Principal& p) {
    auto work = [&]() -> StatusOr<Work> {
      ASSIGN_OR_RETURN(json j, ParseJsonObject(req.body));
      return Work([this, j, who = p.key_id, now = NowMs()]() -> StatusOr<json> {
        ASSIGN_OR_RETURN(wallet::CreatedWebhook w, webhooks->Create(j, who, now));
        return wallet::CreatedWebhookJson(w);
      });
    };
    return RunWalletWork(req, "webhook_create", work(), 201);
  }
  asio::awaitable<Response> ListWebhooks(Request& req, const Principal&) {
    auto work = [&]() -> StatusOr<Work> {
      ASSIGN_OR_RETURN(ListQuery q, ParseListQuery(req.query, {"after"}));
      return Work([this, after = q.Text("after"), limit = q.limit]() -> StatusOr<json> {
        ASSIGN_OR_RETURN(std::vector<wallet::Webhook> all, webhooks->List(after, limit));
        json list = json::array();
        for (const wallet::Webhook& w : all) list.push_back(wallet::WebhookJson(w));
        json next = static_cast<int64_t>(all.size()) == limit && !all.empty() ? json(all.back().id) : json(nullptr);
        return json{{"webhooks", list}, {"next", next}};
      });
    };
    return RunWalletWork(req, "webhook_list", work(), 200);
  }
  asio::awaitable<Response> GetWebhook(Request& req, const Principal&) {
    return RunWalletWork(req, "webhook_get", Work([this, id = std::string(req.Param("id"))]() -> StatusOr<json> {
                           ASSIGN_OR_RETURN(wallet::Webhook w, webhooks->Get(id));
                           return wallet::WebhookJson(w);
                         }), 200);
  }
  asio::awaitable<Response> DeleteWebhook(Request& req, const Principal&) {
    return RunWalletWork(req, "webhook_delete", Work([this, id = std::string(req.Param("id"))]() -> StatusOr<json> {
                           if (Status s = webhooks->Delete(id); !s.ok()) return s;
                           return json{{"id", id}, {"deleted", true}};
                         }), 200);
  }
  asio::awaitable<Response> SetWebhookEnabled(Request& req, const Principal& p) {
    const bool enable = LastSegment(req.path) == "enable";  // routes: .../enable, .../disable
    return RunWalletWork(req, "webhook_enable",
                         Work([this, enable, id = std::string(req.Param("id")), who = p.key_id,
                               now = NowMs()]() -> StatusOr<json> {
                           StatusOr<wallet::Webhook> w = enable ? webhooks->Enable(id, now)
                                                                : webhooks->Disable(id, who, now);
                           if (!w.ok()) return w.status();
                           return wallet::WebhookJson(*w);
                         }), 200);
  }
  asio::awaitable<Response> WebhookDeliveries(Request& req, const Principal&) {
    auto work = [&]() -> StatusOr<Work> {
      ASSIGN_OR_RETURN(ListQuery q, ParseListQuery(req.query, {"cursor"}));
      return Work([this, id = std::string(req.Param("id")), cursor = q.Text("cursor"), limit = q.limit]() -> StatusOr<json> {
        ASSIGN_OR_RETURN(wallet::DeliveryPage page, webhooks->Deliveries(id, limit, cursor));
        return wallet::DeliveryPageJson(page);
      });
    };
    return RunWalletWork(req, "webhook_deliveries", work(), 200);
  }

  asio::awaitable<Response> DecideTransaction(Request& req, const Principal& p) {
    const bool approve = LastSegment(req.path) == "approve";  // routes: .../approve, .../reject
    auto work = [&]() -> StatusOr<Work> {
      return Work([this, id = std::string(req.Param("id")), who = p.key_id, approve, now = NowMs()] {
        return approve ? transactions->Approve(id, who, now) : transactions->Reject(id, who, now);
      });
    };
    return RunWalletWork(req, "wallet_tx_decide", work(), 200);
  }
  bool WalletsReady(const Request& req, Response& out) const {
    if (wallets) return true;
    out = ErrorResponseNamed(UnavailableError("signer unavailable: custody is disabled in this gateway's config"),
                             "SIGNER_UNAVAILABLE", req.request_id);
    return false;
  }
  // The optional "index" of an HD deposit address in a signing body.
  static StatusOr<std::optional<int64_t>> IndexField(const json& j) {
    if (!j.contains("index")) return std::optional<int64_t>{};
    if (!j["index"].is_number_integer()) return InvalidArgumentError("index: must be an integer");
    return std::optional<int64_t>(j["index"].get<int64_t>());
  }

  asio::awaitable<Response> CreateWallet(Request& req, const Principal& p) {
    Response early;
    if (!WalletsReady(req, early)) co_return early;
    auto body = ParseJsonObject(req.body);
    if (!body.ok()) co_return ErrorResponse(body.status(), req.request_id);
    const json& j = *body;
    for (const char* f : {"name", "kind"}) {
      if (!j.contains(f) || !j[f].is_string())
        co_return ErrorResponse(InvalidArgumentError(std::string(f) + ": required string"), req.request_id);
    }
    if (j.contains("chain") && !j["chain"].is_string())
      co_return ErrorResponse(InvalidArgumentError("chain: must be a string"), req.request_id);
    const std::string name = j["name"], kind = j["kind"], chain = j.value("chain", "evm");
    const int64_t now = NowMs();
    const std::string idem(req.Header("idempotency-key"));
    auto w = co_await OnStore("wallet_create", [&] { return wallets->Create(name, chain, kind, p.key_id, now, idem); });
    if (!w.ok()) co_return WalletError(w.status(), req);
    co_return DataResponse(wallet::WalletJson(*w), 201);
  }

  struct Page {
    std::string after;
    int64_t limit = 100;
  };
  // Outside the coroutine: GCC 12 mishandles structured bindings in coroutine frames.
  static StatusOr<Page> ParsePage(std::string_view query) {
    ASSIGN_OR_RETURN(auto params, ParseQuery(query));
    Page page;
    for (const auto& kv : params) {
      if (kv.first == "after") {
        page.after = kv.second;
      } else if (kv.first == "limit") {
        ASSIGN_OR_RETURN(page.limit, ParseNonNegative(kv.second, "limit"));
      }  // other parameters are ignored, as on every list route (clients add cache busters)
    }
    return page;
  }

  asio::awaitable<Response> ListWallets(Request& req, const Principal&) {
    Response early;
    if (!WalletsReady(req, early)) co_return early;
    auto page = ParsePage(req.query);
    if (!page.ok()) co_return ErrorResponse(page.status(), req.request_id);
    const Page pg = *page;
    auto list = co_await OnStore("wallet_list", [&] { return wallets->List(pg.after, pg.limit); });
    if (!list.ok()) co_return WalletError(list.status(), req);
    json arr = json::array();
    for (const auto& w : *list) arr.push_back(wallet::WalletJson(w));
    json out = {{"wallets", arr}};
    out["next"] =
        static_cast<int64_t>(list->size()) == pg.limit && !list->empty() ? json(list->back().id) : json(nullptr);
    co_return DataResponse(out);
  }

  asio::awaitable<Response> GetWallet(Request& req, const Principal&) {
    Response early;
    if (!WalletsReady(req, early)) co_return early;
    std::string id(req.Param("id"));
    auto w = co_await OnStore("wallet_get", [&] { return wallets->Get(id); });
    if (!w.ok()) co_return WalletError(w.status(), req);
    co_return DataResponse(wallet::WalletJson(*w));
  }

  asio::awaitable<Response> NextWalletAddress(Request& req, const Principal&) {
    Response early;
    if (!WalletsReady(req, early)) co_return early;
    std::string id(req.Param("id"));
    const int64_t now = NowMs();
    auto a = co_await OnStore("wallet_address", [&] { return wallets->NextAddress(id, now); });
    if (!a.ok()) co_return WalletError(a.status(), req);
    co_return DataResponse(*a, 201);
  }

  // Parses a signing body into the work to run on a store thread (kept out of the
  // coroutine: GCC 12 miscompiles large coroutine frames with many co_awaits).
  StatusOr<std::function<StatusOr<json>()>> SignWork(std::string id, const std::string& what,
                                                     const std::string& text) {
    ASSIGN_OR_RETURN(json j, ParseJsonObject(text));
    ASSIGN_OR_RETURN(std::optional<int64_t> index, IndexField(j));
    if (what == "transaction") {
      if (!j.contains("transaction") || !j["transaction"].is_object())
        return InvalidArgumentError("transaction: required object (ethers field names)");
      return std::function<StatusOr<json>()>(
          [this, id, index, tx = j["transaction"].dump()] { return wallets->SignTransaction(id, tx, index); });
    }
    if (what == "message") {
      if (!j.contains("message") || !j["message"].is_string()) return InvalidArgumentError("message: required string");
      const std::string encoding = j.value("encoding", "utf8");
      Bytes message;
      if (encoding == "utf8") {
        const std::string& m = j["message"].get_ref<const std::string&>();
        message.assign(m.begin(), m.end());
      } else if (encoding == "hex") {
        auto decoded = HexDecode(j["message"].get<std::string>(), HexPrefix::kRequired);
        if (!decoded.ok()) return InvalidArgumentError("message: " + decoded.status().message());
        message = std::move(*decoded);
      } else {
        return InvalidArgumentError("encoding: \"utf8\" or \"hex\"");
      }
      return std::function<StatusOr<json>()>(
          [this, id, index, message] { return wallets->SignMessage(id, message, index); });
    }
    if (what == "typed-data") {
      if (!j.contains("typedData") || !j["typedData"].is_object())
        return InvalidArgumentError("typedData: required object {domain, types, primaryType, message}");
      return std::function<StatusOr<json>()>(
          [this, id, index, doc = j["typedData"].dump()] { return wallets->SignTypedData(id, doc, index); });
    }
    return NotFoundError("no signing operation \"" + what + "\" (transaction, message, typed-data)");
  }

  asio::awaitable<Response> SignWithWallet(Request& req, const Principal&) {
    Response early;
    if (!WalletsReady(req, early)) co_return early;
    auto work = SignWork(std::string(req.Param("id")), std::string(LastSegment(req.path)), req.body);
    if (!work.ok()) co_return ErrorResponse(work.status(), req.request_id);
    std::function<StatusOr<json>()> fn = std::move(*work);
    auto out = co_await OnStore("wallet_sign", fn);
    if (!out.ok()) co_return WalletError(out.status(), req);
    co_return DataResponse(*out);
  }

  asio::awaitable<Response> Echo(Request& req, const Principal&) {
    auto body = ParseJsonObject(req.body);
    if (!body.ok()) co_return ErrorResponse(body.status(), req.request_id);
    co_return DataResponse({{"echo", std::move(*body)}});
  }

  asio::awaitable<Response> CreateApiKey(Request& req, const Principal&) {
    auto body = ParseJsonObject(req.body);
    if (!body.ok()) co_return ErrorResponse(body.status(), req.request_id);
    const json& j = *body;
    if (!j.contains("role") || !j["role"].is_string()) {
      co_return ErrorResponse(InvalidArgumentError("role: required string"), req.request_id);
    }
    if (!j.contains("name") || !j["name"].is_string()) {
      co_return ErrorResponse(InvalidArgumentError("name: required string"), req.request_id);
    }
    std::string role = j["role"].get<std::string>();
    std::string name = j["name"].get<std::string>();
    int64_t now = NowMs();
    auto created = co_await OnStore("api_key_create", [&] { return keys->Create(role, name, now); });
    if (!created.ok()) co_return ErrorResponse(created.status(), req.request_id);
    json out = ApiKeyJson(created->record);
    out["secret"] = created->secret;
    SecureWipe(created->secret.data(), created->secret.size());
    co_return DataResponse(out, 201);
  }

  asio::awaitable<Response> ListApiKeys(Request& req, const Principal&) {
    auto list = co_await OnStore("api_key_list", [&] { return keys->List(); });
    if (!list.ok()) co_return ErrorResponse(list.status(), req.request_id);
    json arr = json::array();
    for (const store::ApiKey& k : *list) arr.push_back(ApiKeyJson(k));
    co_return DataResponse({{"keys", std::move(arr)}});
  }

  asio::awaitable<Response> DisableApiKey(Request& req, const Principal&) {
    std::string id(req.Param("id"));
    Status s = co_await OnStore("api_key_disable", [&] { return keys->SetDisabled(id, true); });
    if (!s.ok()) co_return ErrorResponse(s, req.request_id);
    co_return DataResponse({{"keyId", id}, {"disabled", true}});
  }

  asio::awaitable<Response> AuditEvents(Request& req, const Principal&) {
    auto params = ParseQuery(req.query);
    if (!params.ok()) co_return ErrorResponse(params.status(), req.request_id);
    audit::AuditFilter filter;
    std::optional<int64_t> cursor;
    size_t limit = 100;
    audit::AuditOrder order = audit::AuditOrder::kOldestFirst;
    for (const auto& [k, v] : *params) {
      StatusOr<int64_t> n = int64_t{0};
      if (k == "principal") {
        filter.principal = v;
      } else if (k == "action") {
        filter.action = v;
      } else if (k == "outcome") {
        filter.outcome = v;
      } else if (k == "since" || k == "until" || k == "cursor" || k == "limit") {
        n = ParseNonNegative(v, k.c_str());
        if (!n.ok()) co_return ErrorResponse(n.status(), req.request_id);
        if (k == "since") filter.since_ms = *n;
        if (k == "until") filter.until_ms = *n;
        if (k == "cursor") cursor = *n;
        if (k == "limit") {
          if (*n < 1 || *n > static_cast<int64_t>(audit::AuditReader::kMaxLimit)) {
            co_return ErrorResponse(InvalidArgumentError("limit: must be 1..1000"), req.request_id);
          }
          limit = static_cast<size_t>(*n);
        }
      } else if (k == "order") {
        if (v == "asc") {
          order = audit::AuditOrder::kOldestFirst;
        } else if (v == "desc") {
          order = audit::AuditOrder::kNewestFirst;
        } else {
          co_return ErrorResponse(InvalidArgumentError("order: asc or desc"), req.request_id);
        }
      }
      // Other parameters (the unique nonce that keeps signatures distinct) are ignored.
    }
    auto page = co_await OnStore("audit_query", [&] {
      return audit::AuditReader(*db).Query(filter, cursor, limit, order);
    });
    if (!page.ok()) co_return ErrorResponse(page.status(), req.request_id);
    json events = json::array();
    for (const audit::AuditRecord& r : page->records) events.push_back(AuditRecordJson(r));
    json out = {{"events", std::move(events)}};
    out["nextCursor"] = page->next_cursor ? json(*page->next_cursor) : json(nullptr);
    co_return DataResponse(out);
  }

  void BuildRoutes() {
    const std::vector<std::string> any;
    Add("GET", "/healthz", Access::kPublic, any, AuditMode::kNone, false, &Impl::Healthz);
    Add("GET", "/readyz", Access::kPublic, any, AuditMode::kNone, false, &Impl::Readyz);
    Add("GET", "/metrics", Access::kPublic, any, AuditMode::kNone, false, &Impl::MetricsText);
    Add("GET", "/v1/ping", Access::kAuthenticated, any, AuditMode::kAsync, false, &Impl::Ping);
    Add("POST", "/v1/echo", Access::kAuthenticated, {"admin", "operator"}, AuditMode::kDurable, true, &Impl::Echo);
    // Creating a key is not idempotent-replayable: the stored response would hold the secret.
    Add("POST", "/v1/api-keys", Access::kAuthenticated, {"admin"}, AuditMode::kDurable, false, &Impl::CreateApiKey);
    Add("GET", "/v1/api-keys", Access::kAuthenticated, {"admin"}, AuditMode::kAsync, false, &Impl::ListApiKeys);
    Add("POST", "/v1/api-keys/{id}/disable", Access::kAuthenticated, {"admin"}, AuditMode::kDurable, true,
        &Impl::DisableApiKey);
    Add("POST", "/v1/wallets", Access::kAuthenticated, {"admin", "operator"}, AuditMode::kDurable, true,
        &Impl::CreateWallet);
    Add("GET", "/v1/wallets", Access::kAuthenticated, any, AuditMode::kAsync, false, &Impl::ListWallets);
    // Import never replays a stored response: the body carries a sealed secret.
    Add("POST", "/v1/wallets/import/prepare", Access::kAuthenticated, {"admin"}, AuditMode::kDurable, false,
        &Impl::PrepareImport);
    Add("POST", "/v1/wallets/import", Access::kAuthenticated, {"admin"}, AuditMode::kDurable, false,
        &Impl::ImportWallet);
    Add("GET", "/v1/wallets/{id}", Access::kAuthenticated, any, AuditMode::kAsync, false, &Impl::GetWallet);
    Add("POST", "/v1/wallets/{id}/addresses", Access::kAuthenticated, {"admin", "operator"}, AuditMode::kDurable, true,
        &Impl::NextWalletAddress);
    for (const char* what : {"/v1/wallets/{id}/sign/transaction", "/v1/wallets/{id}/sign/message",
                             "/v1/wallets/{id}/sign/typed-data"}) {
      Add("POST", what, Access::kAuthenticated, {"admin", "operator"}, AuditMode::kDurable, true,
          &Impl::SignWithWallet);
    }
    Add("PUT", "/v1/wallets/{id}/policy", Access::kAuthenticated, {"admin"}, AuditMode::kDurable, false,
        &Impl::PutPolicy);
    Add("GET", "/v1/wallets/{id}/policy", Access::kAuthenticated, any, AuditMode::kAsync, false, &Impl::GetPolicy);
    Add("POST", "/v1/wallets/{id}/transactions", Access::kAuthenticated, {"admin", "operator"}, AuditMode::kDurable,
        true, &Impl::CreateTransaction);
    Add("GET", "/v1/transactions", Access::kAuthenticated, any, AuditMode::kAsync, false, &Impl::ListTransactions);
    Add("GET", "/v1/transactions/{id}", Access::kAuthenticated, any, AuditMode::kAsync, false, &Impl::GetTransaction);
    for (const char* decision : {"/v1/transactions/{id}/approve", "/v1/transactions/{id}/reject"}) {
      Add("POST", decision, Access::kAuthenticated, {"approver", "admin"}, AuditMode::kDurable, true,
          &Impl::DecideTransaction);
    }
    Add("PUT", "/v1/chains/{chainId}", Access::kAuthenticated, {"admin"}, AuditMode::kDurable, false, &Impl::PutChain);
    Add("GET", "/v1/chains", Access::kAuthenticated, any, AuditMode::kAsync, false, &Impl::ListChains);
    Add("GET", "/v1/chains/{chainId}", Access::kAuthenticated, any, AuditMode::kAsync, false, &Impl::GetChain);
    Add("POST", "/v1/webhooks", Access::kAuthenticated, {"admin"}, AuditMode::kDurable, false, &Impl::CreateWebhook);
    Add("GET", "/v1/webhooks", Access::kAuthenticated, {"admin", "auditor"}, AuditMode::kAsync, false,
        &Impl::ListWebhooks);
    Add("GET", "/v1/webhooks/{id}", Access::kAuthenticated, {"admin", "auditor"}, AuditMode::kAsync, false,
        &Impl::GetWebhook);
    Add("DELETE", "/v1/webhooks/{id}", Access::kAuthenticated, {"admin"}, AuditMode::kDurable, false,
        &Impl::DeleteWebhook);
    for (const char* action : {"/v1/webhooks/{id}/disable", "/v1/webhooks/{id}/enable"}) {
      Add("POST", action, Access::kAuthenticated, {"admin"}, AuditMode::kDurable, true, &Impl::SetWebhookEnabled);
    }
    Add("GET", "/v1/webhooks/{id}/deliveries", Access::kAuthenticated, {"admin", "auditor"}, AuditMode::kAsync, false,
        &Impl::WebhookDeliveries);
    Add("GET", "/v1/custody/health", Access::kAuthenticated, any, AuditMode::kAsync, false, &Impl::CustodyHealth);
    Add("GET", "/v1/audit/events", Access::kAuthenticated, {"auditor", "admin"}, AuditMode::kAsync, false,
        &Impl::AuditEvents);
    // The ballot API: the session capability authenticates (no API key).
    Add("POST", "/api/session", Access::kBallot, any, AuditMode::kAsync, false, &Impl::BallotSession);
    Add("POST", "/api/vote", Access::kBallot, any, AuditMode::kAsync, false, &Impl::BallotVote);
    Add("GET", "/api/progress", Access::kBallot, any, AuditMode::kNone, false, &Impl::BallotProgress);
    Add("GET", "/api/bulletin", Access::kBallot, any, AuditMode::kNone, false, &Impl::BallotBulletin);
    Add("GET", "/api/bulletin/consistency-proof", Access::kBallot, any, AuditMode::kNone, false,
        &Impl::BallotConsistency);
    Add("GET", "/api/bulletin/{voteId}/proof", Access::kBallot, any, AuditMode::kNone, false, &Impl::BallotInclusion);
    Add("GET", "/api/sth", Access::kBallot, any, AuditMode::kNone, false, &Impl::BallotSth);
    Add("POST", "/api/finalize", Access::kBallot, any, AuditMode::kAsync, false, &Impl::BallotFinalize);
    Add("POST", "/api/finalize/cancel", Access::kBallot, any, AuditMode::kAsync, false, &Impl::BallotFinalizeCancel);
    Add("GET", "/api/sessions/{sessionId}/status", Access::kBallot, any, AuditMode::kNone, false,
        &Impl::BallotSessionStatus);
    Add("GET", "/api/verify", Access::kBallot, any, AuditMode::kNone, false, &Impl::BallotVerify);
    Add("POST", "/api/verification/run", Access::kBallot, any, AuditMode::kAsync, false, &Impl::BallotVerificationRun);
    Add("GET", "/api/verification/bundles/{sessionId}/{executionId}", Access::kBallot, any, AuditMode::kNone, false,
        &Impl::BallotBundle);
    // The web pages and their assets (docs/web.md): public, served from memory.
    for (const auto& page : StaticSite::Pages()) {
      Add("GET", page.first.c_str(), Access::kPublic, any, AuditMode::kNone, false, &Impl::WebPage);
    }
    Add("GET", StaticSite::kAssetsPattern.data(), Access::kPublic, any, AuditMode::kNone, false, &Impl::WebPage);
  }

  // ---- job workers ----

  // Registers the handlers of every job queue this gateway serves; returns how many.
  size_t RegisterJobHandlers(store::WorkerPool& pool) {
    size_t n = 0;
    if (broadcaster) {
      Status s = broadcaster->RegisterHandlers(pool);
      if (s.ok()) n += 2;
      else log->error(LogFields("broadcast jobs not registered", {{"error", s.ToString()}}));
    }
    if (transactions) {
      Status s = transactions->RegisterHandlers(pool);
      if (s.ok()) ++n;
      else log->error(LogFields("transaction signing jobs not registered", {{"error", s.ToString()}}));
    }
    if (webhooks && custody) {
      Status s = webhooks->RegisterHandlers(pool);
      if (s.ok()) ++n;
      else log->error(LogFields("webhook jobs not registered", {{"error", s.ToString()}}));
    }
    if (ballot) {
      Status s = ballot->RegisterSweepHandler(pool);
      if (s.ok()) ++n;
      else log->error(LogFields("ballot session sweep not registered", {{"error", s.ToString()}}));
    }
    if (finalize) {
      Status s = finalize->RegisterHandler(pool);
      if (s.ok()) n += 3;
      else log->error(LogFields("ballot finalization jobs not registered", {{"error", s.ToString()}}));
    }
    return n;
  }

  Status StartWorkers();

  Metrics::GaugeSeries JobGauges() {
    std::lock_guard<std::mutex> lock(job_counts_mu);
    Metrics::GaugeSeries out;
    for (const store::QueueCounts& q : job_counts) {
      out.emplace_back(Labels({{"queue", q.queue}, {"state", "queued"}}), static_cast<double>(q.queued));
      out.emplace_back(Labels({{"queue", q.queue}, {"state", "leased"}}), static_cast<double>(q.leased));
      out.emplace_back(Labels({{"queue", q.queue}, {"state", "dead"}}), static_cast<double>(q.dead));
    }
    return out;
  }

  Metrics::GaugeSeries JobLag() {
    std::lock_guard<std::mutex> lock(job_counts_mu);
    Metrics::GaugeSeries out;
    for (const store::QueueCounts& q : job_counts) {
      out.emplace_back(Labels({{"queue", q.queue}}), static_cast<double>(q.oldest_due_age_ms) / 1000.0);
    }
    return out;
  }

  // ---- background work ----

  store::RateLimitSnapshot LimiterSnapshot() {
    store::RateLimitSnapshot snap;
    for (auto& s : limiter.Export(NowMs())) {
      if (s.kind == RateKind::kSliding) {
        snap.sliding.push_back({s.bucket, s.hits});
      } else if (s.hits.size() == 2) {
        snap.fixed.push_back({s.bucket, s.hits[0], s.hits[1]});
      }
    }
    return snap;
  }

  int64_t MaxWindowMs() const {
    int64_t m = std::max({cfg.per_key_window_ms, cfg.per_ip_window_ms, cfg.ballot_limit_window_ms, kDayMs});
    for (const auto& [route, rl] : cfg.route_limits) m = std::max(m, rl.window_ms);
    return m;
  }

  Status RestoreLimiter() {
    auto snap = rate_repo->LoadSnapshot(NowMs(), MaxWindowMs());
    if (!snap.ok()) return snap.status();
    std::vector<MemoryRateLimiter::Snapshot> in;
    for (const auto& s : snap->sliding) in.push_back({s.bucket, RateKind::kSliding, 0, s.hits_ms});
    for (const auto& f : snap->fixed) {
      int64_t window = f.bucket == "global:day" ? kDayMs : kHourMs;
      in.push_back({f.bucket, RateKind::kFixed, window, {f.window_start_ms, f.count}});
    }
    for (auto& s : in) {
      if (s.kind == RateKind::kSliding) std::sort(s.hits.begin(), s.hits.end());
    }
    limiter.Import(in, MaxWindowMs());
    return OkStatus();
  }

  asio::awaitable<void> Background() {
    asio::steady_timer timer(server->io());
    int64_t since_maintenance = 0;
    int64_t since_sweep = cfg.ballot_sweep_interval_ms;  // the first tick queues a sweep
    int64_t interval = std::max<int64_t>(100, cfg.persist_interval_ms);
    while (!server->draining()) {
      timer.expires_after(std::chrono::milliseconds(interval));
      co_await timer.async_wait(kTuple);
      if (server->draining()) break;
      if (!distributed) {
        store::RateLimitSnapshot snap = LimiterSnapshot();
        Status s = co_await OnStore("rate_limit_persist", [&] { return rate_repo->SaveSnapshot(snap); });
        if (!s.ok()) log->warn(LogFields("rate-limit state not persisted", {{"error", s.ToString()}}));
      } else {
        Status s = co_await OnStore("rate_limit_return", [&] { return ReturnLeases(false); });
        if (!s.ok()) log->warn(LogFields("unused rate-limit slots not returned", {{"error", s.ToString()}}));
      }
      {
        int64_t now = NowMs();
        auto counts = co_await OnStore("job_counts", [&] { return store::JobQueue(*db).Counts(now); });
        if (counts.ok()) {
          std::lock_guard<std::mutex> lock(job_counts_mu);
          job_counts = std::move(*counts);
        }
      }
      since_sweep += interval;
      if (ballot && workers && since_sweep >= cfg.ballot_sweep_interval_ms) {
        since_sweep = 0;
        const int64_t now = NowMs();
        Status s = co_await OnStore("ballot_sweep_schedule", [&] { return ballot->ScheduleSweep(now); });
        if (!s.ok()) log->warn(LogFields("ballot session sweep not queued", {{"error", s.ToString()}}));
        else workers->Notify();
      }
      since_maintenance += interval;
      if (since_maintenance >= kMaintenanceMs) {
        since_maintenance = 0;
        int64_t now = NowMs();
        Status s = co_await OnStore("maintenance", [&]() -> Status {
          Status first = keys->FlushLastUsed();
          auto a = idempotency->Sweep(now);
          auto b = replay_repo->Sweep(now);
          auto c = rate_repo->Sweep(now, MaxWindowMs());
          if (objects) {
            auto o = objects->SweepExpired(now);  // lifecycle: expired bundles and inputs
            if (first.ok() && !o.ok()) first = o.status();
          }
          if (first.ok() && !a.ok()) first = a.status();
          if (first.ok() && !b.ok()) first = b.status();
          if (first.ok() && !c.ok()) first = c.status();
          return first;
        });
        if (!s.ok()) log->warn(LogFields("maintenance failed", {{"error", s.ToString()}}));
      }
    }
  }
};

// Job outcomes as metrics and log lines (docs/jobs.md).
class Gateway::Impl::JobObserver final : public store::WorkerObserver {
 public:
  explicit JobObserver(Impl& g) : g_(g) {}
  void JobFinished(std::string_view queue, std::string_view outcome, double seconds) override {
    const std::string labels = Labels({{"queue", queue}, {"outcome", outcome}});
    g_.metrics->Count("vp_jobs_finished_total", labels);
    g_.metrics->Observe("vp_job_duration_seconds", labels, seconds);
  }
  void JobLog(const store::Job& job, std::string_view outcome, std::string_view message) override {
    json fields = {{"queue", job.queue}, {"jobId", job.id}, {"attempt", job.attempts}, {"outcome", outcome}};
    if (!message.empty()) fields["message"] = std::string(message);
    if (outcome == "succeeded") {
      g_.log->debug(LogFields("job finished", fields));
    } else {
      g_.log->warn(LogFields("job finished", fields));
    }
  }
  void StoreError(std::string_view op, const Status& status) override {
    g_.metrics->Count("vp_job_store_errors_total", "op", op);
    g_.log->warn(LogFields("job store call failed", {{"op", op}, {"error", status.ToString()}}));
  }

 private:
  Impl& g_;
};

Status Gateway::Impl::StartWorkers() {
  metrics->AddGaugeFamily("vp_jobs", "Jobs not finished (queued, leased) and dead letters, by queue.",
                          [this] { return JobGauges(); });
  metrics->AddGaugeFamily("vp_job_lag_seconds", "Age of the oldest due job that no worker runs, by queue.",
                          [this] { return JobLag(); });
  if (cfg.worker_threads == 0) return OkStatus();
  job_observer = std::make_unique<JobObserver>(*this);
  store::WorkerOptions wo;
  wo.threads = static_cast<size_t>(cfg.worker_threads);
  wo.visibility_ms = cfg.worker_visibility_ms;
  wo.observer = job_observer.get();
  auto pool = std::make_unique<store::WorkerPool>(*db, wo);
  if (RegisterJobHandlers(*pool) == 0) return OkStatus();  // nothing to run here
  RETURN_IF_ERROR(pool->Start());
  workers = std::move(pool);
  return OkStatus();
}

std::vector<std::string> Gateway::RouteLabels() {
  Impl g{GatewayConfig{}};
  g.BuildRoutes();
  std::vector<std::string> out;
  for (size_t i = 0; i < g.router.size(); ++i) out.push_back(g.router.Label(i));
  return out;
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gateway::~Gateway() = default;

StatusOr<std::unique_ptr<Gateway>> Gateway::Create(const GatewayConfig& config) {
  RETURN_IF_ERROR(Validate(config));
  auto impl = std::make_unique<Impl>(config);
  Impl& g = *impl;
  g.log = MakeLogger(config.log_level);
  ::mkdir(config.data_dir.c_str(), 0700);
  store::DbOptions db_options;
  db_options.pool_size = static_cast<size_t>(config.pool_size);
  ASSIGN_OR_RETURN(g.db, store::OpenDb(config.DbUrl(), db_options));
  g.distributed = g.db->dialect() == store::Dialect::kPostgres;
  ASSIGN_OR_RETURN(SecureBuffer pepper, ApiKeyService::LoadOrCreatePepper(config.data_dir));
  ASSIGN_OR_RETURN(SecureBuffer webhook_key, wallet::WebhookService::DeriveSecretKey(pepper.view()));
  // The ballot's capability and witness keys come from the pepper too; without custody so
  // does its log key (with custody the log key is held by the signer).
  ASSIGN_OR_RETURN(election::ElectionKeys ballot_keys, election::ElectionKeys::Derive(pepper.view()));
  // Seals the prover inputs (every vote's choice and random) in the object store.
  ASSIGN_OR_RETURN(SecureBuffer objects_key, crypto::HkdfSha256(pepper.view(), {}, AsBytes(std::string_view(
                                                 "vaultproof ballot private objects v1")), 32));
  std::shared_ptr<const election::LogSigner> log_key;
  if (!config.custody_enabled) {
    ASSIGN_OR_RETURN(log_key, election::PepperLogKey(pepper.view()));
  }
  g.keys = std::make_unique<ApiKeyService>(*g.db, std::move(pepper), config.key_cache_ms);
  if (config.custody_enabled) {
    std::vector<std::string> warnings;
    ASSIGN_OR_RETURN(signer::LauncherOptions lo, CustodyLauncherOptions(config, warnings));
    for (const auto& w : warnings) g.log->warn(LogFields(w, {}));
    ASSIGN_OR_RETURN(g.custody, signer::Launcher::Start(std::move(lo)));
    g.log->info(LogFields("custody started", {{"measurement", HexEncode(g.custody->measurement())}}));
    ASSIGN_OR_RETURN(g.signer, CustodyDigestSigner(*g.db, g.custody, config.data_dir));
    ASSIGN_OR_RETURN(log_key, CustodyBallotLogKey(*g.db, g.custody));
    g.wallets = std::make_unique<wallet::WalletService>(*g.db, g.custody->client());
    g.chains = std::make_unique<wallet::ChainRegistry>(*g.db);
    wallet::WebhookOptions webhook_options;
    webhook_options.http.allow_private_addresses = config.webhooks_allow_private_addresses;
    g.webhooks = std::make_unique<wallet::WebhookService>(*g.db, std::move(webhook_key), std::move(webhook_options));
    g.broadcaster = std::make_unique<wallet::Broadcaster>(*g.db, *g.wallets, *g.chains, *g.webhooks);
    g.transactions =
        std::make_unique<wallet::TransactionService>(*g.db, *g.wallets, *g.webhooks, g.broadcaster.get());
  } else {
    ASSIGN_OR_RETURN(g.signer, audit::FileDigestSigner::LoadOrCreate(config.data_dir));
  }
  {
    election::ElectionOptions eo;
    eo.choices = config.ballot_choices;
    eo.bot_count = config.ballot_bot_count;
    eo.shared_election = config.ballot_shared_election;
    eo.session_ttl_ms = config.ballot_session_ttl_ms;
    eo.finalized_session_ttl_ms = config.ballot_finalized_session_ttl_ms;
    RETURN_IF_ERROR(election::ValidateElectionOptions(eo).Annotate("config"));
    g.ballot = std::make_unique<election::ElectionService>(*g.db, std::move(ballot_keys), log_key, std::move(eo));
    election::TurnstileOptions to;
    to.mode = config.ballot_turnstile;
    to.url = config.ballot_turnstile_url;
    to.hostnames = config.ballot_turnstile_hostnames;
    if (to.mode == "cloudflare") {
      ASSIGN_OR_RETURN(to.secret, ReadTurnstileSecret(config.ballot_turnstile_secret_file));
    }
    ASSIGN_OR_RETURN(g.turnstile, election::TurnstileVerifier::Create(std::move(to)));
    g.objects = std::make_unique<objects::ObjectStore>(*g.db);
    election::FinalizeOptions fo;
    fo.async = config.ballot_finalize_mode == "async";
    fo.sync_timeout_ms = config.ballot_finalize_timeout_ms;
    fo.max_segment_leaves = static_cast<uint64_t>(config.ballot_max_segment_leaves);
    fo.block_leaves = static_cast<uint64_t>(config.ballot_segment_block_leaves);
    fo.prover_sessions = config.ballot_prover_sessions;
    fo.prover_idle_exit_ms = static_cast<int>(config.ballot_prover_idle_exit_ms);
    fo.seal_key = std::move(objects_key);
    std::vector<std::string> warnings;
    ASSIGN_OR_RETURN(fo.image, BallotProverImage(config, warnings));
    for (const auto& w : warnings) g.log->warn(LogFields(w, {}));
    g.finalize = std::make_unique<election::FinalizeService>(*g.db, *g.ballot, *g.objects, log_key, std::move(fo));
  }
  audit::AuditWriterOptions audit_options;
  audit_options.digest_every_records = config.audit_digest_every;
  audit_options.digest_interval_ms = config.audit_digest_interval_ms;
  ASSIGN_OR_RETURN(g.audit, audit::AuditWriter::Start(*g.db, g.signer, audit_options));
  g.idempotency = std::make_unique<store::IdempotencyRepo>(*g.db);
  g.rate_repo = std::make_unique<store::RateLimitRepo>(*g.db);
  g.replay_repo = std::make_unique<store::ReplayRepo>(*g.db);
  if (g.distributed) {
    g.replay_batcher = std::make_unique<ReplayBatcher>(*g.replay_repo, [] { return NowMs(); });
  } else {
    Status s = g.RestoreLimiter();
    if (!s.ok()) g.log->warn(LogFields("rate-limit state not restored", {{"error", s.ToString()}}));
  }
  if (auto site = StaticSite::Load(ResolveWebRoot(config.web_root)); site.ok()) {
    g.site = std::move(*site);
    if (!g.site.built()) g.log->info(LogFields("web pages not built: / and the pages answer 404", {{"root", g.site.root()}}));
  } else {
    g.log->warn(LogFields("web pages not loaded", {{"error", site.status().ToString()}}));
  }
  g.BuildRoutes();
  std::vector<std::string> labels;
  for (size_t i = 0; i < g.router.size(); ++i) labels.push_back(g.router.Label(i));
  g.metrics = std::make_unique<Metrics>(std::move(labels));
  g.store_pool = std::make_unique<asio::thread_pool>(static_cast<size_t>(config.store_threads));
  RETURN_IF_ERROR(g.StartWorkers());

  ServerOptions so;
  ASSIGN_OR_RETURN(auto listen, ParseListen(config.listen));
  so.host = listen.first;
  so.port = listen.second;
  so.threads = static_cast<size_t>(config.threads);
  so.body_limit = static_cast<size_t>(config.body_bytes);
  so.header_limit = static_cast<size_t>(config.header_bytes);
  so.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  so.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  so.write_timeout = std::chrono::milliseconds(config.write_timeout_ms);
  so.shutdown_grace = std::chrono::milliseconds(config.shutdown_grace_ms);
  so.max_connections = static_cast<size_t>(config.max_connections);
  so.max_connections_per_ip = static_cast<size_t>(config.max_connections_per_ip);
  so.tls_cert = config.tls_cert;
  so.tls_key = config.tls_key;
  Impl* self = impl.get();
  g.server = std::make_unique<HttpServer>(so, [self](Request& req) { return self->Handle(req); });
  g.server->SetObserver([self](const Request& req, const Response& res) {
    self->metrics->ObserveRequest(self->metrics->unmatched_route(), res.status, SecondsSince(req.received_at));
    if (res.status == 413 || res.status == 431) {
      self->AuditAsync(self->Record(req, "", "http.limit", "denied", {{"status", res.status}}));
    }
  });
  HttpServer* srv = g.server.get();
  g.metrics->AddGauge("vp_http_connections", "Open client connections.",
                      [srv] { return static_cast<double>(srv->connections()); });
  g.metrics->AddGauge("vp_http_refused_connections_total", "Connections refused by the connection caps.",
                      [srv] { return static_cast<double>(srv->refused_connections()); });
  audit::AuditWriter* writer = g.audit.get();
  g.metrics->AddGauge("vp_audit_records_total", "Audit records committed by this process.",
                      [writer] { return static_cast<double>(writer->stats().appended); });
  g.metrics->AddGauge("vp_audit_batches_total", "Audit group-commit transactions.",
                      [writer] { return static_cast<double>(writer->stats().batches); });
  g.metrics->AddGauge("vp_audit_failures_total", "Audit records refused or lost.",
                      [writer] { return static_cast<double>(writer->stats().failed); });
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

Status Gateway::Listen() {
  Impl& g = *impl_;
  RETURN_IF_ERROR(g.server->Listen());
  g.log->info(LogFields("listening", {{"address", g.cfg.listen},
                                      {"port", g.server->port()},
                                      {"tls", !g.cfg.tls_cert.empty()},
                                      {"store", g.distributed ? "postgres" : "sqlite"},
                                      {"threads", g.server->threads()},
                                      {"auditKey", HexEncode(g.signer->public_key())}}));
  return OkStatus();
}

uint16_t Gateway::port() const { return impl_->server->port(); }

void Gateway::Shutdown() { impl_->server->Shutdown(); }

Status Gateway::Run(bool install_signals) {
  Impl& g = *impl_;
  std::optional<asio::signal_set> signals;
  if (install_signals) {
    signals.emplace(g.server->io(), SIGINT, SIGTERM);
    signals->async_wait([&g](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      g.log->info(LogFields("shutting down", {{"signal", sig}}));
      g.server->Shutdown();
    });
  }
  asio::co_spawn(g.server->io(), g.Background(), asio::detached);
  g.server->Run();
  signals.reset();

  // Everything acknowledged is committed already; Stop() commits what async appends queued.
  // Running jobs finish (or are released at the deadline) before the store goes away.
  if (g.workers) g.workers->Stop();
  Status first = g.audit->Stop();
  if (!g.distributed) {
    Status s = g.rate_repo->SaveSnapshot(g.LimiterSnapshot());
    if (first.ok() && !s.ok()) first = s;
  } else {
    Status s = g.ReturnLeases(true);
    if (first.ok() && !s.ok()) first = s;
  }
  Status touched = g.keys->FlushLastUsed();
  if (first.ok() && !touched.ok()) first = touched;
  g.store_pool->join();
  Status flushed = g.db->Flush();
  if (first.ok() && !flushed.ok()) first = flushed;
  g.log->info(LogFields("stopped", {{"ok", first.ok()}}));
  g.log->flush();
  return first;
}

}  // namespace vp::http
