// The PostgreSQL backend: a pool of libpq connections. Each connection prepares a
// statement once (PQprepare) and caches it by SQL text plus the types of its parameters;
// results come back in text format and are typed by column OID. Write transactions run at
// READ COMMITTED (callers lock rows they read-modify-write: FOR UPDATE, upserts); read
// transactions at REPEATABLE READ READ ONLY, a consistent snapshot.
#include <libpq-fe.h>

#include <charconv>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "vp/store/internal/backends.h"
#include "vp/store/internal/pool.h"

namespace vp::store::internal {
namespace {

// Type OIDs from PostgreSQL's catalog (pg_type.dat); stable across versions.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

constexpr size_t kStatementCacheLimit = 256;
constexpr int kMaxTxAttempts = 4;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

int HexNibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// bytea in text output format is "\x" followed by hex (bytea_output = hex, the default).
Value DecodeBytea(const char* p, size_t n) {
  Bytes out;
  if (n >= 2 && p[0] == '\\' && p[1] == 'x') {
    out.reserve((n - 2) / 2);
    for (size_t i = 2; i + 1 < n; i += 2) {
      int hi = HexNibble(p[i]);
      int lo = HexNibble(p[i + 1]);
      if (hi < 0 || lo < 0) break;
      out.push_back(static_cast<uint8_t>(hi * 16 + lo));
    }
    return Value(std::move(out));
  }
  // The legacy escape format; PQunescapeBytea handles it.
  size_t len = 0;
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(p), &len);
  if (raw != nullptr) {
    out.assign(raw, raw + len);
    PQfreemem(raw);
  }
  return Value(std::move(out));
}

Value DecodeCell(Oid type, const char* p, size_t n) {
  switch (type) {
    case kInt8Oid:
    case kInt4Oid:
    case kInt2Oid:
    case kOidOid: {
      int64_t v = 0;
      std::from_chars(p, p + n, v);
      return Value(v);
    }
    case kBoolOid:
      return Value(static_cast<int64_t>(n > 0 && p[0] == 't' ? 1 : 0));
    case kFloat4Oid:
    case kFloat8Oid: {
      double d = 0;
      std::from_chars(p, p + n, d);
      return Value(d);
    }
    case kNumericOid: {
      // SUM(BIGINT) is NUMERIC: an integer when it has no fraction.
      int64_t v = 0;
      auto [end, ec] = std::from_chars(p, p + n, v);
      if (ec == std::errc() && end == p + n) return Value(v);
      double d = 0;
      std::from_chars(p, p + n, d);
      return Value(d);
    }
    case kByteaOid:
      return DecodeBytea(p, n);
    default:
      return Value(std::string(p, n));
  }
}

class PgConn final : public Conn {
 public:
  explicit PgConn(PGconn* pg) : pg_(pg) {}
  ~PgConn() override { PQfinish(pg_); }
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  Dialect dialect() const override { return Dialect::kPostgres; }
  bool broken() const { return PQstatus(pg_) != CONNECTION_OK; }
  bool in_transaction() const { return PQtransactionStatus(pg_) != PQTRANS_IDLE; }
  bool TakeRetryable() {
    bool r = retryable_;
    retryable_ = false;
    return r;
  }

