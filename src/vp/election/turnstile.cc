// Turnstile siteverify client over the shared outbound HTTP transport (wallet/http_post.h).
#include "vp/election/turnstile.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "vp/base/json.h"
#include "vp/wallet/http_post.h"

namespace vp::election {
namespace {

Status Refused(std::string_view reason) {
  return PermissionDeniedError(std::string(kCaptchaFailed) + ": " + std::string(reason));
}

}  // namespace

StatusOr<std::unique_ptr<TurnstileVerifier>> TurnstileVerifier::Create(TurnstileOptions options) {
  if (options.mode != "off" && options.mode != "cloudflare") {
    return InvalidArgumentError("turnstile: mode must be \"off\" or \"cloudflare\"");
  }
  if (options.mode == "cloudflare") {
    if (options.secret.empty()) return InvalidArgumentError("turnstile: cloudflare needs the secret");
    if (options.hostnames.empty()) return InvalidArgumentError("turnstile: cloudflare needs at least one hostname");
    RETURN_IF_ERROR(wallet::ParseHttpUrl(options.url, "turnstile url").status());
    if (options.timeout.count() <= 0) return InvalidArgumentError("turnstile: timeout must be > 0");
  }
  return std::unique_ptr<TurnstileVerifier>(new TurnstileVerifier(std::move(options)));
}

Status TurnstileVerifier::Verify(std::string_view token, std::string_view action, std::string_view remote_ip) const {
  if (!enabled()) return OkStatus();
  if (token.empty()) return Refused("turnstileToken is required");
  if (token.size() > kMaxTurnstileTokenLength) return Refused("turnstileToken is too long");
  nlohmann::json body = {{"secret", options_.secret}, {"response", std::string(token)}};
  if (!remote_ip.empty()) body["remoteip"] = std::string(remote_ip);
  wallet::HttpOptions http;
  http.connect_timeout = options_.timeout;
  http.request_timeout = options_.timeout;
  http.total_timeout = options_.timeout;
  http.max_response_bytes = 16 * 1024;
  http.keep_alive = false;
  http.ca_file = options_.ca_file;
  const std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  StatusOr<wallet::HttpResponse> r = wallet::HttpPost(options_.url, {}, text, http);
  if (!r.ok()) {
    if (r.status().code() == StatusCode::kInvalidArgument) return r.status();
    return UnavailableError("turnstile: siteverify unreachable: " + r.status().message());
  }
  if (r->status != 200) return UnavailableError("turnstile: siteverify answered HTTP " + std::to_string(r->status));
  StatusOr<nlohmann::json> doc = ParseJsonStrict(r->body, "siteverify answer");
  if (!doc.ok() || !doc->is_object()) return UnavailableError("turnstile: siteverify answered something not JSON");
  const nlohmann::json& j = *doc;
  if (!j.contains("success") || !j["success"].is_boolean() || !j["success"].get<bool>()) {
    std::string codes;
    if (j.contains("error-codes") && j["error-codes"].is_array()) {
      for (const auto& c : j["error-codes"]) {
        if (!c.is_string()) continue;
        if (!codes.empty()) codes += ",";
        codes += wallet::SanitizeForLog(c.get<std::string>(), 64);
      }
    }
    return Refused("the token was not accepted" + (codes.empty() ? std::string() : " (" + codes + ")"));
  }
  if (!j.contains("action") || !j["action"].is_string() || j["action"].get<std::string>() != action) {
    return Refused("the token was made for another action (expected \"" + std::string(action) + "\")");
  }
  if (!j.contains("hostname") || !j["hostname"].is_string()) return Refused("the answer names no hostname");
  const std::string host = j["hostname"].get<std::string>();
  if (std::find(options_.hostnames.begin(), options_.hostnames.end(), host) == options_.hostnames.end()) {
    return Refused("the token was made on a hostname not allowed here");
  }
  return OkStatus();
}

}  // namespace vp::election
