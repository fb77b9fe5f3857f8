// Test support for code above the store: a fresh, empty database for one test, on either
// backend, so a test suite can be parameterized over SQLite and PostgreSQL.
//   SQLite: a file in a new temporary directory (removed afterwards).
//   PostgreSQL: a new schema in the database named by VP_TEST_PG_URL (set by
//     tests/pg/with_postgres.sh), selected through the URL's search_path, dropped afterwards.
// When VP_TEST_PG_URL is unset, PostgreSQL tests must FAIL, unless VP_ALLOW_NO_PG=1 lets
// them skip (a developer without PostgreSQL at hand).
//
//   class MyTest : public ::testing::TestWithParam<vp::store::Dialect> {};
//   TEST_P(MyTest, Works) {
//     auto tdb = vp::store::testing::TestDatabase::Create(GetParam());
//     if (!tdb.ok() && vp::store::testing::SkipPostgres(GetParam())) GTEST_SKIP() << tdb.status().ToString();
//     ASSERT_TRUE(tdb.ok()) << tdb.status().ToString();
//     auto db = (*tdb)->Open();          // migrated; Open() again for a second "gateway"
//   }
//   INSTANTIATE_TEST_SUITE_P(Backends, MyTest, ::testing::ValuesIn(vp::store::testing::AllDialects()),
//                            vp::store::testing::DialectParamName);
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "vp/base/status.h"
#include "vp/store/db.h"

namespace vp::store {
// Lets gtest print a Dialect parameter by name (found by argument-dependent lookup).
inline void PrintTo(Dialect d, std::ostream* os) { *os << (d == Dialect::kPostgres ? "Postgres" : "Sqlite"); }
}  // namespace vp::store

namespace vp::store::testing {

std::vector<Dialect> AllDialects();
// "Sqlite" / "Postgres": for INSTANTIATE_TEST_SUITE_P's name generator (any info with .param).
template <typename ParamInfo>
std::string DialectParamName(const ParamInfo& info) {
  return info.param == Dialect::kPostgres ? "Postgres" : "Sqlite";
}
// True when `d` is PostgreSQL, VP_TEST_PG_URL is unset and VP_ALLOW_NO_PG=1.
bool SkipPostgres(Dialect d);

class TestDatabase {
 public:
  // kUnavailable if PostgreSQL is asked for and VP_TEST_PG_URL is unset or unreachable.
  static StatusOr<std::unique_ptr<TestDatabase>> Create(Dialect d);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  Dialect dialect() const { return dialect_; }
  // A URL for OpenDb that reaches this database (and only this one).
  const std::string& url() const { return url_; }
  // OpenDb(url(), options): each call is a separate Db (its own pool), as another gateway
  // process would have. Migrations run on open.
  StatusOr<std::unique_ptr<Db>> Open(const DbOptions& options = {}) const;

 private:
  TestDatabase(Dialect d, std::string url, std::string cleanup);
  Dialect dialect_;
  std::string url_;
  std::string cleanup_;  // SQLite: directory to remove; PostgreSQL: schema to drop
};

}  // namespace vp::store::testing
