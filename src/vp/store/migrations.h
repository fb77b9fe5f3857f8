// The schema of the store, as one ordered list of migrations. Db::Migrate() applies every
// entry whose version is not yet in schema_migrations, each in its own transaction, in
// order. Entries are never edited once released; a change is a new entry at the end.
//
// Each entry has one SQL script in the portable subset (BIGINT, TEXT, BYTEA, DOUBLE
// PRECISION; see db.h) and, where the dialects differ, a PostgreSQL variant. Scripts run
// without parameters, several statements separated by ';'. Other layers add their tables
// by appending an entry here (audit: its tables; later: wallets, ballots).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "vp/store/db.h"

namespace vp::store {

struct Migration {
  int64_t version;            // strictly increasing, never reused
  std::string_view name;      // short snake_case description, recorded in schema_migrations
  std::string_view sql;       // script for both dialects (or SQLite only, when postgres_sql is set)
  std::string_view postgres_sql = {};  // PostgreSQL variant; empty = same as sql
  std::string_view SqlFor(Dialect d) const {
    return d == Dialect::kPostgres && !postgres_sql.empty() ? postgres_sql : sql;
  }
};

// All migrations, ordered by version (migrations.cc; later issues append to it).
std::span<const Migration> Migrations();

}  // namespace vp::store
