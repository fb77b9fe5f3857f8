// The ballot verifier's C ABI (ballot_wasm.h), built natively so the sanitizers watch it: the
// published vectors, proofs from a real tree and a real tally proof accepted, every tampered
// or malformed input answered with {"ok":false,"reason"} (natively a throw would escape and
// fail the test; in WASM it would trap). Seeded; VP_TEST_SEED replays.
#include "vp/ballot/wasm/ballot_wasm.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "vp/ballot/bulletin.h"
#include "vp/ballot/commitment.h"
#include "vp/ballot/election.h"
#include "vp/ballot/tally.h"
#include "vp/base/test_util.h"
#include "vp/stark/options.h"
#include "vp/stark/random.h"

namespace vp::ballot {
namespace {

using nlohmann::json;

using vp::testing::TestSeed;

// Every answer must be one JSON object with a boolean "ok", and a reason when refused.
json Parse(const char* answer) {
  EXPECT_NE(answer, nullptr);
  if (answer == nullptr) return json();
  json doc = json::parse(answer, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(doc.is_object()) << answer;
  EXPECT_TRUE(doc.contains("ok") && doc["ok"].is_boolean()) << answer;
  return doc;
}

bool Accepted(const char* answer) {
  const json doc = Parse(answer);
  return doc.is_object() && doc.value("ok", false);
}

// Refused with a non-empty reason.
bool Refused(const char* answer) {
  const json doc = Parse(answer);
  return doc.is_object() && !doc.value("ok", true) && doc.contains("reason") &&
         doc["reason"].is_string() && !doc["reason"].get<std::string>().empty();
}

const char* Commit(const std::string& eid, double choice, const std::string& rand) {
  return vp_ballot_commitment(eid.c_str(), choice, rand.c_str());
}
const char* Inclusion(const json& j) { return vp_ballot_verify_inclusion(j.dump().c_str()); }
const char* Consistency(const json& j) { return vp_ballot_verify_consistency(j.dump().c_str()); }
const char* SthMsg(const json& j) { return vp_ballot_sth_message(j.dump().c_str()); }
const char* Tally(const std::string& pub, const Bytes& proof, double bits = 100) {
  return vp_ballot_verify_tally(pub.c_str(), proof.data(), proof.size(), bits);
}

std::string CountingHex() {
  std::string s;
  for (int i = 0; i < 32; ++i) {
    static const char* kDigits = "0123456789abcdef";
    s += kDigits[i >> 4];
    s += kDigits[i & 15];
  }
  return s;
}

// docs/ballot_log.md section 2, the second and third vectors.
TEST(BallotWasmCommitment, MatchesThePublishedVectors) {
  json a = Parse(Commit("0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09", 2, CountingHex()));
  EXPECT_EQ(a["commitment"], "d33d64c6d13b615591b81c91e5461fd53e593d7f823f69f5d64ae0dbed6763ad");
  json b = Parse(Commit("ffffffff-ffff-ffff-ffff-ffffffffffff", 4, std::string(64, 'f')));
  EXPECT_EQ(b["commitment"], "27791e21e48c9c5a03e7a7c23c20d955e96b15d97f20a473127745317587ef18");
}

TEST(BallotWasmCommitment, RefusesMalformedArguments) {
  const std::string eid = "0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09";
  const std::string r = CountingHex();
  EXPECT_TRUE(Refused(Commit(eid, -1, r)));
  EXPECT_TRUE(Refused(Commit(eid, 0.5, r)));
  EXPECT_TRUE(Refused(Commit(eid, 4294967296.0, r)));
  EXPECT_TRUE(Refused(Commit(eid, std::numeric_limits<double>::quiet_NaN(), r)));
  EXPECT_TRUE(Refused(Commit(eid, std::numeric_limits<double>::infinity(), r)));
  EXPECT_TRUE(Accepted(Commit(eid, 4294967295.0, r)));  // the range is the caller's check
  EXPECT_TRUE(Refused(Commit("0F8C5B1E-2A47-4D3B-9C61-7E5A3F2D1B09", 0, r)));
  EXPECT_TRUE(Refused(Commit("{" + eid + "}", 0, r)));
  EXPECT_TRUE(Refused(Commit(eid, 0, "0x" + r.substr(2))));
  EXPECT_TRUE(Refused(Commit(eid, 0, r.substr(1))));
  EXPECT_TRUE(Refused(vp_ballot_commitment(nullptr, 0, r.c_str())));
  EXPECT_TRUE(Refused(vp_ballot_commitment(eid.c_str(), 0, nullptr)));
}

class BallotWasmTree : public ::testing::Test {
 protected:
  void SetUp() override {
    stark::SeededRandom rng(TestSeed());
    for (int i = 0; i < 13; ++i) {
      VoteRandom r{};
      for (auto& b : r) b = static_cast<uint8_t>(rng.NextU64());
      commitments_.push_back(ComputeCommitment(ElectionId{}, static_cast<uint32_t>(i % 5), r));
      tree_.Append(commitments_.back());
    }
  }
  json InclusionJson(uint64_t index, uint64_t size) {
    auto path = tree_.InclusionProof(index, size);
    EXPECT_TRUE(path.ok());
    return json{{"commitment", FormatHash(commitments_[index])},
                {"leafIndex", index},
                {"treeSize", size},
                {"path", FormatHashList(*path)},
                {"root", FormatHash(*tree_.Root(size))}};
  }
  json ConsistencyJson(uint64_t m, uint64_t n) {
    auto proof = tree_.ConsistencyProof(m, n);
    EXPECT_TRUE(proof.ok());
    return json{{"oldSize", m},
                {"newSize", n},
                {"oldRoot", FormatHash(*tree_.Root(m))},
                {"newRoot", FormatHash(*tree_.Root(n))},
                {"proof", FormatHashList(*proof)}};
  }
  std::vector<HashOut> commitments_;
  BulletinTree tree_;
};

TEST_F(BallotWasmTree, EveryInclusionProofVerifies) {
  for (uint64_t n = 1; n <= tree_.size(); ++n) {
    for (uint64_t i = 0; i < n; ++i) {
      EXPECT_TRUE(Accepted(Inclusion(InclusionJson(i, n)))) << i << " of " << n;
    }
  }
}

TEST_F(BallotWasmTree, TamperedInclusionIsRefused) {
  const json good = InclusionJson(5, 13);
  json j = good;
  j["leafIndex"] = 4;
  EXPECT_TRUE(Refused(Inclusion(j)));
  j = good;
  j["commitment"] = FormatHash(commitments_[4]);
  EXPECT_TRUE(Refused(Inclusion(j)));
  j = good;
  j["path"][0] = FormatHash(commitments_[0]);
  EXPECT_TRUE(Refused(Inclusion(j)));
  j = good;
  j["path"].erase(0);
  EXPECT_TRUE(Refused(Inclusion(j)));
  j = good;
  j["treeSize"] = 5;
  EXPECT_TRUE(Refused(Inclusion(j)));
}

TEST_F(BallotWasmTree, MalformedInclusionIsRefused) {
  const json good = InclusionJson(5, 13);
  for (const char* key : {"commitment", "leafIndex", "treeSize", "path", "root"}) {
    json j = good;
    j.erase(key);
    EXPECT_TRUE(Refused(Inclusion(j))) << "missing " << key;
    j = good;
    j[key] = json::object();
    EXPECT_TRUE(Refused(Inclusion(j))) << "object for " << key;
  }
  json j = good;
  j["extra"] = 1;
  EXPECT_TRUE(Refused(Inclusion(j)));
  for (const json& bad : {json(-1), json(1.5), json(uint64_t{1} << 53), json("5"), json(true)}) {
    j = good;
    j["leafIndex"] = bad;
    EXPECT_TRUE(Refused(Inclusion(j))) << bad.dump();
  }
  j = good;
  j["path"] = std::vector<std::string>(kMaxProofHashes + 1, FormatHash(commitments_[0]));
  EXPECT_TRUE(Refused(Inclusion(j)));
  j = good;
  j["path"][0] = 7;
  EXPECT_TRUE(Refused(Inclusion(j)));
  j = good;
  j["root"] = "ffffffffffffffff" + good["root"].get<std::string>().substr(16);  // >= p
  EXPECT_TRUE(Refused(Inclusion(j)));
  // A repeated key: nlohmann alone would keep the last one.
  std::string text = good.dump();
  text.insert(1, "\"leafIndex\":4,");
  EXPECT_TRUE(Refused(vp_ballot_verify_inclusion(text.c_str())));
  for (const char* t : {"", "[]", "null", "{", "{\"a\":}", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
                        "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"}) {
    EXPECT_TRUE(Refused(vp_ballot_verify_inclusion(t))) << t;
  }
  EXPECT_TRUE(Refused(vp_ballot_verify_inclusion(nullptr)));
}

TEST_F(BallotWasmTree, ConsistencyProofsVerifyAndTamperingIsRefused) {
  for (uint64_t n = 1; n <= tree_.size(); ++n) {
    for (uint64_t m = 1; m <= n; ++m) {
      EXPECT_TRUE(Accepted(Consistency(ConsistencyJson(m, n)))) << m << " -> " << n;
    }
  }
  const json good = ConsistencyJson(6, 13);
  json j = good;
  j["oldRoot"] = good["newRoot"];
  EXPECT_TRUE(Refused(Consistency(j)));
  j = good;
  j["oldSize"] = 7;
  EXPECT_TRUE(Refused(Consistency(j)));
  j = good;
  j["oldSize"] = 0;
  EXPECT_TRUE(Refused(Consistency(j)));
  j = good;
  j.erase("proof");
  EXPECT_TRUE(Refused(Consistency(j)));
  EXPECT_TRUE(Refused(vp_ballot_verify_consistency(nullptr)));
}

// docs/ballot_log.md section 5: the pinned message, and the signature handed back unchanged.
TEST(BallotWasmSth, MessageMatchesThePublishedVector) {
  const std::string sig =
      "aa38d762e5a696a612db31b1ded94afdddc0e8a78c8febdc6d31fbe704cdd701"
      "99b4c0d80d619181f2e25455f7d50760c5ed8a75ada999d5dc7fbc913554fe0d";
  const json head{{"logId", CountingHex()},
                  {"treeSize", 7},
                  {"timestamp", 1700000000000},
                  {"root", "00000000000000010123456789abcdefffffffff000000000000000000000000"},
                  {"signature", sig}};
  const json a = Parse(SthMsg(head));
  EXPECT_EQ(a["message"],
            "7661756c7470726f6f663a7374683a7631"
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
            "00000000000000070000018bcfe56800"
            "00000000000000010123456789abcdefffffffff000000000000000000000000");
  EXPECT_EQ(a["signature"], sig);
  json unsigned_head = head;
  unsigned_head.erase("signature");
  EXPECT_FALSE(Parse(SthMsg(unsigned_head)).contains("signature"));

  json j = head;
  j["signature"] = sig.substr(2);
  EXPECT_TRUE(Refused(SthMsg(j)));
  j = head;
  j["treeSize"] = 0;  // the empty tree must carry EmptyRoot
  EXPECT_TRUE(Refused(SthMsg(j)));
  j = head;
  j["timestamp"] = uint64_t{1} << 53;
  EXPECT_TRUE(Refused(SthMsg(j)));
  j = head;
  j["logId"] = CountingHex().substr(2);
  EXPECT_TRUE(Refused(SthMsg(j)));
  j = head;
  j["note"] = "x";
  EXPECT_TRUE(Refused(SthMsg(j)));
  EXPECT_TRUE(Refused(vp_ballot_sth_message(nullptr)));
}

TEST(BallotWasm, ConfigHashIsTheManifestConfigsHash) {
  ElectionManifest m;
  m.config.election_id = *ParseElectionId("0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09");
  m.config.choices = {"yes", "no", "abstain"};
  m.config.bot_count = 9;
  m.config_hash = ElectionConfigHash(m.config);
  const std::string text = CanonicalJson(ManifestToJson(m));
  const json ok = Parse(vp_ballot_config_hash(text.c_str()));
  ASSERT_TRUE(ok.value("ok", false)) << ok.dump();
  EXPECT_EQ(ok["configHash"], FormatHash(ElectionConfigHash(m.config)));
  // The hash is recomputed from the config, not read from the manifest's configHash field.
  ElectionManifest other = m;
  other.config.bot_count = 10;
  const std::string other_text = CanonicalJson(ManifestToJson(other));
  EXPECT_NE(Parse(vp_ballot_config_hash(other_text.c_str()))["configHash"], ok["configHash"]);
  EXPECT_TRUE(Refused(vp_ballot_config_hash(nullptr)));
  EXPECT_TRUE(Refused(vp_ballot_config_hash("")));
  EXPECT_TRUE(Refused(vp_ballot_config_hash("{")));
  EXPECT_TRUE(Refused(vp_ballot_config_hash((" " + text).c_str())));  // not canonical
  json extra = ManifestToJson(m);
  extra["note"] = "x";
  EXPECT_TRUE(Refused(vp_ballot_config_hash(CanonicalJson(extra).c_str())));
}

// A real tally proof of 7 votes through the C ABI, at most 4 a segment: [0,4) and [4,7), the
// second of two blocks (2 and 1).
class BallotWasmTally : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stark::SeededRandom rng(TestSeed());
    TallyInput in;
    in.election_id = *ParseElectionId("0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09");
    in.config_hash = ConfigHash("{\"choices\":[\"A\",\"B\",\"C\"]}");
    in.num_choices = 3;
    in.max_segment_leaves = 4;
    for (uint32_t i = 0; i < 7; ++i) {
      LeafWitness l;
      for (auto& b : l.random) b = static_cast<uint8_t>(rng.NextU64());
      l.choice = i % 3;
      l.commitment = ComputeCommitment(in.election_id, l.choice, l.random);
      in.leaves.push_back(l);
    }
    auto proof = ProveTally(in, TallyProofOptions(), rng);
    ASSERT_TRUE(proof.ok()) << proof.status().message();
    statement_ = new TallyStatement(proof->statement);
    public_input_ = new std::string(CanonicalJson(StatementToJson(proof->statement)));
    proof_bin_ = new Bytes(SerializeSegmentProofs(proof->segments));
  }
  static void TearDownTestSuite() {
    delete statement_;
    delete public_input_;
    delete proof_bin_;
  }
  static TallyStatement* statement_;
  static std::string* public_input_;
  static Bytes* proof_bin_;
};
TallyStatement* BallotWasmTally::statement_ = nullptr;
std::string* BallotWasmTally::public_input_ = nullptr;
Bytes* BallotWasmTally::proof_bin_ = nullptr;

TEST_F(BallotWasmTally, TheHonestProofVerifies) {
  const json a = Parse(Tally(*public_input_, *proof_bin_));
  EXPECT_EQ(a["ok"], true) << a.dump();
  EXPECT_EQ(a["segments"], 2);
  EXPECT_GE(a["conjecturedSecurityBits"].get<double>(), 100.0);
  EXPECT_EQ(a["reason"], "");
}

TEST_F(BallotWasmTally, AskingForMoreBitsThanTheProofHasIsRefused) {
  EXPECT_TRUE(Accepted(Tally(*public_input_, *proof_bin_, 0)));  // the floor is 100 anyway
  EXPECT_TRUE(Refused(Tally(*public_input_, *proof_bin_, 200)));
  EXPECT_TRUE(Refused(Tally(*public_input_, *proof_bin_, 257)));
  EXPECT_TRUE(Refused(Tally(*public_input_, *proof_bin_, std::numeric_limits<double>::quiet_NaN())));
}

TEST_F(BallotWasmTally, AFlippedProofByteIsRefused) {
  for (const size_t at : {size_t{20}, proof_bin_->size() / 2, proof_bin_->size() - 1}) {
    Bytes bad = *proof_bin_;
    bad[at] ^= 1;
    EXPECT_TRUE(Refused(Tally(*public_input_, bad))) << at;
  }
  Bytes truncated(proof_bin_->begin(), proof_bin_->end() - 1);
  EXPECT_TRUE(Refused(Tally(*public_input_, truncated)));
  EXPECT_TRUE(Refused(Tally(*public_input_, Bytes{})));
  EXPECT_TRUE(Refused(vp_ballot_verify_tally(public_input_->c_str(), nullptr, 10, 100)));
}

TEST_F(BallotWasmTally, AnEditedCountIsRefused) {
  // Alone: the statement's sums disagree.
  json doc = StatementToJson(*statement_);
  doc["counts"][0] = doc["counts"][0].get<uint64_t>() + 1;
  EXPECT_TRUE(Refused(Tally(CanonicalJson(doc), *proof_bin_)));
  // Moved between choices in the total and in its segment: consistent, so only the proof
  // can refuse it.
  TallyStatement moved = *statement_;
  ASSERT_GT(moved.segments[0].counts[0], 0u);
  moved.segments[0].counts[0] -= 1;
  moved.segments[0].counts[1] += 1;
  moved.counts[0] -= 1;
  moved.counts[1] += 1;
  ASSERT_TRUE(CheckTallyStatement(moved).ok());
  EXPECT_TRUE(Refused(Tally(CanonicalJson(StatementToJson(moved)), *proof_bin_)));
}

TEST_F(BallotWasmTally, NonCanonicalOrMalformedStatementsAreRefused) {
  std::string spaced = *public_input_;
  spaced.insert(1, " ");
  EXPECT_TRUE(Refused(Tally(spaced, *proof_bin_)));
  EXPECT_TRUE(Refused(Tally(*public_input_ + "\n", *proof_bin_)));
  EXPECT_TRUE(Refused(Tally("{}", *proof_bin_)));
  EXPECT_TRUE(Refused(Tally("[]", *proof_bin_)));
  EXPECT_TRUE(Refused(vp_ballot_verify_tally(nullptr, proof_bin_->data(), proof_bin_->size(), 100)));
}

// Random byte edits of every input: always one JSON answer, never an escape.
TEST_F(BallotWasmTally, RandomMutationsAreAnsweredNeverThrown) {
  stark::SeededRandom rng(TestSeed() + 1);
  for (int i = 0; i < 40; ++i) {
    std::string pub = *public_input_;
    const size_t at = static_cast<size_t>(rng.NextU64() % pub.size());
    switch (rng.NextU64() % 3) {
      case 0: pub[at] = static_cast<char>(rng.NextU64()); break;
      case 1: pub.resize(at); break;
      default: pub.insert(at, 1, pub[at]); break;
    }
    if (pub == *public_input_) continue;
    EXPECT_TRUE(Refused(Tally(pub, *proof_bin_))) << pub;
  }
  for (int i = 0; i < 8; ++i) {
    Bytes bad = *proof_bin_;
    const size_t at = 12 + static_cast<size_t>(rng.NextU64() % (bad.size() - 12));
    bad[at] = static_cast<uint8_t>(bad[at] ^ (1 + rng.NextU64() % 255));
    EXPECT_TRUE(Refused(Tally(*public_input_, bad))) << at;
  }
}

}  // namespace
}  // namespace vp::ballot
