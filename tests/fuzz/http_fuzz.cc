// libFuzzer target: an arbitrary byte string as an HTTP/1.1 request, through the same
// steps the gateway takes before a handler runs — Beast's request parser with the
// gateway's header and body limits, the router, the VP1 Authorization parser, signature
// verification and the JSON body parser. Nothing may crash, hang or throw.
//
//   cmake -B build-fuzz -DVP_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ && cmake --build build-fuzz --target http_fuzz
//   build-fuzz/bin/http_fuzz -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>

#include "vp/http/envelope.h"
#include "vp/http/router.h"
#include "vp/http/vp1_auth.h"

namespace {

const vp::http::Router& Routes() {
  static const vp::http::Router r = [] {
    vp::http::Router router;
    (void)router.Add("GET", "/v1/ping");
    (void)router.Add("POST", "/v1/echo");
    (void)router.Add("POST", "/v1/api-keys/{id}/disable");
    return router;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace bhttp = boost::beast::http;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  size_t used = parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && used < size && !parser.is_done()) parser.put(boost::asio::buffer(data + used, size - used), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;

  const auto& msg = parser.get();
  std::string target(msg.target());
  size_t q = target.find('?');
  std::string path = target.substr(0, q);
  std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  (void)Routes().Match(std::string(msg.method_string()), path);
  auto auth = vp::http::ParseVp1Authorization(std::string(msg[bhttp::field::authorization]));
  if (auth.ok()) {
    static const std::string secret = "PQDUtrVtInWi0pqcZH7avNxSR7pV60njh5P3Cu9513g";
    (void)vp::http::Vp1Verify(*auth, vp::AsBytes(secret), std::string(msg.method_string()), path, query, msg.body());
    (void)vp::http::Vp1CheckSkew(auth->timestamp, 1700000000);
  }
  auto body = vp::http::ParseJsonObject(msg.body());
  if (!body.ok()) (void)vp::http::ErrorResponse(body.status(), "req_fuzz");
  return 0;
}