  StatusOr<Rows> Query(std::string_view sql, const Params& params) override {
    // One letter per parameter type: a statement prepared with an int8 parameter cannot
    // take text there, so the types are part of the cache key.
    key_.assign(sql);
    key_.push_back('\x1f');
    for (const Value& v : params) key_.push_back(v.is_null() ? 'n' : v.is_int() ? 'i' : v.is_double() ? 'd' : v.is_text() ? 't' : 'b');

    const std::string* name = nullptr;
    auto it = cache_.find(key_);
    if (it != cache_.end()) {
      name = &it->second;
    } else {
      if (cache_.size() >= kStatementCacheLimit) {
        Result r(PQexec(pg_, "DEALLOCATE ALL"));
        cache_.clear();
      }
      types_.clear();
      for (const Value& v : params) {
        types_.push_back(v.is_int() ? kInt8Oid : v.is_double() ? kFloat8Oid : v.is_blob() ? kByteaOid : Oid{0});
      }
      std::string stmt_name = "vp" + std::to_string(next_stmt_++);
      std::string text(sql);
      Result r(PQprepare(pg_, stmt_name.c_str(), text.c_str(), static_cast<int>(params.size()), types_.data()));
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return Error(r.get());
      name = &cache_.emplace(key_, std::move(stmt_name)).first->second;
    }

    const size_t n = params.size();
    values_.assign(n, nullptr);
    lengths_.assign(n, 0);
    formats_.assign(n, 0);
    if (scratch_.size() < n) scratch_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const Value& v = params[i];
      if (v.is_null()) continue;
      if (v.is_int() || v.is_double()) {
        char buf[64];
        auto res = v.is_int() ? std::to_chars(buf, buf + sizeof(buf), v.as_int())
                              : std::to_chars(buf, buf + sizeof(buf), v.as_double());
        scratch_[i].assign(buf, res.ptr);
        values_[i] = scratch_[i].c_str();
      } else if (v.is_text()) {
        values_[i] = v.as_text().c_str();  // text format: NUL-terminated
      } else {
        const Bytes& b = v.as_blob();
        static const char kEmpty = 0;
        values_[i] = b.empty() ? &kEmpty : reinterpret_cast<const char*>(b.data());
        lengths_[i] = static_cast<int>(b.size());
        formats_[i] = 1;  // binary: raw bytes, no escaping
      }
    }
    Result r(PQexecPrepared(pg_, name->c_str(), static_cast<int>(n), values_.data(), lengths_.data(),
                            formats_.data(), 0));
    ExecStatusType st = PQresultStatus(r.get());
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return Error(r.get());
    return ToRows(r.get());
  }

  Status ExecScript(std::string_view sql) override {
    std::string text(sql);
    Result r(PQexec(pg_, text.c_str()));
    ExecStatusType st = PQresultStatus(r.get());
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && st != PGRES_EMPTY_QUERY) return Error(r.get());
    return OkStatus();
  }

  // COMMIT of a transaction in which a statement failed reports success with the command
  // tag ROLLBACK; that is an error here.
  Status Commit() {
    Result r(PQexec(pg_, "COMMIT"));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return Error(r.get());
    if (std::strcmp(PQcmdStatus(r.get()), "COMMIT") != 0) {
      return InternalError("postgres: transaction rolled back at COMMIT (a statement in it failed)");
    }
    return OkStatus();
  }

 private:
  static Rows ToRows(PGresult* r) {
    const int nrows = PQntuples(r);
    const int ncols = PQnfields(r);
    std::vector<std::string> columns;
    std::vector<Oid> types;
    columns.reserve(static_cast<size_t>(ncols));
    types.reserve(static_cast<size_t>(ncols));
    for (int c = 0; c < ncols; ++c) {
      columns.emplace_back(PQfname(r, c));
      types.push_back(PQftype(r, c));
    }
    std::vector<std::vector<Value>> rows(static_cast<size_t>(nrows));
    for (int i = 0; i < nrows; ++i) {
      auto& row = rows[static_cast<size_t>(i)];
      row.reserve(static_cast<size_t>(ncols));
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(r, i, c)) {
          row.emplace_back();
        } else {
          row.push_back(DecodeCell(types[static_cast<size_t>(c)], PQgetvalue(r, i, c),
                                   static_cast<size_t>(PQgetlength(r, i, c))));
        }
      }
    }
    Rows out(std::move(columns), std::move(rows));
    const char* tuples = PQcmdTuples(r);
    int64_t affected = 0;
    if (tuples != nullptr) std::from_chars(tuples, tuples + std::strlen(tuples), affected);
    out.affected = affected;
    return out;
  }

  Status Error(const PGresult* r) {
    const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    std::string msg = r != nullptr ? PQresultErrorMessage(r) : "";
    if (msg.empty()) msg = PQerrorMessage(pg_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    msg = "postgres: " + msg;
    std::string_view code = state != nullptr ? state : "";
    if (code == "23505") return AlreadyExistsError(msg);
    if (code.substr(0, 2) == "23") return FailedPreconditionError(msg);
    if (code == "40001" || code == "40P01") {
      retryable_ = true;
      return UnavailableError(msg);
    }
    if (code.substr(0, 2) == "08" || code.substr(0, 3) == "57P" || code == "55P03" || code == "53300" ||
        PQstatus(pg_) != CONNECTION_OK) {
      return UnavailableError(msg);
    }
    return InternalError(msg);
  }

  PGconn* pg_;
  std::unordered_map<std::string, std::string, StringHash, std::equal_to<>> cache_;
  int64_t next_stmt_ = 0;
  bool retryable_ = false;
  // Reused per call, so a query allocates little beyond its result.
  std::string key_;
  std::vector<Oid> types_;
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  std::vector<std::string> scratch_;
};

