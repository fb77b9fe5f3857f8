// Db: one SQL interface with two implementations, SQLite (WAL; the default, a file under
// var/) and PostgreSQL (libpq; selected by a postgres:// URL). Everything above the store
// (repositories for API keys, idempotency, rate limits, jobs, audit; later wallets and
// ballots) is written once against this interface and tested on both backends.
//
// SQL is written with PostgreSQL-style numbered parameters ($1, $2, ...); the SQLite
// backend rewrites them to ?1, ?2. Types are kept to the portable subset: BIGINT, TEXT,
// BYTEA (BLOB on SQLite), DOUBLE PRECISION; no SERIAL (ids come from the application or
// from a sequence table). Where the dialects differ (FOR UPDATE SKIP LOCKED), code asks
// dialect().
//
//   ASSIGN_OR_RETURN(auto db, vp::store::OpenDb("var/vaultproof.db"));   // or postgres://...
//   RETURN_IF_ERROR(db->Transact(TxMode::kWrite, [&](Conn& c) -> Status {
//     ASSIGN_OR_RETURN(auto rows, c.Query("SELECT n FROM t WHERE id = $1", {Value(id)}));
//     return c.Exec("UPDATE t SET n = $1 WHERE id = $2", {Value(rows.Int(0, 0) + 1), Value(id)});
//   }));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "vp/base/bytes.h"
#include "vp/base/status.h"

namespace vp::store {

enum class Dialect { kSqlite, kPostgres };

// A SQL value. Integers are 64-bit; blobs are bytes; NULL is std::monostate.
class Value {
 public:
  Value() = default;  // NULL
  Value(int64_t v) : v_(v) {}                 // NOLINT: implicit by design
  Value(int v) : v_(static_cast<int64_t>(v)) {}  // NOLINT
  Value(double v) : v_(v) {}                  // NOLINT
  Value(std::string v) : v_(std::move(v)) {}  // NOLINT
  Value(std::string_view v) : v_(std::string(v)) {}  // NOLINT
  Value(const char* v) : v_(std::string(v)) {}       // NOLINT
  Value(Bytes v) : v_(std::move(v)) {}        // NOLINT
  Value(bool v) : v_(static_cast<int64_t>(v ? 1 : 0)) {}  // NOLINT
  static Value Null() { return Value(); }

  bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
  bool is_int() const { return std::holds_alternative<int64_t>(v_); }
  bool is_double() const { return std::holds_alternative<double>(v_); }
  bool is_text() const { return std::holds_alternative<std::string>(v_); }
  bool is_blob() const { return std::holds_alternative<Bytes>(v_); }
  int64_t as_int() const { return is_int() ? std::get<int64_t>(v_) : 0; }
  double as_double() const { return is_double() ? std::get<double>(v_) : (is_int() ? static_cast<double>(std::get<int64_t>(v_)) : 0.0); }
  const std::string& as_text() const;
  const Bytes& as_blob() const;

 private:
  std::variant<std::monostate, int64_t, double, std::string, Bytes> v_;
};

using Params = std::vector<Value>;

// Rows of a result, column-typed as declared (BIGINT -> int, TEXT -> text, BYTEA/BLOB ->
// blob). Accessors return a neutral value (0, "", empty) for NULL or out-of-range cells;
// callers that care check IsNull().
class Rows {
 public:
  Rows() = default;
  Rows(std::vector<std::string> columns, std::vector<std::vector<Value>> rows)
      : columns_(std::move(columns)), rows_(std::move(rows)) {}

  size_t size() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }
  const std::vector<std::string>& columns() const { return columns_; }
  const Value& At(size_t row, size_t col) const;
  bool IsNull(size_t row, size_t col) const { return At(row, col).is_null(); }
  int64_t Int(size_t row, size_t col) const { return At(row, col).as_int(); }
  const std::string& Text(size_t row, size_t col) const { return At(row, col).as_text(); }
  const Bytes& Blob(size_t row, size_t col) const { return At(row, col).as_blob(); }
  // Number of rows changed by the last INSERT/UPDATE/DELETE (Exec) statement.
  int64_t affected = 0;

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<Value>> rows_;
};

// One connection, used by one thread at a time (the pool hands it out).
class Conn {
 public:
  virtual ~Conn() = default;
  virtual Dialect dialect() const = 0;
  // Runs one statement. Constraint violations are kAlreadyExists (unique) or
  // kFailedPrecondition (other constraints); lost connections kUnavailable; SQL errors
  // kInternal with the database's message.
  virtual StatusOr<Rows> Query(std::string_view sql, const Params& params = {}) = 0;
  Status Exec(std::string_view sql, const Params& params = {}) { return Query(sql, params).status(); }
  // Runs a script of several statements without parameters (migrations).
  virtual Status ExecScript(std::string_view sql) = 0;
};

enum class TxMode {
  kRead,   // a consistent snapshot
  kWrite,  // SQLite: BEGIN IMMEDIATE (takes the write lock up front); PostgreSQL: READ COMMITTED
  // A write whose last few commits may be lost on a crash without harm (rate-limit counters,
  // replay markers): as kWrite, but PostgreSQL does not wait for the WAL fsync
  // (synchronous_commit = off for this transaction; it stays atomic and ordered). SQLite:
  // as kWrite.
  kWriteRelaxed,
};

class Db {
 public:
  virtual ~Db() = default;
  virtual Dialect dialect() const = 0;
  // Runs fn inside a transaction on a pooled connection; commits if fn returns OK, else
  // rolls back and returns fn's status. Serialization failures and SQLite busy timeouts
  // are retried a bounded number of times (fn must be safe to re-run).
  virtual Status Transact(TxMode mode, const std::function<Status(Conn&)>& fn) = 0;
  // Runs fn on a pooled connection in autocommit mode.
  virtual Status WithConn(const std::function<Status(Conn&)>& fn) = 0;
  // Applies every migration not yet applied (table schema_migrations), in order, each in
  // its own transaction. Safe to call from several processes at once.
  virtual Status Migrate() = 0;
  // Flushes what the backend buffers (SQLite WAL checkpoint) before shutdown.
  virtual Status Flush() = 0;
};

struct DbOptions {
  size_t pool_size = 8;
  int busy_timeout_ms = 5000;
  // SQLite only: synchronous=FULL makes each commit durable on return (fsync); NORMAL in
  // WAL mode may lose the last commits on power loss. Acknowledged requests need FULL.
  bool sqlite_full_sync = true;
};

// "postgres://..." or "postgresql://..." -> PostgreSQL; "sqlite:PATH", a plain path or
// ":memory:" -> SQLite. Opens the pool and runs Migrate().
StatusOr<std::unique_ptr<Db>> OpenDb(std::string_view url, const DbOptions& options = {});

}  // namespace vp::store
