// LeasedRateLimiter (the gateway's side of leases) with answers made up as the store would
// give them, and ReplayBatcher against a real SQLite store.
#include "vp/http/leased_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "vp/http/replay_batcher.h"
#include "vp/store/testing.h"

namespace vp::http {
namespace {

using store::RateLease;
using store::WindowKind;

RateLease Granted(int64_t n, int64_t expires, int64_t charged, int64_t remaining) {
  RateLease l;
  l.allowed = true;
  l.granted = n;
  l.expires_at_ms = expires;
  l.charged_at_ms = charged;
  l.remaining = remaining;
  return l;
}

TEST(LeasedRateLimiter, SpendsLeasedSlotsLocallyUntilTheLeaseEnds) {
  LeasedRateLimiter lim;
  EXPECT_FALSE(lim.TryLocal("k", 1000).has_value());  // nothing held: lease
  auto q = lim.Prepare("k", 60'000, WindowKind::kSliding, 1000);
  EXPECT_EQ(q.want, 1);
  EXPECT_TRUE(q.returns.empty());
  RateDecision d = lim.Apply("k", Granted(5, 2000, 2000, 95), 1000);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(lim.HeldSlots("k", 1000), 4);
  for (int i = 0; i < 4; ++i) {
    auto local = lim.TryLocal("k", 1500);
    ASSERT_TRUE(local.has_value());
    EXPECT_TRUE(local->allowed);
  }
  EXPECT_FALSE(lim.TryLocal("k", 1500).has_value());  // spent
  // A lease that ended is not spent from; its leftovers go back with the next lease.
  lim.Apply("k", Granted(3, 2500, 3000, 90), 1600);
  EXPECT_FALSE(lim.TryLocal("k", 2501).has_value());
  q = lim.Prepare("k", 60'000, WindowKind::kSliding, 2501);
  ASSERT_EQ(q.returns.size(), 1u);
  EXPECT_EQ(q.returns[0].charged_at_ms, 3000);
  EXPECT_EQ(q.returns[0].unused, 2);
  EXPECT_EQ(lim.HeldSlots("k", 2501), 0);
}

TEST(LeasedRateLimiter, AsksForAboutOneHoldTimeOfTheRecentRate) {
  LeasedRateLimiter::Options o;
  o.hold_ms = 500;
  o.max_chunk = 64;
  LeasedRateLimiter lim(o);
  for (int i = 0; i < 40; ++i) (void)lim.TryLocal("k", 10'000 + i);  // 40 hits in second 10
  EXPECT_EQ(lim.Prepare("k", 60'000, WindowKind::kSliding, 10'999).want, 20);  // 40/s for 0.5 s
  for (int i = 0; i < 1000; ++i) (void)lim.TryLocal("k", 11'000);
  EXPECT_EQ(lim.Prepare("k", 60'000, WindowKind::kSliding, 11'000).want, 64);  // capped
  // After a quiet second the rate starts over.
  (void)lim.TryLocal("k", 20'000);
  EXPECT_EQ(lim.Prepare("k", 60'000, WindowKind::kSliding, 20'000).want, 1);
}

TEST(LeasedRateLimiter, RemembersARefusalBriefly) {
  LeasedRateLimiter::Options o;
  o.refusal_memory_ms = 100;
  LeasedRateLimiter lim(o);
  RateLease no;
  no.retry_after_ms = 30'000;
  RateDecision d = lim.Apply("k", no, 1000);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 30'000);
  auto local = lim.TryLocal("k", 1050);
  ASSERT_TRUE(local.has_value());
  EXPECT_FALSE(local->allowed);
  EXPECT_EQ(local->retry_after_ms, 29'950);
  // After refusal_memory_ms the store is asked again (another gateway may have returned slots).
  EXPECT_FALSE(lim.TryLocal("k", 1100).has_value());
}

TEST(LeasedRateLimiter, TakeReturnsGivesBackEndedLeasesAndEverythingAtShutdown) {
  LeasedRateLimiter lim;
  (void)lim.Prepare("a", 60'000, WindowKind::kSliding, 0);
  lim.Apply("a", Granted(10, 1000, 1000, 0), 0);
  (void)lim.Prepare("b", 3'600'000, WindowKind::kFixed, 0);
  lim.Apply("b", Granted(10, 5000, 0, 0), 0);
  auto r = lim.TakeReturns(2000);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bucket, "a");
  EXPECT_EQ(r[0].window_ms, 60'000);
  EXPECT_EQ(r[0].returns[0].unused, 9);
  EXPECT_TRUE(lim.TakeReturns(2000).empty());  // taken once
  r = lim.TakeReturns(2000, /*everything=*/true);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bucket, "b");
  EXPECT_EQ(r[0].kind, WindowKind::kFixed);
  EXPECT_EQ(r[0].returns[0].unused, 9);
}

// Many threads submitting the same signatures: each is fresh exactly once, and the store
// sees far fewer batches than items.
TEST(ReplayBatcher, GroupsChecksAndDecidesEachOnce) {
  auto tdb = store::testing::TestDatabase::Create(store::Dialect::kSqlite);
  ASSERT_TRUE(tdb.ok()) << tdb.status().ToString();
  auto db = (*tdb)->Open();
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  store::ReplayRepo repo(**db);
  std::atomic<int64_t> clock{1'000};
  constexpr int kThreads = 8;
  constexpr int kSigs = 200;
  std::vector<std::atomic<int>> fresh(kSigs);
  std::atomic<int> errors{0};
  {
    ReplayBatcher batcher(repo, [&] { return clock.load(); });
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        std::vector<std::future<void>> waits;
        for (int s = 0; s < kSigs; ++s) {
          auto p = std::make_shared<std::promise<void>>();
          waits.push_back(p->get_future());
          batcher.Submit({"ak_1", "sig" + std::to_string(s), 301'000}, [&, s, p](StatusOr<bool> r) {
            if (!r.ok()) ++errors;
            else if (*r) ++fresh[static_cast<size_t>(s)];
            p->set_value();
          });
        }
        for (auto& w : waits) w.get();
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(batcher.items(), static_cast<size_t>(kThreads * kSigs));
    EXPECT_LT(batcher.batches(), static_cast<size_t>(kThreads * kSigs));
  }
  EXPECT_EQ(errors.load(), 0);
  for (int s = 0; s < kSigs; ++s) EXPECT_EQ(fresh[static_cast<size_t>(s)].load(), 1) << s;
}

}  // namespace
}  // namespace vp::http
