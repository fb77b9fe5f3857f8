// The audit log on both backends (SQLite and PostgreSQL): group-commit appends, durability,
// one chain from several writers, queries, and the verifier catching and pinpointing every
// kind of tampering with the stored log (docs/audit_log.md, section 4.2).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "vp/audit/audit.h"
#include "vp/audit/format.h"
#include "vp/audit/rows.h"
#include "vp/store/testing.h"

namespace vp::audit {
namespace {

using store::Dialect;
using store::Value;

std::shared_ptr<FileDigestSigner> TestSigner(uint8_t fill) {
  auto s = FileDigestSigner::FromSeed(Bytes(32, fill));
  EXPECT_TRUE(s.ok());
  return *s;
}

AuditRecord MakeRecord(int i) {
  AuditRecord r;
  r.time_ms = 1700000000000 + i;
  r.request_id = "req-" + std::to_string(i);
  r.principal = i % 3 == 0 ? "key-admin" : "key-op";
  r.action = i % 2 == 0 ? "POST /v1/echo" : "GET /v1/ping";
  r.resource = "/v1/thing/" + std::to_string(i);
  r.outcome = i % 5 == 0 ? "denied" : "success";
  r.source_ip = "10.0.0." + std::to_string(i % 250);
  r.details = R"({"i":)" + std::to_string(i) + "}";
  return r;
}

class AuditTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    auto tdb = store::testing::TestDatabase::Create(GetParam());
    if (!tdb.ok() && store::testing::SkipPostgres(GetParam())) GTEST_SKIP() << tdb.status().ToString();
    ASSERT_TRUE(tdb.ok()) << tdb.status().ToString();
    tdb_ = std::move(*tdb);
    auto db = tdb_->Open();
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    signer_ = TestSigner(1);
  }

  std::unique_ptr<AuditWriter> StartWriter(AuditWriterOptions o = {}, store::Db* db = nullptr) {
    auto w = AuditWriter::Start(db != nullptr ? *db : *db_, signer_, std::move(o));
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(*w) : nullptr;
  }

  VerifyReport VerifyNow() {
    const crypto::Ed25519Public keys[] = {signer_->public_key()};
    auto r = Verify(*db_, keys);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : VerifyReport{};
  }

  // The standard log: 45 records, a digest every 10 (so digests 1..4 cover seq 1..40 and
  // records 41..45 are an unsigned tail).
  void BuildLog() {
    AuditWriterOptions o;
    o.digest_every_records = 10;
    o.digest_on_stop = false;
    auto w = StartWriter(o);
    ASSERT_NE(w, nullptr);
    for (int i = 1; i <= 45; ++i) ASSERT_TRUE(w->AppendAndWait(MakeRecord(i)).ok());
    ASSERT_TRUE(w->Stop().ok());
    const VerifyReport r = VerifyNow();
    ASSERT_TRUE(r.ok()) << VerifyReportToJson(r).dump();
    ASSERT_EQ(r.digests, 4);
    ASSERT_EQ(r.last_digested_seq, 40);
  }

