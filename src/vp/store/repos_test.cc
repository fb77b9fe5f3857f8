// The repositories of the platform on both backends: API keys, idempotency keys, rate
// limits (exact at the window boundaries, and exact across two Db objects sharing one
// database), replay protection.
#include <atomic>
#include <thread>
#include <vector>

#include "vp/store/api_keys.h"
#include "vp/store/custody_keys.h"
#include "vp/store/idempotency.h"
#include "vp/store/rate_limits.h"
#include "vp/store/replay.h"
#include "vp/store/store_test_util.h"

namespace vp::store {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;  // an arbitrary "now" in unix ms

// ---- API keys ----

using ApiKeyRepoTest = StoreTest;

ApiKey MakeKey(std::string id, std::string role, int64_t created) {
  ApiKey k;
  k.id = std::move(id);
  k.name = "key " + k.id;
  k.role = std::move(role);
  k.salt = Bytes(16, 0xa5);
  k.secret_hash = Bytes(32, 0x5a);
  k.derivation_nonce = "nonce-" + k.id;
  k.created_at_ms = created;
  return k;
}

TEST_P(ApiKeyRepoTest, CreateGetListDisable) {
  ApiKeyRepo keys(*db_);
  VP_ASSERT_OK(keys.Create(MakeKey("ak_b", "operator", kT0 + 1)));
  VP_ASSERT_OK(keys.Create(MakeKey("ak_a", "admin", kT0 + 1)));
  VP_ASSERT_OK(keys.Create(MakeKey("ak_c", "auditor", kT0)));

  auto got = keys.Get("ak_a");
  VP_ASSERT_OK(got);
  EXPECT_EQ(got->id, "ak_a");
  EXPECT_EQ(got->name, "key ak_a");
  EXPECT_EQ(got->role, "admin");
  EXPECT_EQ(got->salt, Bytes(16, 0xa5));
  EXPECT_EQ(got->secret_hash, Bytes(32, 0x5a));
  EXPECT_EQ(got->derivation_nonce, "nonce-ak_a");
  EXPECT_FALSE(got->disabled);
  EXPECT_EQ(got->created_at_ms, kT0 + 1);
  EXPECT_FALSE(got->last_used_at_ms.has_value());

  auto all = keys.List();
  VP_ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "ak_c");  // oldest first, then by id
  EXPECT_EQ((*all)[1].id, "ak_a");
  EXPECT_EQ((*all)[2].id, "ak_b");

  VP_ASSERT_OK(keys.SetDisabled("ak_a", true));
  VP_ASSERT_OK(keys.SetDisabled("ak_a", true));  // idempotent
  EXPECT_TRUE(keys.Get("ak_a")->disabled);
  VP_ASSERT_OK(keys.SetDisabled("ak_a", false));
  EXPECT_FALSE(keys.Get("ak_a")->disabled);
}

TEST_P(ApiKeyRepoTest, TouchOnlyMovesForward) {
  ApiKeyRepo keys(*db_);
  VP_ASSERT_OK(keys.Create(MakeKey("ak_1", "approver", kT0)));
  VP_ASSERT_OK(keys.TouchLastUsed("ak_1", kT0 + 100));
  VP_ASSERT_OK(keys.TouchLastUsed("ak_1", kT0 + 50));
  EXPECT_EQ(keys.Get("ak_1")->last_used_at_ms, kT0 + 100);
  EXPECT_EQ(keys.TouchLastUsed("nope", kT0).code(), StatusCode::kNotFound);
}

