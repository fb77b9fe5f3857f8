// WebhookService: subscriptions, the outbox side (Emit) and the delivery handler. Store
// layout: migration 13 (src/vp/store/migrations.cc).
#include "vp/wallet/webhooks.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <climits>
#include <set>
#include <utility>

#include "vp/crypto/aead.h"
#include "vp/crypto/hash.h"
#include "vp/crypto/random.h"

namespace vp::wallet {
namespace {

using nlohmann::json;
using store::Conn;
using store::JobResult;
using store::Rows;
using store::TxMode;
using store::Value;

constexpr std::array<std::string_view, 7> kEvents = {
    "transaction.created", "transaction.approved", "transaction.rejected", "transaction.signed",
    "transaction.broadcast", "transaction.confirmed", "transaction.failed",
};
constexpr std::string_view kAllEvents = "*";
constexpr std::string_view kSecretPrefix = "whsec_";
constexpr std::string_view kKeyInfo = "vaultproof webhook secret key v1";
constexpr std::string_view kSealAad = "vaultproof:webhook-secret:v1|";
constexpr size_t kMaxErrorText = 300;

int64_t SystemMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StatusOr<std::string> NewId(std::string_view prefix) {
  ASSIGN_OR_RETURN(Bytes rnd, crypto::RandomBytes(12));
  return std::string(prefix) + HexEncode(rnd);
}

bool IsId(std::string_view id, std::string_view prefix) {
  if (id.size() != prefix.size() + 24 || !id.starts_with(prefix)) return false;
  return std::all_of(id.begin() + static_cast<std::ptrdiff_t>(prefix.size()), id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Status UnknownWebhook(std::string_view id) {
  // The id is echoed only when it has our shape, so hostile input never reaches messages.
  return NotFoundError(IsId(id, "wh_") ? "webhook " + std::string(id) + " not found" : "webhook not found");
}

constexpr std::string_view kWebhookColumns =
    "id, url, events, enabled, disabled_reason, created_by, created_at, updated_at";

StatusOr<Webhook> WebhookFromRow(const Rows& r, size_t i) {
  Webhook w;
  w.id = r.Text(i, 0);
  w.url = r.Text(i, 1);
  json events = json::parse(r.Text(i, 2), nullptr, /*allow_exceptions=*/false);
  if (events.is_discarded() || !events.is_array()) return InternalError("webhook " + w.id + ": stored events are malformed");
  for (const json& e : events) {
    if (!e.is_string()) return InternalError("webhook " + w.id + ": stored events are malformed");
    w.events.push_back(e.get<std::string>());
  }
  w.enabled = r.Int(i, 3) != 0;
  w.disabled_reason = r.Text(i, 4);
  w.created_by = r.Text(i, 5);
  w.created_ms = r.Int(i, 6);
  w.updated_ms = r.Int(i, 7);
  return w;
}

StatusOr<Webhook> LoadWebhook(Conn& c, std::string_view id) {
  ASSIGN_OR_RETURN(Rows r, c.Query("SELECT " + std::string(kWebhookColumns) + " FROM webhooks WHERE id = $1",
                                   {Value(id)}));
  if (r.empty()) return UnknownWebhook(id);
  return WebhookFromRow(r, 0);
}

bool Subscribed(const json& events, std::string_view event) {
  if (!events.is_array()) return false;
  for (const json& e : events) {
    if (e.is_string() && (e.get_ref<const std::string&>() == event || e.get_ref<const std::string&>() == kAllEvents)) {
      return true;
    }
  }
  return false;
}

// Parses the Create request strictly.
struct NewWebhook {
  std::string url;
  std::vector<std::string> events;
};

StatusOr<NewWebhook> ParseNewWebhook(const json& request) {
  if (!request.is_object()) return InvalidArgumentError("body: must be a JSON object {url, events}");
  for (const auto& [key, value] : request.items()) {
    if (key != "url" && key != "events") return InvalidArgumentError("body: unknown field \"" + SanitizeForLog(key, 40) + "\"");
  }
  NewWebhook out;
  const auto url = request.find("url");
  if (url == request.end() || !url->is_string()) return InvalidArgumentError("url: required, a string");
  out.url = url->get<std::string>();
  if (out.url.size() > kMaxWebhookUrlLength) {
    return InvalidArgumentError("url: longer than " + std::to_string(kMaxWebhookUrlLength) + " bytes");
  }
  RETURN_IF_ERROR(ParseHttpUrl(out.url, "url").status());
  const auto events = request.find("events");
  if (events == request.end() || !events->is_array()) {
    return InvalidArgumentError("events: required, an array of event names or [\"*\"]");
  }
  if (events->empty()) return InvalidArgumentError("events: must not be empty");
  if (events->size() > kEvents.size()) return InvalidArgumentError("events: too many entries");
  std::set<std::string> seen;
  for (const json& e : *events) {
    if (!e.is_string()) return InvalidArgumentError("events: entries must be strings");
    const std::string& name = e.get_ref<const std::string&>();
    if (name != kAllEvents && !IsWebhookEventName(name)) {
      return InvalidArgumentError("events: unknown event \"" + SanitizeForLog(name, 64) +
                                  "\" (known: transaction.created, .approved, .rejected, .signed, .broadcast, "
                                  ".confirmed, .failed, or \"*\")");
    }
    if (!seen.insert(name).second) return InvalidArgumentError("events: \"" + name + "\" is listed twice");
    out.events.push_back(name);
  }
  if (seen.count(std::string(kAllEvents)) && out.events.size() > 1) {
    return InvalidArgumentError("events: \"*\" must be the only entry");
  }
  return out;
}

// Cursor of the deliveries listing: "<seq>.<attempt>" of the last row shown.
StatusOr<std::pair<int64_t, int64_t>> ParseCursor(std::string_view cursor) {
  const size_t dot = cursor.find('.');
  auto number = [](std::string_view s) -> std::optional<int64_t> {
    if (s.empty() || s.size() > 18 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    int64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  if (dot == std::string_view::npos) return InvalidArgumentError("cursor: malformed");
  const auto seq = number(cursor.substr(0, dot));
  const auto attempt = number(cursor.substr(dot + 1));
  if (!seq || !attempt) return InvalidArgumentError("cursor: malformed");
  return std::make_pair(*seq, *attempt);
}

}  // namespace

std::span<const std::string_view> WebhookEventNames() { return kEvents; }

bool IsWebhookEventName(std::string_view event) {
  return std::find(kEvents.begin(), kEvents.end(), event) != kEvents.end();
}

std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body) {
  const std::string t = std::to_string(unix_seconds);
  std::string signed_text;
  signed_text.reserve(t.size() + 1 + body.size());
  signed_text.append(t).append(".").append(body);
  return "t=" + t + ",v1=" + HexEncode(crypto::HmacSha256(AsBytes(secret), AsBytes(signed_text)));
}

json WebhookJson(const Webhook& w) {
  json j = {{"id", w.id},           {"url", w.url},          {"events", w.events},
            {"enabled", w.enabled}, {"createdBy", w.created_by}, {"createdAt", w.created_ms},
            {"updatedAt", w.updated_ms}};
  if (!w.enabled) j["disabledReason"] = w.disabled_reason;
  return j;
}

json CreatedWebhookJson(const CreatedWebhook& w) {
  json j = WebhookJson(w.webhook);
  j["secret"] = w.secret;
  return j;
}

json DeliveryPageJson(const DeliveryPage& page) {
  json rows = json::array();
  for (const DeliveryAttempt& a : page.attempts) {
    rows.push_back({{"deliveryId", a.delivery_id},
                    {"event", a.event},
                    {"attempt", a.attempt},
                    {"statusCode", a.status_code ? json(*a.status_code) : json(nullptr)},
                    {"error", a.error},
                    {"durationMs", a.duration_ms},
                    {"createdAt", a.created_ms},
                    {"state", a.state}});
  }
  return {{"deliveries", std::move(rows)},
          {"nextCursor", page.next_cursor.empty() ? json(nullptr) : json(page.next_cursor)}};
}

// ---------------------------------------------------------------------------------------

StatusOr<SecureBuffer> WebhookService::DeriveSecretKey(ByteSpan pepper) {
  if (pepper.size() != 32) return InvalidArgumentError("webhooks: the pepper must be 32 bytes");
  return crypto::HkdfSha256(pepper, {}, AsBytes(kKeyInfo), crypto::kAesGcmKeySize);
}

WebhookService::WebhookService(store::Db& db, SecureBuffer secret_key, WebhookOptions options)
    : db_(db), key_(std::move(secret_key)), options_(std::move(options)) {}

int64_t WebhookService::Now() const { return options_.clock ? options_.clock() : SystemMs(); }

StatusOr<Bytes> WebhookService::Seal(std::string_view webhook_id, std::string_view secret) {
  if (key_.size() != crypto::kAesGcmKeySize) return FailedPreconditionError("webhooks: no valid secret key");
  ASSIGN_OR_RETURN(Bytes nonce, crypto::RandomBytes(crypto::kAesGcmNonceSize));
  const std::string aad = std::string(kSealAad) + std::string(webhook_id);
  ASSIGN_OR_RETURN(Bytes sealed, crypto::Aes256GcmSeal(key_.view(), nonce, AsBytes(aad), AsBytes(secret)));
  Append(nonce, sealed);
  return nonce;
}

StatusOr<SecureBuffer> WebhookService::Open(std::string_view webhook_id, ByteSpan sealed) {
  if (key_.size() != crypto::kAesGcmKeySize) return FailedPreconditionError("webhooks: no valid secret key");
  if (sealed.size() < crypto::kAesGcmNonceSize + crypto::kAesGcmTagSize) {
    return InternalError("webhook " + std::string(webhook_id) + ": sealed secret is truncated");
  }
  const std::string aad = std::string(kSealAad) + std::string(webhook_id);
  StatusOr<SecureBuffer> plain = crypto::Aes256GcmOpen(key_.view(), sealed.first(crypto::kAesGcmNonceSize),
                                                       AsBytes(aad), sealed.subspan(crypto::kAesGcmNonceSize));
  if (!plain.ok()) {
    return InternalError("webhook " + std::string(webhook_id) +
                         ": sealed secret does not open (another pepper, or a tampered row)");
  }
  return plain;
}

StatusOr<CreatedWebhook> WebhookService::Create(const json& request, std::string_view principal, int64_t now_ms) {
  ASSIGN_OR_RETURN(NewWebhook nw, ParseNewWebhook(request));
  if (!options_.http.allow_private_addresses) {
    // An IP literal is judged now; a name is judged on the addresses it resolves to at
    // each delivery (HttpOptions::allow_private_addresses).
    ASSIGN_OR_RETURN(HttpUrl url, ParseHttpUrl(nw.url, "url"));
    in6_addr a6{};
    in_addr a4{};
    const bool literal = ::inet_pton(AF_INET, url.host.c_str(), &a4) == 1 || ::inet_pton(AF_INET6, url.host.c_str(), &a6) == 1;
    if ((literal && !IsPublicAddress(url.host)) || url.host == "localhost" || url.host.ends_with(".localhost")) {
      return InvalidArgumentError("url: " + url.host + " is not a public address; webhooks may not reach the gateway's "
                                  "own network ([webhooks] allow_private_addresses)");
    }
  }
  CreatedWebhook out;
  ASSIGN_OR_RETURN(out.webhook.id, NewId("wh_"));
  {
    ASSIGN_OR_RETURN(SecureBuffer raw, crypto::RandomSecret(32));
    out.secret = std::string(kSecretPrefix) + HexEncode(raw.view());
  }
  ASSIGN_OR_RETURN(Bytes sealed, Seal(out.webhook.id, out.secret));
  out.webhook.url = std::move(nw.url);
  out.webhook.events = std::move(nw.events);
  out.webhook.enabled = true;
  out.webhook.created_by = std::string(principal);
  out.webhook.created_ms = now_ms;
  out.webhook.updated_ms = now_ms;
  const std::string events = json(out.webhook.events).dump();
  RETURN_IF_ERROR(db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows n, c.Query("SELECT COUNT(*) FROM webhooks"));
    if (n.Int(0, 0) >= static_cast<int64_t>(options_.max_webhooks)) {
      return ResourceExhaustedError("webhooks: at most " + std::to_string(options_.max_webhooks) +
                                    " webhooks (delete one first)");
    }
    return c.Exec("INSERT INTO webhooks (id, url, events, secret_sealed, enabled, disabled_reason, created_by,"
                  " created_at, updated_at) VALUES ($1, $2, $3, $4, 1, '', $5, $6, $6)",
                  {Value(out.webhook.id), Value(out.webhook.url), Value(events), Value(sealed),
                   Value(principal), Value(now_ms)});
  }));
  return out;
}

StatusOr<Webhook> WebhookService::Get(std::string_view id) {
  Webhook out;
  RETURN_IF_ERROR(db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(out, LoadWebhook(c, id));
    return OkStatus();
  }));
  return out;
}

