// The Turnstile client against a local server speaking siteverify: what it sends (secret,
// response, remoteip), and each way an answer is refused (not a success, another action, a
// hostname off the allowlist) or fails closed (HTTP error, not JSON, nobody listening).
#include "vp/election/turnstile.h"

#include <gtest/gtest.h>

#include "vp/base/test_util.h"
#include "vp/election/fake_siteverify.h"

namespace vp::election {
namespace {

using testing::FakeSiteverify;

TurnstileOptions Cloudflare(const std::string& url) {
  TurnstileOptions o;
  o.mode = "cloudflare";
  o.secret = "0x4AAAAAAA-secret";
  o.url = url;
  o.hostnames = {"vote.example", "www.vote.example"};
  o.timeout = std::chrono::milliseconds(3000);
  return o;
}

void ExpectCaptchaFailed(const Status& s) {
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
  EXPECT_EQ(s.message().rfind("CAPTCHA_FAILED: ", 0), 0u) << s.message();
}

TEST(Turnstile, OffAcceptsEverythingWithoutACall) {
  auto t = TurnstileVerifier::Create({});
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE((*t)->enabled());
  EXPECT_TRUE((*t)->Verify("", "vote", "1.2.3.4").ok());
}

TEST(Turnstile, CreateRefusesIncompleteSettings) {
  TurnstileOptions bad;
  bad.mode = "recaptcha";
  EXPECT_FALSE(TurnstileVerifier::Create(bad).ok());
  TurnstileOptions o = Cloudflare("http://127.0.0.1:1/x");
  o.secret.clear();
  EXPECT_FALSE(TurnstileVerifier::Create(o).ok());
  o = Cloudflare("http://127.0.0.1:1/x");
  o.hostnames.clear();
  EXPECT_FALSE(TurnstileVerifier::Create(o).ok());
  EXPECT_FALSE(TurnstileVerifier::Create(Cloudflare("ftp://example.com/")).ok());
  EXPECT_FALSE(TurnstileVerifier::Create(Cloudflare("https://user:pw@example.com/")).ok());
}

TEST(Turnstile, SendsSecretResponseAndRemoteIpAndAcceptsAMatchingAnswer) {
  FakeSiteverify fake;
  ASSERT_TRUE(fake.listening());
  fake.Answer(200, R"({"success":true,"challenge_ts":"2024-01-01T00:00:00Z","hostname":"vote.example",)"
                   R"("error-codes":[],"action":"vote","cdata":""})");
  auto t = TurnstileVerifier::Create(Cloudflare(fake.url()));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const Status s = (*t)->Verify("XXXX.DUMMY.TOKEN", "vote", "203.0.113.7");
  EXPECT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(fake.calls(), 1);
  const nlohmann::json req = fake.requests()[0];
  EXPECT_EQ(req, (nlohmann::json{{"secret", "0x4AAAAAAA-secret"}, {"response", "XXXX.DUMMY.TOKEN"},
                                 {"remoteip", "203.0.113.7"}}));
}

TEST(Turnstile, RefusalsAreCaptchaFailed) {
  FakeSiteverify fake;
  auto t = TurnstileVerifier::Create(Cloudflare(fake.url()));
  ASSERT_TRUE(t.ok());
  // No token, or one longer than Cloudflare makes: refused without asking.
  ExpectCaptchaFailed((*t)->Verify("", "vote", "1.2.3.4"));
  ExpectCaptchaFailed((*t)->Verify(std::string(kMaxTurnstileTokenLength + 1, 'a'), "vote", "1.2.3.4"));
  EXPECT_EQ(fake.calls(), 0);

  fake.Answer(200, R"({"success":false,"error-codes":["invalid-input-response"]})");
  Status s = (*t)->Verify("tok", "vote", "1.2.3.4");
  ExpectCaptchaFailed(s);
  EXPECT_NE(s.message().find("invalid-input-response"), std::string::npos) << s.message();

  fake.Answer(200, R"({"success":true,"hostname":"vote.example","action":"session"})");
  ExpectCaptchaFailed((*t)->Verify("tok", "vote", "1.2.3.4"));  // a session token spent on a vote
  fake.Answer(200, R"({"success":true,"hostname":"vote.example"})");
  ExpectCaptchaFailed((*t)->Verify("tok", "vote", "1.2.3.4"));
  fake.Answer(200, R"({"success":true,"hostname":"evil.example","action":"vote"})");
  ExpectCaptchaFailed((*t)->Verify("tok", "vote", "1.2.3.4"));
  fake.Answer(200, R"({"success":true,"action":"vote"})");
  ExpectCaptchaFailed((*t)->Verify("tok", "vote", "1.2.3.4"));
  fake.Answer(200, R"({"success":"true","hostname":"vote.example","action":"vote"})");
  ExpectCaptchaFailed((*t)->Verify("tok", "vote", "1.2.3.4"));
  // The second allowed hostname and the session action.
  fake.Answer(200, R"({"success":true,"hostname":"www.vote.example","action":"session"})");
  EXPECT_TRUE((*t)->Verify("tok", "session", "").ok());
  EXPECT_FALSE(fake.requests().back().contains("remoteip"));
}

TEST(Turnstile, FailsClosedWhenSiteverifyMisbehaves) {
  FakeSiteverify fake;
  auto t = TurnstileVerifier::Create(Cloudflare(fake.url()));
  ASSERT_TRUE(t.ok());
  fake.Answer(500, R"({"success":true,"hostname":"vote.example","action":"vote"})");
  EXPECT_EQ((*t)->Verify("tok", "vote", "1.2.3.4").code(), StatusCode::kUnavailable);
  fake.Answer(200, "<html>");
  EXPECT_EQ((*t)->Verify("tok", "vote", "1.2.3.4").code(), StatusCode::kUnavailable);
  fake.Answer(200, "[true]");
  EXPECT_EQ((*t)->Verify("tok", "vote", "1.2.3.4").code(), StatusCode::kUnavailable);

  // Nobody listening: a port that was just free.
  uint16_t port = 0;
  const int fd = vp::testing::ListenLoopback(&port);
  ASSERT_GE(fd, 0);
  ::close(fd);
  auto gone = TurnstileVerifier::Create(Cloudflare("http://127.0.0.1:" + std::to_string(port) + "/siteverify"));
  ASSERT_TRUE(gone.ok());
  const Status s = (*gone)->Verify("tok", "vote", "1.2.3.4");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
}

}  // namespace
}  // namespace vp::election
