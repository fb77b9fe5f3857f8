// The migration runner shared by both backends (see migrations.h).
#include <set>

#include "vp/store/internal/backends.h"
#include "vp/store/migrations.h"

namespace vp::store::internal {
namespace {

// Arbitrary constant naming "vaultproof migrations" among PostgreSQL advisory locks.
constexpr int64_t kMigrationLockKey = 0x7670'6d69'6772'6174;  // "vpmigrat"

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

Status Lock(Conn& c) {
  // SQLite's BEGIN IMMEDIATE already excludes every other writer.
  if (c.dialect() != Dialect::kPostgres) return OkStatus();
  return c.Exec("SELECT pg_advisory_xact_lock($1)", {Value(kMigrationLockKey)});
}

StatusOr<std::set<int64_t>> Applied(Conn& c) {
  ASSIGN_OR_RETURN(Rows rows, c.Query("SELECT version FROM schema_migrations"));
  std::set<int64_t> out;
  for (size_t i = 0; i < rows.size(); ++i) out.insert(rows.Int(i, 0));
  return out;
}

}  // namespace

Status RunMigrations(Db& db) {
  std::set<int64_t> applied;
  if (Status tx = db.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    RETURN_IF_ERROR(Lock(c));
    RETURN_IF_ERROR(c.Exec(kCreateTable));
    ASSIGN_OR_RETURN(applied, Applied(c));
    return OkStatus();
  }); !tx.ok()) return tx;
  for (const Migration& m : Migrations()) {
    if (applied.count(m.version)) continue;
    Status s = db.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
      RETURN_IF_ERROR(Lock(c));
      // Another process may have applied it since we looked.
      ASSIGN_OR_RETURN(Rows done, c.Query("SELECT 1 FROM schema_migrations WHERE version = $1", {Value(m.version)}));
      if (!done.empty()) return OkStatus();
      RETURN_IF_ERROR(c.ExecScript(m.SqlFor(c.dialect())));
      return c.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    {Value(m.version), Value(m.name), Value(NowMs())});
    });
    if (!s.ok()) {
      return s.Annotate("store: migration " + std::to_string(m.version) + " (" + std::string(m.name) + ")");
    }
  }
  return OkStatus();
}

}  // namespace vp::store::internal
