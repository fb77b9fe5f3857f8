// The ballot API through the real `vaultproof serve` (docs/api.md, "Ballot API"): a session,
// a vote and its receipt checked the way a voter checks it (the commitment recomputes, the
// inclusion proof against the signed head, the head's signature with the published key, the
// consistency proof from the receipt's tree to a later one), with custody on so the heads
// are signed inside the signer; every error code with the misuse that triggers it; session
// expiry and the sweep job; Turnstile against a local siteverify server; the per-IP limits
// at their defaults; and two gateways on one PostgreSQL appending to one election.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gateway_test_util.h"
#include "vp/ballot/bulletin.h"
#include "vp/ballot/bundle.h"
#include "vp/ballot/commitment.h"
#include "vp/ballot/sth.h"
#include "vp/base/test_util.h"
#include "vp/crypto/ed25519.h"
#include "vp/election/election.h"
#include "vp/election/fake_siteverify.h"
#include "vp/store/db.h"

namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using namespace vp::gateway_test;
namespace ballot = vp::ballot;

struct Voter {
  std::string sid;
  std::string eid;
  std::string token;
  std::string config_hash;
  std::string log_id;
};

HttpResponse Api(uint16_t port, const std::string& method, const std::string& target, const std::string& body = "",
                 const Voter* v = nullptr, const std::string& extra_headers = "") {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (v != nullptr) req += "X-Session-ID: " + v->sid + "\r\nX-Session-Capability: " + v->token + "\r\n";
  req += extra_headers;
  if (method == "POST") req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "Connection: close\r\n\r\n" + body;
  return RawExchange(port, req);
}

// POST /api/session; an empty Voter (and a test failure) when it is not 201.
Voter NewSession(uint16_t port, const std::string& body = "{}") {
  HttpResponse r = Api(port, "POST", "/api/session", body);
  EXPECT_EQ(r.status, 201) << r.body;
  const json j = r.Json();
  if (r.status != 201 || !j.is_object() || !j.contains("data")) return {};
  const json& d = j["data"];
  return {d["sessionId"], d["electionId"], d["capabilityToken"], d["electionConfigHash"], d["logId"]};
}

struct Ballot {
  uint32_t choice = 0;
  std::string rand;
  std::string commitment;
};

Ballot MakeBallot(const std::string& election_id, uint32_t choice, std::mt19937_64& rng) {
  ballot::VoteRandom r{};
  for (auto& b : r) b = static_cast<uint8_t>(rng());
  auto eid = ballot::ParseElectionId(election_id);
  EXPECT_TRUE(eid.ok()) << election_id;
  return {choice, ballot::FormatVoteRandom(r),
          eid.ok() ? ballot::FormatHash(ballot::ComputeCommitment(*eid, choice, r)) : std::string()};
}

std::string VoteBody(const Ballot& b, json vote = nullptr) {
  return json{{"commitment", b.commitment}, {"vote", vote.is_null() ? json(b.choice) : vote}, {"rand", b.rand}}.dump();
}

std::vector<ballot::HashOut> Hashes(const json& list) {
  std::vector<std::string> text;
  for (const json& h : list) text.push_back(h.get<std::string>());
  auto parsed = ballot::ParseHashList(text);
  EXPECT_TRUE(parsed.ok()) << list.dump();
  return parsed.ok() ? *parsed : std::vector<ballot::HashOut>{};
}

ballot::SignedSth ParseSth(const json& j) {
  ballot::SignedSth out;
  auto sth = ballot::SthFromFields(j["logId"].get<std::string>(), j["treeSize"].get<uint64_t>(),
                                   j["timestamp"].get<uint64_t>(), j["root"].get<std::string>());
  EXPECT_TRUE(sth.ok()) << j.dump();
  if (sth.ok()) out.sth = *sth;
  auto sig = ballot::ParseSthSignature(j["signature"].get<std::string>());
  EXPECT_TRUE(sig.ok());
  if (sig.ok()) out.signature = *sig;
  return out;
}

vp::Status VerifySthWith(const ballot::SignedSth& sth, const std::string& public_key_hex) {
  auto pub = vp::HexDecode(public_key_hex, vp::HexPrefix::kForbidden);
  if (!pub.ok() || pub->size() != 32) return vp::InvalidArgumentError("bad public key");
  return ballot::VerifySthSignature(sth, [&](vp::ByteSpan m, vp::ByteSpan s) { return vp::crypto::Ed25519Verify(*pub, m, s); });
}

