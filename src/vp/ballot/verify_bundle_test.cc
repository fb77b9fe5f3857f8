// The verification checks (verify_bundle.h) on one honest simulated election, edited the
// ways an operator or a forger could: every edit of any bundle file fails at least one check
// (the one that names the edit), and every tampered receipt fails the voter's checks.
#include "vp/ballot/verify_bundle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <iostream>
#include <random>
#include <type_traits>
#include <string>
#include <vector>

#include "vp/ballot/bulletin.h"
#include "vp/ballot/simulate.h"
#include "vp/crypto/ed25519.h"

namespace vp::ballot {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using nlohmann::json;
namespace ids = check_ids;

const Simulation& Honest() {
  static const Simulation* sim = [] {
    StatusOr<Simulation> s = SimulateElection(SimulateOptions{});
    EXPECT_TRUE(s.ok()) << s.status().message();
    return new Simulation(s.ok() ? std::move(*s) : Simulation{});
  }();
  return *sim;
}

VerificationReport Verify(const BundleFiles& files, const std::optional<std::string>& receipt) {
  return VerifyBundleFiles(files, receipt, [](ByteSpan key, ByteSpan msg, ByteSpan sig) {
    return crypto::Ed25519Verify(key, msg, sig);
  });
}

std::string Failures(const VerificationReport& r) {
  std::string out;
  for (const CheckResult& c : r.checks) {
    if (c.status == CheckStatus::kFail) out += c.id + ": " + c.detail + "\n";
  }
  return out;
}

// Re-serializes one JSON text canonically after an edit.
std::string Edit(const std::string& text, const std::function<void(json&)>& edit) {
  json j = json::parse(text);
  edit(j);
  return CanonicalJson(j);
}

std::string EditReceipt(const std::function<void(json&)>& edit) {
  json j = json::parse(Honest().receipt_json);
  edit(j);
  return j.dump(2);
}

uint64_t TestSeed() {
  if (const char* s = std::getenv("VP_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return 7;
}

TEST(VerifyBundleTest, HonestBundleWithAndWithoutReceipt) {
  const VerificationReport mine = Verify(Honest().files, Honest().receipt_json);
  EXPECT_TRUE(mine.valid) << Failures(mine);
  EXPECT_TRUE(mine.error.empty());

  const VerificationReport anyone = Verify(Honest().files, std::nullopt);
  EXPECT_TRUE(anyone.valid) << Failures(anyone);
  std::vector<std::string> skipped;
  for (const CheckResult& c : anyone.checks) {
    if (c.status == CheckStatus::kSkipped) skipped.push_back(c.id);
  }
  EXPECT_EQ(skipped, (std::vector<std::string>{
                         std::string(ids::kReceiptPresent), std::string(ids::kChoiceValid),
                         std::string(ids::kRandomWellFormed),
                         std::string(ids::kCommitmentRecomputes),
                         std::string(ids::kCommitmentOnBoard),
                         std::string(ids::kRootAtCastConsistent),
                         std::string(ids::kMyVoteCounted)}));
  EXPECT_THAT(anyone.Find(ids::kSthSignature)->detail, HasSubstr("the close statement is signed"));
}

TEST(VerifyBundleTest, ReportJsonNamesGroupsAndEvidence) {
  const json j = ReportToJson(Verify(Honest().files, Honest().receipt_json));
  EXPECT_EQ(j["valid"], true);
  EXPECT_FALSE(j.contains("error"));
  ASSERT_EQ(j["checks"].size(), 15u);
  EXPECT_EQ(j["checks"][0],
            (json{{"id", "receiptPresent"}, {"group", "cast-as-intended"}, {"evidence", "local"},
                  {"status", "pass"}, {"detail", j["checks"][0]["detail"]}}));
  std::map<std::string, std::string> group_of, evidence_of;
  for (const json& c : j["checks"]) {
    group_of[c["id"]] = c["group"];
    evidence_of[c["id"]] = c["evidence"];
  }
  EXPECT_EQ(group_of["rootAtCastConsistent"], "recorded-as-cast");
  EXPECT_EQ(evidence_of["rootAtCastConsistent"], "public");
  EXPECT_EQ(group_of["myVoteCounted"], "counted-as-recorded");
  EXPECT_EQ(group_of["configHashMatches"], "proof");
  EXPECT_EQ(evidence_of["commitmentRecomputes"], "local");
  uint64_t total = 0;
  for (const auto& item : j["tally"].items()) total += item.value().get<uint64_t>();
  EXPECT_EQ(total, 64u);
}

struct FileEdit {
  std::string name;
  std::function<void(BundleFiles&)> edit;
  std::string must_fail;  // a check that names the edit
};

std::vector<FileEdit> FileEdits() {
  auto pub = [](std::function<void(json&)> e) {
    return [e](BundleFiles& f) { f.public_input = Edit(f.public_input, e); };
  };
  auto man = [](std::function<void(json&)> e) {
    return [e](BundleFiles& f) { f.manifest = Edit(f.manifest, e); };
  };
  auto close = [](std::function<void(json&)> e) {
    return [e](BundleFiles& f) { f.close_statement = Edit(f.close_statement, e); };
  };
  auto jour = [](std::function<void(json&)> e) {
    return [e](BundleFiles& f) { f.journal = Edit(f.journal, e); };
  };
  auto plus1 = [](json& v) { v = v.get<uint64_t>() + 1; };
  auto other_hash = [](json& v) {
    std::string s = v.get<std::string>();
    s[63] = s[63] == '0' ? '1' : '0';
    v = s;
  };
  const std::string kProof(ids::kProofVerifies);
  return {
      // proof.bin
      {"proof truncated", [](BundleFiles& f) { f.proof.pop_back(); }, kProof},
      {"proof extended", [](BundleFiles& f) { f.proof.push_back(0); }, kProof},
      {"proof middle byte", [](BundleFiles& f) { f.proof[f.proof.size() / 2] ^= 0x40; }, kProof},
      {"proof empty", [](BundleFiles& f) { f.proof.clear(); }, kProof},
      {"proof from another election",
       [](BundleFiles& f) {
         f.proof = SimulateElection(SimulateOptions{})->files.proof;
       },
       kProof},
      // public-input.json
      {"statement counts moved", pub([](json& j) {
         for (size_t i = 0; i < j["counts"].size(); ++i) {
           if (j["counts"][i].get<uint64_t>() == 0) continue;
           const size_t to = (i + 1) % j["counts"].size();
           j["counts"][i] = j["counts"][i].get<uint64_t>() - 1;
           j["counts"][to] = j["counts"][to].get<uint64_t>() + 1;
           j["segments"][0]["counts"] = j["counts"];
           return;
         }
       }),
       kProof},
      {"statement tree size", pub([&](json& j) { plus1(j["treeSize"]); }),
       std::string(ids::kTreeSizeMatches)},
      {"statement root", pub([&](json& j) { other_hash(j["root"]); }),
       std::string(ids::kRootMatches)},
      {"statement config hash", pub([&](json& j) { other_hash(j["configHash"]); }),
       std::string(ids::kConfigHashMatches)},
      {"statement excludes a leaf", pub([](json& j) {
         j["excluded"] = json::array({5});
         j["segments"][0]["excluded"] = json::array({5});
       }),
       std::string(ids::kNoExcludedSlots)},
      {"statement whitespace", [](BundleFiles& f) { f.public_input.insert(1, " "); }, kProof},
      // election-manifest.json
      {"manifest choice renamed", man([](json& j) { j["config"]["choices"][0] = "Z"; }),
       std::string(ids::kConfigHashMatches)},
      {"manifest bot count", man([&](json& j) { plus1(j["config"]["botCount"]); }),
       std::string(ids::kTreeSizeMatches)},
      {"manifest config hash", man([&](json& j) { other_hash(j["configHash"]); }),
       std::string(ids::kConfigHashMatches)},
      {"manifest log key",
       man([](json& j) {
         j["logPublicKey"] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
       }),
       std::string(ids::kSthSignature)},
      {"manifest log id", man([&](json& j) { other_hash(j["config"]["logId"]); }),
       std::string(ids::kSthSignature)},
      {"manifest proof options", man([&](json& j) { plus1(j["proofOptions"]["numQueries"]); }),
       kProof},
      {"manifest zero knowledge off",
       man([](json& j) { j["proofOptions"]["zeroKnowledge"] = false; }), kProof},
      {"manifest security above the proof's", man([](json& j) { j["minSecurityBits"] = 128; }),
       kProof},
      {"manifest security below the floor", man([](json& j) { j["minSecurityBits"] = 80; }),
       kProof},
      {"manifest verifier", man([](json& j) { j["verifierVersion"] = "vaultproof-tally-v1"; }),
       std::string(ids::kVerifierVersion)},
      {"manifest verifier unknown", man([](json& j) { j["verifierVersion"] = "vaultproof-tally-v3"; }),
       std::string(ids::kVerifierVersion)},
      {"manifest pretty-printed",
       [](BundleFiles& f) { f.manifest = json::parse(f.manifest).dump(1); },
       std::string(ids::kConfigHashMatches)},
      // close-statement.json
      {"close timestamp", close([&](json& j) { plus1(j["timestamp"]); }),
       std::string(ids::kSthSignature)},
      {"close tree size", close([&](json& j) { plus1(j["treeSize"]); }),
       std::string(ids::kSthSignature)},
      {"close root", close([&](json& j) { other_hash(j["root"]); }),
       std::string(ids::kSthSignature)},
      {"close signature", close([&](json& j) {
         std::string s = j["signature"];
         s[0] = s[0] == 'a' ? 'b' : 'a';
         j["signature"] = s;
       }),
       std::string(ids::kSthSignature)},
      {"close trailing newline", [](BundleFiles& f) { f.close_statement += "\n"; },
       std::string(ids::kSthSignature)},
      // journal.json
      {"journal tally", jour([](json& j) {
         for (auto& item : j["tally"].items()) {
           item.value() = item.value().get<uint64_t>() + 1;
           return;
         }
       }),
       std::string(ids::kClaimedEqualsProven)},
      {"journal choice renamed", jour([](json& j) {
         j["tally"]["Z"] = j["tally"]["A"];
         j["tally"].erase("A");
       }),
       std::string(ids::kClaimedEqualsProven)},
      {"journal counted", jour([&](json& j) { plus1(j["counted"]); }),
       std::string(ids::kClaimedEqualsProven)},
      {"journal excluded", jour([&](json& j) { plus1(j["excluded"]); }),
       std::string(ids::kClaimedEqualsProven)},
      {"journal root", jour([&](json& j) { other_hash(j["root"]); }),
       std::string(ids::kClaimedEqualsProven)},
      {"journal tree size", jour([&](json& j) { plus1(j["treeSize"]); }),
       std::string(ids::kClaimedEqualsProven)},
      {"journal expected votes", jour([&](json& j) { plus1(j["expectedVotes"]); }),
       std::string(ids::kTreeSizeMatches)},
      {"journal extra key", jour([](json& j) { j["note"] = "x"; }),
       std::string(ids::kClaimedEqualsProven)},
  };
}

TEST(VerifyBundleTest, EveryEditedFileFailsTheCheckThatNamesIt) {
  for (const FileEdit& e : FileEdits()) {
    BundleFiles files = Honest().files;
    e.edit(files);
    ASSERT_NE(files, Honest().files) << e.name << ": the edit changed nothing";
    const VerificationReport r = Verify(files, Honest().receipt_json);
    EXPECT_FALSE(r.valid) << e.name;
    EXPECT_THAT(r.FailedChecks(), Contains(e.must_fail)) << e.name << "\n" << Failures(r);
    for (const CheckResult& c : r.checks) {
      if (c.status == CheckStatus::kFail) {
        EXPECT_FALSE(c.detail.empty()) << e.name << " " << c.id;
      }
    }
  }
}

TEST(VerifyBundleTest, AnUnreadableFileFailsTheChecksThatNeedItWithTheReason) {
  BundleFiles files = Honest().files;
  files.journal = "{";
  const VerificationReport r = Verify(files, Honest().receipt_json);
  EXPECT_EQ(r.FailedChecks(), (std::vector<std::string>{std::string(ids::kClaimedEqualsProven),
                                                        std::string(ids::kTreeSizeMatches)}));
  EXPECT_THAT(r.Find(ids::kClaimedEqualsProven)->detail,
              HasSubstr("cannot check: journal.json: not valid JSON"));
  EXPECT_EQ(r.Find(ids::kProofVerifies)->status, CheckStatus::kPass);

  files = Honest().files;
  files.manifest = "[]";
  const VerificationReport m = Verify(files, std::nullopt);
  EXPECT_THAT(m.Find(ids::kConfigHashMatches)->detail,
              HasSubstr("election-manifest.json: manifest: expected a JSON object"));
  EXPECT_FALSE(m.tally.has_value());
}

TEST(VerifyBundleTest, EverySingleByteFlipIsCaught) {
  const uint64_t seed = TestSeed();
  std::cout << "seed " << seed << " (override with VP_TEST_SEED)\n";
  std::mt19937_64 rng(seed);
  const BundleFiles& honest = Honest().files;
  auto flip = [&](const auto& bytes, const std::string& what) {
    for (int i = 0; i < 24; ++i) {
      BundleFiles files = honest;
      auto& target = bytes(files);
      const size_t at = static_cast<size_t>(rng() % target.size());
      const auto x = static_cast<uint8_t>(1 + rng() % 255);
      target[at] = static_cast<std::remove_reference_t<decltype(target[at])>>(
          static_cast<uint8_t>(target[at]) ^ x);
      const VerificationReport r = Verify(files, Honest().receipt_json);
      EXPECT_FALSE(r.valid) << what << " byte " << at << " ^ " << int{x};
    }
  };
  flip([](BundleFiles& f) -> Bytes& { return f.proof; }, "proof.bin");
  flip([](BundleFiles& f) -> std::string& { return f.public_input; }, "public-input.json");
  flip([](BundleFiles& f) -> std::string& { return f.manifest; }, "election-manifest.json");
  flip([](BundleFiles& f) -> std::string& { return f.close_statement; }, "close-statement.json");
  flip([](BundleFiles& f) -> std::string& { return f.journal; }, "journal.json");
}

TEST(VerifyBundleTest, FilesOfAnotherElectionDoNotMix) {
  const StatusOr<Simulation> other = SimulateElection(SimulateOptions{});
  ASSERT_TRUE(other.ok());
  for (int which = 0; which < 4; ++which) {
    BundleFiles files = Honest().files;
    if (which == 0) files.public_input = other->files.public_input;
    if (which == 1) files.manifest = other->files.manifest;
    if (which == 2) files.close_statement = other->files.close_statement;
    if (which == 3) files.journal = other->files.journal;
    EXPECT_FALSE(Verify(files, std::nullopt).valid) << which;
  }
  // And another election's receipt does not open here.
  const VerificationReport r = Verify(Honest().files, other->receipt_json);
  EXPECT_THAT(r.FailedChecks(), Contains(std::string(ids::kCommitmentRecomputes)));
  EXPECT_THAT(r.FailedChecks(), Contains(std::string(ids::kSthSignature)));
}

struct ReceiptEdit {
  std::string name;
  std::function<void(json&)> edit;
  std::vector<std::string> must_fail;
};

TEST(VerifyBundleTest, TamperedReceiptsFailTheVotersChecks) {
  const Receipt& honest = Honest().receipt;
  const std::string other_rand = std::string(63, '0') + (honest.rand[63] == '1' ? "2" : "1");
  const uint64_t other_vote = (honest.vote + 1) % 5;
  // A head over the same tree, signed by a key that is not the log's (RFC 8032 TEST 1 seed).
  SignedSth forged = honest.sth;
  const Bytes foreign_seed =
      *HexDecode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  forged.signature = *crypto::Ed25519Sign(foreign_seed, SthMessage(forged.sth));
  const std::vector<ReceiptEdit> edits = {
      {"wrong rand", [&](json& j) { j["rand"] = other_rand; },
       {std::string(ids::kCommitmentRecomputes)}},
      {"malformed rand", [](json& j) { j["rand"] = "0x1234"; },
       {std::string(ids::kRandomWellFormed), std::string(ids::kCommitmentRecomputes)}},
      {"upper-case rand",
       [&](json& j) {
         std::string r = honest.rand;
         for (char& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
         j["rand"] = r == honest.rand ? "A" + r.substr(1) : r;
       },
       {std::string(ids::kRandomWellFormed)}},
      {"wrong choice", [&](json& j) { j["vote"] = other_vote; },
       {std::string(ids::kCommitmentRecomputes)}},
      {"choice out of range", [](json& j) { j["vote"] = 5; },
       {std::string(ids::kChoiceValid), std::string(ids::kCommitmentRecomputes)}},
      {"huge choice", [](json& j) { j["vote"] = uint64_t{1} << 40; },
       {std::string(ids::kChoiceValid), std::string(ids::kCommitmentRecomputes)}},
      {"wrong index", [](json& j) { j["bulletinIndex"] = 1; },
       {std::string(ids::kCommitmentOnBoard), std::string(ids::kRootAtCastConsistent),
        std::string(ids::kMyVoteCounted)}},
      {"wrong index and path index",
       [](json& j) {
         j["bulletinIndex"] = 1;
         j["inclusion"]["leafIndex"] = 1;
       },
       {std::string(ids::kCommitmentOnBoard), std::string(ids::kMyVoteCounted)}},
      {"commitment of someone else",
       [](json& j) {
         std::string c = j["commitment"];
         c[63] = c[63] == '0' ? '1' : '0';
         j["commitment"] = c;
       },
       {std::string(ids::kCommitmentRecomputes), std::string(ids::kCommitmentOnBoard),
        std::string(ids::kMyVoteCounted)}},
      {"forged sth signature", [&](json& j) { j["sth"] = SignedSthToJson(forged); },
       {std::string(ids::kSthSignature)}},
      {"sth timestamp moved",
       [](json& j) { j["sth"]["timestamp"] = j["sth"]["timestamp"].get<uint64_t>() + 1; },
       {std::string(ids::kSthSignature)}},
      {"root at cast", [](json& j) { j["bulletinRootAtCast"] = j["sth"]["root"] = FormatHash({}); },
       {std::string(ids::kRootAtCastConsistent), std::string(ids::kSthSignature)}},
      {"tree size at cast", [](json& j) { j["treeSizeAtCast"] = 2; },
       {std::string(ids::kRootAtCastConsistent)}},
      {"no inclusion proof", [](json& j) { j.erase("inclusion"); },
       {std::string(ids::kCommitmentOnBoard), std::string(ids::kMyVoteCounted)}},
      {"no consistency proof", [](json& j) { j.erase("consistency"); },
       {std::string(ids::kRootAtCastConsistent)}},
      {"inclusion path cut", [](json& j) { j["inclusion"]["path"].erase(0); },
       {std::string(ids::kCommitmentOnBoard), std::string(ids::kMyVoteCounted)}},
      {"inclusion for another size", [](json& j) { j["inclusion"]["treeSize"] = 63; },
       {std::string(ids::kCommitmentOnBoard), std::string(ids::kMyVoteCounted)}},
      {"consistency proof edited",
       [](json& j) {
         std::string c = j["consistency"]["proof"][0];
         c[63] = c[63] == '0' ? '1' : '0';
         j["consistency"]["proof"][0] = c;
       },
       {std::string(ids::kRootAtCastConsistent)}},
      {"malformed receipt", [](json& j) { j["vote"] = "two"; },
       {std::string(ids::kReceiptPresent)}},
  };
  for (const ReceiptEdit& e : edits) {
    const VerificationReport r = Verify(Honest().files, EditReceipt(e.edit));
    EXPECT_FALSE(r.valid) << e.name;
    for (const std::string& id : e.must_fail) {
      EXPECT_THAT(r.FailedChecks(), Contains(id)) << e.name << "\n" << Failures(r);
    }
    // The bundle's own checks are untouched by the voter's receipt.
    EXPECT_EQ(r.Find(ids::kProofVerifies)->status, CheckStatus::kPass) << e.name;
    EXPECT_EQ(r.Find(ids::kClaimedEqualsProven)->status, CheckStatus::kPass) << e.name;
  }
}

TEST(VerifyBundleTest, AnUnreadableReceiptSkipsTheVotersOtherChecks) {
  const VerificationReport r = Verify(Honest().files, std::string("not json"));
  EXPECT_EQ(r.FailedChecks(), std::vector<std::string>{std::string(ids::kReceiptPresent)});
  EXPECT_THAT(r.Find(ids::kReceiptPresent)->detail, HasSubstr("receipt: not valid JSON"));
  EXPECT_EQ(r.Find(ids::kMyVoteCounted)->status, CheckStatus::kSkipped);
  EXPECT_EQ(r.Find(ids::kSthSignature)->status, CheckStatus::kPass);
}

TEST(VerifyBundleTest, AMissingVerifierFailsSignaturesNeverPassesThem) {
  const VerificationReport r =
      VerifyBundleFiles(Honest().files, Honest().receipt_json, KeyedEd25519VerifyFn{});
  EXPECT_EQ(r.FailedChecks(), std::vector<std::string>{std::string(ids::kSthSignature)});
}

}  // namespace
}  // namespace vp::ballot
