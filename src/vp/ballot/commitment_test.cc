// Commitments and their encodings: pinned regression vectors (the same as in
// docs/ballot_log.md), the documented layout, sensitivity to every input, and the malformed
// text each parser must refuse.
#include "vp/ballot/commitment.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

namespace vp::ballot {
namespace {

ElectionId Eid(std::string_view text) {
  StatusOr<ElectionId> id = ParseElectionId(text);
  EXPECT_TRUE(id.ok()) << id.status().ToString();
  return id.ok() ? *id : ElectionId{};
}

VoteRandom Rand(std::string_view text) {
  StatusOr<VoteRandom> r = ParseVoteRandom(text);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : VoteRandom{};
}

constexpr std::string_view kEid = "0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09";
constexpr std::string_view kRand =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

// Regression vectors: fixed once from this implementation and copied to docs/ballot_log.md.
// A change here is a format change (bump the v1 in the domain strings).
TEST(DomainTagTest, PinnedValues) {
  EXPECT_EQ(CommitTag().value(), 0xc28bbdefaedf1b98ULL);
  EXPECT_EQ(LeafTag().value(), 0x8f66667fd742f9e5ULL);
  EXPECT_EQ(NodeTag().value(), 0xa0d54896f8b044bcULL);
  EXPECT_EQ(EmptyTag().value(), 0x44048ff3d1a57ef8ULL);
}

TEST(DomainTagTest, IsElementZeroOfTheSpongeOverTheAsciiLimbs) {
  // "vaultproof:commit:v1" is 20 bytes: limbs of 7, 7 and 6 bytes, little-endian.
  const std::vector<Fp> limbs = BytesToLimbs(AsBytes(kCommitDomain));
  ASSERT_EQ(limbs.size(), 3u);
  EXPECT_EQ(limbs[0].value(), 0x7270746c756176ULL);  // "vaultpr" read little-endian
  EXPECT_EQ(CommitTag(), stark::Poseidon2Hash(limbs)[0]);
  EXPECT_EQ(DomainTag(kLeafDomain), LeafTag());
  // Four domains, four different tags.
  const std::vector<Fp> tags = {CommitTag(), LeafTag(), NodeTag(), EmptyTag()};
  for (size_t i = 0; i < tags.size(); ++i) {
    for (size_t j = i + 1; j < tags.size(); ++j) EXPECT_NE(tags[i], tags[j]);
  }
}

TEST(LimbsTest, SevenByteLittleEndianChunks) {
  EXPECT_TRUE(BytesToLimbs({}).empty());
  ElectionId ones;
  ones.fill(0xff);
  const std::vector<Fp> e = BytesToLimbs(ones);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].value(), (uint64_t{1} << 56) - 1);
  EXPECT_EQ(e[1].value(), (uint64_t{1} << 56) - 1);
  EXPECT_EQ(e[2].value(), 0xffffULL);

  const VoteRandom r = Rand(kRand);  // bytes 00 01 02 ... 1f
  const std::vector<Fp> rl = BytesToLimbs(r);
  ASSERT_EQ(rl.size(), 5u);
  EXPECT_EQ(rl[0].value(), 0x06050403020100ULL);
  EXPECT_EQ(rl[1].value(), 0x0d0c0b0a090807ULL);
  EXPECT_EQ(rl[2].value(), 0x14131211100f0eULL);
  EXPECT_EQ(rl[3].value(), 0x1b1a1918171615ULL);
  EXPECT_EQ(rl[4].value(), 0x1f1e1d1cULL);
}

TEST(CommitmentTest, PinnedVectors) {
  EXPECT_EQ(FormatHash(ComputeCommitment(Eid("00000000-0000-0000-0000-000000000000"), 0,
                                         VoteRandom{})),
            "fd10147c23b4fa01302eb3e36aefd09bf5e654c1afd59eff202dfbfc31535ff6");
  EXPECT_EQ(FormatHash(ComputeCommitment(Eid(kEid), 2, Rand(kRand))),
            "d33d64c6d13b615591b81c91e5461fd53e593d7f823f69f5d64ae0dbed6763ad");
  EXPECT_EQ(FormatHash(ComputeCommitment(
                Eid("ffffffff-ffff-ffff-ffff-ffffffffffff"), 4,
                Rand("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"))),
            "27791e21e48c9c5a03e7a7c23c20d955e96b15d97f20a473127745317587ef18");
}

