// Audit log byte formats, version 1: the vectors below are the worked example of
// docs/audit_log.md, computed independently (Python hashlib/struct) from the spec text.
#include "vp/audit/format.h"

#include <gtest/gtest.h>

namespace vp::audit {
namespace {

AuditRecord Example1() {
  AuditRecord r;
  r.seq = 1;
  r.time_ms = 1700000000000;
  r.request_id = "req-1";
  r.principal = "key-1";
  r.action = "POST /v1/echo";
  r.resource = "/v1/echo";
  r.outcome = "success";
  r.source_ip = "127.0.0.1";
  r.details = "{}";
  return r;
}

AuditRecord Example2() {
  AuditRecord r;
  r.seq = 2;
  r.time_ms = 1700000000001;
  r.request_id = "req-2";
  r.action = "auth.failure";
  r.resource = "/v1/ping";
  r.outcome = "denied";
  r.source_ip = "10.0.0.7";
  r.details = R"({"reason":"bad signature"})";
  return r;
}

TEST(AuditFormat, CanonicalRecordMatchesTheDocumentedBytes) {
  EXPECT_EQ(HexEncode(CanonicalRecord(Example1())),
            "0100000000000000010000018bcfe56800000000057265712d31000000056b65792d310000000d504f5354"
            "202f76312f6563686f000000082f76312f6563686f0000000773756363657373000000093132372e302e30"
            "2e31000000027b7d");
  EXPECT_EQ(HexEncode(CanonicalRecord(Example2())),
            "0100000000000000020000018bcfe56801000000057265712d32000000000000000c617574682e666169"
            "6c757265000000082f76312f70696e670000000664656e6965640000000831302e302e302e370000001a7b"
            "22726561736f6e223a22626164207369676e6174757265227d");
}

TEST(AuditFormat, ChainHashesMatchTheDocumentedVector) {
  const ChainHash h1 = RecordHash(kGenesisHash, Example1());
  EXPECT_EQ(HexEncode(h1), "1fe2b239b4379fd0fd4bfb4ab1c19002b60c7ec6eeee137694e4f35f1181fa60");
  const ChainHash h2 = RecordHash(h1, Example2());
  EXPECT_EQ(HexEncode(h2), "0b54f7503c40b2d7f815d87a867b07e870cfc9d22e06e943051a175b09228f12");
}

TEST(AuditFormat, AtSeqVariantsEqualSerializingWithThatSeq) {
  AuditRecord moved = Example2();
  moved.seq = 99;
  EXPECT_EQ(CanonicalRecordAt(moved, 2), CanonicalRecord(Example2()));
  const ChainHash h1 = RecordHash(kGenesisHash, Example1());
  EXPECT_EQ(RecordHashAt(h1, moved, 2), RecordHash(h1, Example2()));
  EXPECT_EQ(RecordHashAt(h1, moved, 2), NextChainHash(h1, CanonicalRecord(Example2())));
}

TEST(AuditFormat, TheStoredHashIsIgnoredBySerialization) {
  AuditRecord a = Example1();
  AuditRecord b = a;
  b.hash[0] = 0xFF;
  EXPECT_EQ(CanonicalRecord(a), CanonicalRecord(b));
}

TEST(AuditFormat, LengthPrefixesKeepFieldBoundariesApart) {
  AuditRecord a = Example1(), b = Example1();
  a.principal = "ab";
  a.action = "c";
  b.principal = "a";
  b.action = "bc";
  EXPECT_NE(CanonicalRecord(a), CanonicalRecord(b));
  EXPECT_NE(RecordHash(kGenesisHash, a), RecordHash(kGenesisHash, b));
}

TEST(AuditFormat, EveryFieldAndThePositionChangeTheHash) {
  const AuditRecord base = Example1();
  const ChainHash h = RecordHash(kGenesisHash, base);
  std::vector<AuditRecord> variants(10, base);
  variants[0].seq = 2;
  variants[1].time_ms += 1;
  variants[2].request_id += "x";
  variants[3].principal += "x";
  variants[4].action += "x";
  variants[5].resource += "x";
  variants[6].outcome += "x";
  variants[7].source_ip += "x";
  variants[8].details += "x";
  for (const auto& v : variants) {
    if (v == base) continue;
    EXPECT_NE(RecordHash(kGenesisHash, v), h);
  }
  ChainHash other_prev{};
  other_prev[31] = 1;
  EXPECT_NE(RecordHash(other_prev, base), h);
}

TEST(AuditFormat, NegativeTimesSerializeAsTwosComplement) {
  AuditRecord r = Example1();
  r.time_ms = -1;
  const Bytes c = CanonicalRecord(r);
  for (size_t i = 9; i < 17; ++i) EXPECT_EQ(c[i], 0xFF);
}

TEST(AuditFormat, NormalizeKeepsValidText) {
  EXPECT_EQ(NormalizeField("hello", 100), "hello");
  EXPECT_EQ(NormalizeField("", 100), "");
  const std::string mixed = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\x90";  // café € 🔐
  EXPECT_EQ(NormalizeField(mixed, 100), mixed);
}

TEST(AuditFormat, NormalizeReplacesMalformedUtf8AndNul) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(NormalizeField(std::string("a\0b", 3), 100), "a" + fffd + "b");
  EXPECT_EQ(NormalizeField("\xFF", 100), fffd);                       // never valid
  EXPECT_EQ(NormalizeField("\xC0\xAF", 100), fffd + fffd);            // overlong '/'
  EXPECT_EQ(NormalizeField("\xED\xA0\x80", 100), fffd + fffd + fffd); // UTF-16 surrogate
  EXPECT_EQ(NormalizeField("\xF4\x90\x80\x80", 100), fffd + fffd + fffd + fffd);  // > U+10FFFF
  EXPECT_EQ(NormalizeField("\xE2\x82", 100), fffd + fffd);            // truncated sequence
  EXPECT_EQ(NormalizeField("\x80x", 100), fffd + "x");                // stray continuation
}

TEST(AuditFormat, NormalizeCutsAtACharacterBoundary) {
  EXPECT_EQ(NormalizeField("abcdef", 4), "abcd");
  // "a€" is 4 bytes; a 3-byte limit must not split the euro sign.
  EXPECT_EQ(NormalizeField("a\xE2\x82\xAC", 3), "a");
  EXPECT_EQ(NormalizeField("a\xE2\x82\xAC", 4), "a\xE2\x82\xAC");
}

TEST(AuditFormat, NormalizeRecordAppliesTheFieldLimits) {
  AuditRecord r = Example1();
  r.resource = std::string(kMaxFieldBytes + 10, 'r');
  r.details = std::string(kMaxDetailsBytes + 10, 'd');
  r.principal = std::string("k\0y", 3);
  NormalizeRecord(r);
  EXPECT_EQ(r.resource.size(), kMaxFieldBytes);
  EXPECT_EQ(r.details.size(), kMaxDetailsBytes);
  EXPECT_EQ(r.principal, "k\xEF\xBF\xBDy");
  EXPECT_EQ(r.action, "POST /v1/echo");
}

TEST(AuditFormat, CanonicalDigestMatchesTheDocumentedLayout) {
  AuditDigest d;
  d.digest_no = 1;
  d.first_seq = 1;
  d.last_seq = 2;
  d.head_hash = RecordHash(RecordHash(kGenesisHash, Example1()), Example2());
  d.first_time_ms = 1700000000000;
  d.last_time_ms = 1700000000001;
  d.created_ms = 1700000000500;
  d.public_key[0] = 7;  // not part of the signed bytes
  d.signature[0] = 9;
  EXPECT_EQ(d.count(), 2);
  EXPECT_EQ(HexEncode(CanonicalDigest(d)),
            "76702d61756469742d6469676573742d76310000000000000001000000000000000100000000000000020000"
            "0000000000020b54f7503c40b2d7f815d87a867b07e870cfc9d22e06e943051a175b09228f120000018bcf"
            "e568000000018bcfe568010000018bcfe569f4");
}

}  // namespace
}  // namespace vp::audit
