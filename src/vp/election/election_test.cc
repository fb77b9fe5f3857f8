// The ballot service on both backends: sessions and their elections, a vote's receipt
// checked the way a voter checks it (commitment, inclusion proof, consistency proof, STH
// signature with the published key), every refusal, the sealed witnesses, the sweep of
// expired sessions, a restart, a signer that fails mid-vote, and two "gateways" (two Db
// objects on one database) appending to one election at once without gaps.
#include "vp/election/election.h"

#include <atomic>
#include <chrono>
#include <algorithm>
#include <cctype>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "vp/crypto/random.h"
#include "vp/election/capability.h"
#include "vp/store/jobs.h"
#include "vp/store/store_test_util.h"

namespace vp::election {
namespace {

using nlohmann::json;
using store::Dialect;

constexpr int64_t kT0 = 1'700'000'000'000;

Bytes Pepper(uint8_t fill = 7) { return Bytes(32, fill); }

ElectionKeys Keys(uint8_t fill = 7) { return *ElectionKeys::Derive(Pepper(fill)); }

std::shared_ptr<const LogSigner> TestLogKey() {
  Bytes seed(32);
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(100 + i);
  return *SeedLogKey(seed);
}

// A log key that can be made to fail, as a signer that is restarting does.
class FlakyLogKey final : public LogSigner {
 public:
  explicit FlakyLogKey(std::shared_ptr<const LogSigner> inner) : inner_(std::move(inner)) {}
  const crypto::Ed25519Public& public_key() const override { return inner_->public_key(); }
  StatusOr<crypto::Ed25519Signature> Sign(ByteSpan message) const override {
    if (fail.load()) return UnavailableError("signer unavailable: restarting");
    return inner_->Sign(message);
  }
  mutable std::atomic<bool> fail{false};

 private:
  std::shared_ptr<const LogSigner> inner_;
};

struct Ballot {
  uint32_t choice = 0;
  ballot::VoteRandom random{};
  std::string commitment;
};

Ballot MakeBallot(const std::string& election_id, uint32_t choice, std::mt19937_64& rng) {
  Ballot b;
  b.choice = choice;
  for (auto& x : b.random) x = static_cast<uint8_t>(rng());
  b.commitment = ballot::FormatHash(ballot::ComputeCommitment(*ballot::ParseElectionId(election_id), choice, b.random));
  return b;
}

VoteInput Input(const Ballot& b, json vote) {
  return VoteInput{b.commitment, std::move(vote), ballot::FormatVoteRandom(b.random)};
}

void ExpectCode(const Status& s, std::string_view code, StatusCode status) {
  EXPECT_EQ(s.code(), status) << s.ToString();
  EXPECT_EQ(ErrorCode(s), code) << s.ToString();
}

Status VerifySth(const ballot::SignedSth& sth, const crypto::Ed25519Public& pub) {
  return ballot::VerifySthSignature(sth, [&](ByteSpan m, ByteSpan s) { return crypto::Ed25519Verify(pub, m, s); });
}

std::vector<ballot::HashOut> Hashes(const json& list) {
  std::vector<std::string> text;
  for (const json& h : list) text.push_back(h.get<std::string>());
  return *ballot::ParseHashList(text);
}

class ElectionServiceTest : public store::StoreTest {
 protected:
  std::unique_ptr<ElectionService> Service(ElectionOptions o = {}, std::shared_ptr<const LogSigner> key = nullptr,
                                           store::Db* db = nullptr) {
    EXPECT_TRUE(ValidateElectionOptions(o).ok());
    return std::make_unique<ElectionService>(db != nullptr ? *db : *db_, Keys(), key ? key : TestLogKey(),
                                             std::move(o));
  }
  SessionContext Auth(ElectionService& svc, const CreatedSession& s, int64_t now = kT0) {
    auto ctx = svc.Authenticate(s.session.id, s.capability, now);
    EXPECT_TRUE(ctx.ok()) << ctx.status().ToString();
    return ctx.ok() ? *ctx : SessionContext{};
  }
  std::mt19937_64 rng_{vp::store::TestSeed()};
};

TEST_P(ElectionServiceTest, ASessionGetsItsOwnElectionWithASignedEmptyHead) {
  auto svc = Service();
  auto s = svc->CreateSession(kT0);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const Election& e = s->election;
  ASSERT_TRUE(ballot::ParseElectionId(e.id).ok());
  EXPECT_EQ(e.id[14], '4');  // a version 4 UUID
  EXPECT_EQ(e.choices, (std::vector<std::string>{"A", "B", "C", "D", "E"}));
  EXPECT_EQ(e.bot_count, 63);
  EXPECT_EQ(e.log_id, ballot::FormatLogId(ElectionLogId(svc->log_public_key(), *ballot::ParseElectionId(e.id))));
  // The config is the bundle's (docs/bundle_format.md), and so is its hash.
  EXPECT_EQ(e.config_json, R"({"botCount":63,"choices":["A","B","C","D","E"],"electionId":")" + e.id +
                               R"(","logId":")" + e.log_id + R"("})");
  auto config = ConfigOf(e);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(e.config_hash, ballot::FormatHash(ballot::ElectionConfigHash(*config)));
  EXPECT_EQ(e.config_hash, ballot::FormatHash(ballot::ConfigHash(e.config_json)));
  EXPECT_EQ(s->session.expires_ms, kT0 + 30 * 60 * 1000);

