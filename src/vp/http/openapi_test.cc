// docs/openapi.yaml describes exactly the routes the gateway serves: every route in the
// router appears in the spec and every operation in the spec is a route. The spec's layout
// is fixed for this check: path keys at two spaces under `paths:`, methods at four.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "vp/http/gateway.h"

namespace vp::http {
namespace {

// A line "  /path:" (exactly two spaces) or "    method:" (exactly four), nothing after the
// colon. (No std::regex: GCC 12 warns inside it under the sanitizer build.)
std::string KeyAt(const std::string& line, size_t indent) {
  if (line.size() < indent + 2 || line.compare(0, indent, std::string(indent, ' ')) != 0 || line[indent] == ' ') return "";
  std::string rest = line.substr(indent);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\r')) rest.pop_back();
  if (rest.empty() || rest.back() != ':') return "";
  rest.pop_back();
  return rest.find_first_of(" :") == std::string::npos ? rest : "";
}

std::set<std::string> SpecOperations(const std::string& text) {
  static const std::set<std::string> kMethods = {"get", "put", "post", "delete", "patch", "head", "options"};
  std::set<std::string> ops;
  std::istringstream in(text);
  std::string line, path;
  bool in_paths = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#') in_paths = line.rfind("paths:", 0) == 0;
    if (!in_paths) continue;
    if (std::string p = KeyAt(line, 2); !p.empty()) {
      path = p[0] == '/' ? p : "";
    } else if (std::string m = KeyAt(line, 4); kMethods.count(m) == 1 && !path.empty()) {
      for (char& c : m) c = static_cast<char>(c - 'a' + 'A');
      ops.insert(m + " " + path);
    }
  }
  return ops;
}

TEST(OpenApi, SpecAndRouterListTheSameRoutes) {
  std::ifstream f(std::string(VP_SOURCE_DIR) + "/docs/openapi.yaml");
  ASSERT_TRUE(f.good()) << "docs/openapi.yaml is missing";
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  ASSERT_EQ(text.rfind("openapi: 3.1", 0), 0u) << "not an OpenAPI 3.1 document";
  const std::set<std::string> spec = SpecOperations(text);
  std::set<std::string> routes;
  for (const std::string& r : Gateway::RouteLabels()) routes.insert(r);
  ASSERT_FALSE(routes.empty());
  for (const std::string& r : routes) EXPECT_EQ(spec.count(r), 1u) << "route not in docs/openapi.yaml: " << r;
  for (const std::string& s : spec) EXPECT_EQ(routes.count(s), 1u) << "docs/openapi.yaml describes no route: " << s;
}

TEST(OpenApi, TheLineReaderFindsPathsAndMethodsOnly) {
  const std::string doc =
      "openapi: 3.1.0\n"
      "paths:\n"
      "  /v1/a/{id}:\n"
      "    parameters:\n"
      "      - name: id\n"
      "    get:\n"
      "      summary: x\n"
      "    post:\n"
      "  /v1/b:\n"
      "    delete:\n"
      "components:\n"
      "  /not/a/path:\n"
      "    get:\n";
  EXPECT_EQ(SpecOperations(doc), (std::set<std::string>{"GET /v1/a/{id}", "POST /v1/a/{id}", "DELETE /v1/b"}));
}

}  // namespace
}  // namespace vp::http
