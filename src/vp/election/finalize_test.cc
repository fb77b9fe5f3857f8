// Finalization through the job queue on both backends: every scenario ends with the bundle's
// checks failing exactly as the scenario predicts (S0 passes), the private input is sealed,
// refusals have their codes, cancellation stops a queued execution, verification runs are
// recorded once, and an unsigned prover image fails the job as ImageSignatureVerificationFailed.
#include "vp/election/finalize.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "vp/ballot/bundle.h"
#include "vp/ballot/simulate.h"
#include "vp/crypto/random.h"
#include "vp/store/store_test_util.h"

namespace vp::election {
namespace {

using nlohmann::json;
using store::Dialect;

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class FinalizeTest : public store::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || db_ == nullptr) return;
    Bytes seed(32, 0x42);
    log_key_ = *SeedLogKey(seed);
    ElectionOptions eo;
    eo.bot_count = 7;
    elections_ = std::make_unique<ElectionService>(*db_, *ElectionKeys::Derive(Bytes(32, 9)), log_key_, eo);
    objects_ = std::make_unique<objects::ObjectStore>(*db_);
    FinalizeOptions fo;
    fo.seal_key = *crypto::RandomSecret(32);
    fo.image = image_;
    finalize_ = std::make_unique<FinalizeService>(*db_, *elections_, *objects_, log_key_, std::move(fo));
    store::WorkerOptions wo;
    wo.threads = 1;
    wo.idle_poll_ms = 10;
    wo.idle_poll_max_ms = 50;
    pool_ = std::make_unique<store::WorkerPool>(*db_, wo);
    ASSERT_TRUE(finalize_->RegisterHandler(*pool_).ok());
    ASSERT_TRUE(pool_->Start().ok());
  }
  void TearDown() override {
    if (pool_) pool_->Stop();
  }

  // A session that has voted `choice`.
  SessionContext Voted(uint32_t choice) {
    auto s = elections_->CreateSession(Now());
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    auto ctx = elections_->Authenticate(s->session.id, s->capability, Now());
    EXPECT_TRUE(ctx.ok());
    ballot::VoteRandom r{};
    for (auto& b : r) b = static_cast<uint8_t>(rng_());
    const std::string c = ballot::FormatHash(ballot::ComputeCommitment(*ballot::ParseElectionId(s->election.id), choice, r));
    auto receipt = elections_->CastVote(*ctx, VoteInput{c, json(choice), ballot::FormatVoteRandom(r)}, Now());
    EXPECT_TRUE(receipt.ok()) << receipt.status().ToString();
    auto again = elections_->Authenticate(s->session.id, s->capability, Now());
    EXPECT_TRUE(again.ok());
    return *again;
  }
  Execution Finalized(const SessionContext& ctx, const std::string& scenario) {
    auto e = finalize_->Start(ctx, scenario, Now());
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (!e.ok()) return {};
    auto done = finalize_->WaitFor(e->id, 60'000);
    EXPECT_TRUE(done.ok());
    return done.ok() ? *done : Execution{};
  }
  static std::vector<std::string> Failed(const json& report) {
    std::vector<std::string> out;
    for (const auto& c : report["checks"]) {
      if (c["status"] == "fail") out.push_back(c["id"].get<std::string>());
    }
    return out;
  }

  prover::ProverImage image_;  // empty: in-process prover
  std::shared_ptr<const LogSigner> log_key_;
  std::unique_ptr<ElectionService> elections_;
  std::unique_ptr<objects::ObjectStore> objects_;
  std::unique_ptr<FinalizeService> finalize_;
  std::unique_ptr<store::WorkerPool> pool_;
  std::mt19937_64 rng_{vp::store::TestSeed()};
};