  const json j = CreatedSessionJson(*s);
  for (const char* f : {"sessionId", "electionId", "electionConfigHash", "logId", "capabilityToken"}) {
    EXPECT_TRUE(j.contains(f) && j[f].is_string()) << f;
  }

  auto head = svc->LatestSth(e.id);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->sth.tree_size, 0u);
  EXPECT_EQ(head->sth.root, ballot::EmptyRoot());
  EXPECT_EQ(ballot::FormatLogId(head->sth.log_id), e.log_id);
  EXPECT_TRUE(VerifySth(*head, svc->log_public_key()).ok());

  auto other = svc->CreateSession(kT0);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->election.id, e.id);
  EXPECT_NE(other->session.id, s->session.id);
}

TEST_P(ElectionServiceTest, AReceiptVerifiesAsAVoterChecksIt) {
  auto svc = Service();
  auto s = svc->CreateSession(kT0);
  ASSERT_TRUE(s.ok());
  const SessionContext ctx = Auth(*svc, *s);
  const Ballot b = MakeBallot(s->election.id, 2, rng_);
  auto r = svc->CastVote(ctx, Input(b, "C"), kT0 + 5);
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  // Cast as intended: the commitment recomputes from what the voter kept.
  EXPECT_EQ(ballot::FormatHash(r->commitment), b.commitment);
  EXPECT_EQ(r->index, 0u);
  EXPECT_EQ(r->tree_size_at_cast, 64u);  // the head signed with the vote (and the bots')
  EXPECT_EQ(r->root_at_cast, r->sth.sth.root);
  EXPECT_EQ(r->timestamp_ms, kT0 + 5);
  // The bots voted in the same transaction; the head covers all 64 leaves.
  EXPECT_EQ(r->sth.sth.tree_size, 64u);
  EXPECT_EQ(r->sth.sth.timestamp_ms, static_cast<uint64_t>(kT0 + 5));
  EXPECT_TRUE(VerifySth(r->sth, svc->log_public_key()).ok());

  const json receipt = ReceiptJson(*r);
  EXPECT_EQ(receipt["bulletinIndex"], 0);
  EXPECT_EQ(receipt["sth"]["treeSize"], 64);
  EXPECT_EQ(receipt["sth"]["logId"], s->election.log_id);
  // With the voter's own vote and rand it is a receipt file the bundle verifier reads.
  json file = receipt;
  file["vote"] = 2;
  file["rand"] = ballot::FormatVoteRandom(b.random);
  auto parsed = ballot::ReceiptFromJson(file);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->sth.sth, r->sth.sth);
  EXPECT_EQ(parsed->bulletin_root_at_cast, r->root_at_cast);

  // Recorded as cast: the inclusion proof against the latest head.
  auto proof = svc->InclusionProof(s->election.id, r->vote_id);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  EXPECT_EQ((*proof)["leafIndex"], 0);
  EXPECT_EQ((*proof)["treeSize"], 64);
  EXPECT_EQ((*proof)["commitment"], b.commitment);
  EXPECT_TRUE(ballot::VerifyCommitmentInclusion(r->commitment, 0, 64, Hashes((*proof)["path"]), r->sth.sth.root).ok());
  // The root at cast is a prefix of the signed head.
  auto cons = svc->ConsistencyProof(s->election.id, 1, 64);
  ASSERT_TRUE(cons.ok()) << cons.status().ToString();
  EXPECT_TRUE(ballot::VerifyConsistency(1, 64, ballot::LeafHash(r->commitment), r->sth.sth.root,
                                        Hashes((*cons)["proof"])).ok());

  auto latest = svc->LatestSth(s->election.id);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->sth, r->sth.sth);

  auto progress = svc->Progress(s->election.id);
  ASSERT_TRUE(progress.ok());
  EXPECT_EQ((*progress)["votesCast"], 64);
  EXPECT_EQ((*progress)["expected"], 64);
  EXPECT_EQ((*progress)["state"], "open");

  auto page = svc->Bulletin(s->election.id, 0, 1000);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ((*page)["commitments"].size(), 64u);
  EXPECT_EQ((*page)["commitments"][0], b.commitment);
  ballot::BulletinTree tree;
  for (const json& c : (*page)["commitments"]) tree.Append(*ballot::ParseHash(c.get<std::string>()));
  EXPECT_EQ(tree.Root(), r->sth.sth.root);

  // A vote id of another election is not found here.
  auto other = svc->CreateSession(kT0);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(svc->InclusionProof(other->election.id, r->vote_id).status().code(), StatusCode::kNotFound);
}

TEST_P(ElectionServiceTest, TheVoteIsTheIndexOrTheLabel) {
  auto svc = Service();
  for (const json& vote : {json(4), json("E")}) {
    auto s = svc->CreateSession(kT0);
    ASSERT_TRUE(s.ok());
    const Ballot b = MakeBallot(s->election.id, 4, rng_);
    auto r = svc->CastVote(Auth(*svc, *s), Input(b, vote), kT0);
    EXPECT_TRUE(r.ok()) << vote.dump() << " " << r.status().ToString();
  }
}

