// RLP: the published examples, every non-canonical or truncated form refused with a reason,
// and a seeded mutation test: whatever the decoder accepts re-encodes to the same bytes.
#include "vp/eth/rlp.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

namespace vp::eth {
namespace {

Bytes H(std::string_view hex) { return *HexDecode(hex); }

uint64_t TestSeed() {
  const char* env = std::getenv("VP_TEST_SEED");
  const uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : 20261121;
  std::cout << "[ seed ] VP_TEST_SEED=" << seed << "\n";
  return seed;
}

RlpItem S(std::string_view text) { return RlpItem::Text(text); }

// Examples from the Ethereum RLP specification (ethereum.org, "Recursive-length prefix
// serialization", section Examples; Yellow Paper appendix B).
TEST(RlpEncode, PublishedExamples) {
  EXPECT_EQ(RlpEncode(S("dog")), H("83646f67"));
  EXPECT_EQ(RlpEncode(RlpItem::List({S("cat"), S("dog")})), H("c88363617483646f67"));
  EXPECT_EQ(RlpEncode(S("")), H("80"));
  EXPECT_EQ(RlpEncode(RlpItem::List({})), H("c0"));
  EXPECT_EQ(RlpEncode(RlpItem::Uint(0)), H("80"));
  EXPECT_EQ(RlpEncode(RlpItem::String(H("00"))), H("00"));
  EXPECT_EQ(RlpEncode(RlpItem::Uint(15)), H("0f"));
  EXPECT_EQ(RlpEncode(RlpItem::Uint(1024)), H("820400"));
  // [ [], [[]], [ [], [[]] ] ]: the set-theoretical representation of three.
  const RlpItem empty = RlpItem::List({});
  const RlpItem one = RlpItem::List({empty});
  const RlpItem three = RlpItem::List({empty, one, RlpItem::List({empty, one})});
  EXPECT_EQ(RlpEncode(three), H("c7c0c1c0c3c0c1c0"));
  const std::string lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
  ASSERT_EQ(lorem.size(), 56u);
  Bytes expected = H("b838");
  Append(expected, AsBytes(lorem));
  EXPECT_EQ(RlpEncode(S(lorem)), expected);
}

TEST(RlpEncode, LengthBoundaries) {
  // 55 bytes is the last short form, 56 the first long one; same for list payloads.
  EXPECT_EQ(RlpEncode(RlpItem::String(Bytes(55, 0xaa)))[0], 0xb7);
  EXPECT_EQ(RlpEncode(RlpItem::String(Bytes(56, 0xaa))).size(), 58u);
  // A 1024-byte string: 0xb9 0x04 0x00 then the bytes (the specification's own example).
  const Bytes kilo = RlpEncode(RlpItem::String(Bytes(1024, 0x61)));
  EXPECT_EQ(Bytes(kilo.begin(), kilo.begin() + 3), H("b90400"));
  EXPECT_EQ(kilo.size(), 1027u);
  // Single bytes: below 0x80 they are their own encoding, from 0x80 they get a prefix.
  EXPECT_EQ(RlpEncode(RlpItem::String(H("7f"))), H("7f"));
  EXPECT_EQ(RlpEncode(RlpItem::String(H("80"))), H("8180"));
  // A list whose payload is exactly 56 bytes.
  std::vector<RlpItem> items(56, RlpItem::Uint(1));
  const Bytes list = RlpEncode(RlpItem::List(items));
  EXPECT_EQ(Bytes(list.begin(), list.begin() + 2), H("f838"));
  // Integers are minimal big-endian.
  EXPECT_EQ(RlpEncode(RlpItem::Uint(U256::Max())), H("a0" + std::string(64, 'f')));
  EXPECT_EQ(RlpEncode(RlpItem::Uint(0x80)), H("8180"));
}

TEST(RlpDecode, PublishedExamplesRoundTrip) {
  for (std::string_view hex :
       {"83646f67", "c88363617483646f67", "80", "c0", "00", "0f", "820400", "c7c0c1c0c3c0c1c0", "8180"}) {
    auto item = RlpDecode(H(hex));
    ASSERT_TRUE(item.ok()) << hex << ": " << item.status().ToString();
    EXPECT_EQ(RlpEncode(*item), H(hex)) << hex;
  }
  auto dog = RlpDecode(H("c88363617483646f67"));
  ASSERT_TRUE(dog.ok());
  EXPECT_EQ(*dog, RlpItem::List({S("cat"), S("dog")}));
  const std::string lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
  auto l = RlpDecode(RlpEncode(S(lorem)));
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*l, S(lorem));
  auto kilo = RlpDecode(RlpEncode(RlpItem::String(Bytes(1024, 0x61))));
  ASSERT_TRUE(kilo.ok());
  EXPECT_EQ(kilo->str.size(), 1024u);
}

void ExpectRefused(const Bytes& input, std::string_view message_part) {
  auto r = RlpDecode(input);
  ASSERT_FALSE(r.ok()) << HexEncode(input);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(message_part), std::string::npos)
      << HexEncode(input) << " -> " << r.status().message();
}

