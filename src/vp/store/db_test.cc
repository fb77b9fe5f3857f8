// Db on both backends: values of every type round-trip, errors map to the project's codes,
// transactions commit or roll back as a whole, writers on many threads do not lose
// updates, and migrations apply exactly once even when two Db objects race to apply them.
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "vp/store/db.h"
#include "vp/store/migrations.h"
#include "vp/store/store_test_util.h"

namespace vp::store {
namespace {

constexpr std::string_view kCreateT =
    "CREATE TABLE t (id BIGINT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, s TEXT, b BYTEA)";

class DbTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    VP_ASSERT_OK(db_->WithConn([](Conn& c) { return c.ExecScript(kCreateT); }));
  }
  Status Insert(int64_t id, const Value& i, const Value& d, const Value& s, const Value& b) {
    return db_->Transact(TxMode::kWrite, [&](Conn& c) {
      return c.Exec("INSERT INTO t (id, i, d, s, b) VALUES ($1, $2, $3, $4, $5)", {Value(id), i, d, s, b});
    });
  }
  StatusOr<Rows> Select(int64_t id) {
    Rows rows;
    Status st = db_->Transact(TxMode::kRead, [&](Conn& c) -> Status {
      ASSIGN_OR_RETURN(rows, c.Query("SELECT i, d, s, b FROM t WHERE id = $1", {Value(id)}));
      return OkStatus();
    });
    if (!st.ok()) return st;
    return rows;
  }
};

TEST_P(DbTest, DialectMatchesBackend) {
  EXPECT_EQ(db_->dialect(), GetParam());
  VP_EXPECT_OK(db_->WithConn([&](Conn& c) {
    EXPECT_EQ(c.dialect(), GetParam());
    return OkStatus();
  }));
}

TEST_P(DbTest, EveryTypeRoundTrips) {
  const Bytes all_bytes = [] {
    Bytes b(256);
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i);
    return b;
  }();
  struct Case {
    Value i, d, s, b;
  };
  const std::vector<Case> cases = {
      {Value(int64_t{0}), Value(0.0), Value(""), Value(Bytes{})},
      {Value(std::numeric_limits<int64_t>::max()), Value(1.5), Value("hello"), Value(Bytes{0})},
      {Value(std::numeric_limits<int64_t>::min()), Value(-1e300), Value("it's \"quoted\" $1 ?1 -- not a comment"),
       Value(all_bytes)},
      {Value(int64_t{-1}), Value(0.1), Value("ünïcødé ✓ 日本"), Value(Bytes{0x5c, 0x78, 0x00, 0xff})},
      {Value(42), Value(std::numeric_limits<double>::min()), Value(std::string(10000, 'x')), Value(Bytes(3, 0))},
      {Value::Null(), Value::Null(), Value::Null(), Value::Null()},
  };
  for (size_t n = 0; n < cases.size(); ++n) {
    const Case& c = cases[n];
    const auto id = static_cast<int64_t>(n);
    VP_ASSERT_OK(Insert(id, c.i, c.d, c.s, c.b));
    auto rows = Select(id);
    VP_ASSERT_OK(rows);
    ASSERT_EQ(rows->size(), 1u);
    SCOPED_TRACE("case " + std::to_string(n));
    if (c.i.is_null()) {
      for (size_t col = 0; col < 4; ++col) EXPECT_TRUE(rows->IsNull(0, col)) << col;
      continue;
    }
    EXPECT_TRUE(rows->At(0, 0).is_int());
    EXPECT_EQ(rows->Int(0, 0), c.i.as_int());
    EXPECT_TRUE(rows->At(0, 1).is_double());
    EXPECT_EQ(rows->At(0, 1).as_double(), c.d.as_double());  // exact: shortest round-trip text on PostgreSQL
    EXPECT_TRUE(rows->At(0, 2).is_text());
    EXPECT_EQ(rows->Text(0, 2), c.s.as_text());
    EXPECT_TRUE(rows->At(0, 3).is_blob());
    EXPECT_EQ(rows->Blob(0, 3), c.b.as_blob());
  }
}

TEST_P(DbTest, LargeBlobRoundTrips) {
  std::mt19937_64 rng(TestSeed());
  Bytes big(4 << 20);  // 4 MiB
  for (auto& x : big) x = static_cast<uint8_t>(rng());
  VP_ASSERT_OK(Insert(1, Value(1), Value(1.0), Value("big"), Value(big)));
  auto rows = Select(1);
  VP_ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_TRUE(rows->Blob(0, 3) == big);
}

