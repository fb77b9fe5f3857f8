// scrypt against RFC 7914 section 12, and the parameter bounds it must enforce.
#include "vp/crypto/scrypt.h"

#include <gtest/gtest.h>

namespace vp::crypto {
namespace {

TEST(Scrypt, Rfc7914Vector3) {
  // RFC 7914 section 12, third vector: P="pleaseletmein", S="SodiumChloride", N=16384, r=8, p=1.
  auto k = Scrypt(AsBytes("pleaseletmein"), AsBytes("SodiumChloride"), {16384, 8, 1}, 64);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(HexEncode(k->view()),
            "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
            "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887");
  // A shorter output is a prefix of the longer one (PBKDF2 underneath).
  auto k32 = Scrypt(AsBytes("pleaseletmein"), AsBytes("SodiumChloride"), {16384, 8, 1}, 32);
  ASSERT_TRUE(k32.ok());
  EXPECT_EQ(HexEncode(k32->view()), "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2");
}

TEST(Scrypt, DefaultsAreAccepted) {
  const ScryptParams d;
  EXPECT_EQ(d.n, 32768u);
  EXPECT_EQ(d.r, 8u);
  EXPECT_EQ(d.p, 1u);
  EXPECT_TRUE(CheckScryptParams(d).ok());
}

TEST(Scrypt, SaltAndPassphraseMatter) {
  const ScryptParams p{1024, 8, 1};
  auto a = Scrypt(AsBytes("pass"), AsBytes("salt"), p, 32);
  auto b = Scrypt(AsBytes("pass"), AsBytes("salT"), p, 32);
  auto c = Scrypt(AsBytes("Pass"), AsBytes("salt"), p, 32);
  auto e = Scrypt({}, {}, p, 32);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && e.ok());
  EXPECT_FALSE(ConstantTimeEqual(a->view(), b->view()));
  EXPECT_FALSE(ConstantTimeEqual(a->view(), c->view()));
}

TEST(Scrypt, RefusesParametersOutOfBounds) {
  auto code = [](ScryptParams p, size_t len = 32) {
    return Scrypt(AsBytes("pw"), AsBytes("salt"), p, len).status().code();
  };
  // RFC 7914's first two vectors use N=16 (below 2^10) and r*p = 8*16 = 128 (above 64).
  EXPECT_EQ(code({16, 1, 1}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({1024, 8, 16}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({512, 8, 1}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({uint64_t{1} << 23, 8, 1}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({3000, 8, 1}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({(uint64_t{1} << 15) + 1, 8, 1}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({0, 8, 1}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({1024, 0, 1}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({1024, 8, 0}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({1024, 65, 1}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({1024, 0x80000000u, 0x80000000u}), StatusCode::kInvalidArgument);  // r*p overflows u32
  EXPECT_EQ(code({1024, 8, 1}, 0), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({1024, 8, 1}, 1025), StatusCode::kInvalidArgument);
  // The edges themselves are allowed.
  EXPECT_TRUE(Scrypt(AsBytes("pw"), AsBytes("salt"), {1024, 8, 8}, 1).ok());
  EXPECT_TRUE(Scrypt(AsBytes("pw"), AsBytes("salt"), {1024, 1, 64}, 1024).ok());
}

}  // namespace
}  // namespace vp::crypto