TEST_P(ElectionServiceTest, EveryRefusal) {
  auto svc = Service();
  auto s = svc->CreateSession(kT0);
  ASSERT_TRUE(s.ok());
  const SessionContext ctx = Auth(*svc, *s);
  const Ballot b = MakeBallot(s->election.id, 1, rng_);

  for (const json& vote : {json(5), json(-1), json("F"), json("b"), json(1.0), json(true), json(nullptr),
                           json::array({1}), json::object()}) {
    ExpectCode(svc->CastVote(ctx, Input(b, vote), kT0).status(), kInvalidVoteChoice, StatusCode::kInvalidArgument);
  }
  // The commitment of another choice, of another election, tampered, or not canonical text.
  ExpectCode(svc->CastVote(ctx, Input(b, 2), kT0).status(), kInvalidCommitment, StatusCode::kInvalidArgument);
  Ballot elsewhere = MakeBallot("00000000-0000-4000-8000-000000000000", 1, rng_);
  ExpectCode(svc->CastVote(ctx, Input(elsewhere, 1), kT0).status(), kInvalidCommitment, StatusCode::kInvalidArgument);
  for (std::string bad : {std::string(64, 'f'), b.commitment.substr(1), "0x" + b.commitment.substr(2), std::string()}) {
    VoteInput in = Input(b, 1);
    in.commitment = bad;
    ExpectCode(svc->CastVote(ctx, in, kT0).status(), kInvalidCommitment, StatusCode::kInvalidArgument);
  }
  VoteInput upper = Input(b, 1);
  for (char& c : upper.commitment) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ExpectCode(svc->CastVote(ctx, upper, kT0).status(), kInvalidCommitment, StatusCode::kInvalidArgument);
  VoteInput bad_rand = Input(b, 1);
  bad_rand.rand = bad_rand.rand.substr(2);
  EXPECT_EQ(svc->CastVote(ctx, bad_rand, kT0).status().code(), StatusCode::kInvalidArgument);
  // Nothing was appended by any refusal.
  EXPECT_EQ(svc->LatestSth(s->election.id)->sth.tree_size, 0u);

  ASSERT_TRUE(svc->CastVote(ctx, Input(b, 1), kT0).ok());
  // The context read before the vote still says "not voted": the check under the lock catches it.
  ExpectCode(svc->CastVote(ctx, Input(b, 1), kT0).status(), kAlreadyVoted, StatusCode::kFailedPrecondition);
  ExpectCode(svc->CastVote(Auth(*svc, *s), Input(MakeBallot(s->election.id, 0, rng_), 0), kT0).status(), kAlreadyVoted,
             StatusCode::kFailedPrecondition);

  auto s2 = svc->CreateSession(kT0);
  ASSERT_TRUE(s2.ok());
  const SessionContext ctx2 = Auth(*svc, *s2);
  ASSERT_TRUE(svc->MarkFinalized(s2->election.id, kT0 + 10).ok());
  ASSERT_TRUE(svc->MarkFinalized(s2->election.id, kT0 + 11).ok());  // idempotent
  const Ballot b2 = MakeBallot(s2->election.id, 0, rng_);
  ExpectCode(svc->CastVote(ctx2, Input(b2, 0), kT0).status(), kSessionFinalized, StatusCode::kFailedPrecondition);
  ExpectCode(svc->CastVote(Auth(*svc, *s2, kT0 + 20), Input(b2, 0), kT0 + 20).status(), kSessionFinalized,
             StatusCode::kFailedPrecondition);
  auto progress = svc->Progress(s2->election.id);
  EXPECT_EQ((*progress)["state"], "finalized");
  EXPECT_EQ((*progress)["finalizedAt"], kT0 + 10);
  EXPECT_EQ(svc->MarkFinalized("00000000-0000-4000-8000-000000000000", kT0).code(), StatusCode::kNotFound);
}

TEST_P(ElectionServiceTest, ParseVoteInputIsStrict) {
  const json ok = {{"commitment", "c"}, {"vote", 1}, {"rand", "r"}, {"turnstileToken", "t"}};
  EXPECT_TRUE(ParseVoteInput(ok).ok());
  EXPECT_TRUE(ParseVoteInput(json{{"commitment", "c"}, {"vote", "A"}, {"rand", "r"}}).ok());
  for (const char* missing : {"commitment", "vote", "rand"}) {
    json j = ok;
    j.erase(missing);
    EXPECT_EQ(ParseVoteInput(j).status().code(), StatusCode::kInvalidArgument) << missing;
  }
  json extra = ok;
  extra["choice"] = 1;
  EXPECT_FALSE(ParseVoteInput(extra).ok());
  json wrong = ok;
  wrong["commitment"] = 5;
  EXPECT_FALSE(ParseVoteInput(wrong).ok());
  wrong = ok;
  wrong["rand"] = json::array();
  EXPECT_FALSE(ParseVoteInput(wrong).ok());
  wrong = ok;
  wrong["turnstileToken"] = 1;
  EXPECT_FALSE(ParseVoteInput(wrong).ok());
  EXPECT_FALSE(ParseVoteInput(json::array()).ok());
}

