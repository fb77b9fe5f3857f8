// The SQLite backend: a pool of connections to one file in WAL mode. Write transactions
// are BEGIN IMMEDIATE and, within one process, also serialized by a mutex, so threads of
// one gateway queue on a condition variable instead of polling SQLite's busy handler
// (which sleeps in steps of up to 100 ms); busy_timeout then only arbitrates between
// processes. Statements are prepared once per connection (SQLITE_PREPARE_PERSISTENT) and
// cached by SQL text. Transact must not be nested on one thread (the write mutex is not
// recursive).
#include <sqlite3.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "vp/store/internal/backends.h"
#include "vp/store/internal/pool.h"

namespace vp::store::internal {
namespace {

constexpr size_t kStatementCacheLimit = 256;
constexpr int kMaxTxAttempts = 4;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// $1, $2 ... -> ?1, ?2 (SQLite reads "$1" as a *named* parameter numbered by first
// appearance, which would misbind "$2 ... $1"). Quoted strings and comments are skipped.
std::string RewriteParams(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  for (size_t i = 0; i < sql.size(); ++i) {
    char ch = sql[i];
    if (ch == '\'' || ch == '"') {
      size_t end = sql.find(ch, i + 1);
      if (end == std::string_view::npos) end = sql.size() - 1;
      out.append(sql.substr(i, end - i + 1));
      i = end;
    } else if (ch == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      if (end == std::string_view::npos) end = sql.size() - 1;
      out.append(sql.substr(i, end - i + 1));
      i = end;
    } else if (ch == '$' && i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
      out.push_back('?');
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

class SqliteConn final : public Conn {
 public:
  explicit SqliteConn(sqlite3* db) : db_(db) {}
  ~SqliteConn() override {
    for (auto& [sql, st] : cache_) sqlite3_finalize(st.stmt);
    sqlite3_close_v2(db_);
  }
  SqliteConn(const SqliteConn&) = delete;
  SqliteConn& operator=(const SqliteConn&) = delete;

  Dialect dialect() const override { return Dialect::kSqlite; }
  bool broken() const { return false; }
  sqlite3* raw() const { return db_; }
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }
  // Whether a statement since the last call hit SQLITE_BUSY / SQLITE_LOCKED.
  bool TakeRetryable() {
    bool r = retryable_;
    retryable_ = false;
    return r;
  }

  StatusOr<Rows> Query(std::string_view sql, const Params& params) override {
    ASSIGN_OR_RETURN(Cached * st, Prepare(sql));
    sqlite3_stmt* stmt = st->stmt;
    struct ResetGuard {
      sqlite3_stmt* s;
      ~ResetGuard() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } guard{stmt};

    const int want = sqlite3_bind_parameter_count(stmt);
    if (static_cast<size_t>(want) != params.size()) {
      return InternalError("sqlite: statement takes " + std::to_string(want) + " parameters, got " +
                           std::to_string(params.size()));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      RETURN_IF_ERROR(Bind(stmt, static_cast<int>(i + 1), params[i]));
    }

    const int ncols = sqlite3_column_count(stmt);
    std::vector<std::vector<Value>> rows;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<Value>& row = rows.emplace_back();
      row.reserve(static_cast<size_t>(ncols));
      for (int c = 0; c < ncols; ++c) row.push_back(Column(stmt, c));
    }
    if (rc != SQLITE_DONE) return Error(rc);
    Rows out(st->columns, std::move(rows));
    out.affected = sqlite3_stmt_readonly(stmt) ? 0 : sqlite3_changes64(db_);
    return out;
  }

  Status ExecScript(std::string_view sql) override {
    std::string text(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return OkStatus();
    std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return Error(rc, msg);
  }

  Status Error(int rc) { return Error(rc, sqlite3_errmsg(db_)); }

 private:
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    std::vector<std::string> columns;
  };

  StatusOr<Cached*> Prepare(std::string_view sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return &it->second;
    if (cache_.size() >= kStatementCacheLimit) {
      // Only reached by code that builds SQL dynamically; start over rather than grow.
      for (auto& [k, st] : cache_) sqlite3_finalize(st.stmt);
      cache_.clear();
    }
    std::string text = RewriteParams(sql);
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db_, text.c_str(), static_cast<int>(text.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                                &tail);
    if (rc != SQLITE_OK) return Error(rc);
    if (stmt == nullptr) return InvalidArgumentError("sqlite: empty statement");
    for (; tail != nullptr && *tail != '\0'; ++tail) {
      if (*tail != ' ' && *tail != '\n' && *tail != '\t' && *tail != '\r' && *tail != ';') {
        sqlite3_finalize(stmt);
        return InvalidArgumentError("sqlite: Query takes one statement (use ExecScript for several)");
      }
    }
    Cached st;
    st.stmt = stmt;
    const int n = sqlite3_column_count(stmt);
    for (int c = 0; c < n; ++c) {
      const char* name = sqlite3_column_name(stmt, c);
      st.columns.emplace_back(name != nullptr ? name : "");
    }
    auto [pos, inserted] = cache_.emplace(std::string(sql), std::move(st));
    return &pos->second;
  }

  Status Bind(sqlite3_stmt* stmt, int idx, const Value& v) {
    int rc;
    // SQLITE_STATIC: params outlive the statement's use (cleared in ResetGuard).
    if (v.is_null()) {
      rc = sqlite3_bind_null(stmt, idx);
    } else if (v.is_int()) {
      rc = sqlite3_bind_int64(stmt, idx, v.as_int());
    } else if (v.is_double()) {
      rc = sqlite3_bind_double(stmt, idx, v.as_double());
    } else if (v.is_text()) {
      const std::string& s = v.as_text();
      rc = sqlite3_bind_text64(stmt, idx, s.data(), s.size(), SQLITE_STATIC, SQLITE_UTF8);
    } else {
      const Bytes& b = v.as_blob();
      // A null data pointer would bind NULL, not an empty blob.
      rc = b.empty() ? sqlite3_bind_zeroblob(stmt, idx, 0)
                     : sqlite3_bind_blob64(stmt, idx, b.data(), b.size(), SQLITE_STATIC);
    }
    return rc == SQLITE_OK ? OkStatus() : Error(rc);
  }

  static Value Column(sqlite3_stmt* stmt, int c) {
    switch (sqlite3_column_type(stmt, c)) {
      case SQLITE_INTEGER:
        return Value(static_cast<int64_t>(sqlite3_column_int64(stmt, c)));
      case SQLITE_FLOAT:
        return Value(sqlite3_column_double(stmt, c));
      case SQLITE_TEXT: {
        const unsigned char* p = sqlite3_column_text(stmt, c);
        int n = sqlite3_column_bytes(stmt, c);
        return Value(std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)));
      }
      case SQLITE_BLOB: {
        const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, c));
        int n = sqlite3_column_bytes(stmt, c);
        return Value(p == nullptr ? Bytes() : Bytes(p, p + n));
      }
      default:
        return Value();
    }
  }

  Status Error(int rc, std::string_view msg) {
    const int primary = rc & 0xff;
    std::string m = "sqlite: " + std::string(msg);
    switch (primary) {
      case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) return AlreadyExistsError(m);
        return FailedPreconditionError(m);
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
        retryable_ = true;
        return UnavailableError(m);
      case SQLITE_IOERR:
      case SQLITE_CANTOPEN:
      case SQLITE_FULL:
      case SQLITE_NOMEM:
      case SQLITE_READONLY:
        return UnavailableError(m);
      default:
        return InternalError(m);
    }
  }

  sqlite3* db_;
  std::unordered_map<std::string, Cached, StringHash, std::equal_to<>> cache_;
  bool retryable_ = false;
};

