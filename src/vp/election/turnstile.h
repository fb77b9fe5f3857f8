// The human check of the ballot API: `off`, or Cloudflare Turnstile's siteverify. The
// client's token is POSTed with the secret and the client's IP; the answer must say
// success, carry the action of the route the token was made for ("session", "vote") and a
// hostname on the allowlist. Refusals are kPermissionDenied "CAPTCHA_FAILED: ..." (403);
// siteverify being unreachable is kUnavailable (the request fails closed, 503).
//
//   TurnstileOptions o{.mode = "cloudflare", .secret = "...", .hostnames = {"vote.example"}};
//   ASSIGN_OR_RETURN(auto turnstile, TurnstileVerifier::Create(std::move(o)));
//   RETURN_IF_ERROR(turnstile->Verify(token, "vote", remote_ip));
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vp/base/status.h"

namespace vp::election {

inline constexpr std::string_view kCaptchaFailed = "CAPTCHA_FAILED";
inline constexpr std::string_view kCloudflareSiteverifyUrl = "https://challenges.cloudflare.com/turnstile/v0/siteverify";
// Cloudflare's tokens are at most 2048 characters.
inline constexpr size_t kMaxTurnstileTokenLength = 2048;

struct TurnstileOptions {
  std::string mode = "off";  // "off" | "cloudflare"
  std::string secret;        // cloudflare: the widget's secret key
  std::string url = std::string(kCloudflareSiteverifyUrl);
  std::vector<std::string> hostnames;  // cloudflare: the answer's hostname must be one of them
  std::chrono::milliseconds timeout{10000};
  std::string ca_file;  // https with a private CA (tests)
};

class TurnstileVerifier {
 public:
  // kInvalidArgument for an unknown mode, or cloudflare without a secret, a valid URL or
  // at least one hostname.
  static StatusOr<std::unique_ptr<TurnstileVerifier>> Create(TurnstileOptions options);

  bool enabled() const { return options_.mode != "off"; }
  // OK when off. Otherwise one siteverify call; blocks up to the timeout. token: the
  // client's turnstileToken ("" when absent: refused without a call).
  Status Verify(std::string_view token, std::string_view action, std::string_view remote_ip) const;

 private:
  explicit TurnstileVerifier(TurnstileOptions options) : options_(std::move(options)) {}
  TurnstileOptions options_;
};

}  // namespace vp::election