// The gateway's store, opened beside it (what an operator's tool would do), and a service
// over it for the finalization hook (its keys are irrelevant to MarkFinalized).
std::unique_ptr<vp::store::Db> OpenStore(const Server& s) {
  auto db = vp::store::OpenDb(s.dir() + "/vaultproof.db");
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(*db) : nullptr;
}
vp::Status MarkFinalized(vp::store::Db& db, const std::string& election_id) {
  auto keys = vp::election::ElectionKeys::Derive(vp::Bytes(32, 1));
  auto key = vp::election::SeedLogKey(vp::Bytes(32, 2));
  vp::election::ElectionService svc(db, std::move(*keys), *key, {});
  return svc.MarkFinalized(election_id, std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch()).count());
}

// The platform's error envelope with this status and code.
void ExpectError(const HttpResponse& r, int status, const std::string& code) {
  ASSERT_TRUE(r.ok) << "no complete response";
  EXPECT_EQ(r.status, status) << r.body;
  const json j = r.Json();
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j.contains("error") ? j["error"].dump() : "", json(code).dump()) << r.body;
  EXPECT_EQ(j.contains("statusCode") ? j["statusCode"].dump() : "", std::to_string(status));
  EXPECT_TRUE(j.contains("message"));
  EXPECT_FALSE(r.Header("x-request-id").empty());
  EXPECT_EQ(j.contains("requestId") ? j["requestId"].dump() : "", json(r.Header("x-request-id")).dump());
}

// One gateway with custody (the log key in the signer) and limits out of the way.
class BallotApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new Server(R"(
[rate_limits]
per_ip_limit = 100000
[ballot]
vote_limit_per_ip = 100000
session_limit_per_ip = 100000
)");
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->Stop(), 0);
    delete server_;
    server_ = nullptr;
  }
  uint16_t port() const { return server_->port(); }
  std::mt19937_64 rng_{vp::testing::TestSeed()};
  static Server* server_;
};
Server* BallotApi::server_ = nullptr;

TEST_F(BallotApi, SessionVoteAndAReceiptThatVerifies) {
  ASSERT_NE(port(), 0);
  const Voter v = NewSession(port());
  ASSERT_FALSE(v.sid.empty());
  EXPECT_TRUE(ballot::ParseElectionId(v.sid).ok());
  EXPECT_TRUE(ballot::ParseElectionId(v.eid).ok());
  EXPECT_EQ(v.token.rfind("v1.", 0), 0u);

  const Ballot b = MakeBallot(v.eid, 3, rng_);
  HttpResponse cast = Api(port(), "POST", "/api/vote", VoteBody(b, "D"), &v);
  ASSERT_EQ(cast.status, 201) << cast.body;
  const json receipt = cast.Json()["data"];

  // Cast as intended: the receipt holds the commitment the voter computed.
  EXPECT_EQ(receipt["commitment"], b.commitment);
  EXPECT_EQ(receipt["bulletinIndex"], 0);
  EXPECT_EQ(receipt["treeSizeAtCast"], 64);  // the head signed with the vote and the bots'
  const ballot::HashOut commitment = *ballot::ParseHash(b.commitment);
  const ballot::HashOut root_at_cast = ballot::LeafHash(commitment);  // the tree of the first leaf
  EXPECT_EQ(*ballot::ParseHash(receipt["bulletinRootAtCast"].get<std::string>()),
            ParseSth(receipt["sth"]).sth.root);

  // The published key verifies the receipt's head; it names this election's log.
  HttpResponse sth_r = Api(port(), "GET", "/api/sth", "", &v);
  ASSERT_EQ(sth_r.status, 200) << sth_r.body;
  const json sth_view = sth_r.Json()["data"];
  const std::string pub = sth_view["logPublicKey"];
  const ballot::SignedSth head = ParseSth(receipt["sth"]);
  EXPECT_EQ(head.sth.tree_size, 64u);
  EXPECT_EQ(ballot::FormatLogId(head.sth.log_id), v.log_id);
  EXPECT_TRUE(VerifySthWith(head, pub).ok());
  EXPECT_EQ(ParseSth(sth_view["sth"]).sth, head.sth);
  auto pub_bytes = vp::HexDecodeFixed<32>(pub, vp::HexPrefix::kForbidden);
  ASSERT_TRUE(pub_bytes.ok());
  EXPECT_EQ(ballot::FormatLogId(vp::election::ElectionLogId(*pub_bytes, *ballot::ParseElectionId(v.eid))), v.log_id);
  // A head with a flipped bit does not verify.
  ballot::SignedSth forged = head;
  forged.sth.tree_size = 63;
  EXPECT_FALSE(VerifySthWith(forged, pub).ok());

  // Recorded as cast: inclusion against the signed head.
  HttpResponse proof = Api(port(), "GET", "/api/bulletin/" + receipt["voteId"].get<std::string>() + "/proof", "", &v);
  ASSERT_EQ(proof.status, 200) << proof.body;
  const json p = proof.Json()["data"];
  EXPECT_EQ(p["leafIndex"], 0);
  EXPECT_EQ(p["treeSize"], 64);
  EXPECT_TRUE(ballot::VerifyCommitmentInclusion(commitment, 0, 64, Hashes(p["path"]), head.sth.root).ok());
  // The tree at cast is a prefix of the signed head.
  HttpResponse cons = Api(port(), "GET", "/api/bulletin/consistency-proof?oldSize=1&newSize=64", "", &v);
  ASSERT_EQ(cons.status, 200) << cons.body;
  EXPECT_TRUE(ballot::VerifyConsistency(1, 64, root_at_cast, head.sth.root, Hashes(cons.Json()["data"]["proof"])).ok());

  // The bulletin rebuilds to the signed root; progress counts the bots.
  ballot::BulletinTree tree;
  for (int64_t offset = 0; offset < 64; offset += 25) {
    HttpResponse page = Api(port(), "GET", "/api/bulletin?offset=" + std::to_string(offset) + "&limit=25", "", &v);
    ASSERT_EQ(page.status, 200) << page.body;
    const json d = page.Json()["data"];
    for (const json& c : d["commitments"]) tree.Append(*ballot::ParseHash(c.get<std::string>()));
  }
  EXPECT_EQ(tree.size(), 64u);
  EXPECT_EQ(tree.Root(), head.sth.root);
  HttpResponse progress = Api(port(), "GET", "/api/progress", "", &v);
  ASSERT_EQ(progress.status, 200) << progress.body;
  EXPECT_EQ(progress.Json()["data"]["votesCast"], 64);
  EXPECT_EQ(progress.Json()["data"]["expected"], 64);
  EXPECT_EQ(progress.Json()["data"]["state"], "open");
}

