// Webhooks: clients subscribe a URL to custody events and receive each one as a signed
// HTTP POST. WebhookService is the EventSink of the transaction pipeline (events.h): Emit
// runs in the store transaction that changed the transaction, inserts one delivery per
// subscribed webhook and enqueues its job on the "webhook.deliver" queue on the same
// connection, so a delivery exists if and only if the change commits. The job handler
// (RegisterHandlers) POSTs the delivery, records every attempt, and retries with backoff
// through the job queue. Wire format and HTTP routes: docs/api.md, "Webhooks".
//
//   ASSIGN_OR_RETURN(SecureBuffer key, WebhookService::DeriveSecretKey(pepper.view()));
//   WebhookService webhooks(*db, std::move(key));
//   RETURN_IF_ERROR(webhooks.RegisterHandlers(pool));          // before pool.Start()
//   ASSIGN_OR_RETURN(CreatedWebhook w, webhooks.Create(body_json, key_id, now_ms));
//   ... TransactionService calls webhooks.Emit(conn, "transaction.signed", record, now_ms)
//
// Secrets: each webhook has a random signing secret, shown once by Create. The store keeps
// it only sealed (AES-256-GCM under a key derived from the gateway's pepper, bound to the
// webhook id); it never appears in Get/List/Deliveries output, job payloads, errors or logs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vp/base/bytes.h"
#include "vp/base/secure.h"
#include "vp/base/status.h"
#include "vp/store/db.h"
#include "vp/store/jobs.h"
#include "vp/store/worker.h"
#include "vp/wallet/events.h"
#include "vp/wallet/http_post.h"

namespace vp::wallet {

inline constexpr std::string_view kWebhookQueue = "webhook.deliver";
inline constexpr size_t kMaxWebhookUrlLength = 2048;

// The events a webhook may subscribe to (events.h), in lifecycle order; "*" means all.
std::span<const std::string_view> WebhookEventNames();
bool IsWebhookEventName(std::string_view event);

// VP-Signature header value: "t=<unix_seconds>,v1=<hex HMAC-SHA256(secret, t "." body)>",
// with the secret's ASCII text ("whsec_...") as the HMAC key.
std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body);

