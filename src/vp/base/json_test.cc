// ParseJsonStrict: what nlohmann accepts silently and we refuse.
#include "vp/base/json.h"

#include <gtest/gtest.h>

namespace vp {
namespace {

TEST(ParseJsonStrict, AcceptsOrdinaryDocuments) {
  auto d = ParseJsonStrict(R"({"a":[1,{"b":"c"}],"d":{"a":1}})", "t");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)["a"][1]["b"], "c");  // the same key in different objects is fine
}

TEST(ParseJsonStrict, RefusesDuplicateKeysAtAnyDepth) {
  EXPECT_EQ(ParseJsonStrict(R"({"a":1,"a":2})", "t").status().message(), "t: duplicate JSON key \"a\"");
  EXPECT_FALSE(ParseJsonStrict(R"({"x":[{"k":1,"k":1}]})", "t").ok());
}

TEST(ParseJsonStrict, RefusesDeepNestingAndGarbage) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_EQ(ParseJsonStrict(deep, "t").status().message(), "t: JSON nested deeper than 64 levels");
  EXPECT_EQ(ParseJsonStrict(std::string(200000, '['), "t").status().code(), StatusCode::kInvalidArgument);
  for (std::string_view bad : {"", "{", "{\"a\":}", "[1,]", "{} x", "\"\xff\"", "nul"}) {
    EXPECT_EQ(ParseJsonStrict(bad, "t").status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace vp
