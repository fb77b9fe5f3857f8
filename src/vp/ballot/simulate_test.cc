// Whole simulated elections (simulate.h): an honest one passes every check, and each
// scenario of docs/bundle_format.md section 9 fails exactly the checks the table names,
// verified from the zip as a voter would (with the receipt) and as anyone would (without).
#include "vp/ballot/simulate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vp/ballot/bundle.h"
#include "vp/ballot/verify_bundle.h"

namespace vp::ballot {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
namespace ids = check_ids;

Simulation Simulate(SimulateOptions o) {
  StatusOr<Simulation> sim = SimulateElection(o);
  EXPECT_TRUE(sim.ok()) << sim.status().message();
  if (!sim.ok()) return {};
  return std::move(*sim);
}

SimulateOptions WithScenario(Scenario s) {
  SimulateOptions o;
  o.scenario = s;
  return o;
}

std::string Failures(const VerificationReport& r) {
  std::string out;
  for (const CheckResult& c : r.checks) {
    if (c.status == CheckStatus::kFail) out += c.id + ": " + c.detail + "\n";
  }
  return out + r.error;
}

TEST(ScenarioTest, NamesParse) {
  for (const char* name : {"S0", "S1", "S2", "S3", "S4", "S5"}) {
    const StatusOr<Scenario> s = ParseScenario(name);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(ScenarioName(*s), name);
  }
  for (const char* bad : {"", "s0", "S6", "S", "S0 ", "honest"}) {
    EXPECT_EQ(ParseScenario(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(SimulateTest, HonestElectionPassesEveryCheck) {
  const Simulation sim = Simulate(SimulateOptions{});
  EXPECT_THAT(sim.expected_failures, IsEmpty());
  EXPECT_EQ(sim.config.bot_count, 63u);
  EXPECT_EQ(sim.receipt.bulletin_index, 0u);
  EXPECT_EQ(sim.receipt.tree_size_at_cast, 1u);
  EXPECT_EQ(sim.journal.tree_size, 64u);
  EXPECT_EQ(sim.journal.counted, 64u);
  EXPECT_EQ(sim.proof_bytes, sim.files.proof.size());

  const VerificationReport r = VerifyBundleZip(sim.bundle_zip, sim.receipt_json);
  EXPECT_TRUE(r.valid) << Failures(r);
  ASSERT_EQ(r.checks.size(), 15u);
  for (const CheckResult& c : r.checks) {
    EXPECT_EQ(c.status, CheckStatus::kPass) << c.id << ": " << c.detail;
  }
  ASSERT_TRUE(r.tally.has_value());
  uint64_t total = 0;
  for (const auto& [name, count] : *r.tally) {
    EXPECT_EQ(sim.journal.tally.at(name), count);
    total += count;
  }
  EXPECT_EQ(total, 64u);
  // The archive holds exactly the files the simulation reports.
  const StatusOr<BundleFiles> files = ReadBundleZip(sim.bundle_zip);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(*files, sim.files);
}

TEST(SimulateTest, EachScenarioFailsExactlyItsChecks) {
  struct Case {
    Scenario scenario;
    std::optional<bool> s5_recount;
    std::vector<std::string> expected;            // with the receipt
    std::vector<std::string> expected_anonymous;  // without it
  };
  const std::vector<Case> cases = {
      {Scenario::kS0, std::nullopt, {}, {}},
      {Scenario::kS1, std::nullopt,
       {std::string(ids::kNoExcludedSlots), std::string(ids::kMyVoteCounted)},
       {std::string(ids::kNoExcludedSlots)}},
      {Scenario::kS2, std::nullopt, {std::string(ids::kClaimedEqualsProven)},
       {std::string(ids::kClaimedEqualsProven)}},
      {Scenario::kS3, std::nullopt, {std::string(ids::kTreeSizeMatches)},
       {std::string(ids::kTreeSizeMatches)}},
      {Scenario::kS4, std::nullopt, {std::string(ids::kProofVerifies)},
       {std::string(ids::kProofVerifies)}},
      {Scenario::kS5, true, {std::string(ids::kProofVerifies)},
       {std::string(ids::kProofVerifies)}},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(std::string(ScenarioName(k.scenario)));
    SimulateOptions o = WithScenario(k.scenario);
    o.s5_recount = k.s5_recount;
    const Simulation sim = Simulate(o);
    EXPECT_EQ(sim.expected_failures, k.expected) << sim.scenario_detail;
    const VerificationReport mine = VerifyBundleZip(sim.bundle_zip, sim.receipt_json);
    EXPECT_EQ(mine.FailedChecks(), k.expected) << Failures(mine);
    EXPECT_EQ(mine.valid, k.expected.empty());
    const VerificationReport anyone = VerifyBundleZip(sim.bundle_zip, std::nullopt);
    EXPECT_EQ(anyone.FailedChecks(), k.expected_anonymous) << Failures(anyone);
  }
}

TEST(SimulateTest, FailuresSayWhy) {
  const Simulation s1 = Simulate(WithScenario(Scenario::kS1));
  const VerificationReport r1 = VerifyBundleZip(s1.bundle_zip, s1.receipt_json);
  EXPECT_THAT(r1.Find(ids::kMyVoteCounted)->detail,
              HasSubstr("your vote (bulletin index 0) is excluded from the tally"));
  EXPECT_THAT(r1.Find(ids::kNoExcludedSlots)->detail, HasSubstr("1 of 64 votes uncounted"));
  EXPECT_EQ(r1.Find(ids::kProofVerifies)->status, CheckStatus::kPass);  // the proof is honest

  const Simulation s2 = Simulate(WithScenario(Scenario::kS2));
  const VerificationReport r2 = VerifyBundleZip(s2.bundle_zip, s2.receipt_json);
  EXPECT_THAT(r2.Find(ids::kClaimedEqualsProven)->detail,
              HasSubstr("the published result is not the proven one"));

  const Simulation s3 = Simulate(WithScenario(Scenario::kS3));
  EXPECT_EQ(s3.journal.tree_size, 63u);
  EXPECT_EQ(s3.journal.expected_votes, 64u);
  const VerificationReport r3 = VerifyBundleZip(s3.bundle_zip, s3.receipt_json);
  EXPECT_THAT(r3.Find(ids::kTreeSizeMatches)->detail,
              HasSubstr("the proven tree has 63 votes, the close statement 63, the journal "
                        "expects 64 and the election (botCount + 1) 64"));

  const Simulation s4 = Simulate(WithScenario(Scenario::kS4));
  const VerificationReport r4 = VerifyBundleZip(s4.bundle_zip, s4.receipt_json);
  EXPECT_THAT(r4.Find(ids::kProofVerifies)->detail, HasSubstr("the tally proof does not verify"));
  EXPECT_EQ(r4.Find(ids::kClaimedEqualsProven)->status, CheckStatus::kPass);  // journal matches
}

TEST(SimulateTest, S5DrawsAndReportsItsOwnExpectation) {
  SimulateOptions o = WithScenario(Scenario::kS5);
  o.s5_recount = false;
  const Simulation drop = Simulate(o);
  ASSERT_FALSE(drop.expected_failures.empty());
  EXPECT_EQ(drop.expected_failures[0], ids::kNoExcludedSlots);
  EXPECT_THAT(drop.scenario_detail, HasSubstr("drop"));
  EXPECT_EQ(VerifyBundleZip(drop.bundle_zip, drop.receipt_json).FailedChecks(),
            drop.expected_failures);
  for (int i = 0; i < 3; ++i) {  // the CSPRNG's own draws
    const Simulation sim = Simulate(WithScenario(Scenario::kS5));
    const VerificationReport r = VerifyBundleZip(sim.bundle_zip, sim.receipt_json);
    EXPECT_EQ(r.FailedChecks(), sim.expected_failures) << sim.scenario_detail;
    EXPECT_FALSE(r.valid);
  }
}

TEST(SimulateTest, VoterAfterBotsFixedChoiceAndSmallSegments) {
  SimulateOptions o;
  o.bot_count = 40;
  o.bots_before_voter = 9;
  o.choice = 3;
  o.choices = {"north", "south", "east", "west"};
  o.max_segment_leaves = 8;  // 41 = 32 + 8 + 1: five segments of 8, one of 1
  const Simulation sim = Simulate(o);
  EXPECT_EQ(sim.receipt.bulletin_index, 9u);
  EXPECT_EQ(sim.receipt.tree_size_at_cast, 10u);
  EXPECT_EQ(sim.receipt.vote, 3u);
  const VerificationReport r = VerifyBundleZip(sim.bundle_zip, sim.receipt_json);
  EXPECT_TRUE(r.valid) << Failures(r);
  EXPECT_THAT(r.Find(ids::kProofVerifies)->detail, HasSubstr("all 6 segment proofs verify"));
  EXPECT_THAT(r.Find(ids::kChoiceValid)->detail, HasSubstr("\"west\""));

  o.scenario = Scenario::kS1;
  const Simulation s1 = Simulate(o);
  EXPECT_EQ(VerifyBundleZip(s1.bundle_zip, s1.receipt_json).FailedChecks(),
            (std::vector<std::string>{std::string(ids::kNoExcludedSlots),
                                      std::string(ids::kMyVoteCounted)}));
  o.scenario = Scenario::kS4;
  const Simulation s4 = Simulate(o);
  EXPECT_THAT(VerifyBundleZip(s4.bundle_zip, s4.receipt_json).FailedChecks(),
              ElementsAre(std::string(ids::kProofVerifies)));
}

TEST(SimulateTest, ALoneVoterWithoutBots) {
  SimulateOptions o;
  o.bot_count = 0;
  const Simulation sim = Simulate(o);
  EXPECT_EQ(sim.journal.tree_size, 1u);
  EXPECT_TRUE(sim.receipt.consistency->proof.empty());  // the tree at cast is the final one
  const VerificationReport r = VerifyBundleZip(sim.bundle_zip, sim.receipt_json);
  EXPECT_TRUE(r.valid) << Failures(r);
}

TEST(SimulateTest, RefusesBadOptions) {
  SimulateOptions o;
  o.choice = 5;
  EXPECT_THAT(SimulateElection(o).status().message(), HasSubstr("choice 5 is not below the 5"));
  o = SimulateOptions{};
  o.bot_count = 0;
  o.scenario = Scenario::kS3;
  EXPECT_THAT(SimulateElection(o).status().message(), HasSubstr("needs at least one bot"));
  o = SimulateOptions{};
  o.bots_before_voter = 64;
  EXPECT_EQ(SimulateElection(o).status().code(), StatusCode::kInvalidArgument);
  o = SimulateOptions{};
  o.choices = {"only"};
  EXPECT_THAT(SimulateElection(o).status().message(), HasSubstr("1 choices"));
  o = SimulateOptions{};
  o.bot_count = kMaxBotCount + 1;
  EXPECT_THAT(SimulateElection(o).status().message(), HasSubstr("above 2^24"));
}

}  // namespace
}  // namespace vp::ballot