TEST(RlpDecode, RefusesNonCanonicalLengths) {
  // Long form for a 5-byte string / a 3-byte list.
  ExpectRefused(H("b8056162636465"), "long length form used for a string of 5 bytes");
  ExpectRefused(H("f803c0c0c0"), "long length form used for a list of 3 bytes");
  // Long form with a leading zero in the length (56 bytes written as 0x0038).
  Bytes padded = H("b90038");
  padded.resize(padded.size() + 56, 0x61);
  ExpectRefused(padded, "leading zero byte");
  Bytes padded_list = H("f90038");
  for (int i = 0; i < 56; ++i) padded_list.push_back(0x01);
  ExpectRefused(padded_list, "leading zero byte");
  // A single byte below 0x80 wrapped in a one-byte string.
  ExpectRefused(H("8100"), "single byte below 0x80");
  ExpectRefused(H("817f"), "single byte below 0x80");
  ExpectRefused(H("c28105"), "single byte below 0x80");  // also inside a list
}

TEST(RlpDecode, RefusesTruncationAndOverruns) {
  ExpectRefused(Bytes{}, "empty input");
  ExpectRefused(H("83646f"), "runs past the end of the input");
  ExpectRefused(H("b8"), "string length at offset 0 runs past the end");
  ExpectRefused(H("b938"), "string length at offset 0 runs past the end");
  ExpectRefused(H("f8"), "list length at offset 0 runs past the end");
  ExpectRefused(H("c5836162"), "runs past the end of the input");
  // An item that runs past the end of its enclosing list, though not past the input.
  ExpectRefused(H("c283616263"), "runs past the end of its enclosing list");
  ExpectRefused(H("c1c1c0"), "runs past the end of its enclosing list");
  // Absurd lengths (up to 2^64 - 1) are refused without overflow.
  ExpectRefused(H("bbffffffff00"), "runs past the end");
  ExpectRefused(H("bfffffffffffffffff00"), "runs past the end");
  ExpectRefused(H("ffffffffffffffffff"), "runs past the end");
}

TEST(RlpDecode, RefusesTrailingBytes) {
  ExpectRefused(H("8080"), "1 trailing bytes after the item at offset 1");
  ExpectRefused(H("c000"), "trailing bytes");
  ExpectRefused(H("83646f6700"), "trailing bytes");
}

TEST(RlpDecode, NestingLimit) {
  auto nested = [](size_t depth) {
    RlpItem item = RlpItem::List({});
    for (size_t i = 1; i < depth; ++i) item = RlpItem::List({item});
    return RlpEncode(item);
  };
  EXPECT_TRUE(RlpDecode(nested(kRlpMaxDepth)).ok());
  ExpectRefused(nested(kRlpMaxDepth + 1), "nested deeper than 64");
  // Far deeper input (as an attacker would send) stops at the limit, not at the stack's end.
  ExpectRefused(nested(1000), "nested deeper than 64");
}

TEST(RlpIntegers, ReadsCanonicalIntegers) {
  EXPECT_EQ(*RlpToUint64(RlpItem::Uint(0)), 0u);
  EXPECT_EQ(*RlpToUint64(RlpItem::Uint(1024)), 1024u);
  EXPECT_EQ(*RlpToUint64(RlpItem::Uint(UINT64_MAX)), UINT64_MAX);
  EXPECT_EQ(*RlpToU256(RlpItem::Uint(U256::Max())), U256::Max());
  EXPECT_EQ(*RlpToU256(*RlpDecode(H("820400"))), U256(1024));
}

