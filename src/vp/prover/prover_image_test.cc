// The signed prover image: a signed copy of the real vaultproof-prover runs and its proof
// verifies; an unsigned, altered, wrongly signed or re-signed-by-another-key image never
// runs (ImageSignatureVerificationFailed); a cancelled or failing prover is reported. Warm
// images (ProverSessionPool) serve segment after segment, are never used once their file
// changes, leave when idle, and refuse malformed frames.
#include "vp/prover/prover_image.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "vp/base/secure.h"
#include "vp/base/test_util.h"
#include "vp/crypto/ed25519.h"
#include "vp/prover/segment_request.h"
#include "vp/prover/session_frame.h"
#include "vp/prover/tally_job.h"

namespace vp::prover {
namespace {

namespace fs = std::filesystem;

class ProverImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("VP_BIN_DIR");
    ASSERT_NE(bin, nullptr) << "run through ctest (VP_BIN_DIR)";
    dir_ = fs::temp_directory_path() / ("vp-prover-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    image_.binary_path = (dir_ / "vaultproof-prover").string();
    fs::copy_file(fs::path(bin) / "vaultproof-prover", image_.binary_path,
                  fs::copy_options::overwrite_existing);
    auto seed = crypto::Ed25519GenerateSeed();
    ASSERT_TRUE(seed.ok());
    seed_ = Bytes(seed->data(), seed->data() + seed->size());
    auto pub = crypto::Ed25519PublicKey(seed_);
    ASSERT_TRUE(pub.ok());
    std::copy(pub->begin(), pub->end(), image_.release_public_key.begin());
    ASSERT_TRUE(SignProverImage(seed_, image_.binary_path).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  static ProverInput SmallInput() {
    ProverInput in;
    in.election_id = *ballot::ParseElectionId("0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09");
    in.config_hash = ballot::ConfigHash("{}");
    in.num_choices = 3;
    for (uint32_t i = 0; i < 4; ++i) {
      ballot::LeafWitness w;
      w.random.fill(static_cast<uint8_t>(i + 1));
      w.choice = i % 3;
      w.commitment = ballot::ComputeCommitment(in.election_id, w.choice, w.random);
      in.leaves.push_back(w);
    }
    in.leaves[3].excluded = true;
    return in;
  }

  static Status VerifyFor(const ProverInput& in, const Bytes& proof) {
    auto seg = ballot::ComputeSegmentStatement(in.offset, in.leaves, in.num_choices);
    if (!seg.ok()) return seg.status();
    ballot::TallyStatement st;
    st.election_id = in.election_id;
    st.config_hash = in.config_hash;
    st.num_choices = in.num_choices;
    return ballot::VerifySegment(st, *seg, proof, {});
  }

  static void ExpectSignatureFailure(const Status& s) {
    EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.message();
    EXPECT_EQ(s.message().rfind(std::string(kImageSignatureFailed), 0), 0u) << s.message();
  }

  fs::path dir_;
  Bytes seed_;
  ProverImage image_;
};

TEST_F(ProverImageTest, ASignedImageRunsAndItsProofVerifies) {
  ASSERT_TRUE(CheckProverImage(image_).ok());
  const ProverInput in = SmallInput();
  const std::string text = EncodeProverInput(in);
  auto run = RunSignedProver(image_, {"segment"}, AsBytes(text), {});
  ASSERT_TRUE(run.ok()) << run.status().message();
  auto seg = ballot::ComputeSegmentStatement(0, in.leaves, in.num_choices);
  ASSERT_TRUE(seg.ok());
  ballot::TallyStatement st;
  st.election_id = in.election_id;
  st.config_hash = in.config_hash;
  st.num_choices = in.num_choices;
  const Status v = ballot::VerifySegment(st, *seg, run->output, {});
  EXPECT_TRUE(v.ok()) << v.message();
}

TEST_F(ProverImageTest, AWholeElectionIsProvenSegmentBySegment) {
  ProverInput in = SmallInput();
  for (uint32_t i = 0; i < 3; ++i) {  // 7 leaves: segments of 2 (max), 2, 2, 1
    ballot::LeafWitness w;
    w.random.fill(static_cast<uint8_t>(0x40 + i));
    w.choice = i % 3;
    w.commitment = ballot::ComputeCommitment(in.election_id, w.choice, w.random);
    in.leaves.push_back(w);
  }
  auto proof = ProveTallyWithImage(in, image_, {}, 2);
  ASSERT_TRUE(proof.ok()) << proof.status().message();
  EXPECT_EQ(proof->statement.segments.size(), 4u);
  EXPECT_EQ(proof->statement.excluded, std::vector<uint64_t>{3});
  const Status v = ballot::VerifyTally(proof->statement, proof->segments, {});
  EXPECT_TRUE(v.ok()) << v.message();

  // Blocks of 2, up to 4 leaves a segment: [0,4) is two blocks, [4,6) and [6,7) a segment of
  // two blocks of different sizes.
  auto blocks = ProveTallyWithImage(in, image_, {}, 4, 2);
  ASSERT_TRUE(blocks.ok()) << blocks.status().message();
  ASSERT_EQ(blocks->statement.segments.size(), 2u);
  EXPECT_EQ(blocks->statement.segments[0].blocks.size(), 2u);
  ASSERT_EQ(blocks->statement.segments[1].blocks.size(), 2u);
  EXPECT_EQ(blocks->statement.segments[1].blocks[1].size, 1u);
  const Status vb = ballot::VerifyTally(blocks->statement, blocks->segments, {});
  EXPECT_TRUE(vb.ok()) << vb.message();

  fs::remove(image_.SignaturePath());
  auto unsigned_run = ProveTallyWithImage(in, image_, {}, 2);
  ASSERT_FALSE(unsigned_run.ok());
  ExpectSignatureFailure(unsigned_run.status());
}

TEST_F(ProverImageTest, ASignedButLyingProverIsCaughtByTheWorker) {
  // A signed image that answers garbage (echo prints its arguments): the worker verifies
  // every segment proof against its own statement before using it.
  fs::copy_file("/bin/echo", image_.binary_path, fs::copy_options::overwrite_existing);
  ASSERT_TRUE(SignProverImage(seed_, image_.binary_path).ok());
  auto proof = ProveTallyWithImage(SmallInput(), image_, {});
  ASSERT_FALSE(proof.ok());
  EXPECT_EQ(proof.status().code(), StatusCode::kInternal);
  EXPECT_NE(proof.status().message().find("invalid proof"), std::string::npos) << proof.status().message();
}

TEST_F(ProverImageTest, AnAlteredImageNeverRuns) {
  {
    std::ofstream out(image_.binary_path, std::ios::app | std::ios::binary);
    out << '\0';
  }
  ExpectSignatureFailure(CheckProverImage(image_));
  auto run = RunSignedProver(image_, {"version"}, {}, {});
  ASSERT_FALSE(run.ok());
  ExpectSignatureFailure(run.status());
}

TEST_F(ProverImageTest, AnUnsignedImageNeverRuns) {
  fs::remove(image_.SignaturePath());
  ExpectSignatureFailure(CheckProverImage(image_));
}

TEST_F(ProverImageTest, ASignatureByAnotherKeyIsRefused) {
  auto other = crypto::Ed25519GenerateSeed();
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(SignProverImage(ByteSpan(other->data(), other->size()), image_.binary_path).ok());
  ExpectSignatureFailure(CheckProverImage(image_));
}

TEST_F(ProverImageTest, MalformedSignatureFilesAreRefused) {
  const std::vector<std::string> texts = {"", "zz", std::string(128, 'g'), std::string(127, 'a'),
                                         std::string(130, 'a'), std::string(128, 'A')};
  for (const std::string& text : texts) {
    std::ofstream(image_.SignaturePath(), std::ios::trunc) << text;
    ExpectSignatureFailure(CheckProverImage(image_));
  }
  image_.binary_path = (dir_ / "missing").string();
  ExpectSignatureFailure(CheckProverImage(image_));
}

TEST_F(ProverImageTest, ProverErrorsAndCancellationAreReported) {
  auto bad = RunSignedProver(image_, {"segment"}, AsBytes(std::string_view("{\"version\":2}")), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInternal);
  EXPECT_NE(bad.status().message().find("missing key"), std::string::npos) << bad.status().message();

  auto usage = RunSignedProver(image_, {"nonsense"}, {}, {});
  ASSERT_FALSE(usage.ok());
  EXPECT_NE(usage.status().message().find("status 2"), std::string::npos);

  ProverRunOptions stop;
  stop.should_stop = [] { return true; };
  const std::string text = EncodeProverInput(SmallInput());
  auto cancelled = RunSignedProver(image_, {"segment"}, AsBytes(text), stop);
  ASSERT_FALSE(cancelled.ok());
  EXPECT_NE(cancelled.status().message().find("cancelled"), std::string::npos);

  ProverRunOptions small;
  small.max_output_bytes = 16;
  auto capped = RunSignedProver(image_, {"segment"}, AsBytes(text), small);
  ASSERT_FALSE(capped.ok());
  EXPECT_EQ(capped.status().code(), StatusCode::kResourceExhausted);
}

TEST_F(ProverImageTest, AWarmImageProvesSegmentAfterSegment) {
  ProverSessionPool pool(image_, {});
  ProverInput a = SmallInput(), b = SmallInput();
  b.leaves[0].choice = 2;
  b.leaves[0].commitment = ballot::ComputeCommitment(b.election_id, 2, b.leaves[0].random);
  for (const ProverInput* in : {&a, &b, &a}) {
    const std::string text = EncodeProverInput(*in);
    auto run = pool.Run(AsBytes(text), 1, {});
    ASSERT_TRUE(run.ok()) << run.status().message();
    const Status v = VerifyFor(*in, run->output);
    EXPECT_TRUE(v.ok()) << v.message();
  }
  EXPECT_EQ(pool.started(), 1u);

  // Through the worker's path, which verifies the proof itself.
  ProverRunOptions through;
  through.sessions = &pool;
  through.threads = 2;
  const std::string text = EncodeProverInput(b);
  auto proof = ProveSegmentInput(b, AsBytes(text), image_, through);
  ASSERT_TRUE(proof.ok()) << proof.status().message();
  EXPECT_EQ(pool.started(), 1u);
}

TEST_F(ProverImageTest, AWarmImageIsNotUsedOnceItsFileChanges) {
  ProverSessionPool pool(image_, {});
  const std::string text = EncodeProverInput(SmallInput());
  ASSERT_TRUE(pool.Run(AsBytes(text), 1, {}).ok());
  {
    std::ofstream out(image_.binary_path, std::ios::app | std::ios::binary);
    out << '\0';
  }
  auto altered = pool.Run(AsBytes(text), 1, {});
  ASSERT_FALSE(altered.ok());
  ExpectSignatureFailure(altered.status());
  // Signed again (a new release): a new image answers, not the one started before.
  ASSERT_TRUE(SignProverImage(seed_, image_.binary_path).ok());
  auto resigned = pool.Run(AsBytes(text), 1, {});
  ASSERT_TRUE(resigned.ok()) << resigned.status().message();
  EXPECT_EQ(pool.started(), 2u);
  fs::remove(image_.SignaturePath());
  auto unsigned_run = pool.Run(AsBytes(text), 1, {});
  ASSERT_FALSE(unsigned_run.ok());
  ExpectSignatureFailure(unsigned_run.status());
}

// The warm image holds votes' randoms between segments: it runs without core dumps.
TEST_F(ProverImageTest, AWarmImageCannotDumpCore) {
  ProverSessionPool pool(image_, {});
  const std::string text = EncodeProverInput(SmallInput());
  ASSERT_TRUE(pool.Run(AsBytes(text), 1, {}).ok());
  size_t images = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid ...: the fields after the last ')'.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid != ::getpid()) continue;
    std::ifstream limits(entry.path() / "limits");
    for (std::string l; std::getline(limits, l);) {
      if (l.rfind("Max core file size", 0) != 0) continue;
      std::istringstream fields(l.substr(std::string("Max core file size").size()));
      std::string soft, hard;
      fields >> soft >> hard;
      EXPECT_EQ(soft, "0") << l;
      EXPECT_EQ(hard, "0") << l;
      ++images;
    }
  }
  EXPECT_EQ(images, 1u);
}

TEST_F(ProverImageTest, AnIdleImageLeavesAndTheNextRequestStartsAnother) {
  ProverSessionPool pool(image_, {}, /*idle_exit_ms=*/100);
  const std::string text = EncodeProverInput(SmallInput());
  ASSERT_TRUE(pool.Run(AsBytes(text), 1, {}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  auto again = pool.Run(AsBytes(text), 1, {});
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(pool.started(), 2u);
}

TEST_F(ProverImageTest, AWarmImageReportsRefusalsAndSurvivesThem) {
  ProverSessionPool pool(image_, {});
  const std::string good = EncodeProverInput(SmallInput());
  ProverInput wrong = SmallInput();
  wrong.leaves[1].choice = 0;  // no longer opens its commitment
  for (const std::string& bad : {std::string("{\"version\":2}"), std::string("not json"), EncodeProverInput(wrong)}) {
    auto refused = pool.Run(AsBytes(bad), 1, {});
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), StatusCode::kInternal);
    EXPECT_NE(refused.status().message().find("refused the request"), std::string::npos) << refused.status().message();
  }
  EXPECT_FALSE(pool.Run({}, 1, {}).ok());
  ASSERT_TRUE(pool.Run(AsBytes(good), 1, {}).ok());
  EXPECT_EQ(pool.started(), 1u);

  // Cancelled or over its output cap: that image is killed and the next request starts one.
  ProverRunOptions stop;
  stop.should_stop = [] { return true; };
  auto cancelled = pool.Run(AsBytes(good), 1, stop);
  ASSERT_FALSE(cancelled.ok());
  EXPECT_NE(cancelled.status().message().find("cancelled"), std::string::npos);
  ProverRunOptions small;
  small.max_output_bytes = 16;
  auto capped = pool.Run(AsBytes(good), 1, small);
  ASSERT_FALSE(capped.ok());
  EXPECT_EQ(capped.status().code(), StatusCode::kResourceExhausted);
  ASSERT_TRUE(pool.Run(AsBytes(good), 1, {}).ok());
  EXPECT_EQ(pool.started(), 3u);
}

// An image signed before `serve` existed (here: ls, which exits 2 on arguments it cannot
// find) is run one segment per process from then on: the pool starts no second session.
TEST_F(ProverImageTest, AnImageWithoutServeIsRunOneSegmentAtATime) {
  fs::copy_file("/bin/ls", image_.binary_path, fs::copy_options::overwrite_existing);
  ASSERT_TRUE(SignProverImage(seed_, image_.binary_path).ok());
  ProverSessionPool pool(image_, {});
  const std::string text = EncodeProverInput(SmallInput());
  for (int i = 0; i < 2; ++i) {
    auto run = pool.Run(AsBytes(text), 1, {});
    ASSERT_FALSE(run.ok());
    // The one-shot run of `ls segment`: status 2 as well, reported as the image's exit.
    EXPECT_NE(run.status().message().find("status 2"), std::string::npos) << run.status().message();
  }
  EXPECT_EQ(pool.started(), 1u);
}

// The serving image's side of the framing, spoken to directly.
TEST_F(ProverImageTest, TheServingImageRefusesMalformedFrames) {
  auto frame = [](uint32_t threads, uint32_t length, std::string_view body) {
    uint8_t head[kRequestHeaderSize];
    PutLe32(head, threads);
    PutLe32(head + 4, length);
    return std::string(reinterpret_cast<const char*>(head), sizeof(head)) + std::string(body);
  };
  // A whole request, then the end of input: one answer, exit 0.
  const std::string good = EncodeProverInput(SmallInput());
  auto ok = RunSignedProver(image_, {"serve"}, AsBytes(frame(1, static_cast<uint32_t>(good.size()), good)), {});
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  ASSERT_GT(ok->output.size(), 5u);
  EXPECT_EQ(ok->output[0], 0);
  const Bytes proof(ok->output.begin() + 5, ok->output.end());
  EXPECT_TRUE(VerifyFor(SmallInput(), proof).ok());

  const std::vector<std::pair<std::string, std::string>> cases = {
      {frame(1, 0, ""), "malformed request header"},
      {frame(5000, 4, "abcd"), "malformed request header"},
      {frame(1, (1u << 30) + 1, "x"), "malformed request header"},
      {std::string("\x01\x00\x00"), "truncated request header"},
      {frame(1, 100, "{\"version\":1"), "truncated request"},
  };
  for (const auto& [bytes, why] : cases) {
    auto bad = RunSignedProver(image_, {"serve"}, AsBytes(bytes), {});
    ASSERT_FALSE(bad.ok()) << why;
    EXPECT_EQ(bad.status().code(), StatusCode::kInternal);
    EXPECT_NE(bad.status().message().find(why), std::string::npos) << bad.status().message();
  }
  auto usage = RunSignedProver(image_, {"serve", "--idle-exit-ms", "0"}, {}, {});
  ASSERT_FALSE(usage.ok());
  EXPECT_NE(usage.status().message().find("status 2"), std::string::npos);
}

}  // namespace
}  // namespace vp::prover
