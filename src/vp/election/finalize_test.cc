// Finalization through the job queue on both backends: every scenario ends with the bundle's
// checks failing exactly as the scenario predicts (S0 passes), the private input is sealed,
// refusals have their codes, cancellation stops a queued execution, verification runs are
// recorded once, and an unsigned prover image fails the job as ImageSignatureVerificationFailed.
#include "vp/election/finalize.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>
#include <tuple>

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
    fo.max_segment_leaves = max_segment_leaves_;
    finalize_ = std::make_unique<FinalizeService>(*db_, *elections_, *objects_, log_key_, std::move(fo));
    pool_ = StartedPool(*finalize_);
  }
  void TearDown() override {
    if (pool_) pool_->Stop();
  }

  // One worker thread, polling every 10-50 ms, running every queue of `service`.
  std::unique_ptr<store::WorkerPool> StartedPool(FinalizeService& service) {
    store::WorkerOptions wo;
    wo.threads = 1;
    wo.idle_poll_ms = 10;
    wo.idle_poll_max_ms = 50;
    auto pool = std::make_unique<store::WorkerPool>(*db_, wo);
    EXPECT_TRUE(service.RegisterHandler(*pool).ok());
    EXPECT_TRUE(pool->Start().ok());
    return pool;
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
  uint64_t max_segment_leaves_ = ballot::kDefaultMaxSegmentLeaves;
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
  // One sealed witness per segment (8 leaves: one segment); the segment proofs are gone
  // once assembled into the bundle.
  auto list = objects_->List(kPrivateBucket, "");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE((*list)[0].sealed);
  EXPECT_NE((*list)[0].key.find("/input-0.json"), std::string::npos) << (*list)[0].key;
  auto plain = objects_->Get(kPrivateBucket, (*list)[0].key);
  EXPECT_FALSE(plain.ok()) << "a sealed witness must not read without its key";
  auto work = objects_->List(kWorkBucket, "");
  ASSERT_TRUE(work.ok());
  EXPECT_TRUE(work->empty());
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

// Segments of 2 leaves: 8 leaves are 4 segment jobs, taken by two worker pools (two
// gateways sharing the store), then one assembly.
class FinalizeSegmentsTest : public FinalizeTest {
 protected:
  void SetUp() override {
    max_segment_leaves_ = 2;
    FinalizeTest::SetUp();
    if (IsSkipped() || db_ == nullptr) return;
    FinalizeOptions fo;
    const SecureBuffer& key = finalize_->options().seal_key;
    fo.seal_key = SecureBuffer::CopyOf(ByteSpan(key.data(), key.size()));
    fo.max_segment_leaves = max_segment_leaves_;
    other_ = std::make_unique<FinalizeService>(*db_, *elections_, *objects_, log_key_, std::move(fo));
    other_pool_ = StartedPool(*other_);
  }
  void TearDown() override {
    if (other_pool_) other_pool_->Stop();
    FinalizeTest::TearDown();
  }
  std::vector<std::pair<std::string, int64_t>> Segments(const std::string& execution_id) {
    std::vector<std::pair<std::string, int64_t>> out;
    EXPECT_TRUE(db_->Transact(store::TxMode::kRead, [&](store::Conn& c) -> Status {
      ASSIGN_OR_RETURN(auto r, c.Query("SELECT state, seg_size FROM ballot_segments WHERE execution_id = $1 ORDER BY idx",
                                       {store::Value(execution_id)}));
      for (size_t i = 0; i < r.size(); ++i) out.emplace_back(r.Text(i, 0), r.Int(i, 1));
      return OkStatus();
    }).ok());
    return out;
  }
  std::unique_ptr<FinalizeService> other_;
  std::unique_ptr<store::WorkerPool> other_pool_;
};

TEST_P(FinalizeSegmentsTest, SegmentsAreSeparateJobsAndTheirProofsCombineIntoOneBundle) {
  const SessionContext ctx = Voted(2);
  const Execution e = Finalized(ctx, "S0");
  ASSERT_EQ(e.state, "succeeded") << e.error;
  const json result = json::parse(e.result);
  EXPECT_EQ(result["segments"], 4);
  EXPECT_EQ(result["segmentProveMs"].size(), 4u);
  EXPECT_EQ(Segments(e.id), (std::vector<std::pair<std::string, int64_t>>(4, {"proven", 2})));
  auto report = finalize_->Verify(ctx);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE((*report)["valid"].get<bool>()) << report->dump();
  auto zip = finalize_->Bundle(ctx.session.id, e.id);
  ASSERT_TRUE(zip.ok());
  auto files = ballot::ReadBundleZip(*zip);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  auto proofs = ballot::ParseSegmentProofs(files->proof);
  ASSERT_TRUE(proofs.ok());
  EXPECT_EQ(proofs->size(), 4u);
  auto work = objects_->List(kWorkBucket, "");
  ASSERT_TRUE(work.ok());
  EXPECT_TRUE(work->empty());
}

TEST_P(FinalizeSegmentsTest, ScenariosOverSegmentsAreCaughtAsOverOne) {
  // S3 closes a tree of 7 leaves: segments of 2, 2, 2 and 1.
  const std::vector<std::tuple<std::string, std::vector<std::string>, std::vector<int64_t>>> cases = {
      {"S1", {"noExcludedSlots", "myVoteCounted"}, {2, 2, 2, 2}},
      {"S3", {"rootAtCastConsistent", "treeSizeMatches"}, {2, 2, 2, 1}},
      {"S4", {"proofVerifies"}, {2, 2, 2, 2}},
  };
  for (const auto& [scenario, expected, sizes] : cases) {
    const SessionContext ctx = Voted(1);
    const Execution e = Finalized(ctx, scenario);
    ASSERT_EQ(e.state, "succeeded") << scenario << ": " << e.error;
    std::vector<int64_t> got;
    for (const auto& seg : Segments(e.id)) got.push_back(seg.second);
    EXPECT_EQ(got, sizes) << scenario;
    auto report = finalize_->Verify(ctx);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(Failed(*report), expected) << scenario << ": " << report->dump();
  }
}

TEST_P(FinalizeSegmentsTest, ACancelledExecutionStopsItsSegments) {
  // Nothing runs: the finalize job is taken by hand, so the segments stay queued.
  pool_->Stop();
  other_pool_->Stop();
  const SessionContext ctx = Voted(1);
  auto e = finalize_->Start(ctx, "S0", Now());
  ASSERT_TRUE(e.ok());
  store::WorkerOptions wo;
  wo.threads = 1;
  wo.idle_poll_ms = 10;
  store::WorkerPool planner(*db_, wo);
  ASSERT_TRUE(finalize_->RegisterHandler(planner, {kFinalizeQueue}).ok());
  ASSERT_TRUE(planner.Start().ok());
  for (int i = 0; i < 500 && Segments(e->id).size() < 4; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  planner.Stop();
  ASSERT_EQ(Segments(e->id).size(), 4u);
  auto st = finalize_->StatusJson(*finalize_->Get(e->id), Now());
  EXPECT_EQ(st["state"], "running");
  EXPECT_EQ(st["progress"]["segments"], 4);
  EXPECT_EQ(st["progress"]["segmentsProven"], 0);
  auto c = finalize_->Cancel(ctx, Now());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->state, "cancelled");
  store::JobQueue jobs(*db_);
  auto counts = jobs.Counts(Now());
  ASSERT_TRUE(counts.ok());
  for (const auto& q : *counts) {
    if (q.queue == kSegmentQueue) {
      EXPECT_EQ(q.queued + q.leased, 0) << "segment jobs left after the cancel";
    }
  }
}

VP_STORE_INSTANTIATE(FinalizeTest);
VP_STORE_INSTANTIATE(FinalizeSegmentsTest);
VP_STORE_INSTANTIATE(FinalizeImageTest);

TEST(ProverThreads, SplitTheCoresAmongRunningImages) {
  EXPECT_EQ(ProverThreads(2, 1), 2u);
  EXPECT_EQ(ProverThreads(2, 2), 1u);
  EXPECT_EQ(ProverThreads(2, 4), 1u);
  EXPECT_EQ(ProverThreads(16, 4), 4u);
  EXPECT_EQ(ProverThreads(16, 3), 5u);
  EXPECT_EQ(ProverThreads(0, 0), 1u);  // hardware_concurrency() may answer 0
}

}  // namespace
}  // namespace vp::election
