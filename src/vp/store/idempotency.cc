// IdempotencyRepo over Db: one write transaction per call. The INSERT ... ON CONFLICT DO
// NOTHING makes the first reservation atomic on both backends (on PostgreSQL a concurrent
// insert of the same key waits for the other transaction); an existing row is then read
// with FOR UPDATE on PostgreSQL so a takeover of an expired row is decided once.
#include "vp/store/idempotency.h"

#include <algorithm>

namespace vp::store {
namespace {

constexpr size_t kMaxKeyBytes = 255;

Status CheckArgs(std::string_view scope, std::string_view key) {
  if (scope.empty()) return InvalidArgumentError("idempotency: empty scope");
  if (key.empty()) return InvalidArgumentError("idempotency: empty key");
  if (key.size() > kMaxKeyBytes) {
    return InvalidArgumentError("idempotency: key longer than " + std::to_string(kMaxKeyBytes) + " bytes");
  }
  return OkStatus();
}

bool SameBytes(const Bytes& a, ByteSpan b) { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }

}  // namespace

StatusOr<Reservation> IdempotencyRepo::Reserve(std::string_view scope, std::string_view key, ByteSpan request_hash,
                                               int64_t now_ms) {
  RETURN_IF_ERROR(CheckArgs(scope, key));
  Bytes hash(request_hash.begin(), request_hash.end());
  Reservation out;
  if (Status tx = db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    out = Reservation{};
    ASSIGN_OR_RETURN(Rows ins, c.Query("INSERT INTO idempotency_keys"
                                       " (scope, idem_key, request_hash, state, created_at, updated_at)"
                                       " VALUES ($1, $2, $3, 'in_progress', $4, $4)"
                                       " ON CONFLICT (scope, idem_key) DO NOTHING",
                                       {Value(scope), Value(key), Value(hash), Value(now_ms)}));
    if (ins.affected == 1) return OkStatus();  // kNew

    const bool pg = c.dialect() == Dialect::kPostgres;
    ASSIGN_OR_RETURN(Rows r, c.Query(pg ? "SELECT request_hash, state, status_code, content_type, body, created_at,"
                                          " updated_at FROM idempotency_keys WHERE scope = $1 AND idem_key = $2"
                                          " FOR UPDATE"
                                        : "SELECT request_hash, state, status_code, content_type, body, created_at,"
                                          " updated_at FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
                                     {Value(scope), Value(key)}));
    if (r.empty()) return UnavailableError("idempotency: record vanished during reservation; retry");
    const int64_t created = r.Int(0, 5);
    const int64_t updated = r.Int(0, 6);
    const bool expired = now_ms - created >= options_.ttl_ms;
    const bool same = SameBytes(r.Blob(0, 0), request_hash);
    const bool in_progress = r.Text(0, 1) == "in_progress";
    const bool abandoned = in_progress && same && now_ms - updated >= options_.in_progress_timeout_ms;
    if (expired || abandoned) {
      return c.Exec("UPDATE idempotency_keys SET request_hash = $3, state = 'in_progress', status_code = NULL,"
                    " content_type = NULL, body = NULL, created_at = $4, updated_at = $4"
                    " WHERE scope = $1 AND idem_key = $2",
                    {Value(scope), Value(key), Value(hash), Value(now_ms)});
    }
    if (!same) {
      out.outcome = ReserveOutcome::kConflict;
    } else if (in_progress) {
      out.outcome = ReserveOutcome::kInProgress;
    } else {
      out.outcome = ReserveOutcome::kCompleted;
      StoredResponse resp;
      resp.status_code = static_cast<int>(r.Int(0, 2));
      resp.content_type = r.Text(0, 3);
      resp.body = r.Blob(0, 4);
      resp.created_at_ms = created;
      out.response = std::move(resp);
    }
    return OkStatus();
  }); !tx.ok()) return tx;
  return out;
}

Status IdempotencyRepo::Complete(std::string_view scope, std::string_view key, int status_code,
                                 std::string_view content_type, ByteSpan body, int64_t now_ms) {
  RETURN_IF_ERROR(CheckArgs(scope, key));
  Bytes b(body.begin(), body.end());
  return db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("UPDATE idempotency_keys SET state = 'completed', status_code = $3,"
                                     " content_type = $4, body = $5, updated_at = $6"
                                     " WHERE scope = $1 AND idem_key = $2 AND state = 'in_progress'",
                                     {Value(scope), Value(key), Value(status_code), Value(content_type), Value(b),
                                      Value(now_ms)}));
    if (r.affected == 0) {
      return FailedPreconditionError("idempotency: key " + std::string(key) + " is not reserved");
    }
    return OkStatus();
  });
}

Status IdempotencyRepo::Release(std::string_view scope, std::string_view key) {
  RETURN_IF_ERROR(CheckArgs(scope, key));
  return db_.Transact(TxMode::kWrite, [&](Conn& c) {
    return c.Exec("DELETE FROM idempotency_keys WHERE scope = $1 AND idem_key = $2 AND state = 'in_progress'",
                  {Value(scope), Value(key)});
  });
}

StatusOr<int64_t> IdempotencyRepo::Sweep(int64_t now_ms) {
  int64_t deleted = 0;
  if (Status tx = db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("DELETE FROM idempotency_keys WHERE created_at <= $1",
                                     {Value(now_ms - options_.ttl_ms)}));
    deleted = r.affected;
    return OkStatus();
  }); !tx.ok()) return tx;
  return deleted;
}

}  // namespace vp::store