TEST_P(ApiKeyRepoTest, RefusesDuplicatesUnknownRolesAndMissingKeys) {
  ApiKeyRepo keys(*db_);
  VP_ASSERT_OK(keys.Create(MakeKey("ak_1", "admin", kT0)));
  EXPECT_EQ(keys.Create(MakeKey("ak_1", "auditor", kT0)).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(keys.Create(MakeKey("ak_2", "root", kT0)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(keys.Create(MakeKey("ak_3", "Admin", kT0)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(keys.Create(MakeKey("", "admin", kT0)).code(), StatusCode::kInvalidArgument);
  ApiKey unnamed = MakeKey("ak_4", "admin", kT0);
  unnamed.name.clear();
  EXPECT_EQ(keys.Create(unnamed).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(keys.Get("ak_9").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(keys.SetDisabled("ak_9", true).code(), StatusCode::kNotFound);
  EXPECT_EQ(keys.Get("ak_1' OR '1'='1").status().code(), StatusCode::kNotFound);  // parameters, not SQL
}

VP_STORE_INSTANTIATE(ApiKeyRepoTest);

// ---- Idempotency ----

using IdempotencyRepoTest = StoreTest;

const Bytes kHashA(32, 0xaa);
const Bytes kHashB(32, 0xbb);

TEST_P(IdempotencyRepoTest, FirstReservesThenInProgressThenReplay) {
  IdempotencyRepo repo(*db_);
  auto r1 = repo.Reserve("ak_1", "key-1", kHashA, kT0);
  VP_ASSERT_OK(r1);
  EXPECT_EQ(r1->outcome, ReserveOutcome::kNew);
  EXPECT_FALSE(r1->response.has_value());

  auto r2 = repo.Reserve("ak_1", "key-1", kHashA, kT0 + 10);
  VP_ASSERT_OK(r2);
  EXPECT_EQ(r2->outcome, ReserveOutcome::kInProgress);

  const Bytes body = {'{', '"', 'o', 'k', '"', ':', '1', '}'};
  VP_ASSERT_OK(repo.Complete("ak_1", "key-1", 201, "application/json", body, kT0 + 20));

  auto r3 = repo.Reserve("ak_1", "key-1", kHashA, kT0 + 30);
  VP_ASSERT_OK(r3);
  ASSERT_EQ(r3->outcome, ReserveOutcome::kCompleted);
  ASSERT_TRUE(r3->response.has_value());
  EXPECT_EQ(r3->response->status_code, 201);
  EXPECT_EQ(r3->response->content_type, "application/json");
  EXPECT_EQ(r3->response->body, body);
  EXPECT_EQ(r3->response->created_at_ms, kT0);
}

TEST_P(IdempotencyRepoTest, DifferentRequestWithSameKeyConflicts) {
  IdempotencyRepo repo(*db_);
  VP_ASSERT_OK(repo.Reserve("ak_1", "k", kHashA, kT0));
  EXPECT_EQ(repo.Reserve("ak_1", "k", kHashB, kT0 + 1)->outcome, ReserveOutcome::kConflict);
  VP_ASSERT_OK(repo.Complete("ak_1", "k", 200, "text/plain", Bytes{}, kT0 + 2));
  EXPECT_EQ(repo.Reserve("ak_1", "k", kHashB, kT0 + 3)->outcome, ReserveOutcome::kConflict);
  // Another caller's identical key is independent.
  EXPECT_EQ(repo.Reserve("ak_2", "k", kHashB, kT0 + 4)->outcome, ReserveOutcome::kNew);
}

TEST_P(IdempotencyRepoTest, RecordsExpireAfter24Hours) {
  IdempotencyRepo repo(*db_);
  const int64_t day = 24LL * 3600 * 1000;
  VP_ASSERT_OK(repo.Reserve("ak_1", "k", kHashA, kT0));
  VP_ASSERT_OK(repo.Complete("ak_1", "k", 200, "text/plain", Bytes{'x'}, kT0 + 5));
  EXPECT_EQ(repo.Reserve("ak_1", "k", kHashB, kT0 + day - 1)->outcome, ReserveOutcome::kConflict);
  EXPECT_EQ(repo.Reserve("ak_1", "k", kHashA, kT0 + day - 1)->outcome, ReserveOutcome::kCompleted);
  // At exactly 24 h the record is gone: the key is fresh, even with another body.
  EXPECT_EQ(repo.Reserve("ak_1", "k", kHashB, kT0 + day)->outcome, ReserveOutcome::kNew);
  EXPECT_EQ(repo.Reserve("ak_1", "k", kHashB, kT0 + day + 1)->outcome, ReserveOutcome::kInProgress);
}

TEST_P(IdempotencyRepoTest, AbandonedReservationCanBeTakenOverBySameRequest) {
  IdempotencyOptions opts;
  opts.in_progress_timeout_ms = 60'000;
  IdempotencyRepo repo(*db_, opts);
  VP_ASSERT_OK(repo.Reserve("ak_1", "k", kHashA, kT0));
  EXPECT_EQ(repo.Reserve("ak_1", "k", kHashA, kT0 + 59'999)->outcome, ReserveOutcome::kInProgress);
  EXPECT_EQ(repo.Reserve("ak_1", "k", kHashB, kT0 + 60'000)->outcome, ReserveOutcome::kConflict);
  EXPECT_EQ(repo.Reserve("ak_1", "k", kHashA, kT0 + 60'000)->outcome, ReserveOutcome::kNew);
}

TEST_P(IdempotencyRepoTest, CompleteNeedsAnOpenReservation) {
  IdempotencyRepo repo(*db_);
  EXPECT_EQ(repo.Complete("ak_1", "never", 200, "t", Bytes{}, kT0).code(), StatusCode::kFailedPrecondition);
  VP_ASSERT_OK(repo.Reserve("ak_1", "k", kHashA, kT0));
  VP_ASSERT_OK(repo.Complete("ak_1", "k", 200, "t", Bytes{}, kT0));
  EXPECT_EQ(repo.Complete("ak_1", "k", 500, "t", Bytes{}, kT0).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(repo.Reserve("ak_1", "k", kHashA, kT0)->response->status_code, 200);  // first answer kept
}

TEST_P(IdempotencyRepoTest, ReleaseLetsTheClientRetryAtOnce) {
  IdempotencyRepo repo(*db_);
  VP_ASSERT_OK(repo.Reserve("ak_1", "k", kHashA, kT0));
  VP_ASSERT_OK(repo.Release("ak_1", "k"));
  EXPECT_EQ(repo.Reserve("ak_1", "k", kHashB, kT0 + 1)->outcome, ReserveOutcome::kNew);
  VP_ASSERT_OK(repo.Complete("ak_1", "k", 200, "t", Bytes{}, kT0 + 2));
  VP_ASSERT_OK(repo.Release("ak_1", "k"));  // completed records stay
  EXPECT_EQ(repo.Reserve("ak_1", "k", kHashB, kT0 + 3)->outcome, ReserveOutcome::kCompleted);
}

TEST_P(IdempotencyRepoTest, SweepDeletesOnlyExpired) {
  IdempotencyRepo repo(*db_);
  const int64_t day = 24LL * 3600 * 1000;
  VP_ASSERT_OK(repo.Reserve("ak_1", "old", kHashA, kT0));
  VP_ASSERT_OK(repo.Reserve("ak_1", "new", kHashA, kT0 + 1000));
  auto n = repo.Sweep(kT0 + day + 500);
  VP_ASSERT_OK(n);
  EXPECT_EQ(*n, 1);
  // The younger record survived: a different request with its key still conflicts.
  EXPECT_EQ(repo.Reserve("ak_1", "new", kHashB, kT0 + day + 600)->outcome, ReserveOutcome::kConflict);
}

TEST_P(IdempotencyRepoTest, RefusesMalformedKeys) {
  IdempotencyRepo repo(*db_);
  EXPECT_EQ(repo.Reserve("", "k", kHashA, kT0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(repo.Reserve("ak", "", kHashA, kT0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(repo.Reserve("ak", std::string(256, 'k'), kHashA, kT0).status().code(), StatusCode::kInvalidArgument);
  VP_EXPECT_OK(repo.Reserve("ak", std::string(255, 'k'), kHashA, kT0));
}

TEST_P(IdempotencyRepoTest, ConcurrentReservationsHaveOneWinner) {
  auto other = OpenSecond();
  ASSERT_NE(other, nullptr);
  IdempotencyRepo a(*db_), b(*other);
  constexpr int kThreads = 8;
  std::atomic<int> winners{0}, waiting{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto r = (t % 2 ? a : b).Reserve("ak_1", "race", kHashA, kT0);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (r->outcome == ReserveOutcome::kNew) ++winners;
      if (r->outcome == ReserveOutcome::kInProgress) ++waiting;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(waiting.load(), kThreads - 1);
}

VP_STORE_INSTANTIATE(IdempotencyRepoTest);

// ---- Rate limits ----

using RateLimitRepoTest = StoreTest;

TEST_P(RateLimitRepoTest, SlidingWindowIsExactAtTheBoundary) {
  RateLimitRepo rl(*db_);
  auto hit = [&](int64_t t) {
    auto d = rl.Hit("ip:1", 1000, 3, t, WindowKind::kSliding);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : RateDecision{};
  };
  RateDecision d = hit(1000);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 2);
  EXPECT_EQ(hit(1100).remaining, 1);
  d = hit(1200);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  d = hit(1300);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 700);  // when the hit at 1000 leaves the window
  d = hit(1999);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 1);
  d = hit(2000);  // the hit at 1000 is exactly one window old: no longer counted
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  d = hit(2000);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 100);  // the hit at 1100
  // Refused hits are not recorded: after the window everything is free again.
  d = hit(2500);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1);  // only the hit at 2000 remains
}

TEST_P(RateLimitRepoTest, FixedWindowIsExactAtTheBoundary) {
  RateLimitRepo rl(*db_);
  auto hit = [&](int64_t t) {
    auto d = rl.Hit("global:hour", 1000, 2, t, WindowKind::kFixed);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : RateDecision{};
  };
  RateDecision d = hit(5000);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1);
  d = hit(5999);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  d = hit(5999);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 1);
  d = hit(6000);  // a new window
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1);
  d = hit(6001);
  EXPECT_TRUE(d.allowed);
  d = hit(6500);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 500);
}

TEST_P(RateLimitRepoTest, BucketsAreIndependent) {
  RateLimitRepo rl(*db_);
  EXPECT_TRUE(rl.Hit("a", 1000, 1, 0, WindowKind::kSliding)->allowed);
  EXPECT_FALSE(rl.Hit("a", 1000, 1, 1, WindowKind::kSliding)->allowed);
  EXPECT_TRUE(rl.Hit("b", 1000, 1, 1, WindowKind::kSliding)->allowed);
  EXPECT_TRUE(rl.Hit("a", 1000, 1, 1, WindowKind::kFixed)->allowed);  // kinds do not share state
}

TEST_P(RateLimitRepoTest, LimitZeroRefusesAndBadArgumentsAreRejected) {
  RateLimitRepo rl(*db_);
  auto d = rl.Hit("z", 1000, 0, 10, WindowKind::kSliding);
  VP_ASSERT_OK(d);
  EXPECT_FALSE(d->allowed);
  EXPECT_GE(d->retry_after_ms, 1);
  d = rl.Hit("z", 1000, 0, 10, WindowKind::kFixed);
  VP_ASSERT_OK(d);
  EXPECT_FALSE(d->allowed);
  EXPECT_EQ(d->retry_after_ms, 990);
  EXPECT_EQ(rl.Hit("", 1000, 1, 0, WindowKind::kSliding).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rl.Hit("x", 0, 1, 0, WindowKind::kSliding).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rl.Hit("x", 1000, -1, 0, WindowKind::kFixed).status().code(), StatusCode::kInvalidArgument);
}

// Two "gateways" (two Db objects on one database) hammering the same buckets from several
// threads at the same instant: exactly `limit` hits are allowed in total.
TEST_P(RateLimitRepoTest, ExactAcrossTwoDbInstances) {
  auto other = OpenSecond();
  ASSERT_NE(other, nullptr);
  RateLimitRepo a(*db_), b(*other);
  constexpr int kThreads = 6;
  constexpr int kPerThread = 15;
  constexpr int64_t kLimit = 40;
  for (WindowKind kind : {WindowKind::kSliding, WindowKind::kFixed}) {
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int k = 0; k < kPerThread; ++k) {
          auto d = (t % 2 ? a : b).Hit("shared", 60'000, kLimit, kT0 + k, kind);
          ASSERT_TRUE(d.ok()) << d.status().ToString();
          if (d->allowed) ++allowed;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(allowed.load(), kLimit) << (kind == WindowKind::kSliding ? "sliding" : "fixed");
  }
}

TEST_P(RateLimitRepoTest, SnapshotRoundTripsAndReplacesBuckets) {
  RateLimitRepo rl(*db_);
  RateLimitSnapshot snap;
  snap.sliding.push_back({"key:1", {kT0 - 500, kT0 - 100, kT0 - 100}});
  snap.sliding.push_back({"key:2", {kT0 - 90'000}});  // older than the largest window
  snap.fixed.push_back({"global:h", kT0 - 1000, 17});
  VP_ASSERT_OK(rl.SaveSnapshot(snap));
  auto loaded = rl.LoadSnapshot(kT0, 60'000);
  VP_ASSERT_OK(loaded);
  ASSERT_EQ(loaded->sliding.size(), 1u);
  EXPECT_EQ(loaded->sliding[0].bucket, "key:1");
  EXPECT_EQ(loaded->sliding[0].hits_ms, (std::vector<int64_t>{kT0 - 500, kT0 - 100, kT0 - 100}));
  ASSERT_EQ(loaded->fixed.size(), 1u);
  EXPECT_EQ(loaded->fixed[0].count, 17);

  // The stored hits count for Hit as well (the same tables).
  auto d = rl.Hit("key:1", 60'000, 4, kT0, WindowKind::kSliding);
  VP_ASSERT_OK(d);
  EXPECT_TRUE(d->allowed);
  EXPECT_EQ(d->remaining, 0);

  // Saving a bucket again replaces its state.
  RateLimitSnapshot again;
  again.sliding.push_back({"key:1", {kT0 - 1}});
  again.fixed.push_back({"global:h", kT0 - 1000, 3});
  VP_ASSERT_OK(rl.SaveSnapshot(again));
  loaded = rl.LoadSnapshot(kT0, 60'000);
  VP_ASSERT_OK(loaded);
  ASSERT_EQ(loaded->sliding.size(), 1u);
  EXPECT_EQ(loaded->sliding[0].hits_ms, (std::vector<int64_t>{kT0 - 1}));
  ASSERT_EQ(loaded->fixed.size(), 1u);
  EXPECT_EQ(loaded->fixed[0].count, 3);

  RateLimitSnapshot bad;
  bad.sliding.push_back({"", {1}});
  EXPECT_EQ(rl.SaveSnapshot(bad).code(), StatusCode::kInvalidArgument);
}

TEST_P(RateLimitRepoTest, SweepDropsOldState) {
  RateLimitRepo rl(*db_);
  VP_ASSERT_OK(rl.Hit("quiet", 1000, 10, kT0 - 5000, WindowKind::kSliding));  // never hit again
  VP_ASSERT_OK(rl.Hit("s", 1000, 10, kT0, WindowKind::kSliding));
  VP_ASSERT_OK(rl.Hit("f", 1000, 10, kT0 - 5000, WindowKind::kFixed));
  auto n = rl.Sweep(kT0, 1000);
  VP_ASSERT_OK(n);
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(rl.Hit("s", 1000, 10, kT0, WindowKind::kSliding)->remaining, 8);
}

// ---- Leases (gateways on PostgreSQL) ----

// Grants are at most a quarter of what is left, so a budget runs down to single slots and
// ends exactly at the limit.
TEST_P(RateLimitRepoTest, SlidingLeasesRunDownToExactlyTheLimit) {
  RateLimitRepo rl(*db_);
  auto l = rl.Lease("key:a", 60'000, 100, kT0, WindowKind::kSliding, 10, 1000);
  VP_ASSERT_OK(l);
  EXPECT_TRUE(l->allowed);
  EXPECT_EQ(l->granted, 10);
  EXPECT_EQ(l->remaining, 90);
  EXPECT_EQ(l->expires_at_ms, kT0 + 1000);
  EXPECT_GE(l->charged_at_ms + 1000, kT0 + 1000);  // charged where the lease ends
  int64_t total = l->granted;
  int64_t singles = 0;
  for (int i = 0; i < 200; ++i) {
    l = rl.Lease("key:a", 60'000, 100, kT0 + 1, WindowKind::kSliding, 1000, 1000);
    VP_ASSERT_OK(l);
    if (!l->allowed) break;
    EXPECT_LE(l->granted * 4, std::max<int64_t>(4, 100 - total)) << "more than a quarter of what is left";
    total += l->granted;
    if (l->granted == 1) {
      ++singles;
      EXPECT_EQ(l->expires_at_ms, kT0 + 1);  // a single slot is this hit
    }
  }
  EXPECT_EQ(total, 100);
  EXPECT_GE(singles, 3);
  EXPECT_FALSE(l->allowed);
  // The slices leave the window one slice (1 s) after their end at the latest.
  EXPECT_GT(l->retry_after_ms, 60'000 - 1000);
  EXPECT_LE(l->retry_after_ms, 60'000 + 2000);
  auto later = rl.Lease("key:a", 60'000, 100, kT0 + 1 + l->retry_after_ms, WindowKind::kSliding, 1, 1000);
  VP_ASSERT_OK(later);
  EXPECT_TRUE(later->allowed);
}

TEST_P(RateLimitRepoTest, ReturnedSlotsCanBeLeasedAgain) {
  RateLimitRepo rl(*db_);
  for (WindowKind kind : {WindowKind::kSliding, WindowKind::kFixed}) {
    const std::string bucket = kind == WindowKind::kSliding ? "s" : "f";
    auto a = rl.Lease(bucket, 3'600'000, 8, kT0, kind, 2, 1000);
    VP_ASSERT_OK(a);
    ASSERT_EQ(a->granted, 2);
    // Spend the rest one by one.
    int64_t total = a->granted;
    while (true) {
      auto b = rl.Lease(bucket, 3'600'000, 8, kT0 + 10, kind, 1, 1000);
      VP_ASSERT_OK(b);
      if (!b->allowed) break;
      total += b->granted;
    }
    EXPECT_EQ(total, 8);
    // The first lease spent one of its two slots: the other comes back with the next call.
    auto c = rl.Lease(bucket, 3'600'000, 8, kT0 + 2000, kind, 1, 1000, {{a->charged_at_ms, 1}});
    VP_ASSERT_OK(c);
    EXPECT_TRUE(c->allowed);
    EXPECT_EQ(c->remaining, 0);
    auto d = rl.Lease(bucket, 3'600'000, 8, kT0 + 2001, kind, 1, 1000);
    VP_ASSERT_OK(d);
    EXPECT_FALSE(d->allowed);
    // Return() alone, and a return larger than what is charged does not go below zero.
    VP_ASSERT_OK(rl.Return(bucket, 3'600'000, kind, {{c->charged_at_ms, 1}}));
    auto e = rl.Lease(bucket, 3'600'000, 8, kT0 + 2002, kind, 1, 1000);
    VP_ASSERT_OK(e);
    EXPECT_TRUE(e->allowed);
    VP_ASSERT_OK(rl.Return(bucket, 3'600'000, kind, {{e->charged_at_ms, 1'000'000}}));
  }
}

TEST_P(RateLimitRepoTest, FixedLeasesEndWithTheirWindow) {
  RateLimitRepo rl(*db_);
  auto l = rl.Lease("global:hour", 1000, 1000, 5900, WindowKind::kFixed, 50, 5000);
  VP_ASSERT_OK(l);
  EXPECT_TRUE(l->allowed);
  EXPECT_EQ(l->granted, 50);
  EXPECT_EQ(l->charged_at_ms, 5000);
  EXPECT_EQ(l->expires_at_ms, 5999);  // not into the next window
  EXPECT_EQ(l->remaining, 950);
  auto next = rl.Lease("global:hour", 1000, 1000, 6000, WindowKind::kFixed, 50, 5000);
  VP_ASSERT_OK(next);
  EXPECT_EQ(next->remaining, 950);  // a new window
  auto zero = rl.Lease("z", 1000, 0, 6500, WindowKind::kFixed, 1, 10);
  VP_ASSERT_OK(zero);
  EXPECT_FALSE(zero->allowed);
  EXPECT_EQ(zero->retry_after_ms, 500);
}

TEST_P(RateLimitRepoTest, LeaseArgumentsAreChecked) {
  RateLimitRepo rl(*db_);
  EXPECT_EQ(rl.Lease("", 1000, 1, 0, WindowKind::kSliding, 1, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rl.Lease("x", 0, 1, 0, WindowKind::kSliding, 1, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rl.Lease("x", 1000, -1, 0, WindowKind::kFixed, 1, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rl.Lease("x", 1000, 1, 0, WindowKind::kFixed, 0, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rl.Lease("x", 1000, 1, 0, WindowKind::kFixed, 1, -1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rl.Return("", 1000, WindowKind::kFixed, {}).code(), StatusCode::kInvalidArgument);
}

// Two "gateways" leasing concurrently never get more than the limit between them, and all
// of it is handed out.
TEST_P(RateLimitRepoTest, LeasesAreExactAcrossTwoDbInstances) {
  auto other = OpenSecond();
  ASSERT_NE(other, nullptr);
  RateLimitRepo a(*db_), b(*other);
  constexpr int kThreads = 6;
  constexpr int64_t kLimit = 500;
  for (WindowKind kind : {WindowKind::kSliding, WindowKind::kFixed}) {
    std::atomic<int64_t> granted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int k = 0; k < 60; ++k) {
          auto d = (t % 2 ? a : b).Lease("shared", 60'000, kLimit, kT0 + k, kind, 1 + t * 7, 1000);
          ASSERT_TRUE(d.ok()) << d.status().ToString();
          if (d->allowed) granted += d->granted;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(granted.load(), kLimit) << (kind == WindowKind::kSliding ? "sliding" : "fixed");
  }
}

TEST_P(RateLimitRepoTest, SweepDropsOldSlices) {
  RateLimitRepo rl(*db_);
  VP_ASSERT_OK(rl.Lease("old", 1000, 10, kT0 - 10'000, WindowKind::kSliding, 1, 0));
  VP_ASSERT_OK(rl.Lease("new", 1000, 10, kT0, WindowKind::kSliding, 1, 0));
  auto n = rl.Sweep(kT0, 1000);
  VP_ASSERT_OK(n);
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(rl.Lease("new", 1000, 10, kT0, WindowKind::kSliding, 1, 0)->remaining, 8);
}

VP_STORE_INSTANTIATE(RateLimitRepoTest);

// ---- Replay ----

using ReplayRepoTest = StoreTest;

TEST_P(ReplayRepoTest, SecondSightingIsAReplayUntilExpiry) {
  ReplayRepo rp(*db_);
  EXPECT_TRUE(*rp.Remember("ak_1", "abcd", kT0 + 300'000, kT0));
  EXPECT_FALSE(*rp.Remember("ak_1", "abcd", kT0 + 300'000, kT0 + 1));
  EXPECT_FALSE(*rp.Remember("ak_1", "abcd", kT0 + 600'000, kT0 + 299'999));
  EXPECT_TRUE(*rp.Remember("ak_2", "abcd", kT0 + 300'000, kT0));  // per key
  // Once expired the pair is fresh again (and remembered anew).
  EXPECT_TRUE(*rp.Remember("ak_1", "abcd", kT0 + 900'000, kT0 + 300'000));
  EXPECT_FALSE(*rp.Remember("ak_1", "abcd", kT0 + 900'000, kT0 + 300'001));
}

TEST_P(ReplayRepoTest, SweepAndArguments) {
  ReplayRepo rp(*db_);
  VP_ASSERT_OK(rp.Remember("ak_1", "s1", kT0 + 10, kT0));
  VP_ASSERT_OK(rp.Remember("ak_1", "s2", kT0 + 20, kT0));
  auto n = rp.Sweep(kT0 + 10);
  VP_ASSERT_OK(n);
  EXPECT_EQ(*n, 1);
  EXPECT_FALSE(*rp.Remember("ak_1", "s2", kT0 + 20, kT0 + 11));
  EXPECT_EQ(rp.Remember("", "s", 1, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rp.Remember("k", "", 1, 0).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(ReplayRepoTest, ConcurrentSightingsHaveOneWinner) {
  auto other = OpenSecond();
  ASSERT_NE(other, nullptr);
  ReplayRepo a(*db_), b(*other);
  constexpr int kThreads = 8;
  constexpr int kSignatures = 20;
  std::vector<std::atomic<int>> fresh(kSignatures);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int s = 0; s < kSignatures; ++s) {
        auto r = (t % 2 ? a : b).Remember("ak_1", "sig" + std::to_string(s), kT0 + 1000, kT0);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        if (*r) ++fresh[static_cast<size_t>(s)];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int s = 0; s < kSignatures; ++s) EXPECT_EQ(fresh[static_cast<size_t>(s)].load(), 1) << s;
}

TEST_P(ReplayRepoTest, RememberManyDecidesEachItem) {
  ReplayRepo rp(*db_);
  EXPECT_TRUE(*rp.Remember("ak_1", "seen", kT0 + 300'000, kT0));
  EXPECT_TRUE(*rp.Remember("ak_1", "expired", kT0 + 10, kT0));
  std::vector<ReplayRepo::Item> items = {
      {"ak_1", "new1", kT0 + 300'000},
      {"ak_1", "seen", kT0 + 300'000},
      {"ak_1", "new1", kT0 + 300'000},     // a repeat inside the batch
      {"ak_1", "expired", kT0 + 300'000},  // seen, but its record expired
      {"ak_\"q\\,{}", "new2", kT0 + 300'000},  // characters that need quoting in an array literal
      {"ak_2", "new1", kT0 + 300'000},     // another key
  };
  auto r = rp.RememberMany(items, kT0 + 100);
  VP_ASSERT_OK(r);
  EXPECT_EQ(*r, (std::vector<bool>{true, false, false, true, true, true}));
  auto again = rp.RememberMany(items, kT0 + 200);
  VP_ASSERT_OK(again);
  EXPECT_EQ(*again, std::vector<bool>(items.size(), false));
  EXPECT_FALSE(*rp.Remember("ak_\"q\\,{}", "new2", kT0 + 300'000, kT0 + 300));
  auto empty = rp.RememberMany({}, kT0);
  VP_ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(rp.RememberMany({{"", "s", 1}}, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rp.RememberMany({{"k", "", 1}}, 0).status().code(), StatusCode::kInvalidArgument);
}

VP_STORE_INSTANTIATE(ReplayRepoTest);

}  // namespace
}  // namespace vp::store

// ---- Custody key blobs ----

namespace vp::store {
namespace {

using CustodyKeyRepoTest = StoreTest;

TEST_P(CustodyKeyRepoTest, InsertListAndCompareAndSwap) {
  CustodyKeyRepo repo(*db_);
  const Bytes a{1, 2, 3}, b{4, 5, 6}, c{7, 8, 9};
  ASSERT_TRUE(repo.Insert({.key_id = "k-1", .wallet_id = "w-1", .blob = a, .master_key_id = "mk-1"}, 10).ok());
  ASSERT_TRUE(repo.Insert({.key_id = "k-2", .wallet_id = "w-2", .blob = b, .master_key_id = "mk-1"}, 11).ok());
  EXPECT_EQ(repo.Insert({.key_id = "k-1", .wallet_id = "w-9", .blob = c, .master_key_id = "mk-1"}, 12).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(repo.Insert({.key_id = "k-3", .wallet_id = "w-3", .blob = {}, .master_key_id = "mk-1"}, 12).code(),
            StatusCode::kInvalidArgument);
  auto page = repo.List("", 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].key_id, "k-1");
  EXPECT_EQ((*page)[0].blob, a);
  page = repo.List("k-1", 10);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].key_id, "k-2");
  EXPECT_EQ(*repo.CountNotUnder("mk-2"), 2);
  // Only the expected blob is replaced: a stale rotation cannot overwrite a newer blob.
  EXPECT_TRUE(*repo.ReplaceBlob("k-1", a, c, "mk-2", 20));
  EXPECT_FALSE(*repo.ReplaceBlob("k-1", a, b, "mk-2", 21));
  auto got = repo.Get("k-1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->blob, c);
  EXPECT_EQ((*got)->master_key_id, "mk-2");
  EXPECT_EQ((*got)->updated_ms, 20);
  EXPECT_EQ(*repo.CountNotUnder("mk-2"), 1);
  EXPECT_FALSE(repo.Get("nope")->has_value());
}

VP_STORE_INSTANTIATE(CustodyKeyRepoTest);

}  // namespace
}  // namespace vp::store