  void Sql(const std::string& sql, const store::Params& params = {}) {
    Status s = db_->WithConn([&](store::Conn& c) { return c.Exec(sql, params); });
    ASSERT_TRUE(s.ok()) << s.ToString() << " in " << sql;
  }
  AuditRecord Get(int64_t seq) {
    auto r = AuditReader(*db_).Get(seq);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : AuditRecord{};
  }
  void SetHash(int64_t seq, const ChainHash& h) {
    Sql("UPDATE audit_records SET hash = $1 WHERE seq = $2", {Value(Bytes(h.begin(), h.end())), Value(seq)});
  }
  // Moves every record with seq >= from by delta (the primary key forbids doing it in place).
  void Renumber(int64_t from, int64_t delta) {
    Sql("UPDATE audit_records SET seq = -(seq + $1) WHERE seq >= $2", {Value(delta), Value(from)});
    Sql("UPDATE audit_records SET seq = -seq WHERE seq < 0");
  }
  void Swap(int64_t a, int64_t b) {
    Sql("UPDATE audit_records SET seq = -1 WHERE seq = $1", {Value(a)});
    Sql("UPDATE audit_records SET seq = $1 WHERE seq = $2", {Value(a), Value(b)});
    Sql("UPDATE audit_records SET seq = $1 WHERE seq = -1", {Value(b)});
  }
  void InsertRaw(const AuditRecord& r) {
    Sql("INSERT INTO audit_records (seq, time_ms, request_id, principal, action, resource, outcome, "
        "source_ip, details, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        {Value(r.seq), Value(r.time_ms), Value(r.request_id), Value(r.principal), Value(r.action),
         Value(r.resource), Value(r.outcome), Value(r.source_ip), Value(r.details),
         Value(Bytes(r.hash.begin(), r.hash.end()))});
  }

  // Exactly one finding, of this kind, at this seq (or digest).
  void ExpectOnly(const VerifyReport& r, FindingKind kind, int64_t seq, int64_t digest_no = 0) {
    const std::string json = VerifyReportToJson(r).dump(2);
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_EQ(r.findings.size(), 1u) << json;
    EXPECT_EQ(FindingKindName(r.findings[0].kind), FindingKindName(kind)) << json;
    EXPECT_EQ(r.findings[0].seq, seq) << json;
    EXPECT_EQ(r.findings[0].digest_no, digest_no) << json;
  }

  std::unique_ptr<store::testing::TestDatabase> tdb_;
  std::unique_ptr<store::Db> db_;
  std::shared_ptr<FileDigestSigner> signer_;
};

// --- appending -------------------------------------------------------------------------

TEST_P(AuditTest, AppendAssignsConsecutiveSeqsAndChainsThem) {
  auto w = StartWriter();
  ASSERT_NE(w, nullptr);
  for (int i = 1; i <= 5; ++i) {
    auto seq = w->AppendAndWait(MakeRecord(i));
    ASSERT_TRUE(seq.ok()) << seq.status().ToString();
    EXPECT_EQ(*seq, i);
  }
  ChainHash prev = kGenesisHash;
  for (int i = 1; i <= 5; ++i) {
    AuditRecord got = Get(i);
    AuditRecord want = MakeRecord(i);
    want.seq = i;
    want.hash = got.hash;
    EXPECT_EQ(got, want);
    EXPECT_EQ(got.hash, RecordHash(prev, got));
    prev = got.hash;
  }
  EXPECT_EQ(w->stats().appended, 5u);
}

TEST_P(AuditTest, AppendAndWaitReturnsOnlyAfterCommit) {
  auto other = tdb_->Open();  // a second Db: it sees only committed data
  ASSERT_TRUE(other.ok());
  auto w = StartWriter();
  ASSERT_NE(w, nullptr);
  for (int i = 1; i <= 20; ++i) {
    auto seq = w->AppendAndWait(MakeRecord(i));
    ASSERT_TRUE(seq.ok());
    auto got = AuditReader(**other).Get(*seq);
    ASSERT_TRUE(got.ok()) << "seq " << *seq << " acknowledged but not visible: " << got.status().ToString();
    EXPECT_EQ(got->request_id, "req-" + std::to_string(i));
  }
}

TEST_P(AuditTest, CallbacksFireAfterCommitWithTheirSeq) {
  auto other = tdb_->Open();
  ASSERT_TRUE(other.ok());
  auto w = StartWriter();
  ASSERT_NE(w, nullptr);
  std::atomic<int> visible{0}, called{0};
  store::Db& reader_db = **other;
  for (int i = 1; i <= 50; ++i) {
    w->Append(MakeRecord(i), [&](StatusOr<int64_t> seq) {
      ++called;
      if (seq.ok() && AuditReader(reader_db).Get(*seq).ok()) ++visible;
    });
  }
  ASSERT_TRUE(w->Flush().ok());
  EXPECT_EQ(called.load(), 50);
  EXPECT_EQ(visible.load(), 50);
}