// With custody the log key is a signer-held service key: its blob is in custody_keys, no key
// file is written, and it is not the audit digest key.
TEST_F(BallotApi, TheLogKeyIsHeldByTheSigner) {
  const Voter v = NewSession(port());
  HttpResponse sth_r = Api(port(), "GET", "/api/sth", "", &v);
  ASSERT_EQ(sth_r.status, 200) << sth_r.body;
  const std::string pub = sth_r.Json()["data"]["logPublicKey"];
  EXPECT_TRUE(VerifySthWith(ParseSth(sth_r.Json()["data"]["sth"]), pub).ok());
  auto db = OpenStore(*server_);
  ASSERT_NE(db, nullptr);
  int64_t rows = 0;
  ASSERT_TRUE(db->WithConn([&](vp::store::Conn& c) -> vp::Status {
    auto r = c.Query("SELECT COUNT(*) FROM custody_keys WHERE key_id = 'system:ballot-log'");
    if (!r.ok()) return r.status();
    rows = r->Int(0, 0);
    return vp::OkStatus();
  }).ok());
  EXPECT_EQ(rows, 1);
  std::ifstream audit_pub(server_->dir() + "/audit-signing.pub");
  std::string audit_key;
  std::getline(audit_pub, audit_key);
  EXPECT_EQ(audit_key.size(), 64u);
  EXPECT_NE(audit_key, pub);
  for (const auto& entry : std::filesystem::directory_iterator(server_->dir())) {
    EXPECT_EQ(entry.path().filename().string().find("ballot"), std::string::npos) << entry.path();
  }
}

