#include "vp/http/envelope.h"

#include "vp/base/json.h"

namespace vp::http {

unsigned HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

std::string_view ErrorNameForHttp(unsigned http_status) {
  switch (http_status) {
    case 404: return "NOT_FOUND";
    case 405: return "METHOD_NOT_ALLOWED";
    case 408: return "REQUEST_TIMEOUT";
    case 413: return "PAYLOAD_TOO_LARGE";
    case 431: return "HEADERS_TOO_LARGE";
    default: return {};
  }
}

namespace {

Response ErrorEnvelope(const Status& status, std::string_view name, std::string_view request_id, unsigned http_status) {
  Response r;
  r.status = http_status;
  nlohmann::json body = {
      {"error", std::string(name)},
      {"message", status.message()},
      {"statusCode", r.status},
      {"requestId", std::string(request_id)},
  };
  // Replace, never throw, on invalid UTF-8 that came in through a message.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace

Response ErrorResponse(const Status& status, std::string_view request_id, unsigned http_status) {
  const unsigned code = http_status != 0 ? http_status : HttpStatusFor(status.code());
  std::string_view name = ErrorNameForHttp(http_status);
  if (name.empty() || http_status == 404) name = StatusCodeName(status.code());
  return ErrorEnvelope(status, name, request_id, code);
}

Response ErrorResponseNamed(const Status& status, std::string_view code, std::string_view request_id) {
  return ErrorEnvelope(status, code, request_id, HttpStatusFor(status.code()));
}

Response DataResponse(const nlohmann::json& data, unsigned http_status) {
  Response r;
  r.status = http_status;
  nlohmann::json body = nlohmann::json::object();
  body["data"] = data;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

StatusOr<nlohmann::json> ParseJsonObject(std::string_view body) {
  if (body.empty()) return InvalidArgumentError("body: expected a JSON object, got an empty body");
  // Strict: a repeated key is refused, and nesting is capped (the response writer and the
  // handlers recurse over the document; a 64 KiB body of brackets would otherwise exhaust
  // the stack).
  ASSIGN_OR_RETURN(nlohmann::json doc, ParseJsonStrict(body, "body"));
  if (!doc.is_object()) return InvalidArgumentError("body: expected a JSON object");
  return doc;
}

}  // namespace vp::http