void IgnoreNotice(void*, const char*) {}

class PgDb final : public Db {
 public:
  PgDb(std::string conninfo, const DbOptions& options)
      : conninfo_(std::move(conninfo)), pool_(options.pool_size, [this] { return OpenConn(); }) {}

  Dialect dialect() const override { return Dialect::kPostgres; }

  Status Transact(TxMode mode, const std::function<Status(Conn&)>& fn) override {
    Status s;
    for (int attempt = 0; attempt < kMaxTxAttempts; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(attempt * 5));
      ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
      conn->TakeRetryable();
      s = conn->ExecScript(mode == TxMode::kWrite           ? "BEGIN"
                           : mode == TxMode::kWriteRelaxed ? "BEGIN; SET LOCAL synchronous_commit TO OFF"
                                                           : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      if (!s.ok()) {
        // A pooled connection that died while idle (server restart): safe to retry on a
        // fresh one, nothing was sent.
        if (conn->broken()) continue;
        return s;
      }
      s = fn(*conn);
      // A COMMIT whose connection died has an unknown outcome: never retried.
      if (s.ok()) return conn->Commit();
      if (conn->in_transaction() && !conn->broken()) (void)conn->ExecScript("ROLLBACK");
      if (!conn->TakeRetryable()) return s;
    }
    return s;
  }

  Status WithConn(const std::function<Status(Conn&)>& fn) override {
    ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    Status s = fn(*conn);
    if (conn->in_transaction() && !conn->broken()) (void)conn->ExecScript("ROLLBACK");
    return s;
  }

  Status Migrate() override { return RunMigrations(*this); }

  Status Flush() override { return OkStatus(); }  // every COMMIT is already durable

 private:
  StatusOr<std::unique_ptr<PgConn>> OpenConn() {
    PGconn* raw = PQconnectdb(conninfo_.c_str());
    if (raw == nullptr) return UnavailableError("postgres: out of memory");
    auto conn = std::make_unique<PgConn>(raw);
    if (PQstatus(raw) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(raw);
      while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
      return UnavailableError("postgres: cannot connect: " + msg);
    }
    PQsetNoticeProcessor(raw, IgnoreNotice, nullptr);
    return conn;
  }

  const std::string conninfo_;
  Pool<PgConn> pool_;
};

}  // namespace

StatusOr<std::unique_ptr<Db>> OpenPostgres(const std::string& conninfo, const DbOptions& options) {
  auto db = std::make_unique<PgDb>(conninfo, options);
  RETURN_IF_ERROR(db->WithConn([](Conn&) { return OkStatus(); }));
  return std::unique_ptr<Db>(std::move(db));
}

}  // namespace vp::store::internal
