// Store write throughput, to size the audit log's group commit: one durable transaction
// per row versus one per 100 rows, on SQLite (WAL; synchronous FULL = every commit fsynced,
// and NORMAL for comparison). When VP_TEST_PG_URL is set (run under
// tests/pg/with_postgres.sh, with VP_PG_DURABLE=1 for real fsyncs) the same runs on
// PostgreSQL too. items_per_second counts rows.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "vp/store/db.h"
#include "vp/store/testing.h"

namespace {

using vp::Status;
using vp::store::Conn;
using vp::store::Db;
using vp::store::Dialect;
using vp::store::TxMode;
using vp::store::Value;

// A row shaped like an audit record: sequence number, time, ~200 bytes of text, a hash.
constexpr std::string_view kCreate =
    "CREATE TABLE IF NOT EXISTS bench_rows (seq BIGINT PRIMARY KEY, t BIGINT NOT NULL, body TEXT NOT NULL,"
    " hash BYTEA NOT NULL)";
constexpr std::string_view kInsert = "INSERT INTO bench_rows (seq, t, body, hash) VALUES ($1, $2, $3, $4)";

struct Fixture {
  std::unique_ptr<vp::store::testing::TestDatabase> tdb;
  std::unique_ptr<Db> db;
};

bool Open(benchmark::State& state, Dialect d, bool full_sync, Fixture& f) {
  auto tdb = vp::store::testing::TestDatabase::Create(d);
  if (!tdb.ok()) {
    state.SkipWithError(tdb.status().ToString().c_str());
    return false;
  }
  f.tdb = std::move(tdb).value();
  vp::store::DbOptions opts;
  opts.sqlite_full_sync = full_sync;
  auto db = f.tdb->Open(opts);
  if (!db.ok()) {
    state.SkipWithError(db.status().ToString().c_str());
    return false;
  }
  f.db = std::move(db).value();
  Status s = f.db->WithConn([](Conn& c) { return c.ExecScript(kCreate); });
  if (!s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return false;
  }
  return true;
}

// Arguments: rows per transaction, synchronous FULL (1) or NORMAL (0).
void RunInserts(benchmark::State& state, Dialect d) {
  const auto rows_per_tx = static_cast<int64_t>(state.range(0));
  Fixture f;
  if (!Open(state, d, state.range(1) != 0, f)) return;
  const std::string body(200, 'r');
  const vp::Bytes hash(32, 0x42);
  int64_t seq = 0;
  for (auto _ : state) {
    Status s = f.db->Transact(TxMode::kWrite, [&](Conn& c) -> Status {
      for (int64_t i = 0; i < rows_per_tx; ++i) {
        ++seq;
        Status e = c.Exec(kInsert, {Value(seq), Value(seq * 7), Value(body), Value(hash)});
        if (!e.ok()) return e;
      }
      return vp::OkStatus();
    });
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * rows_per_tx);
}

void BM_SqliteInsertTx(benchmark::State& state) { RunInserts(state, Dialect::kSqlite); }
BENCHMARK(BM_SqliteInsertTx)
    ->ArgNames({"rows", "full_sync"})
    ->Args({1, 1})
    ->Args({100, 1})
    ->Args({1, 0})
    ->Args({100, 0})
    ->UseRealTime();

void BM_PostgresInsertTx(benchmark::State& state) { RunInserts(state, Dialect::kPostgres); }

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const char* pg = std::getenv("VP_TEST_PG_URL");
  if (pg != nullptr && *pg != '\0') {
    benchmark::RegisterBenchmark("BM_PostgresInsertTx", BM_PostgresInsertTx)
        ->ArgNames({"rows", "unused"})
        ->Args({1, 1})
        ->Args({100, 1})
        ->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