TEST_F(BallotApi, EveryRefusalWithItsMisuse) {
  const Voter v = NewSession(port());
  const Voter other = NewSession(port());
  ASSERT_FALSE(v.sid.empty() || other.sid.empty());
  const Ballot b = MakeBallot(v.eid, 1, rng_);

  // INVALID_CAPABILITY (401): no session headers, a tampered token, another session's token,
  // a malformed session id.
  ExpectError(Api(port(), "POST", "/api/vote", VoteBody(b)), 401, "INVALID_CAPABILITY");
  ExpectError(Api(port(), "GET", "/api/progress"), 401, "INVALID_CAPABILITY");
  Voter tampered = v;
  tampered.token[tampered.token.size() - 1] = tampered.token.back() == '0' ? '1' : '0';
  ExpectError(Api(port(), "POST", "/api/vote", VoteBody(b), &tampered), 401, "INVALID_CAPABILITY");
  Voter payload_swapped = v;
  payload_swapped.token = "v1." + other.token.substr(3, other.token.rfind('.') - 3) + v.token.substr(v.token.rfind('.'));
  ExpectError(Api(port(), "GET", "/api/sth", "", &payload_swapped), 401, "INVALID_CAPABILITY");
  Voter crossed = v;
  crossed.token = other.token;
  ExpectError(Api(port(), "GET", "/api/sth", "", &crossed), 401, "INVALID_CAPABILITY");
  Voter bad_id = v;
  bad_id.sid = "not-a-session";
  ExpectError(Api(port(), "GET", "/api/progress", "", &bad_id), 401, "INVALID_CAPABILITY");

  // INVALID_ARGUMENT (400): malformed JSON, a missing field, an unknown field, a bad rand.
  ExpectError(Api(port(), "POST", "/api/vote", "{\"commitment\":", &v), 400, "INVALID_ARGUMENT");
  ExpectError(Api(port(), "POST", "/api/vote", json{{"commitment", b.commitment}, {"vote", 1}}.dump(), &v), 400,
              "INVALID_ARGUMENT");
  ExpectError(Api(port(), "POST", "/api/vote", json{{"commitment", b.commitment}, {"vote", 1}, {"rand", b.rand},
                                                    {"extra", 1}}.dump(), &v),
              400, "INVALID_ARGUMENT");
  ExpectError(Api(port(), "POST", "/api/vote", json{{"commitment", b.commitment}, {"vote", 1}, {"rand", "00"}}.dump(), &v),
              400, "INVALID_ARGUMENT");
  ExpectError(Api(port(), "POST", "/api/session", "{\"x\":1}"), 400, "INVALID_ARGUMENT");
  // INVALID_VOTE_CHOICE (400): an index out of range, an unknown label.
  ExpectError(Api(port(), "POST", "/api/vote", VoteBody(b, 5), &v), 400, "INVALID_VOTE_CHOICE");
  ExpectError(Api(port(), "POST", "/api/vote", VoteBody(b, "Z"), &v), 400, "INVALID_VOTE_CHOICE");
  // INVALID_COMMITMENT (400): a commitment that opens to another choice; not canonical text.
  ExpectError(Api(port(), "POST", "/api/vote", VoteBody(b, 2), &v), 400, "INVALID_COMMITMENT");
  Ballot upper = b;
  for (char& c : upper.commitment) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ExpectError(Api(port(), "POST", "/api/vote", VoteBody(upper), &v), 400, "INVALID_COMMITMENT");
  // 413: a body over the 16 KiB limit of /api (under the server's 64 KiB).
  ExpectError(Api(port(), "POST", "/api/vote", "{\"pad\":\"" + std::string(17 * 1024, 'a') + "\"}", &v), 413,
              "PAYLOAD_TOO_LARGE");

  // The vote, then ALREADY_VOTED (409).
  HttpResponse ok = Api(port(), "POST", "/api/vote", VoteBody(b), &v);
  ASSERT_EQ(ok.status, 201) << ok.body;
  ExpectError(Api(port(), "POST", "/api/vote", VoteBody(MakeBallot(v.eid, 0, rng_)), &v), 409, "ALREADY_VOTED");

  // Reads: an unknown vote is 404; consistency sizes are checked.
  ExpectError(Api(port(), "GET", "/api/bulletin/00000000-0000-4000-8000-000000000000/proof", "", &v), 404, "NOT_FOUND");
  const std::string vote_id = ok.Json()["data"]["voteId"];
  ExpectError(Api(port(), "GET", "/api/bulletin/" + vote_id + "/proof", "", &other), 404, "NOT_FOUND");  // another election
  ExpectError(Api(port(), "GET", "/api/bulletin/consistency-proof?oldSize=1", "", &v), 400, "INVALID_ARGUMENT");
  ExpectError(Api(port(), "GET", "/api/bulletin/consistency-proof?oldSize=1&newSize=65", "", &v), 400, "INVALID_ARGUMENT");
  ExpectError(Api(port(), "GET", "/api/bulletin/consistency-proof?oldSize=0&newSize=64", "", &v), 400, "INVALID_ARGUMENT");
  ExpectError(Api(port(), "GET", "/api/bulletin/consistency-proof?oldSize=-1&newSize=64", "", &v), 400, "INVALID_ARGUMENT");
  ExpectError(Api(port(), "GET", "/api/bulletin?limit=1001", "", &v), 400, "INVALID_ARGUMENT");
  ExpectError(Api(port(), "DELETE", "/api/vote", "", &v), 405, "METHOD_NOT_ALLOWED");

  // SESSION_FINALIZED (409): the other session's election is closed (the finalization hook).
  auto db = OpenStore(*server_);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(MarkFinalized(*db, other.eid).ok());
  ExpectError(Api(port(), "POST", "/api/vote", VoteBody(MakeBallot(other.eid, 0, rng_)), &other), 409,
              "SESSION_FINALIZED");
  HttpResponse progress = Api(port(), "GET", "/api/progress", "", &other);
  ASSERT_EQ(progress.status, 200);
  EXPECT_EQ(progress.Json()["data"]["state"], "finalized");

  // No input of these produced a 500.
  HttpResponse m = RawExchange(port(), Get("/metrics"));
  EXPECT_EQ(m.body.find("status=\"500\""), std::string::npos) << "a ballot request produced a 500";
}

