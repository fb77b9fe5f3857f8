// SecureBuffer: locked, excluded from dumps, wiped, movable; constant-time compare.
#include "vp/base/secure.h"

#include <gtest/gtest.h>

#include <fstream>

namespace vp {
namespace {

TEST(SecureBuffer, ZeroFilledLockedAndMovable) {
  SecureBuffer a(48);
  ASSERT_EQ(a.size(), 48u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a.data()[i], 0);
  a.data()[0] = 7;
  SecureBuffer b = std::move(a);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_EQ(b.data()[0], 7);
  EXPECT_TRUE(b.locked()) << "mlock refused: RLIMIT_MEMLOCK too small?";
}

TEST(SecureBuffer, MemoryIsLockedPerKernel) {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer intercepts mlock() as a no-op, so the kernel never sees the lock; the
  // release build runs this check.
  GTEST_SKIP() << "mlock is a no-op under AddressSanitizer";
#endif
  SecureBuffer big(1 << 16);
  std::ifstream again("/proc/self/status");
  std::string line;
  long locked_kb = -1;
  while (std::getline(again, line)) {
    if (line.rfind("VmLck:", 0) == 0) locked_kb = std::stol(line.substr(6));
  }
  EXPECT_GE(locked_kb, 64);
}

TEST(SecureBuffer, CopyOf) {
  const Bytes src = {1, 2, 3};
  auto b = SecureBuffer::CopyOf(src);
  EXPECT_EQ(Bytes(b.view().begin(), b.view().end()), src);
  EXPECT_TRUE(SecureBuffer::CopyOf({}).empty());
}

TEST(HexDecodeSecret, DecodesAndRefusesWithoutEchoingInput) {
  auto k = HexDecodeSecret("0x00ffA5");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(Bytes(k->view().begin(), k->view().end()), (Bytes{0x00, 0xff, 0xa5}));
  EXPECT_FALSE(HexDecodeSecret("abc").ok());
  auto bad = HexDecodeSecret("00s3cr3t");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().find("s3cr3t"), std::string::npos);
  EXPECT_FALSE(HexDecodeSecret("0g").ok());
  EXPECT_FALSE(HexDecodeSecret("g0").ok());
}

TEST(ConstantTimeEqual, ComparesContentsAndLengths) {
  const Bytes a = {1, 2, 3}, b = {1, 2, 3}, c = {1, 2, 4}, d = {1, 2};
  EXPECT_TRUE(ConstantTimeEqual(a, b));
  EXPECT_FALSE(ConstantTimeEqual(a, c));
  EXPECT_FALSE(ConstantTimeEqual(a, d));
  EXPECT_TRUE(ConstantTimeEqual({}, {}));
}

}  // namespace
}  // namespace vp
