// IdempotencyRepo: `Idempotency-Key` on POST. The first request with a key reserves it;
// the handler runs; Complete() stores the response, which is then replayed for 24 h to any
// request with the same scope, key and request hash. The same key with a different request
// hash is a conflict (HTTP 409); a request arriving while the first is still running sees
// kInProgress (HTTP 409 too, retry later).
//
//   ASSIGN_OR_RETURN(Reservation r, repo.Reserve(key_id, idem_key, Sha256(canonical), now));
//   switch (r.outcome) { case ReserveOutcome::kNew: run handler, then repo.Complete(...); ...
//                        case ReserveOutcome::kCompleted: replay *r.response; ... }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vp/base/bytes.h"
#include "vp/base/status.h"
#include "vp/store/db.h"

namespace vp::store {

struct StoredResponse {
  int status_code = 0;
  std::string content_type;
  Bytes body;
  int64_t created_at_ms = 0;  // when the key was first reserved
};

enum class ReserveOutcome {
  kNew,         // reserved for this caller: run the handler, then Complete() or Release()
  kInProgress,  // another request with the same key and hash is running
  kCompleted,   // done before: replay `response`
  kConflict,    // the key was used with a different request hash
};

struct Reservation {
  ReserveOutcome outcome = ReserveOutcome::kNew;
  std::optional<StoredResponse> response;  // set for kCompleted only
};

struct IdempotencyOptions {
  int64_t ttl_ms = 24LL * 3600 * 1000;  // a record (completed or not) lives this long
  // A reservation not completed within this time is considered abandoned (the gateway
  // died mid-request) and the key may be reserved again by a request with the same hash.
  int64_t in_progress_timeout_ms = 5LL * 60 * 1000;
};

class IdempotencyRepo {
 public:
  explicit IdempotencyRepo(Db& db, IdempotencyOptions options = {}) : db_(db), options_(options) {}

  // scope is the caller's identity (API key id), so two callers' keys never collide.
  // kInvalidArgument for an empty scope or key, or a key longer than 255 bytes.
  // An expired record (older than ttl_ms) counts as absent.
  StatusOr<Reservation> Reserve(std::string_view scope, std::string_view key, ByteSpan request_hash,
                                int64_t now_ms);
  // Stores the response of a kNew reservation. kFailedPrecondition if the key is not
  // reserved and in progress (never reserved, already completed, or expired and taken over).
  Status Complete(std::string_view scope, std::string_view key, int status_code,
                  std::string_view content_type, ByteSpan body, int64_t now_ms);
  // Drops an in-progress reservation (the handler failed before doing anything durable)
  // so that the client may retry at once. Absent or completed records are left alone (OK).
  Status Release(std::string_view scope, std::string_view key);
  // Deletes records older than ttl_ms; returns how many.
  StatusOr<int64_t> Sweep(int64_t now_ms);

 private:
  Db& db_;
  IdempotencyOptions options_;
};

}  // namespace vp::store