TEST_P(DbTest, BoolAndIntConstructors) {
  VP_ASSERT_OK(Insert(1, Value(true), Value(2), Value(std::string_view("sv")), Value::Null()));
  auto rows = Select(1);
  VP_ASSERT_OK(rows);
  EXPECT_EQ(rows->Int(0, 0), 1);
  EXPECT_EQ(rows->At(0, 1).as_double(), 2.0);  // an int bound to a DOUBLE PRECISION column
  EXPECT_EQ(rows->Text(0, 2), "sv");
}

TEST_P(DbTest, RowsAccessorsAreNeutralOutOfRange) {
  auto rows = Select(99);
  VP_ASSERT_OK(rows);
  EXPECT_TRUE(rows->empty());
  EXPECT_TRUE(rows->IsNull(5, 5));
  EXPECT_EQ(rows->Int(0, 0), 0);
  EXPECT_EQ(rows->Text(0, 0), "");
  EXPECT_TRUE(rows->Blob(0, 0).empty());
  EXPECT_EQ(rows->columns(), (std::vector<std::string>{"i", "d", "s", "b"}));
}

TEST_P(DbTest, ParametersBindByNumberNotPosition) {
  VP_ASSERT_OK(db_->Transact(TxMode::kWrite, [](Conn& c) {
    return c.Exec("INSERT INTO t (s, id, i) VALUES ($2, $1, $1)", {Value(7), Value("seven")});
  }));
  auto rows = Select(7);
  VP_ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->Int(0, 0), 7);
  EXPECT_EQ(rows->Text(0, 2), "seven");
}

TEST_P(DbTest, AffectedCountsChangedRows) {
  for (int i = 0; i < 5; ++i) VP_ASSERT_OK(Insert(i, Value(i), Value(), Value(), Value()));
  VP_ASSERT_OK(db_->Transact(TxMode::kWrite, [](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows u, c.Query("UPDATE t SET s = 'x' WHERE i >= $1", {Value(2)}));
    EXPECT_EQ(u.affected, 3);
    ASSIGN_OR_RETURN(Rows d, c.Query("DELETE FROM t WHERE i < $1", {Value(1)}));
    EXPECT_EQ(d.affected, 1);
    ASSIGN_OR_RETURN(Rows none, c.Query("UPDATE t SET s = 'y' WHERE id = $1", {Value(100)}));
    EXPECT_EQ(none.affected, 0);
    ASSIGN_OR_RETURN(Rows ins, c.Query("INSERT INTO t (id) VALUES ($1) ON CONFLICT (id) DO NOTHING", {Value(1)}));
    EXPECT_EQ(ins.affected, 0);
    return OkStatus();
  }));
}

TEST_P(DbTest, UniqueViolationIsAlreadyExists) {
  VP_ASSERT_OK(Insert(1, Value(1), Value(), Value(), Value()));
  Status s = Insert(1, Value(2), Value(), Value(), Value());
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
}

TEST_P(DbTest, OtherConstraintViolationIsFailedPrecondition) {
  VP_ASSERT_OK(db_->WithConn([](Conn& c) { return c.ExecScript("CREATE TABLE nn (x BIGINT NOT NULL)"); }));
  Status s = db_->Transact(TxMode::kWrite, [](Conn& c) { return c.Exec("INSERT INTO nn (x) VALUES ($1)", {Value()}); });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
}

TEST_P(DbTest, BadSqlIsInternalAndTheConnectionStaysUsable) {
  Status s = db_->Transact(TxMode::kWrite, [](Conn& c) { return c.Exec("SELEKT nonsense"); });
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  s = db_->Transact(TxMode::kRead, [](Conn& c) { return c.Exec("SELECT * FROM no_such_table"); });
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  // Wrong parameter count, empty statement, several statements: errors, never crashes.
  s = db_->Transact(TxMode::kRead, [](Conn& c) { return c.Exec("SELECT i FROM t WHERE id = $1"); });
  EXPECT_FALSE(s.ok());
  s = db_->Transact(TxMode::kRead, [](Conn& c) { return c.Exec("SELECT 1; SELECT 2"); });
  EXPECT_FALSE(s.ok());
  s = db_->WithConn([](Conn& c) { return c.Exec(""); });
  EXPECT_FALSE(s.ok());
  // Every pooled connection still works afterwards.
  for (int i = 0; i < 10; ++i) VP_ASSERT_OK(Insert(i, Value(i), Value(), Value(), Value()));
}

