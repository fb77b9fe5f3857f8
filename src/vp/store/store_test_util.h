// Shared fixture of the store tests: every TEST_P runs once on SQLite (a temp file) and once
// on PostgreSQL (a fresh schema in the cluster of tests/pg/with_postgres.sh).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "vp/store/db.h"
#include "vp/store/testing.h"

namespace vp::store {

#define VP_ASSERT_OK(expr)                                   \
  do {                                                       \
    const auto& VP_CONCAT(vp_s_, __LINE__) = (expr);      \
    ASSERT_TRUE(VP_CONCAT(vp_s_, __LINE__).ok()) << ::vp::internal::GetStatus(VP_CONCAT(vp_s_, __LINE__)).ToString(); \
  } while (0)
#define VP_EXPECT_OK(expr)                                   \
  do {                                                       \
    const auto& VP_CONCAT(vp_s_, __LINE__) = (expr);      \
    EXPECT_TRUE(VP_CONCAT(vp_s_, __LINE__).ok()) << ::vp::internal::GetStatus(VP_CONCAT(vp_s_, __LINE__)).ToString(); \
  } while (0)

// Fixed seed for randomized tests, overridable with VP_TEST_SEED, printed so a failure replays.
inline uint64_t TestSeed() {
  const char* env = std::getenv("VP_TEST_SEED");
  uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : 20240601ULL;
  std::printf("store_test: seed %llu (override with VP_TEST_SEED)\n", static_cast<unsigned long long>(seed));
  return seed;
}

class StoreTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    auto t = testing::TestDatabase::Create(GetParam());
    if (!t.ok() && testing::SkipPostgres(GetParam())) GTEST_SKIP() << t.status().ToString();
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tdb_ = std::move(t).value();
    auto d = tdb_->Open(Options());
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    db_ = std::move(d).value();
  }
  // Behaviour tests do not need each SQLite commit fsynced (DbTest.DurableSync covers FULL).
  static DbOptions Options() {
    DbOptions o;
    o.sqlite_full_sync = false;
    return o;
  }
  // Another Db on the same database: what a second gateway process would have.
  std::unique_ptr<Db> OpenSecond() {
    auto d = tdb_->Open(Options());
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? std::move(d).value() : nullptr;
  }
  bool pg() const { return GetParam() == Dialect::kPostgres; }

  std::unique_ptr<testing::TestDatabase> tdb_;  // outlives db_
  std::unique_ptr<Db> db_;
};

#define VP_STORE_INSTANTIATE(suite)                                                                 \
  INSTANTIATE_TEST_SUITE_P(Backends, suite, ::testing::ValuesIn(::vp::store::testing::AllDialects()), \
                           ::vp::store::testing::DialectParamName<::testing::TestParamInfo<Dialect>>)

}  // namespace vp::store