TEST(CommitmentTest, StateLayoutIsTheDocumentedOne) {
  const std::array<Fp, 12> s = CommitmentState(Eid(kEid), 2, Rand(kRand));
  EXPECT_EQ(s[0], CommitTag());
  // 0f 8c 5b 1e 2a 47 4d | 3b 9c 61 7e 5a 3f 2d | 1b 09
  EXPECT_EQ(s[1].value(), 0x4d472a1e5b8c0fULL);
  EXPECT_EQ(s[2].value(), 0x2d3f5a7e619c3bULL);
  EXPECT_EQ(s[3].value(), 0x091bULL);
  EXPECT_EQ(s[4].value(), 2u);
  EXPECT_EQ(s[5].value(), 0x06050403020100ULL);
  EXPECT_EQ(s[9].value(), 0x1f1e1d1cULL);
  EXPECT_EQ(s[10], Fp::Zero());
  EXPECT_EQ(s[11], Fp::Zero());
  // One permutation, truncated to the first four lanes.
  std::array<Fp, 12> p = s;
  stark::Poseidon2<12>::Permute(p);
  EXPECT_EQ(ComputeCommitment(Eid(kEid), 2, Rand(kRand)), (HashOut{p[0], p[1], p[2], p[3]}));
  // Equivalently the tagged hash of the nine inputs.
  const std::vector<Fp> inputs(s.begin() + 1, s.begin() + 10);
  EXPECT_EQ(TaggedHash(CommitTag(), inputs), ComputeCommitment(Eid(kEid), 2, Rand(kRand)));
}

TEST(CommitmentTest, EveryInputMatters) {
  const ElectionId eid = Eid(kEid);
  const VoteRandom r = Rand(kRand);
  const HashOut base = ComputeCommitment(eid, 2, r);
  for (size_t i = 0; i < eid.size(); ++i) {
    ElectionId e2 = eid;
    e2[i] ^= 0x01;
    EXPECT_NE(ComputeCommitment(e2, 2, r), base) << "election id byte " << i;
  }
  for (size_t i = 0; i < r.size(); ++i) {
    VoteRandom r2 = r;
    r2[i] ^= 0x80;
    EXPECT_NE(ComputeCommitment(eid, 2, r2), base) << "random byte " << i;
  }
  for (const uint32_t c : {0u, 1u, 3u, 4u, 0xffffffffu}) {
    EXPECT_NE(ComputeCommitment(eid, c, r), base) << "choice " << c;
  }
}

TEST(CommitmentTest, DomainsAreSeparated) {
  // The same inputs under another tag give another hash: a commitment is never a leaf hash or a
  // node hash of the same field elements.
  const std::array<Fp, 12> s = CommitmentState(Eid(kEid), 2, Rand(kRand));
  const std::vector<Fp> inputs(s.begin() + 1, s.begin() + 10);
  const HashOut c = TaggedHash(CommitTag(), inputs);
  EXPECT_NE(TaggedHash(LeafTag(), inputs), c);
  EXPECT_NE(TaggedHash(NodeTag(), inputs), c);
  EXPECT_NE(TaggedHash(EmptyTag(), inputs), c);
}

TEST(CommitmentTest, CheckCommitmentOpensOnlyTheTrueVote) {
  const ElectionId eid = Eid(kEid);
  const VoteRandom r = Rand(kRand);
  const HashOut c = ComputeCommitment(eid, 3, r);
  EXPECT_TRUE(CheckCommitment(c, eid, 3, r).ok());
  EXPECT_EQ(CheckCommitment(c, eid, 2, r).code(), StatusCode::kInvalidArgument);
  VoteRandom r2 = r;
  r2[31] ^= 1;
  EXPECT_FALSE(CheckCommitment(c, eid, 3, r2).ok());
  EXPECT_FALSE(CheckCommitment(c, Eid("00000000-0000-0000-0000-000000000000"), 3, r).ok());
}

TEST(ElectionIdTest, RoundTripsTheCanonicalForm) {
  const ElectionId id = Eid(kEid);
  EXPECT_EQ(id[0], 0x0f);
  EXPECT_EQ(id[15], 0x09);
  EXPECT_EQ(FormatElectionId(id), kEid);
  for (const std::string_view t : {"00000000-0000-0000-0000-000000000000",
                                   "ffffffff-ffff-ffff-ffff-ffffffffffff",
                                   // Version and variant bits are not checked.
                                   "01234567-89ab-cdef-0123-456789abcdef"}) {
    EXPECT_EQ(FormatElectionId(Eid(t)), t);
  }
}