StatusOr<std::vector<Webhook>> WebhookService::List(std::string_view after, int64_t limit) {
  if (limit < 1 || limit > 500) return InvalidArgumentError("limit: 1..500");
  std::vector<Webhook> out;
  RETURN_IF_ERROR(db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    out.clear();
    ASSIGN_OR_RETURN(Rows r, c.Query("SELECT " + std::string(kWebhookColumns) +
                                         " FROM webhooks WHERE id > $1 ORDER BY id LIMIT $2",
                                     {Value(after), Value(limit)}));
    for (size_t i = 0; i < r.size(); ++i) {
      ASSIGN_OR_RETURN(Webhook w, WebhookFromRow(r, i));
      out.push_back(std::move(w));
    }
    return OkStatus();
  }));
  return out;
}

StatusOr<Webhook> WebhookService::SetEnabled(std::string_view id, bool enabled, std::string reason, int64_t now_ms) {
  Webhook out;
  RETURN_IF_ERROR(db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("UPDATE webhooks SET enabled = $1, disabled_reason = $2, updated_at = $3"
                                     " WHERE id = $4",
                                     {Value(enabled), Value(reason), Value(now_ms), Value(id)}));
    if (r.affected == 0) return UnknownWebhook(id);
    ASSIGN_OR_RETURN(out, LoadWebhook(c, id));
    return OkStatus();
  }));
  return out;
}

