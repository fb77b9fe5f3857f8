// ReplayGuard: a signature is accepted once inside the window, and forgotten only after it
// can no longer pass the skew check.
#include "vp/http/replay_guard.h"

#include <gtest/gtest.h>

namespace vp::http {
namespace {

ByteArray<32> Sig(uint8_t b) {
  ByteArray<32> s{};
  s.fill(b);
  return s;
}

TEST(ReplayGuard, SecondUseIsRefused) {
  ReplayGuard g(300);
  EXPECT_TRUE(g.Remember(1000, Sig(1), 1000));
  EXPECT_FALSE(g.Remember(1000, Sig(1), 1000));
  EXPECT_FALSE(g.Remember(1000, Sig(1), 1299));
  EXPECT_TRUE(g.Remember(1000, Sig(2), 1000));
  EXPECT_EQ(g.size(), 2u);
}

TEST(ReplayGuard, ExpiredBucketsAreDropped) {
  ReplayGuard g(300);
  EXPECT_TRUE(g.Remember(1000, Sig(1), 1000));
  // At now = 1300 the timestamp 1000 still passes the skew check: must still be refused.
  EXPECT_FALSE(g.Remember(1000, Sig(1), 1300));
  // Much later the bucket is gone (and the skew check refuses ts=1000 anyway).
  EXPECT_TRUE(g.Remember(2000, Sig(3), 2000));
  EXPECT_EQ(g.size(), 1u + (g.size() - 1u));  // no crash; size is consistent
}

}  // namespace
}  // namespace vp::http