TEST_P(DbTest, ErrorInsideTransactionRollsBackEverything) {
  Status s = db_->Transact(TxMode::kWrite, [](Conn& c) -> Status {
    RETURN_IF_ERROR(c.Exec("INSERT INTO t (id) VALUES ($1)", {Value(1)}));
    RETURN_IF_ERROR(c.Exec("INSERT INTO t (id) VALUES ($1)", {Value(2)}));
    return NotFoundError("handler said no");
  });
  EXPECT_EQ(s, NotFoundError("handler said no"));  // fn's status, unchanged
  auto rows = db_->Transact(TxMode::kRead, [](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("SELECT COUNT(*) FROM t"));
    EXPECT_EQ(r.Int(0, 0), 0);
    return OkStatus();
  });
  VP_EXPECT_OK(rows);
}

TEST_P(DbTest, FailedStatementRollsBackEarlierOnes) {
  VP_ASSERT_OK(Insert(5, Value(5), Value(), Value(), Value()));
  Status s = db_->Transact(TxMode::kWrite, [](Conn& c) -> Status {
    RETURN_IF_ERROR(c.Exec("INSERT INTO t (id) VALUES ($1)", {Value(6)}));
    return c.Exec("INSERT INTO t (id) VALUES ($1)", {Value(5)});  // duplicate
  });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  auto rows = Select(6);
  VP_ASSERT_OK(rows);
  EXPECT_TRUE(rows->empty());
}

TEST_P(DbTest, SwallowedStatementErrorDoesNotCommitSilently) {
  // PostgreSQL aborts a transaction at its first error; committing it is not a success.
  // SQLite keeps the statements that did succeed; either way nothing is half-reported.
  Status s = db_->Transact(TxMode::kWrite, [](Conn& c) -> Status {
    RETURN_IF_ERROR(c.Exec("INSERT INTO t (id) VALUES ($1)", {Value(1)}));
    (void)c.Exec("INSERT INTO t (id) VALUES ($1)", {Value(1)});  // ignored failure
    return OkStatus();
  });
  auto rows = Select(1);
  VP_ASSERT_OK(rows);
  if (s.ok()) {
    EXPECT_EQ(rows->size(), 1u);
  } else {
    EXPECT_TRUE(rows->empty());
  }
}

TEST_P(DbTest, CommittedWritesAreVisibleToAnotherDb) {
  auto other = OpenSecond();
  ASSERT_NE(other, nullptr);
  VP_ASSERT_OK(Insert(1, Value(11), Value(), Value(), Value()));
  VP_ASSERT_OK(other->Transact(TxMode::kRead, [](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("SELECT i FROM t WHERE id = $1", {Value(1)}));
    EXPECT_EQ(r.Int(0, 0), 11);
    return OkStatus();
  }));
}

TEST_P(DbTest, ConcurrentWritersLoseNothing) {
  VP_ASSERT_OK(Insert(0, Value(0), Value(), Value(), Value()));  // the counter row
  auto other = OpenSecond();
  ASSERT_NE(other, nullptr);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Db& db = t % 2 == 0 ? *db_ : *other;
      for (int k = 0; k < kPerThread; ++k) {
        const int64_t id = 1 + t * kPerThread + k;
        Status s = db.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
          // A read-modify-write of one row: the row lock (PostgreSQL) or the write lock
          // (SQLite) must make it atomic.
          const char* sel = c.dialect() == Dialect::kPostgres ? "SELECT i FROM t WHERE id = 0 FOR UPDATE"
                                                               : "SELECT i FROM t WHERE id = 0";
          ASSIGN_OR_RETURN(Rows r, c.Query(sel));
          RETURN_IF_ERROR(c.Exec("UPDATE t SET i = $1 WHERE id = 0", {Value(r.Int(0, 0) + 1)}));
          return c.Exec("INSERT INTO t (id, i) VALUES ($1, $2)", {Value(id), Value(t)});
        });
        if (!s.ok()) {
          ADD_FAILURE() << s.ToString();
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  VP_ASSERT_OK(db_->Transact(TxMode::kRead, [](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("SELECT i FROM t WHERE id = 0"));
    EXPECT_EQ(r.Int(0, 0), kThreads * kPerThread);
    ASSIGN_OR_RETURN(Rows n, c.Query("SELECT COUNT(*) FROM t"));
    EXPECT_EQ(n.Int(0, 0), kThreads * kPerThread + 1);
    return OkStatus();
  }));
}

TEST_P(DbTest, ReadTransactionSeesOneSnapshot) {
  VP_ASSERT_OK(Insert(1, Value(1), Value(), Value(), Value()));
  auto other = OpenSecond();
  ASSERT_NE(other, nullptr);
  VP_ASSERT_OK(db_->Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows a, c.Query("SELECT COUNT(*) FROM t"));
    // A commit from elsewhere in the middle of the read transaction...
    VP_EXPECT_OK(other->Transact(TxMode::kWrite, [](Conn& w) {
      return w.Exec("INSERT INTO t (id) VALUES ($1)", {Value(2)});
    }));
    ASSIGN_OR_RETURN(Rows b, c.Query("SELECT COUNT(*) FROM t"));
    EXPECT_EQ(a.Int(0, 0), b.Int(0, 0));  // ...is not seen by it
    return OkStatus();
  }));
}

