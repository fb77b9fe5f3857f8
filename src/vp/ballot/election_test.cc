// The election config and the bundle's JSON documents (docs/bundle_format.md): the pinned
// canonical text of a config, the hash the proof binds, round trips of every document, and
// the malformed documents each strict reader must refuse with its reason.
#include "vp/ballot/election.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "vp/ballot/bulletin.h"

namespace vp::ballot {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using nlohmann::json;

constexpr std::string_view kEid = "0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09";
constexpr std::string_view kLogIdHex =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

ElectionConfig VectorConfig() {
  ElectionConfig c;
  c.election_id = *ParseElectionId(kEid);
  c.log_id = *ParseLogId(kLogIdHex);
  return c;
}

template <typename T>
std::string Message(const StatusOr<T>& s) {
  return s.ok() ? std::string("(ok)") : s.status().message();
}

HashOut H(uint64_t x) { return {Fp(x), Fp(x + 1), Fp(x + 2), Fp(x + 3)}; }

TEST(ElectionConfigTest, DefaultsAreTheOriginals) {
  const ElectionConfig c;
  EXPECT_EQ(c.choices, (std::vector<std::string>{"A", "B", "C", "D", "E"}));
  EXPECT_EQ(c.bot_count, 63u);
  EXPECT_EQ(c.ExpectedVotes(), 64u);
  EXPECT_TRUE(ValidateElectionConfig(VectorConfig()).ok());
}

TEST(ElectionConfigTest, CanonicalJsonIsPinned) {
  // Keys sorted, no whitespace: the exact bytes ConfigHash is taken over.
  EXPECT_EQ(CanonicalConfigJson(VectorConfig()),
            "{\"botCount\":63,\"choices\":[\"A\",\"B\",\"C\",\"D\",\"E\"],"
            "\"electionId\":\"0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09\","
            "\"logId\":\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}");
  EXPECT_EQ(ElectionConfigHash(VectorConfig()), ConfigHash(CanonicalConfigJson(VectorConfig())));
  // Pinned in docs/bundle_format.md section 2: the browser must get the same.
  EXPECT_EQ(FormatHash(ElectionConfigHash(VectorConfig())), "ceac192f627fe4d1d1011409162add28141fb29633aeed784245f21d27896943");
}

TEST(ElectionConfigTest, EveryFieldChangesTheHash) {
  const HashOut base = ElectionConfigHash(VectorConfig());
  ElectionConfig c = VectorConfig();
  c.bot_count = 62;
  EXPECT_NE(ElectionConfigHash(c), base);
  c = VectorConfig();
  c.choices[4] = "F";
  EXPECT_NE(ElectionConfigHash(c), base);
  c = VectorConfig();
  std::swap(c.choices[0], c.choices[1]);  // the order is the choice index
  EXPECT_NE(ElectionConfigHash(c), base);
  c = VectorConfig();
  c.election_id[15] ^= 1;
  EXPECT_NE(ElectionConfigHash(c), base);
  c = VectorConfig();
  c.log_id[0] ^= 1;
  EXPECT_NE(ElectionConfigHash(c), base);
}

TEST(ElectionConfigTest, RoundTripsIncludingQuotesAndBackslashes) {
  ElectionConfig c = VectorConfig();
  c.choices = {"Yes \"really\"", "No\\maybe", " ", std::string(32, '~')};
  c.bot_count = kMaxBotCount;
  ASSERT_TRUE(ValidateElectionConfig(c).ok());
  const std::string text = CanonicalConfigJson(c);
  EXPECT_THAT(text, HasSubstr("\"Yes \\\"really\\\"\",\"No\\\\maybe\""));
  const StatusOr<ElectionConfig> back = ParseElectionConfig(text);
  ASSERT_TRUE(back.ok()) << Message(back);
  EXPECT_EQ(*back, c);
  EXPECT_TRUE(ParseCanonicalJson(text, "config").ok());
}

TEST(ElectionConfigTest, ValidationRefusesWithTheReason) {
  struct Case {
    std::vector<std::string> choices;
    uint64_t bots;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {{"A"}, 63, "1 choices"},
      {{}, 63, "0 choices"},
      {std::vector<std::string>(17, "x"), 63, "17 choices"},
      {{"A", ""}, 63, "choice 1 is empty"},
      {{"A", std::string(33, 'b')}, 63, "longer than 32"},
      {{"A", "caf\xc3\xa9"}, 63, "printable ASCII"},
      {{"A", "tab\t"}, 63, "printable ASCII"},
      {{"A", "B", "A"}, 63, "repeats the name \"A\""},
      {{"A", "B"}, kMaxBotCount + 1, "above 2^24"},
  };
  for (const Case& k : cases) {
    ElectionConfig c = VectorConfig();
    c.choices = k.choices;
    c.bot_count = k.bots;
    const Status s = ValidateElectionConfig(c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << k.reason;
    EXPECT_THAT(s.message(), HasSubstr(k.reason));
  }
  ElectionConfig sixteen = VectorConfig();
  sixteen.choices.clear();
  for (int i = 0; i < 16; ++i) sixteen.choices.push_back("c" + std::to_string(i));
  EXPECT_TRUE(ValidateElectionConfig(sixteen).ok());
}

TEST(ElectionConfigTest, ParserRefusesMalformedDocuments) {
  const json good = ElectionConfigToJson(VectorConfig());
  struct Case {
    std::string text;
    std::string reason;
  };
  auto with = [&](const std::string& key, const json& value) {
    json j = good;
    j[key] = value;
    return j.dump();
  };
  auto without = [&](const std::string& key) {
    json j = good;
    j.erase(key);
    return j.dump();
  };
  const std::vector<Case> cases = {
      {"", "not valid JSON"},
      {"[]", "expected a JSON object"},
      {"{\"botCount\":1,\"botCount\":2}", "duplicate JSON key"},
      {without("choices"), "missing key \"choices\""},
      {with("extra", 1), "unknown key \"extra\""},
      {with("botCount", -1), "config.botCount: must not be negative"},
      {with("botCount", 63.0), "config.botCount: expected an integer"},
      {with("botCount", "63"), "config.botCount: expected an integer"},
      {with("botCount", kMaxBotCount + 1), "above 2^24"},
      {with("choices", "A,B"), "config.choices: expected an array"},
      {with("choices", json::array({"A", 2})), "config.choices[1]: expected a string"},
      {with("choices", json::array({"A"})), "1 choices"},
      {with("electionId", "0F8C5B1E-2A47-4D3B-9C61-7E5A3F2D1B09"), "config.electionId"},
      {with("electionId", "{0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09}"), "config.electionId"},
      {with("logId", std::string(kLogIdHex.substr(2))), "config.logId"},
      {with("logId", "0x" + std::string(kLogIdHex.substr(2))), "config.logId"},
  };
  for (const Case& k : cases) {
    const StatusOr<ElectionConfig> c = ParseElectionConfig(k.text);
    ASSERT_FALSE(c.ok()) << k.text;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(c.status().message(), HasSubstr(k.reason)) << k.text;
  }
}

TEST(CanonicalJsonTest, OnlyTheCanonicalTextIsAccepted) {
  EXPECT_TRUE(ParseCanonicalJson("{\"a\":1,\"b\":[true,\"x\"]}", "f").ok());
  const std::vector<std::string> refused = {
      "{\"b\":1,\"a\":1}",         // unsorted keys
      "{\"a\": 1}",                // whitespace
      "{\"a\":1}\n",               // trailing newline
      "{\"a\":1e0}",               // an exponent
      "{\"a\":-0}",                // negative zero
      "{\"a\":\"\\u0041\"}",       // an unneeded escape
      "{\"a\":\"\\/\"}",           // another
  };
  for (const std::string& t : refused) {
    const StatusOr<json> j = ParseCanonicalJson(t, "journal.json");
    ASSERT_FALSE(j.ok()) << t;
    EXPECT_THAT(j.status().message(), HasSubstr("journal.json: not in canonical form")) << t;
  }
  EXPECT_THAT(Message(ParseCanonicalJson("{\"a\":1,\"a\":1}", "f")), HasSubstr("duplicate"));
  EXPECT_THAT(Message(ParseCanonicalJson("{", "f")), HasSubstr("not valid JSON"));
}

TallyStatement VectorStatement() {
  TallyStatement s;
  s.election_id = *ParseElectionId(kEid);
  s.config_hash = H(10);
  s.num_choices = 3;
  s.tree_size = 6;
  s.root = H(20);
  s.counts = {2, 1, 1};
  s.counted = 4;
  s.excluded = {1, 5};
  s.excluded_commitment = H(30);
  s.segments = {SegmentStatement{0, 4, {{2, H(40)}, {2, H(41)}}, {1, 1, 1}, {1}},
                SegmentStatement{4, 2, {{2, H(50)}}, {1, 0, 0}, {5}}};
  return s;
}

// The same statement as version 1 proved it: one root per segment, no "version" key.
TallyStatement VectorStatementV1() {
  TallyStatement s = VectorStatement();
  s.version = 1;
  s.segments[0].blocks = {{4, H(40)}};
  return s;
}

TEST(StatementJsonTest, RoundTripsAndIsCanonical) {
  const TallyStatement s = VectorStatement();
  const std::string text = CanonicalJson(StatementToJson(s));
  EXPECT_THAT(text, HasSubstr("\"counts\":[2,1,1],\"electionId\":\"" + std::string(kEid)));
  EXPECT_THAT(text, HasSubstr("\"excluded\":[1,5],"));
  const StatusOr<json> doc = ParseCanonicalJson(text, "public-input.json");
  ASSERT_TRUE(doc.ok());
  const StatusOr<TallyStatement> back = StatementFromJson(*doc);
  ASSERT_TRUE(back.ok()) << Message(back);
  EXPECT_EQ(*back, s);
  EXPECT_THAT(text, HasSubstr("\"segments\":[{\"blocks\":[{\"root\":\"" + FormatHash(H(40)) +
                              "\",\"size\":2},{\"root\":\""));
  EXPECT_THAT(text, HasSubstr(",\"treeSize\":6,\"version\":2}"));

  // Version 1 (bundles proven before 2026-11-22) keeps its shape: "root", no "version".
  const TallyStatement v1 = VectorStatementV1();
  const std::string text1 = CanonicalJson(StatementToJson(v1));
  EXPECT_THAT(text1, HasSubstr("\"segments\":[{\"counts\":[1,1,1],\"excluded\":[1],\"offset\":0,\"root\":\""));
  EXPECT_THAT(text1, Not(HasSubstr("version")));
  const StatusOr<TallyStatement> back1 = StatementFromJson(*ParseCanonicalJson(text1, "public-input.json"));
  ASSERT_TRUE(back1.ok()) << Message(back1);
  EXPECT_EQ(*back1, v1);
}

TEST(StatementJsonTest, RefusesShapesItCannotHold) {
  const json good = StatementToJson(VectorStatement());
  auto refuse = [](const json& j, const std::string& reason) {
    const StatusOr<TallyStatement> s = StatementFromJson(j);
    ASSERT_FALSE(s.ok()) << j.dump();
    EXPECT_THAT(s.status().message(), HasSubstr(reason));
  };
  json j = good;
  j["counts"] = json::array({1, 2});
  refuse(j, "statement.counts: 2 entries for 3 choices");
  j = good;
  j["numChoices"] = 17;
  refuse(j, "above the maximum 16");
  j = good;
  j["numChoices"] = 0;
  refuse(j, "at least 1");
  j = good;
  j["segments"][1]["counts"] = json::array({1});
  refuse(j, "statement.segments[1].counts: 1 entries for 3 choices");
  j = good;
  j["segments"][0]["extra"] = 1;
  refuse(j, "statement.segments[0]: unknown key \"extra\"");
  j = good;
  j["excluded"][0] = -1;
  refuse(j, "statement.excluded[0]: must not be negative");
  j = good;
  j["treeSize"] = uint64_t{1} << 53;
  refuse(j, "above the maximum");
  j = good;
  j["root"] = std::string(64, 'f');  // elements >= p
  refuse(j, "statement.root");
  j = good;
  j["segments"] = json::object();
  refuse(j, "statement.segments: expected an array");
  j = good;
  j["version"] = 3;
  refuse(j, "statement.version: 3 is not 2");
  j = good;
  j["version"] = 1;
  refuse(j, "statement.version: 1 is not 2");
  j = good;
  j["segments"][0]["blocks"] = json::array();
  refuse(j, "statement.segments[0].blocks: expected an array of 1 to 2^20 blocks");
  j = good;
  j["segments"][0]["blocks"] = json::object();
  refuse(j, "statement.segments[0].blocks: expected an array");
  j = good;
  j["segments"][0]["blocks"][1] = 7;
  refuse(j, "statement.segments[0].blocks[1]: expected a JSON object");
  j = good;
  j["segments"][0]["blocks"][1]["root"] = std::string(64, 'f');
  refuse(j, "statement.segments[0].blocks[1].root");
  j = good;
  j["segments"][0]["blocks"][1]["size"] = (uint64_t{1} << 20) + 1;
  refuse(j, "statement.segments[0].blocks[1].size");
  j = good;
  j["segments"][0]["blocks"][0].erase("size");
  refuse(j, "statement.segments[0].blocks[0]: missing key \"size\"");
  j = good;
  j["segments"][0]["root"] = j["segments"][0]["blocks"][0]["root"];
  refuse(j, "statement.segments[0]: unknown key \"root\"");
  // A version 2 segment read as version 1, and the reverse.
  j = good;
  j.erase("version");
  refuse(j, "statement.segments[0]: unknown key \"blocks\"");
  j = StatementToJson(VectorStatementV1());
  j["version"] = 2;
  refuse(j, "statement.segments[0]: unknown key \"root\"");
}

ElectionManifest VectorManifest() {
  ElectionManifest m;
  m.config = VectorConfig();
  m.config_hash = ElectionConfigHash(m.config);
  for (size_t i = 0; i < m.log_public_key.size(); ++i) {
    m.log_public_key[i] = static_cast<uint8_t>(0xa0 + i);
  }
  return m;
}

TEST(ManifestJsonTest, RoundTripsWithThePinnedKeys) {
  const ElectionManifest m = VectorManifest();
  const std::string text = CanonicalJson(ManifestToJson(m));
  EXPECT_THAT(text, HasSubstr("\"formatVersion\":1,"));
  EXPECT_THAT(text, HasSubstr("\"minSecurityBits\":100,\"proofOptions\":{\"grindingBits\":16,"
                              "\"logBlowup\":2,\"logFoldingFactor\":3,\"logRemainderMax\":6,"
                              "\"numQueries\":42,\"zeroKnowledge\":true},"
                              "\"verifierVersion\":\"vaultproof-tally-v2\"}"));
  const StatusOr<ElectionManifest> back = ManifestFromJson(*ParseCanonicalJson(text, "m"));
  ASSERT_TRUE(back.ok()) << Message(back);
  EXPECT_EQ(*back, m);
}

TEST(ManifestJsonTest, RefusesWeakOrUnknownSettings) {
  const json good = ManifestToJson(VectorManifest());
  auto refuse = [](const json& j, const std::string& reason) {
    const StatusOr<ElectionManifest> m = ManifestFromJson(j);
    ASSERT_FALSE(m.ok()) << j.dump();
    EXPECT_THAT(m.status().message(), HasSubstr(reason));
  };
  json j = good;
  j["minSecurityBits"] = 99;
  refuse(j, "below the floor of 100 bits");
  j["minSecurityBits"] = 257;
  refuse(j, "above the maximum 256");
  j = good;
  j["formatVersion"] = 2;
  refuse(j, "not a version this verifier reads");
  j = good;
  j["proofOptions"]["numQueries"] = 0;
  refuse(j, "proofOptions: options: num_queries");
  j = good;
  j["proofOptions"]["logBlowup"] = 256;
  refuse(j, "proofOptions.logBlowup");
  j = good;
  j["proofOptions"]["zeroKnowledge"] = 1;
  refuse(j, "proofOptions.zeroKnowledge: expected true or false");
  j = good;
  j["logPublicKey"] = "00";
  refuse(j, "manifest.logPublicKey");
  j = good;
  j["config"]["choices"] = json::array({"A", "A"});
  refuse(j, "repeats the name");
  j = good;
  j["verifierVersion"] = 1;
  refuse(j, "manifest.verifierVersion: expected a string");
}

SignedSth VectorSth() {
  SignedSth s;
  s.sth.log_id = *ParseLogId(kLogIdHex);
  s.sth.tree_size = 64;
  s.sth.timestamp_ms = 1700000000000;
  s.sth.root = H(7);
  s.signature.fill(0x5a);
  return s;
}

TEST(SthJsonTest, RoundTripsWithTheLogFieldNames) {
  const SignedSth s = VectorSth();
  const std::string text = CanonicalJson(SignedSthToJson(s));
  EXPECT_EQ(text.substr(0, 10), "{\"logId\":\"");
  EXPECT_THAT(text, HasSubstr("\"timestamp\":1700000000000,\"treeSize\":64}"));
  const StatusOr<SignedSth> back = SignedSthFromJson(*ParseCanonicalJson(text, "c"));
  ASSERT_TRUE(back.ok()) << Message(back);
  EXPECT_EQ(back->sth, s.sth);
  EXPECT_EQ(back->signature, s.signature);

  json j = SignedSthToJson(s);
  j["treeSize"] = 0;  // an empty tree must carry the empty root
  EXPECT_THAT(Message(SignedSthFromJson(j)), HasSubstr("empty root"));
  j = SignedSthToJson(s);
  j["signature"] = std::string(127, 'a');
  EXPECT_THAT(Message(SignedSthFromJson(j)), HasSubstr("sth signature"));
}

TEST(JournalJsonTest, RoundTripsAndFollowsTheStatement) {
  const TallyStatement s = VectorStatement();
  ElectionConfig c = VectorConfig();
  c.choices = {"yes", "no", "maybe"};
  const Journal j = JournalFromStatement(s, c);
  EXPECT_EQ(j.tally, (std::map<std::string, uint64_t>{{"yes", 2}, {"no", 1}, {"maybe", 1}}));
  EXPECT_EQ(j.counted, 4u);
  EXPECT_EQ(j.excluded, 2u);
  EXPECT_EQ(j.tree_size, 6u);
  EXPECT_EQ(j.root, s.root);
  EXPECT_EQ(j.expected_votes, 64u);
  const std::string text = CanonicalJson(JournalToJson(j));
  EXPECT_THAT(text, HasSubstr("\"tally\":{\"maybe\":1,\"no\":1,\"yes\":2}"));
  const StatusOr<Journal> back = JournalFromJson(*ParseCanonicalJson(text, "journal.json"));
  ASSERT_TRUE(back.ok()) << Message(back);
  EXPECT_EQ(*back, j);

  json bad = JournalToJson(j);
  bad["tally"]["no"] = -1;
  EXPECT_THAT(Message(JournalFromJson(bad)), HasSubstr("journal.tally.no: must not be negative"));
  bad = JournalToJson(j);
  bad["tally"] = json::array();
  EXPECT_THAT(Message(JournalFromJson(bad)), HasSubstr("journal.tally: expected an object"));
}

Receipt VectorReceipt() {
  Receipt r;
  r.vote_id = "7d3f1c2a-9b8e-4f6d-a5c4-3b2a19087654";
  r.commitment = H(1);
  r.bulletin_index = 3;
  r.bulletin_root_at_cast = H(2);
  r.tree_size_at_cast = 4;
  r.timestamp_ms = 1700000000123;
  r.sth = VectorSth();
  r.sth.sth.tree_size = 4;
  r.vote = 2;
  r.rand = std::string(64, 'a');
  r.inclusion = InclusionEvidence{3, 64, {H(3), H(4)}};
  r.consistency = ConsistencyEvidence{4, 64, {H(5)}};
  return r;
}

bool SameReceipt(const Receipt& a, const Receipt& b) {
  return a.vote_id == b.vote_id && a.commitment == b.commitment &&
         a.bulletin_index == b.bulletin_index && a.bulletin_root_at_cast == b.bulletin_root_at_cast &&
         a.tree_size_at_cast == b.tree_size_at_cast && a.timestamp_ms == b.timestamp_ms &&
         a.sth.sth == b.sth.sth && a.sth.signature == b.sth.signature && a.vote == b.vote &&
         a.rand == b.rand && a.inclusion == b.inclusion && a.consistency == b.consistency;
}

TEST(ReceiptJsonTest, RoundTripsWithAnyWhitespaceAndOptionalEvidence) {
  const Receipt r = VectorReceipt();
  const StatusOr<Receipt> back = ParseReceipt(ReceiptToJson(r).dump(2));
  ASSERT_TRUE(back.ok()) << Message(back);
  EXPECT_TRUE(SameReceipt(*back, r));

  Receipt bare = r;
  bare.inclusion.reset();
  bare.consistency.reset();
  const StatusOr<Receipt> bare_back = ParseReceipt(ReceiptToJson(bare).dump());
  ASSERT_TRUE(bare_back.ok()) << Message(bare_back);
  EXPECT_TRUE(SameReceipt(*bare_back, bare));

  // vote and rand are kept as given: the checks judge them, not the parser.
  json odd = ReceiptToJson(r);
  odd["vote"] = 99;
  odd["rand"] = "not hex";
  const StatusOr<Receipt> kept = ParseReceipt(odd.dump());
  ASSERT_TRUE(kept.ok()) << Message(kept);
  EXPECT_EQ(kept->vote, 99u);
  EXPECT_EQ(kept->rand, "not hex");
}

TEST(ReceiptJsonTest, RefusesMalformedReceipts) {
  const json good = ReceiptToJson(VectorReceipt());
  auto refuse = [](const json& j, const std::string& reason) {
    const StatusOr<Receipt> r = ParseReceipt(j.dump());
    ASSERT_FALSE(r.ok()) << j.dump();
    EXPECT_THAT(r.status().message(), HasSubstr(reason));
  };
  json j = good;
  j["vote"] = -1;
  refuse(j, "receipt.vote: must not be negative");
  j = good;
  j["vote"] = "2";
  refuse(j, "receipt.vote: expected an integer");
  j = good;
  j["rand"] = 5;
  refuse(j, "receipt.rand: expected a string");
  j = good;
  j["voteId"] = "not-a-uuid";
  refuse(j, "receipt.voteId");
  j = good;
  j["commitment"] = "00";
  refuse(j, "receipt.commitment");
  j = good;
  j["sth"].erase("signature");
  refuse(j, "sth: missing key \"signature\"");
  j = good;
  j["inclusion"]["commitment"] = FormatHash(H(1));
  refuse(j, "receipt.inclusion: unknown key \"commitment\"");
  j = good;
  j["inclusion"]["path"] = json::array({"zz"});
  refuse(j, "receipt.inclusion.path");
  j = good;
  j["consistency"]["proof"] = json::array();
  for (size_t i = 0; i <= kMaxProofHashes; ++i) j["consistency"]["proof"].push_back(FormatHash(H(i)));
  refuse(j, "more than 128 hashes");
  j = good;
  j["extra"] = true;
  refuse(j, "receipt: unknown key \"extra\"");
  EXPECT_THAT(Message(ParseReceipt("{\"vote\":1,\"vote\":2}")), HasSubstr("duplicate"));
}

}  // namespace
}  // namespace vp::ballot