TEST_P(AuditTest, TimeDefaultsToNowAndTextIsNormalizedBeforeHashing) {
  AuditWriterOptions o;
  o.now_ms = [] { return int64_t{1234567}; };
  auto w = StartWriter(o);
  ASSERT_NE(w, nullptr);
  AuditRecord r = MakeRecord(1);
  r.time_ms = 0;
  r.principal = std::string("bad\0\xFF", 5);
  r.details = std::string(kMaxDetailsBytes + 100, 'x');
  auto seq = w->AppendAndWait(r);
  ASSERT_TRUE(seq.ok()) << seq.status().ToString();
  const AuditRecord got = Get(*seq);
  EXPECT_EQ(got.time_ms, 1234567);
  EXPECT_EQ(got.principal, "bad\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(got.details.size(), kMaxDetailsBytes);
  ASSERT_TRUE(w->Stop().ok());
  EXPECT_TRUE(VerifyNow().ok());
}

TEST_P(AuditTest, ConcurrentAppendersYieldOneGapFreeValidChain) {
  AuditWriterOptions o;
  o.digest_every_records = 100;
  auto w = StartWriter(o);
  ASSERT_NE(w, nullptr);
  constexpr int kThreads = 16, kPerThread = 150;
  std::vector<std::thread> threads;
  std::vector<std::vector<int64_t>> seqs(kThreads);
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto s = w->AppendAndWait(MakeRecord(t * 1000 + i));
        if (s.ok()) {
          seqs[static_cast<size_t>(t)].push_back(*s);
        } else {
          ++errors;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(errors.load(), 0);
  std::set<int64_t> all;
  for (const auto& v : seqs) all.insert(v.begin(), v.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), kThreads * kPerThread);
  // Group commit really batched: fewer transactions than records.
  EXPECT_LT(w->stats().batches, static_cast<uint64_t>(kThreads * kPerThread));
  ASSERT_TRUE(w->Stop().ok());
  const VerifyReport r = VerifyNow();
  EXPECT_TRUE(r.ok()) << VerifyReportToJson(r).dump();
  EXPECT_EQ(r.head_seq, kThreads * kPerThread);
  EXPECT_EQ(r.last_digested_seq, kThreads * kPerThread);  // the final digest on Stop
  EXPECT_EQ(r.unsigned_tail, 0);
}

TEST_P(AuditTest, TwoWritersOnTwoDbsShareOneChain) {
  auto db2 = tdb_->Open();  // as a second gateway process would
  ASSERT_TRUE(db2.ok());
  AuditWriterOptions o;
  o.digest_every_records = 50;
  auto w1 = StartWriter(o);
  auto w2 = StartWriter(o, db2->get());
  ASSERT_NE(w1, nullptr);
  ASSERT_NE(w2, nullptr);
  constexpr int kThreads = 4, kPerThread = 100;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < 2 * kThreads; ++t) {
    AuditWriter* w = t % 2 == 0 ? w1.get() : w2.get();
    threads.emplace_back([&, w, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!w->AppendAndWait(MakeRecord(t * 1000 + i)).ok()) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(errors.load(), 0);
  ASSERT_TRUE(w1->Stop().ok());
  ASSERT_TRUE(w2->Stop().ok());
  EXPECT_GT(w1->stats().appended, 0u);
  EXPECT_GT(w2->stats().appended, 0u);
  const VerifyReport r = VerifyNow();
  EXPECT_TRUE(r.ok()) << VerifyReportToJson(r).dump();
  EXPECT_EQ(r.records, 2 * kThreads * kPerThread);
  EXPECT_EQ(r.head_seq, 2 * kThreads * kPerThread);
}

TEST_P(AuditTest, DigestsEveryNRecordsAndOnStop) {
  AuditWriterOptions o;
  o.digest_every_records = 10;
  auto w = StartWriter(o);
  ASSERT_NE(w, nullptr);
  for (int i = 1; i <= 35; ++i) ASSERT_TRUE(w->AppendAndWait(MakeRecord(i)).ok());
  EXPECT_EQ(w->stats().digests, 3u);
  ASSERT_TRUE(w->Stop().ok());
  EXPECT_EQ(w->stats().digests, 4u);
  const VerifyReport r = VerifyNow();
  EXPECT_TRUE(r.ok()) << VerifyReportToJson(r).dump();
  EXPECT_EQ(r.records, 35);
  EXPECT_EQ(r.digests, 4);
  EXPECT_EQ(r.last_digested_seq, 35);
}

TEST_P(AuditTest, DigestsAfterTheIntervalWhileIdle) {
  std::atomic<int64_t> now{1'000'000};
  AuditWriterOptions o;
  o.digest_every_records = 1'000'000;
  o.digest_interval_ms = 40;
  o.digest_on_stop = false;
  o.now_ms = [&now] { return now.load(); };
  auto w = StartWriter(o);
  ASSERT_NE(w, nullptr);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(w->AppendAndWait(MakeRecord(i)).ok());
  EXPECT_EQ(w->stats().digests, 0u);
  now += 40;  // the idle timer (every 10 ms here) now finds a digest due
  for (int i = 0; i < 500 && w->stats().digests == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(w->stats().digests, 1u);
  ASSERT_TRUE(w->Stop().ok());
  const VerifyReport r = VerifyNow();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.last_digested_seq, 3);
}

TEST_P(AuditTest, AppendAfterStopFailsThroughTheCallback) {
  auto w = StartWriter();
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->Stop().ok());
  ASSERT_TRUE(w->Stop().ok());  // idempotent
  auto s = w->AppendAndWait(MakeRecord(1));
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(w->stats().failed, 1u);
}

TEST_P(AuditTest, StopCommitsEverythingQueued) {
  auto w = StartWriter();
  ASSERT_NE(w, nullptr);
  std::atomic<int> ok{0};
  for (int i = 1; i <= 200; ++i) {
    w->Append(MakeRecord(i), [&](StatusOr<int64_t> s) { ok += s.ok() ? 1 : 0; });
  }
  ASSERT_TRUE(w->Stop().ok());
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(VerifyNow().head_seq, 200);
}

TEST_P(AuditTest, RestartContinuesTheChain) {
  {
    auto w = StartWriter();
    ASSERT_NE(w, nullptr);
    for (int i = 1; i <= 3; ++i) ASSERT_TRUE(w->AppendAndWait(MakeRecord(i)).ok());
  }
  auto w = StartWriter();
  ASSERT_NE(w, nullptr);
  auto seq = w->AppendAndWait(MakeRecord(4));
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 4);
  ASSERT_TRUE(w->Stop().ok());
  const VerifyReport r = VerifyNow();
  EXPECT_TRUE(r.ok()) << VerifyReportToJson(r).dump();
  EXPECT_EQ(r.digests, 2);
}