StatusOr<Webhook> WebhookService::Disable(std::string_view id, std::string_view principal, int64_t now_ms) {
  return SetEnabled(id, false, "disabled by " + std::string(principal), now_ms);
}

StatusOr<Webhook> WebhookService::Enable(std::string_view id, int64_t now_ms) { return SetEnabled(id, true, "", now_ms); }

Status WebhookService::Delete(std::string_view id) {
  return db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("DELETE FROM webhooks WHERE id = $1", {Value(id)}));
    if (r.affected == 0) return UnknownWebhook(id);
    RETURN_IF_ERROR(c.Exec("DELETE FROM webhook_attempts WHERE delivery_id IN"
                           " (SELECT id FROM webhook_deliveries WHERE webhook_id = $1)",
                           {Value(id)}));
    return c.Exec("DELETE FROM webhook_deliveries WHERE webhook_id = $1", {Value(id)});
  });
}

StatusOr<DeliveryPage> WebhookService::Deliveries(std::string_view webhook_id, int64_t limit, std::string_view cursor) {
  if (limit < 1 || limit > 500) return InvalidArgumentError("limit: 1..500");
  std::pair<int64_t, int64_t> from{INT64_MAX, 0};
  if (!cursor.empty()) {
    ASSIGN_OR_RETURN(from, ParseCursor(cursor));
  }
  DeliveryPage page;
  RETURN_IF_ERROR(db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    page = {};
    ASSIGN_OR_RETURN(Rows w, c.Query("SELECT 1 FROM webhooks WHERE id = $1", {Value(webhook_id)}));
    if (w.empty()) return UnknownWebhook(webhook_id);
    ASSIGN_OR_RETURN(
        Rows r,
        c.Query("SELECT d.seq, d.id, d.event, d.state, d.error, d.created_at,"
                " COALESCE(a.attempt, 0), a.status_code, a.error, a.duration_ms, a.created_at"
                " FROM webhook_deliveries d LEFT JOIN webhook_attempts a ON a.delivery_id = d.id"
                " WHERE d.webhook_id = $1 AND (d.seq < $2 OR (d.seq = $2 AND COALESCE(a.attempt, 0) < $3))"
                " ORDER BY d.seq DESC, COALESCE(a.attempt, 0) DESC LIMIT $4",
                {Value(webhook_id), Value(from.first), Value(from.second), Value(limit + 1)}));
    for (size_t i = 0; i < r.size() && i < static_cast<size_t>(limit); ++i) {
      DeliveryAttempt a;
      a.delivery_id = r.Text(i, 1);
      a.event = r.Text(i, 2);
      a.state = r.Text(i, 3);
      a.attempt = r.Int(i, 6);
      if (a.attempt == 0) {
        a.error = r.Text(i, 4);  // why a delivery ended without a request, if it did
        a.created_ms = r.Int(i, 5);
      } else {
        if (!r.IsNull(i, 7)) a.status_code = r.Int(i, 7);
        a.error = r.Text(i, 8);
        a.duration_ms = r.Int(i, 9);
        a.created_ms = r.Int(i, 10);
      }
      page.attempts.push_back(std::move(a));
    }
    if (r.size() > static_cast<size_t>(limit)) {
      const size_t last = static_cast<size_t>(limit) - 1;
      page.next_cursor = std::to_string(r.Int(last, 0)) + "." + std::to_string(r.Int(last, 6));
    }
    return OkStatus();
  }));
  return page;
}