TEST_P(FinalizeTest, EveryScenarioIsCaughtAndTheHonestOnePasses) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"S0", {}},
      {"S1", {"noExcludedSlots", "myVoteCounted"}},
      {"S2", {"claimedEqualsProven"}},
      {"S3", {"rootAtCastConsistent", "treeSizeMatches"}},  // the voter holds a head the close contradicts
      {"S4", {"proofVerifies"}},
  };
  for (const auto& [scenario, expected] : cases) {
    const SessionContext ctx = Voted(2);
    const Execution e = Finalized(ctx, scenario);
    ASSERT_EQ(e.state, "succeeded") << scenario << ": " << e.error;
    auto report = finalize_->Verify(ctx);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(Failed(*report), expected) << scenario << ": " << report->dump();
    EXPECT_EQ((*report)["valid"].get<bool>(), expected.empty()) << scenario;
    // The bundle is served to its session only.
    EXPECT_TRUE(finalize_->Bundle(ctx.session.id, e.id).ok());
    EXPECT_EQ(finalize_->Bundle("another", e.id).status().code(), StatusCode::kNotFound);
    // The election is closed to votes.
    EXPECT_EQ(ErrorCode(finalize_->Start(ctx, "S0", Now()).status()), kSessionFinalized);
  }
  // S5 fails some check, whichever fraud it drew.
  const SessionContext ctx = Voted(0);
  ASSERT_EQ(Finalized(ctx, "S5").state, "succeeded");
  auto report = finalize_->Verify(ctx);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE((*report)["valid"].get<bool>());
}

TEST_P(FinalizeTest, RefusalsHaveTheirCodes) {
  auto s = elections_->CreateSession(Now());
  ASSERT_TRUE(s.ok());
  auto fresh = elections_->Authenticate(s->session.id, s->capability, Now());
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(ErrorCode(finalize_->Start(*fresh, "S0", Now()).status()), kNotVoted);
  const SessionContext ctx = Voted(1);
  EXPECT_EQ(ErrorCode(finalize_->Start(ctx, "S9", Now()).status()), kInvalidScenario);
  EXPECT_EQ(ErrorCode(finalize_->Start(ctx, "", Now()).status()), kInvalidScenario);
  EXPECT_EQ(ErrorCode(finalize_->Verify(ctx).status()), kNotFinalized);
  EXPECT_EQ(ErrorCode(finalize_->Cancel(ctx, Now()).status()), kNotFinalized);
}

TEST_P(FinalizeTest, VerificationRunsAreRecordedOnceAndTheInputIsSealed) {
  const SessionContext ctx = Voted(3);
  const Execution e = Finalized(ctx, "S0");
  ASSERT_EQ(e.state, "succeeded") << e.error;
  auto first = finalize_->RunVerification(ctx, 1000);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE((*first)["valid"].get<bool>()) << first->dump();
  auto second = finalize_->RunVerification(ctx, 2000);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)["verifiedAt"], 1000);
  auto status = finalize_->StatusJson(*finalize_->Latest(ctx.session.id), Now());
  EXPECT_EQ(status["state"], "succeeded");
  EXPECT_EQ(status["result"]["treeSize"], 8);
  EXPECT_EQ(status["result"]["counted"], 8);
  // Proven in process (no image configured): no private input object is written.
  auto list = objects_->List(kPrivateBucket, "");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_P(FinalizeTest, AQueuedExecutionCanBeCancelled) {
  pool_->Stop();  // nothing runs: the execution stays queued
  const SessionContext ctx = Voted(1);
  auto e = finalize_->Start(ctx, "S0", Now());
  ASSERT_TRUE(e.ok());
  auto st = finalize_->StatusJson(*e, Now());
  EXPECT_EQ(st["queue"]["position"], 1);
  EXPECT_EQ(ErrorCode(finalize_->Start(ctx, "S0", Now()).status()), kFinalizeInProgress);
  auto c = finalize_->Cancel(ctx, Now());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->state, "cancelled");
  // A new finalization may start after a cancelled one.
  EXPECT_TRUE(finalize_->Start(ctx, "S0", Now()).ok());
}

class FinalizeImageTest : public FinalizeTest {
 protected:
  void SetUp() override {
    image_.binary_path = "/nonexistent/vaultproof-prover";  // never signed
    FinalizeTest::SetUp();
  }
};

TEST_P(FinalizeImageTest, AnUnsignedImageFailsTheJob) {
  const SessionContext ctx = Voted(1);
  const Execution e = Finalized(ctx, "S0");
  EXPECT_EQ(e.state, "failed");
  EXPECT_EQ(e.error.rfind(std::string(prover::kImageSignatureFailed), 0), 0u) << e.error;
}

VP_STORE_INSTANTIATE(FinalizeTest);
VP_STORE_INSTANTIATE(FinalizeImageTest);

}  // namespace
}  // namespace vp::election