// --- querying ----------------------------------------------------------------------------

TEST_P(AuditTest, QueryFiltersAndPaginatesBySeq) {
  auto w = StartWriter();
  ASSERT_NE(w, nullptr);
  for (int i = 1; i <= 30; ++i) ASSERT_TRUE(w->AppendAndWait(MakeRecord(i)).ok());
  AuditReader reader(*db_);

  AuditFilter admin;
  admin.principal = "key-admin";  // i = 3, 6, ..., 30
  std::vector<int64_t> seen;
  std::optional<int64_t> cursor;
  int pages = 0;
  do {
    auto page = reader.Query(admin, cursor, 4);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& r : page->records) {
      EXPECT_EQ(r.principal, "key-admin");
      seen.push_back(r.seq);
    }
    cursor = page->next_cursor;
    ++pages;
  } while (cursor && pages < 10);
  EXPECT_EQ(pages, 3);
  std::vector<int64_t> want;
  for (int i = 3; i <= 30; i += 3) want.push_back(i);
  EXPECT_EQ(seen, want);

  auto newest = reader.Query(admin, std::nullopt, 2, AuditOrder::kNewestFirst);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->records.size(), 2u);
  EXPECT_EQ(newest->records[0].seq, 30);
  EXPECT_EQ(newest->records[1].seq, 27);
  auto older = reader.Query(admin, newest->next_cursor, 2, AuditOrder::kNewestFirst);
  ASSERT_TRUE(older.ok());
  EXPECT_EQ(older->records[0].seq, 24);

  AuditFilter combined;
  combined.action = "POST /v1/echo";
  combined.outcome = "denied";  // even and divisible by 5: 10, 20, 30
  combined.since_ms = 1700000000000 + 11;
  combined.until_ms = 1700000000000 + 30;  // exclusive
  auto page = reader.Query(combined, std::nullopt, 100);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->records.size(), 1u);
  EXPECT_EQ(page->records[0].seq, 20);
  EXPECT_FALSE(page->next_cursor.has_value());

  AuditFilter nobody;
  nobody.principal = "'; DROP TABLE audit_records; --";
  auto empty = reader.Query(nobody, std::nullopt, 10);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->records.empty());
  EXPECT_TRUE(VerifyNow().ok());
}