// ---------------------------------------------------------------------------------------
// Outbox.

Status WebhookService::Emit(Conn& c, std::string_view event, const json& data, int64_t now_ms) {
  if (!IsWebhookEventName(event)) {
    return InvalidArgumentError("webhooks: unknown event \"" + SanitizeForLog(event, 64) + "\"");
  }
  ASSIGN_OR_RETURN(Rows hooks, c.Query("SELECT id, events FROM webhooks WHERE enabled = 1 ORDER BY id"));
  for (size_t i = 0; i < hooks.size(); ++i) {
    const json events = json::parse(hooks.Text(i, 1), nullptr, /*allow_exceptions=*/false);
    if (!Subscribed(events, event)) continue;
    ASSIGN_OR_RETURN(std::string delivery_id, NewId("whd_"));
    std::string body;
    try {
      body = json{{"id", delivery_id}, {"event", event}, {"createdAt", now_ms}, {"data", data}}.dump();
    } catch (const std::exception&) {
      return InvalidArgumentError("webhooks: event data cannot be serialized (invalid UTF-8)");
    }
    const std::string payload = json{{"deliveryId", delivery_id}}.dump();
    ASSIGN_OR_RETURN(int64_t job_id, store::JobQueue::Enqueue(c, kWebhookQueue, payload, options_.job, now_ms));
    RETURN_IF_ERROR(c.Exec("INSERT INTO webhook_deliveries (id, webhook_id, seq, event, payload, state, attempts,"
                           " error, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, '', $6, $6)",
                           {Value(delivery_id), Value(hooks.Text(i, 0)), Value(job_id), Value(event), Value(body),
                            Value(now_ms)}));
  }
  return OkStatus();
}