TEST_P(ElectionServiceTest, DuplicateCommitmentInASharedElection) {
  ElectionOptions o;
  o.shared_election = true;
  o.bot_count = 3;
  auto svc = Service(o);
  auto a = svc->CreateSession(kT0);
  auto b = svc->CreateSession(kT0);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->election.id, b->election.id);
  const Ballot ballot = MakeBallot(a->election.id, 3, rng_);
  auto first = svc->CastVote(Auth(*svc, *a), Input(ballot, 3), kT0);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->sth.sth.tree_size, 4u);
  ExpectCode(svc->CastVote(Auth(*svc, *b), Input(ballot, 3), kT0).status(), kDuplicateVote,
             StatusCode::kFailedPrecondition);
  // Session b can still vote with its own random; the bots do not vote again.
  auto second = svc->CastVote(Auth(*svc, *b), Input(MakeBallot(a->election.id, 3, rng_), 3), kT0 + 1);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->index, 4u);
  EXPECT_EQ(second->sth.sth.tree_size, 5u);
  auto progress = svc->Progress(a->election.id);
  EXPECT_EQ((*progress)["votesCast"], 5);
  EXPECT_EQ((*progress)["expected"], 5);  // 2 voters + 3 bots
  auto cons = svc->ConsistencyProof(a->election.id, 4, 5);
  ASSERT_TRUE(cons.ok());
  EXPECT_TRUE(ballot::VerifyConsistency(4, 5, first->sth.sth.root, second->sth.sth.root, Hashes((*cons)["proof"])).ok());

  // Once finalized, the next session opens a new shared election.
  ASSERT_TRUE(svc->MarkFinalized(a->election.id, kT0 + 2).ok());
  auto c = svc->CreateSession(kT0 + 3);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->election.id, a->election.id);
}

TEST_P(ElectionServiceTest, Authentication) {
  ElectionOptions o;
  o.session_ttl_ms = 1000;
  auto svc = Service(o);
  auto s = svc->CreateSession(kT0);
  auto other = svc->CreateSession(kT0);
  ASSERT_TRUE(s.ok() && other.ok());
  EXPECT_TRUE(svc->Authenticate(s->session.id, s->capability, kT0 + 999).ok());
  ExpectCode(svc->Authenticate(s->session.id, s->capability, kT0 + 1000).status(), kSessionExpired,
             StatusCode::kUnauthenticated);
  ExpectCode(svc->Authenticate(s->session.id, other->capability, kT0).status(), kInvalidCapability,
             StatusCode::kUnauthenticated);
  ExpectCode(svc->Authenticate("", s->capability, kT0).status(), kInvalidCapability, StatusCode::kUnauthenticated);
  ExpectCode(svc->Authenticate(s->session.id, "", kT0).status(), kInvalidCapability, StatusCode::kUnauthenticated);
  ExpectCode(svc->Authenticate("not-a-uuid", s->capability, kT0).status(), kInvalidCapability,
             StatusCode::kUnauthenticated);
  std::string upper = s->session.id;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ExpectCode(svc->Authenticate(upper, s->capability, kT0).status(), kInvalidCapability, StatusCode::kUnauthenticated);
  // A token minted with the right key for a session that never existed: we did not issue it
  // for a live session, so it reads as expired (a swept session looks the same).
  const std::string ghost = "11111111-1111-4111-8111-111111111111";
  const std::string forged = MintCapability(Keys().capability_key.view(), {ghost, s->election.id, kT0 / 1000 + 60});
  ExpectCode(svc->Authenticate(ghost, forged, kT0).status(), kSessionExpired, StatusCode::kUnauthenticated);
  // Another election in the claims: refused.
  const std::string crossed =
      MintCapability(Keys().capability_key.view(), {s->session.id, other->election.id, kT0 / 1000 + 86400});
  ExpectCode(svc->Authenticate(s->session.id, crossed, kT0).status(), kInvalidCapability, StatusCode::kUnauthenticated);
  // A service with another pepper does not accept this one's tokens.
  ElectionService stranger(*db_, Keys(9), TestLogKey(), o);
  ExpectCode(stranger.Authenticate(s->session.id, s->capability, kT0).status(), kInvalidCapability,
             StatusCode::kUnauthenticated);
}

