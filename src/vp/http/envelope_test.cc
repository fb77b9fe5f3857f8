// The envelope and the one Status -> HTTP mapping.
#include "vp/http/envelope.h"

#include <gtest/gtest.h>

namespace vp::http {
namespace {

TEST(Envelope, StatusMapping) {
  EXPECT_EQ(HttpStatusFor(StatusCode::kOk), 200u);
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), 400u);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnauthenticated), 401u);
  EXPECT_EQ(HttpStatusFor(StatusCode::kPermissionDenied), 403u);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), 404u);
  EXPECT_EQ(HttpStatusFor(StatusCode::kAlreadyExists), 409u);
  EXPECT_EQ(HttpStatusFor(StatusCode::kResourceExhausted), 429u);
  EXPECT_EQ(HttpStatusFor(StatusCode::kFailedPrecondition), 409u);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnavailable), 503u);
  EXPECT_EQ(HttpStatusFor(StatusCode::kInternal), 500u);
}

TEST(Envelope, ErrorShape) {
  Response r = ErrorResponse(NotFoundError("no such key"), "req_1");
  EXPECT_EQ(r.status, 404u);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"], "NOT_FOUND");
  EXPECT_EQ(j["message"], "no such key");
  EXPECT_EQ(j["statusCode"], 404);
  EXPECT_EQ(j["requestId"], "req_1");
  Response big = ErrorResponse(ResourceExhaustedError("body too large"), "r", 413);
  EXPECT_EQ(big.status, 413u);
  EXPECT_EQ(nlohmann::json::parse(big.body)["error"], "PAYLOAD_TOO_LARGE");
}

TEST(Envelope, InvalidUtf8InMessageNeverThrows) {
  Response r = ErrorResponse(InvalidArgumentError(std::string("bad \xff\xfe byte")), "r");
  EXPECT_FALSE(nlohmann::json::parse(r.body, nullptr, false).is_discarded());
}

TEST(Envelope, DataShape) {
  Response r = DataResponse({{"pong", true}});
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, R"({"data":{"pong":true}})");
}

TEST(Envelope, ParseJsonObjectRefusesNonObjects) {
  EXPECT_TRUE(ParseJsonObject(R"({"a":1})").ok());
  for (std::string_view bad : {"", "{", "[1]", "1", "\"x\"", "null", "{\"a\":}", "\xff", "{\"a\":1,\"a\":2}"}) {
    auto j = ParseJsonObject(bad);
    EXPECT_FALSE(j.ok()) << bad;
    if (!j.ok()) {
      EXPECT_EQ(j.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

// Found by the fuzz smoke run's author: 32,700 nested arrays in a 64 KiB body overflowed
// the stack when the echo response copied the document. Depth is now capped at parse.
TEST(Envelope, ParseJsonObjectRefusesDeepNesting) {
  std::string deep = "{\"a\":" + std::string(32700, '[') + std::string(32700, ']') + "}";
  auto j = ParseJsonObject(deep);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(j.status().message().find("deeper"), std::string::npos) << j.status().ToString();
  std::string ok = "{\"a\":" + std::string(60, '[') + std::string(60, ']') + "}";
  EXPECT_TRUE(ParseJsonObject(ok).ok());
}

}  // namespace
}  // namespace vp::http
