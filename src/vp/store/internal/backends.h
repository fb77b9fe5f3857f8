// Internal: the two backends' factories and the shared migration runner (not for use
// outside src/vp/store/).
#pragma once

#include <memory>
#include <string>

#include "vp/store/db.h"

namespace vp::store::internal {

// path: a file path or ":memory:" (a private database; the pool is then one connection).
StatusOr<std::unique_ptr<Db>> OpenSqlite(const std::string& path, const DbOptions& options);
// conninfo: a libpq connection URI or key=value string.
StatusOr<std::unique_ptr<Db>> OpenPostgres(const std::string& conninfo, const DbOptions& options);

// Applies the missing entries of Migrations() to db, each in its own write transaction.
// Concurrent callers (threads or processes) serialize: SQLite through BEGIN IMMEDIATE,
// PostgreSQL through a transaction-scoped advisory lock.
Status RunMigrations(Db& db);

// Milliseconds since the unix epoch (system clock).
int64_t NowMs();

}  // namespace vp::store::internal
