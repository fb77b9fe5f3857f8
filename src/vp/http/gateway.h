// Gateway: `vaultproof serve`. Wires the transport (server.h) to the platform: routes,
// CORS, VP1 authentication, rate limits, idempotency, the audit log (durable before the
// response for writes, group commit), metrics, health checks and JSON logs. The routes,
// envelope and error codes are documented in docs/api.md.
//
// Request pipeline: request id and limits (server.h) -> route -> CORS -> per-IP limit ->
// auth -> per-key, per-route and global limits -> idempotency (POST) -> handler ->
// audit -> metrics. Store work runs on a separate thread pool; io threads never block
// on SQLite or libpq.
//
//   ASSIGN_OR_RETURN(auto gw, Gateway::Create(config));
//   RETURN_IF_ERROR(gw->Listen());
//   return gw->Run(/*install_signals=*/true);     // SIGTERM: drain, flush, return
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vp/base/status.h"
#include "vp/http/config.h"

namespace vp::http {

class Gateway {
 public:
  // Creates the data directory, opens and migrates the store, loads (or creates) the
  // pepper and the audit signing key, starts the audit writer. Errors as from those.
  static StatusOr<std::unique_ptr<Gateway>> Create(const GatewayConfig& config);
  ~Gateway();

  Status Listen();
  uint16_t port() const;
  // Serves until SIGTERM/SIGINT (when install_signals) or Shutdown(); then finishes
  // in-flight requests, stops the audit writer (everything acknowledged is committed),
  // persists rate-limit state and flushes the store. Returns the first flush error.
  Status Run(bool install_signals);
  void Shutdown();

  // Every route as "METHOD /pattern", in registration order (the OpenAPI test compares them
  // with docs/openapi.yaml).
  static std::vector<std::string> RouteLabels();

  struct Impl;

 private:
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vp::http