TEST_P(AuditTest, QueryRefusesBadLimitsAndCursors) {
  AuditReader reader(*db_);
  EXPECT_EQ(reader.Query({}, std::nullopt, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reader.Query({}, std::nullopt, AuditReader::kMaxLimit + 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(reader.Query({}, int64_t{-1}, 10).status().code(), StatusCode::kInvalidArgument);
  AuditFilter backwards;
  backwards.since_ms = 10;
  backwards.until_ms = 5;
  EXPECT_EQ(reader.Query(backwards, std::nullopt, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reader.Get(1).status().code(), StatusCode::kNotFound);
}

// --- verification --------------------------------------------------------------------------

TEST_P(AuditTest, AnEmptyLogVerifies) {
  const VerifyReport r = VerifyNow();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.records, 0);
  EXPECT_EQ(r.head_seq, 0);
  auto w = StartWriter();  // creates the head row
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->Stop().ok());
  EXPECT_TRUE(VerifyNow().ok());
}

TEST_P(AuditTest, AnUntouchedLogVerifiesWithItsReport) {
  BuildLog();
  const VerifyReport r = VerifyNow();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.records, 45);
  EXPECT_EQ(r.head_seq, 45);
  EXPECT_EQ(r.head_hash, Get(45).hash);
  EXPECT_EQ(r.unsigned_tail, 5);
  const auto json = VerifyReportToJson(r);
  EXPECT_EQ(json["ok"], true);
  EXPECT_TRUE(json["firstFinding"].is_null());
  EXPECT_EQ(json["trustedKeys"][0], HexEncode(signer_->public_key()));
}

TEST_P(AuditTest, DetectsAModifiedField) {
  BuildLog();
  Sql("UPDATE audit_records SET principal = 'key-attacker' WHERE seq = 17");
  ExpectOnly(VerifyNow(), FindingKind::kModified, 17);
}

TEST_P(AuditTest, DetectsAModifiedTimeInTheUnsignedTail) {
  BuildLog();
  Sql("UPDATE audit_records SET time_ms = time_ms + 1 WHERE seq = 43");
  ExpectOnly(VerifyNow(), FindingKind::kModified, 43);
}

TEST_P(AuditTest, DetectsAModifiedLastRecord) {
  BuildLog();
  Sql("UPDATE audit_records SET outcome = 'success' WHERE seq = 45");
  ExpectOnly(VerifyNow(), FindingKind::kModified, 45);
}

TEST_P(AuditTest, DetectsAModifiedStoredHash) {
  BuildLog();
  ChainHash h{};
  h[0] = 0xAB;
  SetHash(17, h);
  const VerifyReport r = VerifyNow();
  ExpectOnly(r, FindingKind::kModified, 17);
  EXPECT_NE(r.findings[0].message.find("stored hash"), std::string::npos);
}

TEST_P(AuditTest, MalformedStoredValuesAreFindingsNotCrashes) {
  BuildLog();
  Sql("UPDATE audit_records SET hash = $1 WHERE seq = 17", {Value(Bytes{1, 2, 3})});
  Sql("UPDATE audit_digests SET public_key = $1, signature = $2 WHERE digest_no = 3",
      {Value(Bytes{4}), Value(Bytes{})});
  const VerifyReport r = VerifyNow();
  const std::string json = VerifyReportToJson(r).dump(2);
  ASSERT_EQ(r.findings.size(), 2u) << json;
  EXPECT_EQ(r.findings[0].kind, FindingKind::kModified) << json;
  EXPECT_EQ(r.findings[0].seq, 17);
  EXPECT_EQ(r.findings[1].kind, FindingKind::kDigestUntrustedKey) << json;
  EXPECT_EQ(r.findings[1].digest_no, 3);
}

TEST_P(AuditTest, DetectsADeletedRecordInTheMiddle) {
  BuildLog();
  Sql("DELETE FROM audit_records WHERE seq = 17");
  ExpectOnly(VerifyNow(), FindingKind::kDeleted, 17);
}

TEST_P(AuditTest, DetectsADeletedRecordWhenLaterOnesWereRenumbered) {
  BuildLog();
  Sql("DELETE FROM audit_records WHERE seq = 17");
  Renumber(18, -1);
  ExpectOnly(VerifyNow(), FindingKind::kDeleted, 17);
}

TEST_P(AuditTest, DetectsTheDeletedLastRecord) {
  BuildLog();
  Sql("DELETE FROM audit_records WHERE seq = 45");
  ExpectOnly(VerifyNow(), FindingKind::kDeleted, 45);
}

TEST_P(AuditTest, DetectsADeletedRecordThatEndedADigest) {
  BuildLog();
  Sql("DELETE FROM audit_records WHERE seq = 40");
  ExpectOnly(VerifyNow(), FindingKind::kDeleted, 40);
}

TEST_P(AuditTest, DetectsAnInsertedRecord) {
  BuildLog();
  Renumber(17, 1);
  AuditRecord forged = MakeRecord(99);
  forged.seq = 17;
  forged.hash = Get(16).hash;  // any plausible-looking hash
  InsertRaw(forged);
  ExpectOnly(VerifyNow(), FindingKind::kInserted, 17);
}

TEST_P(AuditTest, DetectsARecordAppendedBeyondTheHead) {
  BuildLog();
  AuditRecord forged = MakeRecord(99);
  forged.seq = 46;
  forged.hash = RecordHash(Get(45).hash, forged);  // even correctly chained
  InsertRaw(forged);
  ExpectOnly(VerifyNow(), FindingKind::kHeadMismatch, 46);
}

TEST_P(AuditTest, DetectsABadlyChainedRecordAppendedAtTheEnd) {
  BuildLog();
  AuditRecord forged = MakeRecord(99);
  forged.seq = 46;
  InsertRaw(forged);
  ExpectOnly(VerifyNow(), FindingKind::kInserted, 46);
}

TEST_P(AuditTest, DetectsTwoSwappedRecords) {
  BuildLog();
  Swap(17, 18);
  const VerifyReport r = VerifyNow();
  ExpectOnly(r, FindingKind::kReordered, 17);
  EXPECT_NE(r.findings[0].message.find("18"), std::string::npos);
}

TEST_P(AuditTest, DetectsTwoDistantRecordsSwapped) {
  BuildLog();
  Swap(17, 23);
  const VerifyReport r = VerifyNow();
  ExpectOnly(r, FindingKind::kReordered, 17);
  EXPECT_NE(r.findings[0].message.find("23"), std::string::npos);
}

TEST_P(AuditTest, DetectsAModifiedDigest) {
  BuildLog();
  Sql("UPDATE audit_digests SET last_time_ms = last_time_ms + 1 WHERE digest_no = 2");
  ExpectOnly(VerifyNow(), FindingKind::kDigestModified, 0, 2);
}

TEST_P(AuditTest, DetectsAModifiedDigestHeadHash) {
  BuildLog();
  Sql("UPDATE audit_digests SET head_hash = $1 WHERE digest_no = 3", {Value(Bytes(32, 0x42))});
  ExpectOnly(VerifyNow(), FindingKind::kDigestModified, 0, 3);
}

TEST_P(AuditTest, DetectsADigestSignedByAnotherKey) {
  BuildLog();
  // The attacker re-signs digest 2 (whose fields are all genuine) with a key of their own.
  store::Rows rows;
  ASSERT_TRUE(db_->WithConn([&](store::Conn& c) -> Status {
    std::string sql = "SELECT ";
    sql += internal::kDigestColumns;
    sql += " FROM audit_digests WHERE digest_no = 2";
    ASSIGN_OR_RETURN(rows, c.Query(sql));
    return OkStatus();
  }).ok());
  ASSERT_EQ(rows.size(), 1u);
  const AuditDigest d = internal::DigestFromRow(rows, 0);
  auto attacker = TestSigner(2);
  auto sig = attacker->Sign(CanonicalDigest(d));
  ASSERT_TRUE(sig.ok());
  Sql("UPDATE audit_digests SET public_key = $1, signature = $2 WHERE digest_no = 2",
      {Value(Bytes(attacker->public_key().begin(), attacker->public_key().end())),
       Value(Bytes(sig->begin(), sig->end()))});
  ExpectOnly(VerifyNow(), FindingKind::kDigestUntrustedKey, 0, 2);
  // With the attacker's key trusted as well, the log is consistent again: trust is the
  // verifier's decision, never the row's.
  const crypto::Ed25519Public both[] = {signer_->public_key(), attacker->public_key()};
  auto r = Verify(*db_, both);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok());
}