TEST_P(DbTest, MigrationsApplyOnceUnderConcurrentMigrators) {
  auto fresh = testing::TestDatabase::Create(GetParam());
  VP_ASSERT_OK(fresh);
  constexpr int kMigrators = 4;
  std::vector<std::unique_ptr<Db>> dbs(kMigrators);
  std::vector<Status> results(kMigrators);
  std::vector<std::thread> threads;
  for (int i = 0; i < kMigrators; ++i) {
    threads.emplace_back([&, i] {
      auto d = (*fresh)->Open();  // OpenDb migrates
      results[static_cast<size_t>(i)] = d.status();
      if (d.ok()) dbs[static_cast<size_t>(i)] = std::move(d).value();
    });
  }
  for (auto& th : threads) th.join();
  for (const Status& s : results) VP_EXPECT_OK(s);
  ASSERT_NE(dbs[0], nullptr);
  VP_EXPECT_OK(dbs[0]->Migrate());  // again: nothing to do
  VP_ASSERT_OK(dbs[0]->Transact(TxMode::kRead, [](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("SELECT version, COUNT(*) FROM schema_migrations GROUP BY version ORDER BY version"));
    auto all = Migrations();
    EXPECT_EQ(r.size(), all.size());
    for (size_t i = 0; i < r.size() && i < all.size(); ++i) {
      EXPECT_EQ(r.Int(i, 0), all[i].version);
      EXPECT_EQ(r.Int(i, 1), 1);
    }
    return OkStatus();
  }));
}

TEST_P(DbTest, DurableSyncWritesAndFlushes) {
  auto durable = tdb_->Open();  // default options: synchronous=FULL on SQLite
  VP_ASSERT_OK(durable);
  for (int i = 0; i < 5; ++i) {
    VP_ASSERT_OK((*durable)->Transact(TxMode::kWrite, [&](Conn& c) {
      return c.Exec("INSERT INTO t (id) VALUES ($1)", {Value(i)});
    }));
  }
  VP_EXPECT_OK((*durable)->Flush());
  VP_EXPECT_OK(db_->Flush());
  auto rows = Select(4);
  VP_ASSERT_OK(rows);
  EXPECT_EQ(rows->size(), 1u);
}

VP_STORE_INSTANTIATE(DbTest);

// Backend-independent checks.

TEST(Migrations, VersionsStrictlyIncreaseAndNamesAreSet) {
  auto all = Migrations();
  ASSERT_FALSE(all.empty());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_FALSE(all[i].name.empty());
    EXPECT_FALSE(all[i].sql.empty());
    if (i > 0) {
      EXPECT_GT(all[i].version, all[i - 1].version);
    }
  }
}

TEST(OpenDb, SqliteUrlForms) {
  auto tdb = testing::TestDatabase::Create(Dialect::kSqlite);
  VP_ASSERT_OK(tdb);
  auto a = OpenDb("sqlite:" + (*tdb)->url());
  VP_ASSERT_OK(a);
  EXPECT_EQ((*a)->dialect(), Dialect::kSqlite);
  auto mem = OpenDb(":memory:");
  VP_ASSERT_OK(mem);
  // A private in-memory database still works from several threads (one connection).
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      VP_EXPECT_OK((*mem)->Transact(TxMode::kWrite, [&](Conn& c) {
        return c.Exec("INSERT INTO replay_signatures (key_id, signature, expires_at) VALUES ($1, $2, $3)",
                      {Value("k"), Value(std::to_string(i)), Value(1)});
      }));
    });
  }
  for (auto& th : threads) th.join();
}

TEST(OpenDb, RefusesBadArguments) {
  EXPECT_EQ(OpenDb("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenDb("sqlite:").status().code(), StatusCode::kInvalidArgument);
  DbOptions zero;
  zero.pool_size = 0;
  EXPECT_EQ(OpenDb(":memory:", zero).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenDb("/proc/no/such/dir/x.db").status().code(), StatusCode::kUnavailable);
  auto pg = OpenDb("postgresql:///postgres?host=/nonexistent-vp-socket-dir&connect_timeout=2");
  EXPECT_EQ(pg.status().code(), StatusCode::kUnavailable) << pg.status().ToString();
}

}  // namespace
}  // namespace vp::store