struct WebhookOptions {
  // Deliveries: 8 attempts, backoff 1 s doubling up to 5 min (the last attempt about
  // 2 min 7 s after the first).
  store::JobOptions job{.max_attempts = 8, .delay_ms = 0, .backoff_base_ms = 1'000, .backoff_max_ms = 300'000};
  // 5 s to connect, 10 s for the whole POST, the answer's body read up to 4 KiB and cut
  // there, no keep-alive, no redirects, and only to public addresses: a webhook URL must not
  // reach the gateway's own network (loopback, private, link-local and cloud metadata
  // addresses are refused at delivery and, for IP literals, at creation; the gateway's
  // [webhooks] allow_private_addresses = true lifts this for tests and closed networks).
  // ca_file: private CAs (tests).
  HttpOptions http{.connect_timeout = std::chrono::milliseconds(5'000),
                   .request_timeout = std::chrono::milliseconds(10'000),
                   .total_timeout = std::chrono::milliseconds(10'000),
                   .max_response_bytes = 4 * 1024,
                   .truncate_body = true,
                   .ca_file = {},
                   .keep_alive = false,
                   .allow_private_addresses = false};
  size_t max_webhooks = 100;       // Create refuses more (kResourceExhausted): bounds Emit's work
  std::function<int64_t()> clock;  // ms since the epoch for the handler; empty: system clock
};

struct Webhook {
  std::string id;  // "wh_" + 24 hex
  std::string url;
  std::vector<std::string> events;  // as subscribed: event names, or {"*"}
  bool enabled = true;
  std::string disabled_reason;  // "" while enabled; "disabled by <principal>", "receiver answered 410 Gone"
  std::string created_by;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};
// {id, url, events, enabled, disabledReason (when disabled), createdBy, createdAt, updatedAt}
nlohmann::json WebhookJson(const Webhook& w);

struct CreatedWebhook {
  Webhook webhook;
  std::string secret;  // "whsec_" + 64 hex; shown once, never stored in plaintext
};
// WebhookJson + "secret".
nlohmann::json CreatedWebhookJson(const CreatedWebhook& w);

// One row of the deliveries listing: one attempt of one delivery, newest first. A delivery
// not attempted yet appears once with attempt 0.
struct DeliveryAttempt {
  std::string delivery_id;  // "whd_" + 24 hex: the "id" of the POSTed body (receivers dedupe on it)
  std::string event;
  int64_t attempt = 0;                 // 1, 2, ...; 0: not attempted yet
  std::optional<int64_t> status_code;  // the receiver's HTTP status; nullopt: no answer
  std::string error;                   // "" on success
  int64_t duration_ms = 0;
  int64_t created_ms = 0;  // when the attempt ended (attempt 0: when the delivery was queued)
  std::string state;       // the delivery's state now: "pending" | "delivered" | "failed"
};
struct DeliveryPage {
  std::vector<DeliveryAttempt> attempts;
  std::string next_cursor;  // "" on the last page
};
// {"deliveries":[{deliveryId, event, attempt, statusCode (null: none), error, durationMs,
// createdAt, state}], "nextCursor": string|null}
nlohmann::json DeliveryPageJson(const DeliveryPage& page);

class WebhookService final : public EventSink {
 public:
  // The 32-byte key that seals webhook secrets: HKDF-SHA256 of the gateway's 32-byte pepper
  // (<data-dir>/api-key-pepper.key) with its own label, so it is useless for anything else.
  // kInvalidArgument if the pepper is not 32 bytes.
  static StatusOr<SecureBuffer> DeriveSecretKey(ByteSpan pepper);

  // `db` must outlive the service; `secret_key` is DeriveSecretKey's result (32 bytes; any
  // other size makes every call that needs it kFailedPrecondition).
  WebhookService(store::Db& db, SecureBuffer secret_key, WebhookOptions options = {});

  // request: {"url": "http(s)://...", "events": ["transaction.signed", ...] | ["*"]}; unknown
  // fields, a malformed or over-long URL (userinfo, fragment, bad host or port), an empty,
  // duplicated or unknown event list are kInvalidArgument naming the field.
  StatusOr<CreatedWebhook> Create(const nlohmann::json& request, std::string_view principal, int64_t now_ms);
  // kNotFound for an unknown id.
  StatusOr<Webhook> Get(std::string_view id);
  // Ordered by id, after `after` ("" first page); limit 1..500.
  StatusOr<std::vector<Webhook>> List(std::string_view after, int64_t limit);
  // Disabled webhooks get no new deliveries, and their pending deliveries fail at their next
  // attempt without a request. Enabling again does not revive failed deliveries.
  StatusOr<Webhook> Disable(std::string_view id, std::string_view principal, int64_t now_ms);
  StatusOr<Webhook> Enable(std::string_view id, int64_t now_ms);
  // Removes the webhook with its deliveries and attempts (queued jobs then end at once as
  // dead letters). kNotFound for an unknown id.
  Status Delete(std::string_view id);
  // The webhook's attempts, newest first; limit 1..500; cursor "" or a next_cursor.
  // kNotFound for an unknown webhook; kInvalidArgument for a malformed cursor.
  StatusOr<DeliveryPage> Deliveries(std::string_view webhook_id, int64_t limit, std::string_view cursor);

  // EventSink: kInvalidArgument for an event not in WebhookEventNames() or data that is not
  // serializable (the caller's transaction then rolls back).
  Status Emit(store::Conn& c, std::string_view event, const nlohmann::json& data, int64_t now_ms) override;

  // Registers the "webhook.deliver" handler (Deliver) with the pool, before pool.Start().
  Status RegisterHandlers(store::WorkerPool& pool);
  // The handler: one POST of the job's delivery. 2xx: delivered. 410 Gone: the delivery
  // fails and the webhook is disabled (Permanent). Any other status, a timeout or a
  // transport error: the attempt is recorded and the job retried (Retry); after the last
  // attempt the delivery is failed. Public so tests can drive it with a JobContext.
  store::JobResult Deliver(store::JobContext& ctx);

 private:
  int64_t Now() const;
  StatusOr<Bytes> Seal(std::string_view webhook_id, std::string_view secret);
  StatusOr<SecureBuffer> Open(std::string_view webhook_id, ByteSpan sealed);
  StatusOr<Webhook> SetEnabled(std::string_view id, bool enabled, std::string reason, int64_t now_ms);
  // Ends a delivery without a request (webhook gone or disabled, secret unreadable).
  store::JobResult FailDelivery(std::string_view delivery_id, std::string_view error, int64_t now_ms);

  store::Db& db_;
  SecureBuffer key_;
  WebhookOptions options_;
};

}  // namespace vp::wallet