TEST_P(ElectionServiceTest, FinalizationGivesSessionsADay) {
  auto svc = Service();
  auto s = svc->CreateSession(kT0);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(svc->MarkFinalized(s->election.id, kT0 + 60'000).ok());
  const int64_t day = 24 * 3600 * 1000;
  EXPECT_TRUE(svc->Authenticate(s->session.id, s->capability, kT0 + 60'000 + day - 3'600'000).ok());
  // The token itself lives 24 h from creation.
  ExpectCode(svc->Authenticate(s->session.id, s->capability, kT0 + day).status(), kSessionExpired,
             StatusCode::kUnauthenticated);
}

TEST_P(ElectionServiceTest, TheSweepDeletesExpiredSessionsThroughTheJobQueue) {
  ElectionOptions short_lived;
  short_lived.session_ttl_ms = 1000;
  auto svc = Service();
  auto old_session = Service(short_lived)->CreateSession(kT0);
  ASSERT_TRUE(old_session.ok());
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  auto fresh = svc->CreateSession(now);
  ASSERT_TRUE(fresh.ok());

  ASSERT_TRUE(svc->ScheduleSweep(now).ok());
  ASSERT_TRUE(svc->ScheduleSweep(now).ok());  // one is queued already: no second
  store::JobQueue jobs(*db_);
  EXPECT_EQ(*jobs.Depth(kSessionSweepQueue), 1);

  store::WorkerOptions wo;
  wo.threads = 1;
  wo.idle_poll_ms = 10;
  store::WorkerPool pool(*db_, wo);
  ASSERT_TRUE(svc->RegisterSweepHandler(pool).ok());
  ASSERT_TRUE(pool.Start().ok());
  pool.Notify();
  for (int i = 0; i < 500 && *jobs.Depth(kSessionSweepQueue) > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  pool.Stop();
  EXPECT_EQ(*jobs.Depth(kSessionSweepQueue), 0);

  ExpectCode(svc->Authenticate(old_session->session.id, old_session->capability, kT0).status(), kSessionExpired,
             StatusCode::kUnauthenticated);
  EXPECT_TRUE(svc->Authenticate(fresh->session.id, fresh->capability, now).ok());
  EXPECT_EQ(*svc->SweepExpiredSessions(now), 0);
  EXPECT_EQ(*svc->SweepExpiredSessions(now + 30 * 60 * 1000), 1);
}

// Bots are made in chunks of 4096 on all threads: every one opens, has its own random and
// vote id, and the tree the receipt signs is theirs in index order.
TEST_P(ElectionServiceTest, ManyBotsAreMadeInChunksAndEachOpens) {
  ElectionOptions o;
  o.bot_count = 9000;
  auto svc = Service(o);
  auto s = svc->CreateSession(kT0);
  ASSERT_TRUE(s.ok());
  const Ballot b = MakeBallot(s->election.id, 2, rng_);
  auto r = svc->CastVote(Auth(*svc, *s), Input(b, "C"), kT0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto leaves = svc->Leaves(s->election.id);
  ASSERT_TRUE(leaves.ok()) << leaves.status().ToString();
  ASSERT_EQ(leaves->size(), 9001u);
  const ballot::ElectionId eid = *ballot::ParseElectionId(s->election.id);
  std::set<std::string> ids, randoms;
  std::vector<ballot::HashOut> commitments;
  std::vector<int> counts(5);
  for (const LeafRecord& l : *leaves) {
    EXPECT_TRUE(ballot::CheckCommitment(l.commitment, eid, l.choice, l.random).ok()) << l.index;
    ids.insert(l.vote_id);
    randoms.insert(HexEncode(l.random));
    commitments.push_back(l.commitment);
    ++counts[l.choice];
    ASSERT_EQ(l.vote_id.size(), 36u);
    EXPECT_EQ(l.vote_id[14], '4') << l.vote_id;
  }
  EXPECT_EQ(ids.size(), 9001u);
  EXPECT_EQ(randoms.size(), 9001u);
  for (const int c : counts) EXPECT_GT(c, 1500);  // 1800 expected for each of 5 choices
  ballot::BulletinTree tree;
  for (const auto& c : commitments) tree.Append(c);
  EXPECT_EQ(tree.Root(), r->sth.sth.root);
  EXPECT_EQ(*svc->Commitments(s->election.id), commitments);
  // The cached tree the receipts' evidence comes from is the same tree; fn's status is the answer.
  ASSERT_TRUE(svc->WithBulletinTree(s->election.id, [&](const ballot::BulletinTree& t) -> Status {
    EXPECT_EQ(t.size(), 9001u);
    EXPECT_EQ(t.Root(), r->sth.sth.root);
    return OkStatus();
  }).ok());
  EXPECT_EQ(svc->WithBulletinTree(s->election.id, [](const ballot::BulletinTree&) { return InternalError("fn"); })
                .code(),
            StatusCode::kInternal);

  // The witnesses open on all threads; with two bad ones, the first in bulletin order is named.
  ASSERT_TRUE(db_->WithConn([&](store::Conn& c) -> Status {
    for (const int64_t idx : {int64_t{8000}, int64_t{4100}}) {
      RETURN_IF_ERROR(c.Exec("UPDATE ballot_leaves SET witness = (SELECT witness FROM ballot_leaves WHERE election_id = $1"
                             " AND idx = 5) WHERE election_id = $1 AND idx = $2",
                             {s->election.id, idx}));
    }
    return OkStatus();
  }).ok());
  const auto broken = svc->Leaves(s->election.id);
  EXPECT_EQ(broken.status().code(), StatusCode::kInternal);
  EXPECT_NE(broken.status().message().find("witness 4100 does not open"), std::string::npos)
      << broken.status().message();
}

TEST_P(ElectionServiceTest, WitnessesAreSealedAndOpenForTheTally) {
  ElectionOptions o;
  o.bot_count = 20;
  o.choices = {"yes", "no", "abstain"};
  auto svc = Service(o);
  auto s = svc->CreateSession(kT0);
  ASSERT_TRUE(s.ok());
  const Ballot b = MakeBallot(s->election.id, 1, rng_);
  auto r = svc->CastVote(Auth(*svc, *s), Input(b, "no"), kT0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  auto leaves = svc->Leaves(s->election.id);
  ASSERT_TRUE(leaves.ok()) << leaves.status().ToString();
  ASSERT_EQ(leaves->size(), 21u);
  const ballot::ElectionId eid = *ballot::ParseElectionId(s->election.id);
  ballot::BulletinTree tree;
  std::vector<int> counts(3);
  for (size_t i = 0; i < leaves->size(); ++i) {
    const LeafRecord& l = (*leaves)[i];
    EXPECT_EQ(l.index, i);
    EXPECT_EQ(l.is_bot, i != 0);
    EXPECT_LT(l.choice, 3u);
    EXPECT_TRUE(ballot::CheckCommitment(l.commitment, eid, l.choice, l.random).ok()) << i;
    ++counts[l.choice];
    tree.Append(l.commitment);
  }
  EXPECT_EQ((*leaves)[0].choice, 1u);
  EXPECT_EQ((*leaves)[0].random, b.random);
  EXPECT_EQ((*leaves)[0].vote_id, r->vote_id);
  EXPECT_EQ(tree.Root(), r->sth.sth.root);

  // The tally proof's input: the same leaves, the election's config hash, nothing excluded.
  auto input = svc->TallyInputOf(s->election.id);
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  EXPECT_EQ(ballot::FormatElectionId(input->election_id), s->election.id);
  EXPECT_EQ(ballot::FormatHash(input->config_hash), s->election.config_hash);
  EXPECT_EQ(input->num_choices, 3u);
  ASSERT_EQ(input->leaves.size(), 21u);
  for (size_t i = 0; i < input->leaves.size(); ++i) {
    EXPECT_FALSE(input->leaves[i].excluded);
    EXPECT_EQ(input->leaves[i].commitment, (*leaves)[i].commitment);
    EXPECT_EQ(input->leaves[i].choice, (*leaves)[i].choice);
  }

  // The witness never sits in plaintext: the stored bytes do not contain the random.
  ASSERT_TRUE(db_->WithConn([&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(store::Rows rows, c.Query("SELECT witness FROM ballot_leaves WHERE vote_id = $1", {r->vote_id}));
    const Bytes& w = rows.Blob(0, 0);
    EXPECT_EQ(std::search(w.begin(), w.end(), b.random.begin(), b.random.end()), w.end());
    return OkStatus();
  }).ok());

  // Another pepper cannot open them; a witness moved to another leaf does not open either.
  ElectionService stranger(*db_, Keys(9), TestLogKey(), o);
  EXPECT_EQ(stranger.Leaves(s->election.id).status().code(), StatusCode::kInternal);
  ASSERT_TRUE(db_->WithConn([&](store::Conn& c) -> Status {
    return c.Exec("UPDATE ballot_leaves SET witness = (SELECT witness FROM ballot_leaves WHERE election_id = $1 AND idx = 2)"
                  " WHERE election_id = $1 AND idx = 1",
                  {s->election.id});
  }).ok());
  EXPECT_EQ(svc->Leaves(s->election.id).status().code(), StatusCode::kInternal);

  // One vote's leaf by its id: the voter's opens; a moved witness does not; another
  // election's vote or an unknown id is not on this board.
  auto mine = svc->LeafOfVote(s->election.id, r->vote_id);
  ASSERT_TRUE(mine.ok()) << mine.status().ToString();
  EXPECT_EQ(mine->index, 0u);
  EXPECT_EQ(mine->choice, 1u);
  EXPECT_EQ(mine->random, b.random);
  EXPECT_EQ(svc->LeafOfVote(s->election.id, (*leaves)[1].vote_id).status().code(), StatusCode::kInternal);
  EXPECT_EQ(svc->LeafOfVote(s->election.id, (*leaves)[2].vote_id).status().code(), StatusCode::kOk);
  EXPECT_EQ(svc->LeafOfVote(s->election.id, "00000000-0000-4000-8000-000000000000").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(stranger.LeafOfVote(s->election.id, r->vote_id).status().code(), StatusCode::kInternal);
  auto other = svc->CreateSession(kT0);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(svc->LeafOfVote(other->election.id, r->vote_id).status().code(), StatusCode::kNotFound);
}

TEST_P(ElectionServiceTest, BulletinPagesAndProofArguments) {
  ElectionOptions o;
  o.bot_count = 9;
  auto svc = Service(o);
  auto s = svc->CreateSession(kT0);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(svc->CastVote(Auth(*svc, *s), Input(MakeBallot(s->election.id, 0, rng_), 0), kT0).ok());
  const std::string& id = s->election.id;
  auto p = svc->Bulletin(id, 3, 4);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)["commitments"].size(), 4u);
  EXPECT_EQ((*p)["treeSize"], 10);
  EXPECT_EQ((*svc->Bulletin(id, 8, 100))["commitments"].size(), 2u);
  EXPECT_EQ((*svc->Bulletin(id, 10, 100))["commitments"].size(), 0u);
  EXPECT_FALSE(svc->Bulletin(id, -1, 10).ok());
  EXPECT_FALSE(svc->Bulletin(id, 0, 0).ok());
  EXPECT_FALSE(svc->Bulletin(id, 0, 1001).ok());

  for (auto [oldn, newn] : {std::pair<int64_t, int64_t>{0, 5}, {6, 5}, {1, 11}, {-1, 3}}) {
    EXPECT_EQ(svc->ConsistencyProof(id, oldn, newn).status().code(), StatusCode::kInvalidArgument) << oldn << " " << newn;
  }
  auto same = svc->ConsistencyProof(id, 10, 10);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE((*same)["proof"].empty());
  // Every pair of sizes verifies against the roots a client can compute from the bulletin.
  ballot::BulletinTree tree;
  const json all = *svc->Bulletin(id, 0, 100);
  for (const json& c : all["commitments"]) tree.Append(*ballot::ParseHash(c.get<std::string>()));
  for (int64_t a = 1; a <= 10; ++a) {
    for (int64_t b = a; b <= 10; ++b) {
      auto c = svc->ConsistencyProof(id, a, b);
      ASSERT_TRUE(c.ok());
      EXPECT_TRUE(ballot::VerifyConsistency(static_cast<uint64_t>(a), static_cast<uint64_t>(b),
                                            *tree.Root(static_cast<uint64_t>(a)), *tree.Root(static_cast<uint64_t>(b)),
                                            Hashes((*c)["proof"])).ok());
    }
  }
  EXPECT_EQ(svc->InclusionProof(id, "no-such-vote").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(svc->Progress("00000000-0000-4000-8000-000000000000").status().code(), StatusCode::kNotFound);
}

TEST_P(ElectionServiceTest, ASignerFailureAppendsNothingAndTheNextVoteContinues) {
  auto flaky = std::make_shared<FlakyLogKey>(TestLogKey());
  ElectionOptions o;
  o.bot_count = 5;
  o.shared_election = true;
  auto svc = Service(o, flaky);
  auto a = svc->CreateSession(kT0);
  auto b = svc->CreateSession(kT0);
  ASSERT_TRUE(a.ok() && b.ok());
  const Ballot ba = MakeBallot(a->election.id, 0, rng_);
  flaky->fail = true;
  EXPECT_EQ(svc->CastVote(Auth(*svc, *a), Input(ba, 0), kT0).status().code(), StatusCode::kUnavailable);
  flaky->fail = false;
  EXPECT_EQ((*svc->Progress(a->election.id))["votesCast"], 0);
  auto ra = svc->CastVote(Auth(*svc, *a), Input(ba, 0), kT0);  // the same ballot: not a duplicate
  ASSERT_TRUE(ra.ok()) << ra.status().ToString();
  EXPECT_EQ(ra->index, 0u);
  flaky->fail = true;
  EXPECT_FALSE(svc->CastVote(Auth(*svc, *b), Input(MakeBallot(a->election.id, 1, rng_), 1), kT0).ok());
  flaky->fail = false;
  auto rb = svc->CastVote(Auth(*svc, *b), Input(MakeBallot(a->election.id, 1, rng_), 1), kT0);
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  EXPECT_EQ(rb->index, 6u);
  auto proof = svc->InclusionProof(a->election.id, rb->vote_id);
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(ballot::VerifyCommitmentInclusion(rb->commitment, 6, 7, Hashes((*proof)["path"]), rb->sth.sth.root).ok());
}

TEST_P(ElectionServiceTest, ARestartedServiceRebuildsTheTreeFromTheStore) {
  ElectionOptions o;
  o.bot_count = 30;
  o.shared_election = true;
  auto first = Service(o);
  auto a = first->CreateSession(kT0);
  auto b = first->CreateSession(kT0);
  ASSERT_TRUE(a.ok() && b.ok());
  auto ra = first->CastVote(Auth(*first, *a), Input(MakeBallot(a->election.id, 2, rng_), 2), kT0);
  ASSERT_TRUE(ra.ok());
  first.reset();

  std::unique_ptr<store::Db> db2 = OpenSecond();
  ASSERT_NE(db2, nullptr);
  auto second = Service(o, nullptr, db2.get());
  auto proof = second->InclusionProof(a->election.id, ra->vote_id);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  EXPECT_TRUE(ballot::VerifyCommitmentInclusion(ra->commitment, 0, 31, Hashes((*proof)["path"]), ra->sth.sth.root).ok());
  auto rb = second->CastVote(Auth(*second, *b), Input(MakeBallot(a->election.id, 2, rng_), 2), kT0 + 1);
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  EXPECT_EQ(rb->index, 31u);
  EXPECT_EQ(rb->sth.sth.tree_size, 32u);
}

// Two gateways (two Db objects, two services, each with its own tree cache) on one database,
// several threads each, all voting in one shared election: every vote lands exactly once,
// the leaves have no gaps, every head is signed and consistent with the final tree.
TEST_P(ElectionServiceTest, TwoGatewaysAppendToOneElectionWithoutGaps) {
  ElectionOptions o;
  o.bot_count = 7;
  o.shared_election = true;
  std::unique_ptr<store::Db> db2 = OpenSecond();
  ASSERT_NE(db2, nullptr);
  auto g1 = Service(o);
  auto g2 = Service(o, nullptr, db2.get());
  constexpr int kThreads = 3, kVotesPerThread = 4;
  std::vector<Receipt> receipts;
  std::mutex mu;
  std::atomic<int> failures{0};
  std::string election_id;
  {
    auto first = g1->CreateSession(kT0);
    ASSERT_TRUE(first.ok());
    election_id = first->election.id;
  }
  std::vector<std::thread> threads;
  const uint64_t seed = rng_();
  for (int g = 0; g < 2; ++g) {
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, g, t] {
        ElectionService& svc = g == 0 ? *g1 : *g2;
        std::mt19937_64 local(seed + static_cast<uint64_t>(g * 100 + t));
        for (int v = 0; v < kVotesPerThread; ++v) {
          auto s = svc.CreateSession(kT0);
          if (!s.ok()) { ++failures; continue; }
          auto ctx = svc.Authenticate(s->session.id, s->capability, kT0);
          if (!ctx.ok()) { ++failures; continue; }
          const uint32_t choice = static_cast<uint32_t>(local() % 5);
          auto r = svc.CastVote(*ctx, Input(MakeBallot(s->election.id, choice, local), choice), kT0 + v);
          if (!r.ok()) {
            ADD_FAILURE() << r.status().ToString();
            ++failures;
            continue;
          }
          std::lock_guard<std::mutex> lock(mu);
          receipts.push_back(*r);
        }
      });
    }
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  const size_t votes = receipts.size();
  ASSERT_EQ(votes, static_cast<size_t>(2 * kThreads * kVotesPerThread));

  auto leaves = g1->Leaves(election_id);
  ASSERT_TRUE(leaves.ok()) << leaves.status().ToString();
  ASSERT_EQ(leaves->size(), votes + 7);
  ballot::BulletinTree tree;
  for (const LeafRecord& l : *leaves) tree.Append(l.commitment);
  auto head = g2->LatestSth(election_id);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->sth.tree_size, votes + 7);
  EXPECT_EQ(head->sth.root, tree.Root());
  std::set<uint64_t> indices;
  for (const Receipt& r : receipts) {
    EXPECT_TRUE(indices.insert(r.index).second) << "index " << r.index << " given twice";
    EXPECT_EQ((*leaves)[r.index].vote_id, r.vote_id);
    EXPECT_FALSE((*leaves)[r.index].is_bot);
    EXPECT_TRUE(VerifySth(r.sth, g1->log_public_key()).ok());
    EXPECT_EQ(r.sth.sth.root, *tree.Root(r.sth.sth.tree_size));
    EXPECT_EQ(r.root_at_cast, *tree.Root(r.tree_size_at_cast));
    auto proof = (r.index % 2 == 0 ? g1 : g2)->InclusionProof(election_id, r.vote_id);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_TRUE(ballot::VerifyCommitmentInclusion(r.commitment, r.index, head->sth.tree_size, Hashes((*proof)["path"]),
                                                  head->sth.root).ok());
  }
  EXPECT_EQ((*g2->Progress(election_id))["expected"], static_cast<int64_t>(votes + 1 + 7));  // +1: the idle first session
}

TEST(ElectionOptions, Validation) {
  EXPECT_TRUE(ValidateElectionOptions({}).ok());
  ElectionOptions o;
  o.choices = {};
  EXPECT_FALSE(ValidateElectionOptions(o).ok());
  o.choices = {"A", "A"};
  EXPECT_FALSE(ValidateElectionOptions(o).ok());
  o.choices = {"A"};
  EXPECT_FALSE(ValidateElectionOptions(o).ok());
  o.choices = {"A", std::string(33, 'x')};
  EXPECT_FALSE(ValidateElectionOptions(o).ok());
  o.choices = {"A", ""};
  EXPECT_FALSE(ValidateElectionOptions(o).ok());
  o.choices = {"A", "B\n"};
  EXPECT_FALSE(ValidateElectionOptions(o).ok());
  o.choices = std::vector<std::string>(17, "x");
  for (size_t i = 0; i < o.choices.size(); ++i) o.choices[i] += std::to_string(i);
  EXPECT_FALSE(ValidateElectionOptions(o).ok());
  o = {};
  o.bot_count = -1;
  EXPECT_FALSE(ValidateElectionOptions(o).ok());
  o.bot_count = (int64_t{1} << 24) + 1;
  EXPECT_FALSE(ValidateElectionOptions(o).ok());
  o = {};
  o.session_ttl_ms = 0;
  EXPECT_FALSE(ValidateElectionOptions(o).ok());
}

VP_STORE_INSTANTIATE(ElectionServiceTest);

}  // namespace
}  // namespace vp::election