class SqliteDb final : public Db {
 public:
  SqliteDb(std::string path, const DbOptions& options)
      : path_(std::move(path)),
        options_(options),
        pool_(path_ == ":memory:" ? 1 : options.pool_size, [this] { return OpenConn(); }) {}

  Dialect dialect() const override { return Dialect::kSqlite; }

  Status Transact(TxMode mode, const std::function<Status(Conn&)>& fn) override {
    Status s;
    for (int attempt = 0; attempt < kMaxTxAttempts; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(attempt * 5));
      ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
      std::unique_lock<std::mutex> write_lock(write_mu_, std::defer_lock);
      if (mode != TxMode::kRead) write_lock.lock();
      conn->TakeRetryable();
      s = conn->Exec(mode != TxMode::kRead ? "BEGIN IMMEDIATE" : "BEGIN");
      if (s.ok()) {
        s = fn(*conn);
        if (s.ok()) s = conn->Exec("COMMIT");
        if (!s.ok() && conn->in_transaction()) (void)conn->ExecScript("ROLLBACK");
      }
      if (s.ok() || !conn->TakeRetryable()) return s;
    }
    return s;
  }

  Status WithConn(const std::function<Status(Conn&)>& fn) override {
    ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    Status s = fn(*conn);
    // Never hand a connection with an open transaction back to the pool.
    if (conn->in_transaction()) (void)conn->ExecScript("ROLLBACK");
    return s;
  }

  Status Migrate() override { return RunMigrations(*this); }

  Status Flush() override {
    ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    std::lock_guard<std::mutex> write_lock(write_mu_);
    int rc = sqlite3_wal_checkpoint_v2(conn->raw(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    if (rc != SQLITE_OK) return conn->Error(rc);
    return OkStatus();
  }

 private:
  StatusOr<std::unique_ptr<SqliteConn>> OpenConn() {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (raw == nullptr) return UnavailableError("sqlite: out of memory opening " + path_);
    auto conn = std::make_unique<SqliteConn>(raw);
    if (rc != SQLITE_OK) return conn->Error(rc).Annotate("open " + path_);
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, options_.busy_timeout_ms);
    // A page cache of up to 64 MiB per connection (SQLite's default is 2 MiB): a large write
    // transaction (2^20 ballot leaves) otherwise spills B-tree pages to the WAL and reads
    // them back for every insert. The cache grows only as pages are used.
    std::string pragmas =
        "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; PRAGMA synchronous=";
    pragmas += options_.sqlite_full_sync ? "FULL;" : "NORMAL;";
    RETURN_IF_ERROR(conn->ExecScript(pragmas).Annotate("open " + path_));
    return conn;
  }

  const std::string path_;
  const DbOptions options_;
  std::mutex write_mu_;  // held for the whole of a write transaction
  Pool<SqliteConn> pool_;
};

}  // namespace

StatusOr<std::unique_ptr<Db>> OpenSqlite(const std::string& path, const DbOptions& options) {
  auto db = std::make_unique<SqliteDb>(path, options);
  // Open one connection now so that a bad path fails here, not at first use.
  RETURN_IF_ERROR(db->WithConn([](Conn&) { return OkStatus(); }));
  return std::unique_ptr<Db>(std::move(db));
}

}  // namespace vp::store::internal
