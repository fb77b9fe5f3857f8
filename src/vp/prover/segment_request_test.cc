// Prover input JSON: round trip, and every malformed document refused with a reason.
#include "vp/prover/segment_request.h"

#include <gtest/gtest.h>

namespace vp::prover {
namespace {

ProverInput Sample() {
  ProverInput in;
  in.election_id = *ballot::ParseElectionId("0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09");
  in.config_hash = ballot::ConfigHash("{}");
  in.num_choices = 5;
  in.offset = 8;
  for (uint32_t i = 0; i < 4; ++i) {
    ballot::LeafWitness w;
    w.random.fill(static_cast<uint8_t>(0x10 + i));
    w.choice = i;
    w.commitment = ballot::ComputeCommitment(in.election_id, w.choice, w.random);
    in.leaves.push_back(w);
  }
  in.leaves[2].excluded = true;
  return in;
}

TEST(ProverInput, RoundTrips) {
  const ProverInput in = Sample();
  auto back = DecodeProverInput(EncodeProverInput(in));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->election_id, in.election_id);
  EXPECT_EQ(back->config_hash, in.config_hash);
  EXPECT_EQ(back->offset, 8u);
  ASSERT_EQ(back->leaves.size(), 4u);
  EXPECT_TRUE(back->leaves[2].excluded);
  EXPECT_EQ(back->leaves[3].choice, 3u);
  EXPECT_EQ(back->leaves[3].random, in.leaves[3].random);
  EXPECT_EQ(back->version, 2u);
  EXPECT_EQ(back->blocks, std::vector<uint64_t>{4});  // none is written as one block of all

  ProverInput blocks = Sample();
  blocks.blocks = {2, 1, 1};
  auto three = DecodeProverInput(EncodeProverInput(blocks));
  ASSERT_TRUE(three.ok()) << three.status().message();
  EXPECT_EQ(three->blocks, (std::vector<uint64_t>{2, 1, 1}));

  // Version 1 (no block size), as segment witnesses sealed before version 2 were.
  ProverInput v1 = Sample();
  v1.version = 1;
  const std::string text = EncodeProverInput(v1);
  EXPECT_EQ(text.find("blocks"), std::string::npos);
  auto old = DecodeProverInput(text);
  ASSERT_TRUE(old.ok()) << old.status().message();
  EXPECT_EQ(old->version, 1u);
  EXPECT_TRUE(old->blocks.empty());
}

TEST(ProverInput, MalformedDocumentsAreRefused) {
  const std::string good = EncodeProverInput(Sample());
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    return s;
  };
  const std::vector<std::string> bad = {
      "", "[]", "{", "null", good + "x",
      replace("\"version\":2", "\"version\":3"),
      replace("\"version\":2", "\"version\":1"),  // version 1 has no block size
      replace("\"version\":2", "\"version\":\"2\""),
      replace("\"blocks\":[4],", ""),
      replace("\"blocks\":[4]", "\"blocks\":[]"),
      replace("\"blocks\":[4]", "\"blocks\":4"),
      replace("\"blocks\":[4]", "\"blocks\":[3,1]"),
      replace("\"blocks\":[4]", "\"blocks\":[0,4]"),
      replace("\"blocks\":[4]", "\"blocks\":[2097152]"),
      replace("\"blocks\":[4]", "\"blocks\":[-4]"),
      replace("\"blocks\":[4]", "\"blocks\":[\"4\"]"),
      replace("\"numChoices\":5", "\"numChoices\":1"),
      replace("\"numChoices\":5", "\"numChoices\":17"),
      replace("\"numChoices\":5", "\"numChoices\":-5"),
      replace("\"offset\":8", "\"offset\":4294967296"),
      replace("\"electionId\":\"0f8c", "\"electionId\":\"0F8C"),
      replace("\"choice\":3", "\"choice\":4"),      // does not open
      replace("\"choice\":3", "\"choice\":9"),      // out of range
      replace("\"excluded\":true", "\"excluded\":false"),
      replace("\"leaves\":[", "\"extra\":1,\"leaves\":["),
      replace("\"offset\":8,", "\"offset\":8,\"offset\":8,"),  // duplicate key
      replace("{\"commitment\"", "{\"x\":1,\"commitment\""),
      "{\"version\":1,\"electionId\":\"0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09\",\"configHash\":\"" +
          std::string(64, '0') + "\",\"numChoices\":2,\"offset\":0,\"leaves\":[]}",
  };
  for (const auto& text : bad) {
    auto r = DecodeProverInput(text);
    EXPECT_FALSE(r.ok()) << text.substr(0, 200);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
  // The openings are checked in one batch; the first that fails is named by its tree index
  // (offset 8 + 3), and an excluded leaf (8 + 2) has nothing to open.
  auto r = DecodeProverInput(replace("\"choice\":3", "\"choice\":4"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("leaf 11: the commitment does not open"), std::string::npos)
      << r.status().message();
  ProverInput two_bad = Sample();
  two_bad.leaves[1].random[0] ^= 1;
  two_bad.leaves[3].random[0] ^= 1;
  r = DecodeProverInput(EncodeProverInput(two_bad));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("leaf 9:"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace vp::prover
