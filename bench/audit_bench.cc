// Durable audit appends per second through vp::audit's group commit on SQLite (WAL,
// synchronous=FULL: every acknowledged record is on disk), with 1, 8 and 64 request
// threads each waiting for its record (AppendAndWait), and the writer's ceiling with
// pipelined appends. Run through scripts/bench, which writes bench/results/audit.json.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "vp/audit/audit.h"
#include "vp/store/db.h"

namespace {

struct Log {
  std::string dir;
  std::unique_ptr<vp::store::Db> db;
  std::unique_ptr<vp::audit::AuditWriter> writer;
};

Log* g_log = nullptr;

void Open(benchmark::State& state) {
  char tmpl[] = "/tmp/vp-audit-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  auto log = std::make_unique<Log>();
  log->dir = tmpl;
  auto db = vp::store::OpenDb(log->dir + "/bench.db");
  auto signer = vp::audit::FileDigestSigner::LoadOrCreate(log->dir);
  if (!db.ok() || !signer.ok()) {
    state.SkipWithError("cannot open the store or the key");
    return;
  }
  log->db = std::move(*db);
  auto writer = vp::audit::AuditWriter::Start(*log->db, *signer);
  if (!writer.ok()) {
    state.SkipWithError(writer.status().ToString().c_str());
    return;
  }
  log->writer = std::move(*writer);
  g_log = log.release();
}

void Close(benchmark::State& state) {
  if (g_log == nullptr) return;
  const auto stats = g_log->writer->stats();
  if (stats.batches > 0) {
    state.counters["records_per_commit"] =
        static_cast<double>(stats.appended) / static_cast<double>(stats.batches);
  }
  (void)g_log->writer->Stop();
  g_log->writer.reset();
  g_log->db.reset();
  std::error_code ec;
  std::filesystem::remove_all(g_log->dir, ec);
  delete g_log;
  g_log = nullptr;
}

vp::audit::AuditRecord Record(int64_t i) {
  vp::audit::AuditRecord r;
  r.request_id = "req-" + std::to_string(i);
  r.principal = "key-7f3a9c";
  r.action = "POST /v1/echo";
  r.resource = "/v1/echo";
  r.outcome = "success";
  r.source_ip = "127.0.0.1";
  r.details = R"({"status":200,"bytes":42})";
  return r;
}

// Each benchmark thread is one request thread: append, wait until durable, repeat.
void BM_AuditAppendAndWait(benchmark::State& state) {
  if (state.thread_index() == 0) Open(state);
  int64_t i = state.thread_index() * 1'000'000'000LL;
  for (auto _ : state) {
    auto seq = g_log->writer->AppendAndWait(Record(i++));
    if (!seq.ok()) {
      state.SkipWithError(seq.status().ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) Close(state);
}
BENCHMARK(BM_AuditAppendAndWait)->Threads(1)->Threads(8)->Threads(64)->UseRealTime();

// The writer's ceiling: one thread queues records without waiting; every 4096 it waits for
// all of them to be durable.
void BM_AuditAppendPipelined(benchmark::State& state) {
  Open(state);
  std::atomic<int64_t> failed{0};
  int64_t i = 0;
  for (auto _ : state) {
    g_log->writer->Append(Record(i), [&failed](vp::StatusOr<int64_t> s) {
      if (!s.ok()) failed.fetch_add(1, std::memory_order_relaxed);
    });
    if (++i % 4096 == 0) (void)g_log->writer->Flush();
  }
  (void)g_log->writer->Flush();
  if (failed.load() > 0) state.SkipWithError("appends failed");
  state.SetItemsProcessed(state.iterations());
  Close(state);
}
BENCHMARK(BM_AuditAppendPipelined)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
