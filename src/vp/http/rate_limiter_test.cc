// MemoryRateLimiter: exact counts at the boundary for sliding and fixed windows, and the
// Retry-After it reports.
#include "vp/http/rate_limiter.h"

#include <gtest/gtest.h>

namespace vp::http {
namespace {

TEST(RateLimiter, SlidingAllowsExactlyLimitThenRefuses) {
  MemoryRateLimiter l;
  for (int i = 0; i < 5; ++i) {
    RateDecision d = l.Hit("k", 1000, 5, 10'000 + i, RateKind::kSliding);
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 4 - i);
  }
  RateDecision d = l.Hit("k", 1000, 5, 10'005, RateKind::kSliding);
  EXPECT_FALSE(d.allowed);
  // The oldest hit (10'000) leaves the window (t - 1000, t] at t = 11'000.
  EXPECT_EQ(d.retry_after_ms, 995);
  EXPECT_FALSE(l.Hit("k", 1000, 5, 10'999, RateKind::kSliding).allowed);
  EXPECT_TRUE(l.Hit("k", 1000, 5, 11'000, RateKind::kSliding).allowed);
  EXPECT_FALSE(l.Hit("k", 1000, 5, 11'000, RateKind::kSliding).allowed);
  // Other buckets are independent.
  EXPECT_TRUE(l.Hit("other", 1000, 5, 11'000, RateKind::kSliding).allowed);
}

TEST(RateLimiter, RefusedHitsAreNotCounted) {
  MemoryRateLimiter l;
  EXPECT_TRUE(l.Hit("k", 1000, 1, 0, RateKind::kSliding).allowed);
  for (int i = 1; i < 1000; ++i) EXPECT_FALSE(l.Hit("k", 1000, 1, i, RateKind::kSliding).allowed);
  EXPECT_TRUE(l.Hit("k", 1000, 1, 1000, RateKind::kSliding).allowed);
}

TEST(RateLimiter, FixedWindowResetsAtTheBoundary) {
  MemoryRateLimiter l;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(l.Hit("g", 3600'000, 3, 7200'000 + i, RateKind::kFixed).allowed);
  RateDecision d = l.Hit("g", 3600'000, 3, 7200'010, RateKind::kFixed);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 3600'000 - 10);
  EXPECT_FALSE(l.Hit("g", 3600'000, 3, 10'799'999, RateKind::kFixed).allowed);
  EXPECT_TRUE(l.Hit("g", 3600'000, 3, 10'800'000, RateKind::kFixed).allowed);
}

TEST(RateLimiter, ZeroLimitRefusesAll) {
  MemoryRateLimiter l;
  EXPECT_FALSE(l.Hit("z", 1000, 0, 5, RateKind::kSliding).allowed);
  EXPECT_FALSE(l.Hit("z", 1000, 0, 5, RateKind::kFixed).allowed);
}

TEST(RateLimiter, RetryAfterSecondsRoundsUp) {
  EXPECT_EQ(RetryAfterSeconds(0), 1);
  EXPECT_EQ(RetryAfterSeconds(1), 1);
  EXPECT_EQ(RetryAfterSeconds(1000), 1);
  EXPECT_EQ(RetryAfterSeconds(1001), 2);
}

TEST(RateLimiter, ExportImportKeepsState) {
  MemoryRateLimiter a;
  EXPECT_TRUE(a.Hit("k", 1000, 2, 100, RateKind::kSliding).allowed);
  EXPECT_TRUE(a.Hit("k", 1000, 2, 200, RateKind::kSliding).allowed);
  EXPECT_TRUE(a.Hit("g", 3600'000, 1, 100, RateKind::kFixed).allowed);
  MemoryRateLimiter b;
  b.Import(a.Export(300), 3600'000);
  EXPECT_FALSE(b.Hit("k", 1000, 2, 300, RateKind::kSliding).allowed);
  EXPECT_FALSE(b.Hit("g", 3600'000, 1, 300, RateKind::kFixed).allowed);
  EXPECT_TRUE(b.Hit("k", 1000, 2, 1100, RateKind::kSliding).allowed);
}

}  // namespace
}  // namespace vp::http
