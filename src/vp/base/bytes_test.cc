// Hex helpers: round trips and every malformed form refused with a reason.
#include "vp/base/bytes.h"

#include <gtest/gtest.h>

namespace vp {
namespace {

TEST(Hex, RoundTrip) {
  const Bytes b = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(HexEncode(b), "0001abff");
  EXPECT_EQ(HexEncode(b, true), "0x0001abff");
  EXPECT_EQ(*HexDecode("0x0001ABff"), b);
  EXPECT_EQ(*HexDecode("0001abff"), b);
  EXPECT_TRUE(HexDecode("0x")->empty());
  EXPECT_TRUE(HexDecode("")->empty());
}

TEST(Hex, RefusesMalformed) {
  for (std::string_view bad : {"0x0", "abc", "0xzz", "0x 1", "0xg0", "0x0x00", "--", "0x00\n", "0X00"}) {
    auto r = HexDecode(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(HexDecode("00", HexPrefix::kRequired).status().message(), "hex: missing 0x prefix");
  EXPECT_FALSE(HexDecode("0x00", HexPrefix::kForbidden).ok());
  EXPECT_EQ(HexDecode("0x0g").status().message(), "hex: invalid character at offset 3");
}

TEST(Hex, FixedSize) {
  EXPECT_TRUE((HexDecodeFixed<2>("0xabcd").ok()));
  EXPECT_EQ((HexDecodeFixed<2>("0xab").status().message()), "expected 2 bytes, got 1");
}

TEST(BigEndian, Minimal) {
  EXPECT_TRUE(BigEndianMinimal(0).empty());
  EXPECT_EQ(BigEndianMinimal(0x0400), (Bytes{0x04, 0x00}));
  Bytes out;
  AppendBigEndian(out, 0x0102, 4);
  EXPECT_EQ(out, (Bytes{0, 0, 1, 2}));
}

}  // namespace
}  // namespace vp