TEST_P(AuditTest, NoTrustedKeyMeansNoDigestIsAccepted) {
  BuildLog();
  auto r = Verify(*db_, {});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->findings.size(), 4u);
  for (const auto& f : r->findings) EXPECT_EQ(f.kind, FindingKind::kDigestUntrustedKey);
  EXPECT_EQ(r->last_digested_seq, 0);
}

TEST_P(AuditTest, DetectsADeletedDigest) {
  BuildLog();
  Sql("DELETE FROM audit_digests WHERE digest_no = 2");
  ExpectOnly(VerifyNow(), FindingKind::kDigestMissing, 0, 3);
}

TEST_P(AuditTest, DetectsATruncatedTailAfterTheLastDigest) {
  BuildLog();
  Sql("DELETE FROM audit_records WHERE seq > 42");
  ExpectOnly(VerifyNow(), FindingKind::kTruncated, 43);
}

TEST_P(AuditTest, DetectsATruncationIntoSignedRecordsEvenWithTheHeadRewritten) {
  BuildLog();
  Sql("DELETE FROM audit_records WHERE seq > 35");
  const AuditRecord r35 = Get(35);
  Sql("UPDATE audit_head SET seq = 35, hash = $1", {Value(Bytes(r35.hash.begin(), r35.hash.end()))});
  ExpectOnly(VerifyNow(), FindingKind::kTruncated, 36);
}

