// The one JSON envelope of the API and the one place where Status codes become HTTP
// statuses (docs/api.md, "Envelope"). Success: {"data": ...}; failure:
// {"error": CODE, "message": ..., "statusCode": N, "requestId": ...}.
//
//   return ErrorResponse(vp::NotFoundError("no such route"), req.request_id);
//   return DataResponse(nlohmann::json{{"pong", true}});
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

#include "vp/base/status.h"
#include "vp/http/types.h"

namespace vp::http {

// kInvalidArgument 400, kUnauthenticated 401, kPermissionDenied 403, kNotFound 404,
// kAlreadyExists 409, kResourceExhausted 429, kFailedPrecondition 409, kUnavailable 503,
// kInternal (and anything unknown) 500. kOk is 200.
unsigned HttpStatusFor(StatusCode code);

// The envelope for a failure; http_status overrides the mapping where the transport knows
// better (413 body too large, 431 headers too large, 404/405 from the router).
Response ErrorResponse(const Status& status, std::string_view request_id, unsigned http_status = 0);

// As ErrorResponse, with a product-specific code in place of the Status code's name
// ("SIGNER_UNAVAILABLE" for an unavailable signer, still 503).
Response ErrorResponseNamed(const Status& status, std::string_view code, std::string_view request_id);

// The error code name used for an HTTP status that has no Status of its own (405 ->
// "METHOD_NOT_ALLOWED", 413 -> "PAYLOAD_TOO_LARGE", 431 -> "HEADERS_TOO_LARGE").
std::string_view ErrorNameForHttp(unsigned http_status);

// {"data": data} with the given status.
Response DataResponse(const nlohmann::json& data, unsigned http_status = 200);

// Parses a request body as a JSON object. Empty body, invalid JSON, or a non-object top
// level is kInvalidArgument naming the problem; never throws.
StatusOr<nlohmann::json> ParseJsonObject(std::string_view body);

}  // namespace vp::http