TEST(ElectionIdTest, RefusesEveryNonCanonicalForm) {
  for (const std::string_view t : {
           "",
           "0F8C5B1E-2A47-4D3B-9C61-7E5A3F2D1B09",   // upper case
           "0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1B09",   // one upper-case digit
           "{0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09}", // braces
           "urn:uuid:0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09",
           "0f8c5b1e2a474d3b9c617e5a3f2d1b09",       // no hyphens
           "0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b0",    // short
           "0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b090",  // long
           "0f8c5b1e-2a474-d3b-9c61-7e5a3f2d1b09",   // hyphen moved
           "0f8c5b1e_2a47_4d3b_9c61_7e5a3f2d1b09",   // wrong separator
           "0f8c5b1g-2a47-4d3b-9c61-7e5a3f2d1b09",   // not hex
           " 0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b0",   // space
           "0x8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09",   // prefix
       }) {
    const StatusOr<ElectionId> id = ParseElectionId(t);
    EXPECT_FALSE(id.ok()) << t;
    if (!id.ok()) {
      EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
    }
  }
  // A NUL inside is just a bad character.
  const std::string_view with_nul("0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b\0" "9", 36);
  EXPECT_FALSE(ParseElectionId(with_nul).ok());
}

TEST(VoteRandomTest, RoundTripsAndRefusesNonCanonical) {
  EXPECT_EQ(FormatVoteRandom(Rand(kRand)), kRand);
  const std::string upper =
      "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F";
  EXPECT_FALSE(ParseVoteRandom(upper).ok());
  EXPECT_FALSE(ParseVoteRandom(std::string("0x") + std::string(kRand.substr(2))).ok());
  EXPECT_FALSE(ParseVoteRandom(kRand.substr(0, 62)).ok());
  EXPECT_FALSE(ParseVoteRandom(std::string(kRand) + "00").ok());
  EXPECT_FALSE(ParseVoteRandom(std::string(63, '0') + "g").ok());
  EXPECT_FALSE(ParseVoteRandom("").ok());
}

TEST(HashTextTest, RoundTripsAndIsElementWiseBigEndian) {
  const HashOut h = {Fp(1), Fp(0x0123456789abcdefULL), Fp(Fp::kModulus - 1), Fp(0)};
  const std::string text = FormatHash(h);
  EXPECT_EQ(text,
            "0000000000000001"
            "0123456789abcdef"
            "ffffffff00000000"
            "0000000000000000");
  StatusOr<HashOut> back = ParseHash(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, h);
}

TEST(HashTextTest, RefusesNonCanonicalElements) {
  // p itself and the largest 64-bit value, in each of the four elements.
  for (const std::string_view bad : {"ffffffff00000001", "ffffffffffffffff", "ffffffff10000000"}) {
    for (size_t lane = 0; lane < 4; ++lane) {
      std::string text(64, '0');
      text.replace(16 * lane, 16, bad);
      const StatusOr<HashOut> h = ParseHash(text);
      ASSERT_FALSE(h.ok()) << text;
      EXPECT_EQ(h.status().code(), StatusCode::kInvalidArgument);
      EXPECT_NE(h.status().message().find("canonical"), std::string::npos);
    }
  }
}

TEST(HashTextTest, RefusesMalformedText) {
  const std::string good = FormatHash(ComputeCommitment(Eid(kEid), 2, Rand(kRand)));
  ASSERT_TRUE(ParseHash(good).ok());
  std::string upper = good;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_FALSE(ParseHash(upper).ok());
  EXPECT_FALSE(ParseHash("0x" + good.substr(2)).ok());
  EXPECT_FALSE(ParseHash("0x" + good).ok());
  EXPECT_FALSE(ParseHash(good.substr(1)).ok());
  EXPECT_FALSE(ParseHash(good + "0").ok());
  EXPECT_FALSE(ParseHash("").ok());
  std::string spaced = good;
  spaced[10] = ' ';
  EXPECT_FALSE(ParseHash(spaced).ok());
}

TEST(LowerHexTest, StrictLengthAndCase) {
  ByteArray<2> out{};
  EXPECT_TRUE(ParseLowerHex("0aff", out, "x").ok());
  EXPECT_EQ(out[0], 0x0a);
  EXPECT_EQ(out[1], 0xff);
  EXPECT_FALSE(ParseLowerHex("0aFF", out, "x").ok());
  EXPECT_FALSE(ParseLowerHex("0af", out, "x").ok());
  EXPECT_FALSE(ParseLowerHex("0aff00", out, "x").ok());
  EXPECT_EQ(FormatLowerHex(out), "0aff");
}

}  // namespace
}  // namespace vp::ballot