TEST_P(AuditTest, DetectsARewrittenChainThroughTheSignedDigest) {
  BuildLog();
  // A careful attacker changes record 17 and recomputes every later hash and the head.
  ChainHash prev = Get(16).hash;
  for (int64_t seq = 17; seq <= 45; ++seq) {
    AuditRecord r = Get(seq);
    if (seq == 17) {
      r.principal = "key-attacker";
      Sql("UPDATE audit_records SET principal = $1 WHERE seq = 17", {Value(r.principal)});
    }
    prev = RecordHash(prev, r);
    SetHash(seq, prev);
  }
  Sql("UPDATE audit_head SET hash = $1", {Value(Bytes(prev.begin(), prev.end()))});
  const VerifyReport r = VerifyNow();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.findings[0].kind, FindingKind::kDigestMismatch) << VerifyReportToJson(r).dump(2);
  EXPECT_EQ(r.findings[0].digest_no, 2);
  EXPECT_EQ(r.last_digested_seq, 10);  // only digest 1 still vouches for its records
}

TEST_P(AuditTest, DetectsAModifiedHeadRow) {
  BuildLog();
  Sql("UPDATE audit_head SET hash = $1", {Value(Bytes(32, 0x11))});
  ExpectOnly(VerifyNow(), FindingKind::kHeadMismatch, 45);
}

TEST_P(AuditTest, ReportsEveryIndependentTamperingInChainOrder) {
  BuildLog();
  Sql("UPDATE audit_records SET action = 'x' WHERE seq = 30");
  Sql("DELETE FROM audit_records WHERE seq = 12");
  Swap(41, 42);
  const VerifyReport r = VerifyNow();
  const std::string json = VerifyReportToJson(r).dump(2);
  ASSERT_EQ(r.findings.size(), 3u) << json;
  EXPECT_EQ(r.findings[0].kind, FindingKind::kDeleted);
  EXPECT_EQ(r.findings[0].seq, 12);
  EXPECT_EQ(r.findings[1].kind, FindingKind::kModified);
  EXPECT_EQ(r.findings[1].seq, 30);
  EXPECT_EQ(r.findings[2].kind, FindingKind::kReordered);
  EXPECT_EQ(r.findings[2].seq, 41);
}

TEST_P(AuditTest, AppendingAfterTamperingDoesNotHideIt) {
  BuildLog();
  Sql("UPDATE audit_records SET details = '{}' WHERE seq = 5");
  auto w = StartWriter();
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->AppendAndWait(MakeRecord(46)).ok());
  ASSERT_TRUE(w->Stop().ok());
  ExpectOnly(VerifyNow(), FindingKind::kModified, 5);
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditTest, ::testing::ValuesIn(store::testing::AllDialects()),
                         store::testing::DialectParamName<::testing::TestParamInfo<Dialect>>);

}  // namespace
}  // namespace vp::audit
