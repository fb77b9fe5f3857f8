// Router: exact paths, {param} captures, 404 versus 405, and patterns it must refuse.
#include "vp/http/router.h"

#include <gtest/gtest.h>

namespace vp::http {
namespace {

TEST(Router, MatchesExactAndParamRoutes) {
  Router r;
  size_t ping = *r.Add("GET", "/v1/ping");
  size_t list = *r.Add("GET", "/v1/api-keys");
  size_t create = *r.Add("POST", "/v1/api-keys");
  size_t disable = *r.Add("POST", "/v1/api-keys/{id}/disable");
  EXPECT_EQ(r.Match("GET", "/v1/ping").index, ping);
  EXPECT_EQ(r.Match("GET", "/v1/api-keys").index, list);
  EXPECT_EQ(r.Match("POST", "/v1/api-keys").index, create);
  RouteMatch m = r.Match("POST", "/v1/api-keys/ak_1/disable");
  ASSERT_EQ(m.kind, RouteMatch::kFound);
  EXPECT_EQ(m.index, disable);
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "id");
  EXPECT_EQ(m.params[0].second, "ak_1");
  EXPECT_EQ(r.Label(disable), "POST /v1/api-keys/{id}/disable");
}

TEST(Router, UnknownPathIs404AndWrongMethodIs405) {
  Router r;
  ASSERT_TRUE(r.Add("GET", "/v1/api-keys").ok());
  ASSERT_TRUE(r.Add("POST", "/v1/api-keys").ok());
  EXPECT_EQ(r.Match("GET", "/v1/nothing").kind, RouteMatch::kNotFound);
  EXPECT_EQ(r.Match("GET", "/v1/api-keys/").kind, RouteMatch::kNotFound);  // trailing slash
  EXPECT_EQ(r.Match("GET", "v1/api-keys").kind, RouteMatch::kNotFound);
  EXPECT_EQ(r.Match("GET", "").kind, RouteMatch::kNotFound);
  RouteMatch m = r.Match("DELETE", "/v1/api-keys");
  EXPECT_EQ(m.kind, RouteMatch::kMethodNotAllowed);
  EXPECT_EQ(m.allowed, "GET, POST");
  EXPECT_EQ(r.Match("HEAD", "/v1/api-keys").kind, RouteMatch::kMethodNotAllowed);
}

TEST(Router, EmptySegmentsNeverMatchParams) {
  Router r;
  ASSERT_TRUE(r.Add("POST", "/v1/api-keys/{id}/disable").ok());
  EXPECT_EQ(r.Match("POST", "/v1/api-keys//disable").kind, RouteMatch::kNotFound);
  EXPECT_EQ(r.Match("POST", "/v1/api-keys/a/b/disable").kind, RouteMatch::kNotFound);
}

TEST(Router, RefusesBadPatterns) {
  Router r;
  EXPECT_EQ(r.Add("GET", "v1/x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add("GET", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add("", "/x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add("GET", "/v1/a{id}").status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(r.Add("GET", "/x").ok());
  EXPECT_EQ(r.Add("GET", "/x").status().code(), StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace vp::http