TEST(RlpIntegers, RefusesNonCanonicalIntegers) {
  EXPECT_EQ(RlpToUint64(RlpItem::String(H("0001"))).status().message(), "rlp: integer has a leading zero byte");
  EXPECT_FALSE(RlpToU256(RlpItem::String(H("00"))).ok());  // zero is the empty string
  EXPECT_EQ(RlpToUint64(RlpItem::String(Bytes(9, 1))).status().message(), "rlp: integer wider than 64 bits");
  EXPECT_EQ(RlpToU256(RlpItem::String(Bytes(33, 1))).status().message(), "rlp: integer wider than 256 bits");
  EXPECT_EQ(RlpToU256(RlpItem::List({})).status().message(), "rlp: expected an integer, got a list");
  EXPECT_FALSE(RlpToUint64(RlpItem::List({})).ok());
}

RlpItem RandomItem(std::mt19937_64& rng, size_t depth) {
  const uint64_t pick = rng() % 10;
  if (depth < 6 && pick < 3) {
    std::vector<RlpItem> items(rng() % 5);
    for (RlpItem& it : items) it = RandomItem(rng, depth + 1);
    return RlpItem::List(std::move(items));
  }
  size_t len = 0;
  switch (rng() % 4) {
    case 0: len = 0; break;
    case 1: len = 1; break;
    case 2: len = rng() % 56; break;
    default: len = 50 + rng() % 300; break;
  }
  Bytes b(len);
  for (uint8_t& x : b) x = static_cast<uint8_t>(rng());
  return RlpItem::String(b);
}

Bytes Mutate(const Bytes& in, std::mt19937_64& rng) {
  Bytes out = in;
  const size_t n = 1 + rng() % 3;
  for (size_t k = 0; k < n; ++k) {
    switch (rng() % 6) {
      case 0:  // flip a bit
        if (!out.empty()) out[rng() % out.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:  // replace a byte
        if (!out.empty()) out[rng() % out.size()] = static_cast<uint8_t>(rng());
        break;
      case 2:  // truncate
        if (!out.empty()) out.resize(rng() % out.size());
        break;
      case 3:  // extend
        for (size_t i = rng() % 4 + 1; i > 0; --i) out.push_back(static_cast<uint8_t>(rng()));
        break;
      case 4:  // insert a byte
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(out.empty() ? 0 : rng() % out.size()),
                   static_cast<uint8_t>(rng()));
        break;
      default:  // delete a byte
        if (!out.empty()) out.erase(out.begin() + static_cast<std::ptrdiff_t>(rng() % out.size()));
        break;
    }
  }
  return out;
}

TEST(RlpDecode, RandomRoundTrips) {
  std::mt19937_64 rng(TestSeed());
  for (int i = 0; i < 500; ++i) {
    const RlpItem item = RandomItem(rng, 0);
    const Bytes enc = RlpEncode(item);
    auto back = RlpDecode(enc);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, item);
  }
}

// Mutated encodings: the decoder either refuses them or accepts one canonical item, which
// must re-encode to exactly the input. Never a crash (CI runs this under ASan/UBSan).
TEST(RlpDecode, MutationsNeverCrashAndAcceptOnlyCanonical) {
  std::mt19937_64 rng(TestSeed() + 1);
  size_t accepted = 0;
  for (int i = 0; i < 5000; ++i) {
    const Bytes base = RlpEncode(RandomItem(rng, 0));
    const Bytes input = Mutate(base, rng);
    auto r = RlpDecode(input);
    if (r.ok()) {
      ++accepted;
      EXPECT_EQ(RlpEncode(*r), input) << HexEncode(input);
    } else {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_FALSE(r.status().message().empty());
    }
  }
  std::cout << "[ info ] accepted " << accepted << " of 5000 mutations\n";
  // Pure noise, too.
  for (int i = 0; i < 2000; ++i) {
    Bytes noise(rng() % 64);
    for (uint8_t& x : noise) x = static_cast<uint8_t>(rng());
    auto r = RlpDecode(noise);
    if (r.ok()) {
      EXPECT_EQ(RlpEncode(*r), noise);
    }
  }
}

}  // namespace
}  // namespace vp::eth
