// Test databases for both backends (see testing.h).
#include "vp/store/testing.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace vp::store::testing {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// A name unique across processes and calls: pid, counter and a random suffix.
std::string UniqueName(std::string_view prefix) {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return std::string(prefix) + std::to_string(getpid()) + "_" + std::to_string(counter.fetch_add(1)) + "_" +
         std::to_string(rd() % 1000000);
}

Status PgExec(const std::string& url, const std::string& sql) {
  PGconn* c = PQconnectdb(url.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    return UnavailableError("test postgres: cannot connect: " + msg);
  }
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
  PGresult* r = PQexec(c, sql.c_str());
  Status s;
  if (PQresultStatus(r) != PGRES_COMMAND_OK) s = InternalError(std::string("test postgres: ") + PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
  return s;
}

}  // namespace

std::vector<Dialect> AllDialects() { return {Dialect::kSqlite, Dialect::kPostgres}; }

bool SkipPostgres(Dialect d) {
  return d == Dialect::kPostgres && Env("VP_TEST_PG_URL").empty() && Env("VP_ALLOW_NO_PG") == "1";
}

TestDatabase::TestDatabase(Dialect d, std::string url, std::string cleanup)
    : dialect_(d), url_(std::move(url)), cleanup_(std::move(cleanup)) {}

StatusOr<std::unique_ptr<TestDatabase>> TestDatabase::Create(Dialect d) {
  if (d == Dialect::kSqlite) {
    std::error_code ec;
    auto base = std::filesystem::temp_directory_path(ec);
    if (ec) return UnavailableError("test sqlite: no temp directory: " + ec.message());
    auto dir = base / UniqueName("vp-store-test-");
    std::filesystem::create_directories(dir, ec);
    if (ec) return UnavailableError("test sqlite: cannot create " + dir.string() + ": " + ec.message());
    return std::unique_ptr<TestDatabase>(new TestDatabase(d, (dir / "test.db").string(), dir.string()));
  }
  std::string base = Env("VP_TEST_PG_URL");
  if (base.empty()) {
    return UnavailableError(
        "VP_TEST_PG_URL is not set: run under tests/pg/with_postgres.sh (or set VP_ALLOW_NO_PG=1 to skip)");
  }
  std::string schema = UniqueName("t_");
  RETURN_IF_ERROR(PgExec(base, "CREATE SCHEMA " + schema));
  // libpq URI: percent-encoded "-c search_path=<schema>" in the options parameter.
  std::string url = base + (base.find('?') == std::string::npos ? "?" : "&") + "options=-c%20search_path%3D" + schema;
  return std::unique_ptr<TestDatabase>(new TestDatabase(d, std::move(url), schema));
}

TestDatabase::~TestDatabase() {
  if (dialect_ == Dialect::kSqlite) {
    std::error_code ec;
    std::filesystem::remove_all(cleanup_, ec);
  } else {
    (void)PgExec(Env("VP_TEST_PG_URL"), "DROP SCHEMA IF EXISTS " + cleanup_ + " CASCADE");
  }
}

StatusOr<std::unique_ptr<Db>> TestDatabase::Open(const DbOptions& options) const { return OpenDb(url_, options); }

}  // namespace vp::store::testing