// ---------------------------------------------------------------------------------------
// Delivery.

Status WebhookService::RegisterHandlers(store::WorkerPool& pool) {
  return pool.Register(std::string(kWebhookQueue), [this](store::JobContext& ctx) { return Deliver(ctx); });
}

JobResult WebhookService::FailDelivery(std::string_view delivery_id, std::string_view error, int64_t now_ms) {
  const Status st = db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    return c.Exec("UPDATE webhook_deliveries SET state = 'failed', error = $1, updated_at = $2"
                  " WHERE id = $3 AND state = 'pending'",
                  {Value(error), Value(now_ms), Value(delivery_id)});
  });
  if (!st.ok()) return JobResult::Retry("webhook delivery: cannot record the failure: " + st.ToString());
  return JobResult::Permanent(std::string(error));
}

JobResult WebhookService::Deliver(store::JobContext& ctx) {
  const store::Job& job = ctx.job();
  const json payload = json::parse(job.payload, nullptr, /*allow_exceptions=*/false);
  const json* id = payload.is_object() && payload.contains("deliveryId") ? &payload.at("deliveryId") : nullptr;
  if (id == nullptr || !id->is_string() || !IsId(id->get_ref<const std::string&>(), "whd_")) {
    return JobResult::Permanent("webhook delivery: malformed job payload");
  }
  const std::string delivery_id = id->get<std::string>();

  struct Loaded {
    std::string state, body, event, webhook_id, url;
    Bytes sealed;
    bool webhook_exists = false;
    bool enabled = false;
  };
  std::optional<Loaded> d;
  const Status load = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    d.reset();
    ASSIGN_OR_RETURN(Rows r, c.Query("SELECT d.state, d.payload, d.event, d.webhook_id, w.url, w.secret_sealed,"
                                     " w.enabled, w.id FROM webhook_deliveries d"
                                     " LEFT JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1",
                                     {Value(delivery_id)}));
    if (r.empty()) return OkStatus();
    d = Loaded{r.Text(0, 0), r.Text(0, 1), r.Text(0, 2), r.Text(0, 3), r.Text(0, 4), r.Blob(0, 5),
               !r.IsNull(0, 7), r.Int(0, 6) != 0};
    return OkStatus();
  });
  if (!load.ok()) return JobResult::Retry("webhook delivery: store: " + load.ToString());
  if (!d) return JobResult::Permanent("webhook delivery " + delivery_id + " not found (webhook deleted)");
  if (d->state != "pending") return JobResult::Success("already " + d->state);
  if (!d->webhook_exists) return FailDelivery(delivery_id, "webhook deleted", Now());
  if (!d->enabled) return FailDelivery(delivery_id, "webhook disabled", Now());
  StatusOr<SecureBuffer> secret = Open(d->webhook_id, d->sealed);
  if (!secret.ok()) return FailDelivery(delivery_id, secret.status().message(), Now());

  const int64_t attempt = job.attempts;
  const int64_t started_ms = Now();
  const HttpHeaders headers = {
      {"Content-Type", "application/json"},
      {"VP-Webhook-Id", d->webhook_id},
      {"VP-Event", d->event},
      {"VP-Delivery", delivery_id},
      {"VP-Signature", WebhookSignature(AsString(secret->view()), started_ms / 1000, d->body)},
  };
  const auto t0 = std::chrono::steady_clock::now();
  const StatusOr<HttpResponse> response = HttpPost(d->url, headers, d->body, options_.http);
  const int64_t duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();

  std::optional<int64_t> status_code;
  std::string error;
  bool delivered = false;
  bool gone = false;
  if (!response.ok()) {
    error = SanitizeForLog(response.status().message(), kMaxErrorText);
    // The host resolved only to non-public addresses: refused for good, never retried.
    gone = response.status().code() == StatusCode::kPermissionDenied;
  } else {
    status_code = response->status;
    delivered = response->status >= 200 && response->status <= 299;
    gone = response->status == 410;
    if (!delivered) {
      error = "HTTP " + std::to_string(response->status);
      if (!response->body.empty()) error += ": " + SanitizeForLog(response->body, 200);
    }
  }
  const bool last = attempt >= job.max_attempts;
  const std::string state = delivered ? "delivered" : (gone || last ? "failed" : "pending");
  const int64_t now_ms = Now();
  const Status recorded = db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    RETURN_IF_ERROR(c.Exec("INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error, duration_ms,"
                           " created_at) VALUES ($1, $2, $3, $4, $5, $6)"
                           " ON CONFLICT (delivery_id, attempt) DO NOTHING",
                           {Value(delivery_id), Value(attempt), status_code ? Value(*status_code) : Value::Null(),
                            Value(error), Value(duration_ms), Value(now_ms)}));
    RETURN_IF_ERROR(c.Exec("UPDATE webhook_deliveries SET state = $1, attempts = $2, error = $3, updated_at = $4"
                           " WHERE id = $5 AND state = 'pending'",
                           {Value(state), Value(attempt), Value(error), Value(now_ms), Value(delivery_id)}));
    if (!gone || !status_code) return OkStatus();
    return c.Exec("UPDATE webhooks SET enabled = 0, disabled_reason = $1, updated_at = $2 WHERE id = $3",
                  {Value("receiver answered 410 Gone"), Value(now_ms), Value(d->webhook_id)});
  });
  if (!recorded.ok()) {
    // Delivered but not recorded: the retry may deliver it again (receivers dedupe on the
    // delivery id; delivery is at least once).
    return JobResult::Retry("webhook delivery: cannot record the attempt: " + recorded.ToString());
  }
  if (delivered) return JobResult::Success(json{{"statusCode", *status_code}}.dump());
  if (gone && !status_code) return JobResult::Permanent(error);
  if (gone) return JobResult::Permanent("HTTP 410 Gone: webhook " + d->webhook_id + " disabled");
  return JobResult::Retry(error);
}

}  // namespace vp::wallet
