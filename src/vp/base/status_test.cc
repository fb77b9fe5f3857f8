// Status / StatusOr: codes, messages, and the propagation macros.
#include "vp/base/status.h"

#include <gtest/gtest.h>

#include <memory>

namespace vp {
namespace {

StatusOr<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd");
  return x / 2;
}

StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckQuarter(int x) {
  RETURN_IF_ERROR(Quarter(x));
  return OkStatus();
}

TEST(Status, OkAndErrors) {
  EXPECT_TRUE(OkStatus().ok());
  Status s = NotFoundError("no wallet");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "NOT_FOUND: no wallet");
  EXPECT_EQ(s.Annotate("store").message(), "store: no wallet");
  EXPECT_EQ(StatusCodeName(StatusCode::kResourceExhausted), "RESOURCE_EXHAUSTED");
}

TEST(StatusOr, PropagatesThroughMacros) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckQuarter(12).ok());
  EXPECT_EQ(CheckQuarter(2).message(), "odd");
}

TEST(StatusOr, HoldsMoveOnlyValuesAndCopies) {
  StatusOr<std::unique_ptr<int>> p = std::make_unique<int>(5);
  ASSERT_TRUE(p.ok());
  std::unique_ptr<int> taken = std::move(p).value();
  EXPECT_EQ(*taken, 5);
  StatusOr<std::string> a = std::string("x");
  StatusOr<std::string> b = a;
  b = InternalError("boom");
  EXPECT_EQ(*a, "x");
  EXPECT_FALSE(b.ok());
  b = a;
  EXPECT_EQ(*b, "x");
}

}  // namespace
}  // namespace vp