TEST_F(BallotApi, CorsPreflightAllowsTheSessionHeaders) {
  // The gateway has no [cors] origins here: the preflight is refused, but the header list is
  // what an allowed origin gets (checked through a server that allows one).
  Server s("[custody]\nenabled = false\n[cors]\norigins = [\"https://vote.example\"]\n");
  HttpResponse r = RawExchange(s.port(), "OPTIONS /api/vote HTTP/1.1\r\nHost: x\r\nOrigin: https://vote.example\r\n"
                                         "Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_NE(r.Header("access-control-allow-headers").find("X-Session-Capability"), std::string::npos);
  EXPECT_NE(r.Header("access-control-allow-headers").find("X-Session-ID"), std::string::npos);
}

// DUPLICATE_VOTE needs two sessions in one election: the shared-election mode.
TEST(BallotShared, DuplicateCommitmentIsRefused) {
  Server s("[custody]\nenabled = false\n[ballot]\nshared_election = true\nbot_count = 3\n");
  std::mt19937_64 rng(vp::testing::TestSeed());
  const Voter a = NewSession(s.port());
  const Voter b = NewSession(s.port());
  ASSERT_FALSE(a.sid.empty() || b.sid.empty());
  ASSERT_EQ(a.eid, b.eid);
  const Ballot ballot = MakeBallot(a.eid, 0, rng);
  HttpResponse first = Api(s.port(), "POST", "/api/vote", VoteBody(ballot), &a);
  ASSERT_EQ(first.status, 201) << first.body;
  ExpectError(Api(s.port(), "POST", "/api/vote", VoteBody(ballot), &b), 409, "DUPLICATE_VOTE");
  HttpResponse second = Api(s.port(), "POST", "/api/vote", VoteBody(MakeBallot(a.eid, 0, rng)), &b);
  ASSERT_EQ(second.status, 201) << second.body;
  EXPECT_EQ(second.Json()["data"]["bulletinIndex"], 4);
  HttpResponse progress = Api(s.port(), "GET", "/api/progress", "", &b);
  EXPECT_EQ(progress.Json()["data"]["votesCast"], 5);
  EXPECT_EQ(progress.Json()["data"]["expected"], 5);
}

// A session past its TTL is 401 SESSION_EXPIRED; the sweep job then deletes its row.
TEST(BallotExpiry, ExpiredSessionsAreRefusedAndSwept) {
  Server s(R"(
[custody]
enabled = false
[rate_limits]
persist_interval_ms = 100
[ballot]
session_ttl_ms = 1000
sweep_interval_ms = 200
)");
  const Voter v = NewSession(s.port());
  ASSERT_FALSE(v.sid.empty());
  EXPECT_EQ(Api(s.port(), "GET", "/api/progress", "", &v).status, 200);
  std::this_thread::sleep_for(1200ms);
  ExpectError(Api(s.port(), "GET", "/api/progress", "", &v), 401, "SESSION_EXPIRED");
  std::mt19937_64 rng(1);
  ExpectError(Api(s.port(), "POST", "/api/vote", VoteBody(MakeBallot(v.eid, 0, rng)), &v), 401, "SESSION_EXPIRED");
  auto db = OpenStore(s);
  ASSERT_NE(db, nullptr);
  int64_t left = -1;
  for (int i = 0; i < 100 && left != 0; ++i) {
    ASSERT_TRUE(db->WithConn([&](vp::store::Conn& c) -> vp::Status {
      auto r = c.Query("SELECT COUNT(*) FROM ballot_sessions WHERE id = $1", {vp::store::Value(v.sid)});
      if (!r.ok()) return r.status();
      left = r->Int(0, 0);
      return vp::OkStatus();
    }).ok());
    if (left != 0) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(left, 0) << "the sweep job did not delete the expired session";
  ExpectError(Api(s.port(), "GET", "/api/progress", "", &v), 401, "SESSION_EXPIRED");
}

// Turnstile on: the gateway asks a local siteverify server with the configured secret and
// the client's IP; a refusal is 403 CAPTCHA_FAILED, a token for the wrong action too.
TEST(BallotTurnstile, SiteverifyDecides) {
  vp::election::testing::FakeSiteverify fake;
  ASSERT_TRUE(fake.listening());
  char tmpl[] = "/tmp/vp-turnstile-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  std::ofstream(dir + "/secret") << "0x4AAAAAAA-test-secret\n";
  Server s("[custody]\nenabled = false\n[ballot]\nturnstile = \"cloudflare\"\nturnstile_secret_file = \"" + dir +
           "/secret\"\nturnstile_url = \"" + fake.url() + "\"\nturnstile_hostnames = [\"vote.example\"]\n");
  ASSERT_NE(s.port(), 0);

  ExpectError(Api(s.port(), "POST", "/api/session", "{}"), 403, "CAPTCHA_FAILED");  // no token: no call
  EXPECT_EQ(fake.calls(), 0);
  fake.Answer(200, R"({"success":false,"error-codes":["invalid-input-response"]})");
  ExpectError(Api(s.port(), "POST", "/api/session", R"({"turnstileToken":"bad"})"), 403, "CAPTCHA_FAILED");
  fake.Answer(200, R"({"success":true,"hostname":"vote.example","action":"session"})");
  const Voter v = NewSession(s.port(), R"({"turnstileToken":"good"})");
  ASSERT_FALSE(v.sid.empty());
  const json seen = fake.requests().back();
  EXPECT_EQ(seen["secret"], "0x4AAAAAAA-test-secret");
  EXPECT_EQ(seen["response"], "good");
  EXPECT_EQ(seen["remoteip"], "127.0.0.1");

  std::mt19937_64 rng(2);
  const Ballot b = MakeBallot(v.eid, 0, rng);
  json body = json::parse(VoteBody(b));
  body["turnstileToken"] = "good";
  // The session's token spent on a vote: another action.
  ExpectError(Api(s.port(), "POST", "/api/vote", body.dump(), &v), 403, "CAPTCHA_FAILED");
  fake.Answer(200, R"({"success":true,"hostname":"evil.example","action":"vote"})");
  ExpectError(Api(s.port(), "POST", "/api/vote", body.dump(), &v), 403, "CAPTCHA_FAILED");
  fake.Answer(200, R"({"success":true,"hostname":"vote.example","action":"vote"})");
  HttpResponse ok = Api(s.port(), "POST", "/api/vote", body.dump(), &v);
  EXPECT_EQ(ok.status, 201) << ok.body;
  // siteverify down: fail closed, 503.
  fake.Answer(500, "{}");
  ExpectError(Api(s.port(), "POST", "/api/session", R"({"turnstileToken":"good"})"), 503, "UNAVAILABLE");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// The defaults: 30 sessions and 10 votes a minute per IP; then 429 with Retry-After.
TEST(BallotLimits, PerIpLimitsAtTheirDefaults) {
  Server s("[custody]\nenabled = false\n[ballot]\nbot_count = 1\n");
  std::vector<Voter> voters;
  for (int i = 0; i < 30; ++i) {
    voters.push_back(NewSession(s.port()));
    ASSERT_FALSE(voters.back().sid.empty()) << i;
  }
  HttpResponse refused = Api(s.port(), "POST", "/api/session", "{}");
  ExpectError(refused, 429, "RESOURCE_EXHAUSTED");
  EXPECT_GE(std::atoi(refused.Header("retry-after").c_str()), 1);
  std::mt19937_64 rng(3);
  for (int i = 0; i < 10; ++i) {
    HttpResponse r = Api(s.port(), "POST", "/api/vote", VoteBody(MakeBallot(voters[static_cast<size_t>(i)].eid, 1, rng)),
                         &voters[static_cast<size_t>(i)]);
    EXPECT_EQ(r.status, 201) << i << " " << r.body;
  }
  ExpectError(Api(s.port(), "POST", "/api/vote", VoteBody(MakeBallot(voters[10].eid, 1, rng)), &voters[10]), 429,
              "RESOURCE_EXHAUSTED");
  // Reads are not limited by the vote bucket.
  EXPECT_EQ(Api(s.port(), "GET", "/api/progress", "", &voters[10]).status, 200);
}

// Two gateways on one PostgreSQL (sharing the pepper, so the same capability and log keys)
// serve one shared election; votes reach both at once and land without gaps.
TEST(BallotShared, TwoGatewaysAppendToOneElectionWithoutGaps) {
  const char* url = std::getenv("VP_TEST_PG_URL");
  if (url == nullptr) GTEST_SKIP() << "no PostgreSQL (run under tests/pg/with_postgres.sh)";
  const std::string toml = std::string(R"(
[custody]
enabled = false
[ballot]
shared_election = true
bot_count = 5
vote_limit_per_ip = 0
session_limit_per_ip = 0
[store]
url = ")") + url + "\"\n";
  Server a(toml);
  Server b(toml, a.dir());
  ASSERT_NE(a.port(), 0);
  ASSERT_NE(b.port(), 0);
  constexpr int kThreads = 4, kVotes = 5;
  std::mutex mu;
  std::vector<json> receipts;
  std::vector<Voter> sessions;
  std::vector<std::thread> threads;
  const uint64_t seed = vp::testing::TestSeed();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed + static_cast<uint64_t>(t));
      for (int i = 0; i < kVotes; ++i) {
        // The session on one gateway, the vote on the other.
        const uint16_t in = (t + i) % 2 == 0 ? a.port() : b.port();
        const uint16_t out = in == a.port() ? b.port() : a.port();
        const Voter v = NewSession(in);
        if (v.sid.empty()) continue;
        HttpResponse r = Api(out, "POST", "/api/vote", VoteBody(MakeBallot(v.eid, static_cast<uint32_t>(rng() % 5), rng)), &v);
        EXPECT_EQ(r.status, 201) << r.body;
        if (r.status != 201) continue;
        std::lock_guard<std::mutex> lock(mu);
        receipts.push_back(r.Json()["data"]);
        sessions.push_back(v);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(receipts.size(), static_cast<size_t>(kThreads * kVotes));
  const Voter& v = sessions.front();
  HttpResponse sth_r = Api(b.port(), "GET", "/api/sth", "", &v);
  ASSERT_EQ(sth_r.status, 200) << sth_r.body;
  const std::string pub = sth_r.Json()["data"]["logPublicKey"];
  EXPECT_EQ(Api(a.port(), "GET", "/api/sth", "", &v).Json()["data"]["logPublicKey"], pub);
  const ballot::SignedSth head = ParseSth(sth_r.Json()["data"]["sth"]);
  EXPECT_EQ(head.sth.tree_size, static_cast<uint64_t>(kThreads * kVotes + 5));
  EXPECT_TRUE(VerifySthWith(head, pub).ok());

  HttpResponse page = Api(a.port(), "GET", "/api/bulletin?limit=1000", "", &v);
  ASSERT_EQ(page.status, 200);
  ballot::BulletinTree tree;
  const json commitments = page.Json()["data"]["commitments"];
  for (const json& c : commitments) tree.Append(*ballot::ParseHash(c.get<std::string>()));
  EXPECT_EQ(tree.size(), head.sth.tree_size);
  EXPECT_EQ(tree.Root(), head.sth.root);
  std::set<int64_t> indices;
  for (const json& r : receipts) {
    const int64_t index = r["bulletinIndex"];
    EXPECT_TRUE(indices.insert(index).second) << "index " << index << " given twice";
    const ballot::SignedSth at = ParseSth(r["sth"]);
    EXPECT_TRUE(VerifySthWith(at, pub).ok());
    EXPECT_EQ(at.sth.root, *tree.Root(at.sth.tree_size));
    EXPECT_EQ(*ballot::ParseHash(r["bulletinRootAtCast"].get<std::string>()), at.sth.root);
    EXPECT_EQ(r["treeSizeAtCast"], static_cast<int64_t>(at.sth.tree_size));
    EXPECT_LT(index, r["treeSizeAtCast"].get<int64_t>());
  }
}

}  // namespace

namespace {

// POST /api/finalize (async by default), then the status route until the execution is done.
json FinalizeAndWait(uint16_t port, const Voter& v, const std::string& scenario) {
  HttpResponse start = Api(port, "POST", "/api/finalize", json{{"scenarioId", scenario}}.dump(), &v);
  EXPECT_EQ(start.status, 202) << start.body;
  const json s = start.Json()["data"];
  EXPECT_EQ(s["statusUrl"], "/api/sessions/" + v.sid + "/status");
  EXPECT_TRUE(s["state"] == "queued" || s["state"] == "running" || s["state"] == "succeeded") << s.dump();
  for (int i = 0; i < 600; ++i) {
    HttpResponse st = Api(port, "GET", "/api/sessions/" + v.sid + "/status", "", &v);
    EXPECT_EQ(st.status, 200) << st.body;
    const json d = st.Json()["data"];
    if (d["state"] != "queued" && d["state"] != "running") return d;
    std::this_thread::sleep_for(100ms);
  }
  ADD_FAILURE() << "finalization did not finish";
  return {};
}

std::vector<std::string> FailedChecks(const json& report) {
  std::vector<std::string> out;
  for (const auto& c : report["checks"]) {
    if (c["status"] == "fail") out.push_back(c["id"].get<std::string>());
  }
  return out;
}

}  // namespace

// The whole flow of a voter: vote, finalize (the job proves through the prover image the
// gateway signed with its dev release key), verify, download the bundle; a cheating
// scenario is caught by the checks it breaks; refusals have their codes.
TEST_F(BallotApi, FinalizeVerifyAndDownloadTheBundle) {
  ASSERT_NE(port(), 0);
  const Voter v = NewSession(port());
  ExpectError(Api(port(), "POST", "/api/finalize", R"({"scenarioId":"S0"})", &v), 409, "NOT_VOTED");
  const Ballot b = MakeBallot(v.eid, 1, rng_);
  ASSERT_EQ(Api(port(), "POST", "/api/vote", VoteBody(b), &v).status, 201);
  ExpectError(Api(port(), "GET", "/api/verify", "", &v), 409, "NOT_FINALIZED");
  ExpectError(Api(port(), "POST", "/api/finalize/cancel", "{}", &v), 409, "NOT_FINALIZED");
  ExpectError(Api(port(), "POST", "/api/finalize", R"({"scenarioId":"S7"})", &v), 400, "INVALID_SCENARIO");
  ExpectError(Api(port(), "POST", "/api/finalize", R"({"scenario":"S0"})", &v), 400, "INVALID_ARGUMENT");
  ExpectError(Api(port(), "POST", "/api/finalize", R"({"scenarioId":"S0"})"), 401, "INVALID_CAPABILITY");

  const json done = FinalizeAndWait(port(), v, "S0");
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["result"]["treeSize"], 64);
  EXPECT_EQ(done["result"]["counted"], 64);
  EXPECT_EQ(done["result"]["signedProverImage"], true);
  ExpectError(Api(port(), "POST", "/api/finalize", R"({"scenarioId":"S0"})", &v), 409, "SESSION_FINALIZED");
  ExpectError(Api(port(), "POST", "/api/vote", VoteBody(MakeBallot(v.eid, 0, rng_)), &v), 409, "SESSION_FINALIZED");

  HttpResponse verify = Api(port(), "GET", "/api/verify", "", &v);
  ASSERT_EQ(verify.status, 200) << verify.body;
  const json report = verify.Json()["data"];
  EXPECT_TRUE(report["valid"].get<bool>()) << report.dump();
  EXPECT_EQ(report["checks"].size(), 15u);
  HttpResponse run1 = Api(port(), "POST", "/api/verification/run", "{}", &v);
  HttpResponse run2 = Api(port(), "POST", "/api/verification/run", "{}", &v);
  ASSERT_EQ(run1.status, 200) << run1.body;
  EXPECT_EQ(run1.Json()["data"], run2.Json()["data"]);  // recorded once

  // The bundle downloads and verifies here, natively, with the receipt's checks skipped.
  const std::string url = done["result"]["bundleUrl"];
  HttpResponse zip = Api(port(), "GET", url);
  ASSERT_EQ(zip.status, 200);
  EXPECT_EQ(zip.Header("content-type"), "application/zip");
  const vp::Bytes bytes(zip.body.begin(), zip.body.end());
  EXPECT_TRUE(ballot::VerifyBundleZip(bytes, std::nullopt).valid);
  ExpectError(Api(port(), "GET", "/api/verification/bundles/" + v.sid + "/00000000-0000-4000-8000-000000000000"), 404,
              "NOT_FOUND");

  // S1 drops the voter's vote: the proof is valid, the voter's checks are not.
  const Voter w = NewSession(port());
  ASSERT_EQ(Api(port(), "POST", "/api/vote", VoteBody(MakeBallot(w.eid, 4, rng_)), &w).status, 201);
  ASSERT_EQ(FinalizeAndWait(port(), w, "S1")["state"], "succeeded");
  HttpResponse caught = Api(port(), "GET", "/api/verify", "", &w);
  ASSERT_EQ(caught.status, 200);
  EXPECT_FALSE(caught.Json()["data"]["valid"].get<bool>());
  EXPECT_EQ(FailedChecks(caught.Json()["data"]), (std::vector<std::string>{"noExcludedSlots", "myVoteCounted"}));
  // Another session cannot read this one's status.
  ExpectError(Api(port(), "GET", "/api/sessions/" + w.sid + "/status", "", &v), 403, "PERMISSION_DENIED");

  // Every other cheating scenario is caught by the check it breaks.
  const std::vector<std::pair<std::string, std::vector<std::string>>> frauds = {
      {"S2", {"claimedEqualsProven"}},
      {"S3", {"rootAtCastConsistent", "treeSizeMatches"}},
      {"S4", {"proofVerifies"}},
  };
  for (const auto& [scenario, expected] : frauds) {
    const Voter x = NewSession(port());
    ASSERT_EQ(Api(port(), "POST", "/api/vote", VoteBody(MakeBallot(x.eid, 2, rng_)), &x).status, 201);
    ASSERT_EQ(FinalizeAndWait(port(), x, scenario)["state"], "succeeded") << scenario;
    HttpResponse r = Api(port(), "GET", "/api/verify", "", &x);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(FailedChecks(r.Json()["data"]), expected) << scenario;
  }
  const Voter y = NewSession(port());
  ASSERT_EQ(Api(port(), "POST", "/api/vote", VoteBody(MakeBallot(y.eid, 2, rng_)), &y).status, 201);
  ASSERT_EQ(FinalizeAndWait(port(), y, "S5")["state"], "succeeded");
  EXPECT_FALSE(Api(port(), "GET", "/api/verify", "", &y).Json()["data"]["valid"].get<bool>());
}
