// GatewayConfig: every setting of `vaultproof serve`, with its default, loaded in layers:
// defaults < TOML file (--config) < environment VAULTPROOF_<SECTION>_<KEY> < flags.
// docs/api.md ("Configuration") lists every key.
//
//   ASSIGN_OR_RETURN(GatewayConfig cfg, LoadGatewayConfig("gateway.toml", GetEnvFn()));
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vp/base/status.h"

namespace vp::http {

struct RouteRateLimit {
  int64_t per_key = 0;  // 0: the [rate_limits] default applies
  int64_t per_ip = 0;
  int64_t window_ms = 0;
};

struct GatewayConfig {
  // [server]
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "var";
  int64_t threads = 0;  // 0: one per core
  std::string tls_cert;  // both set: HTTPS
  std::string tls_key;
  int64_t max_connections = 10000;
  int64_t max_connections_per_ip = 1000;
  // [limits]
  int64_t body_bytes = 64 * 1024;
  int64_t header_bytes = 16 * 1024;
  int64_t read_timeout_ms = 10000;   // a whole request, from its first byte
  int64_t idle_timeout_ms = 60000;   // between keep-alive requests
  int64_t write_timeout_ms = 10000;
  int64_t shutdown_grace_ms = 15000;
  // [cors]
  std::vector<std::string> cors_origins;  // exact origins; "*" allows any
  // [auth]
  int64_t max_skew_s = 300;
  int64_t key_cache_ms = 30000;  // how long a key's role/disabled flag is trusted from cache
  // [rate_limits]
  int64_t per_key_limit = 1200;
  int64_t per_key_window_ms = 60000;
  int64_t per_ip_limit = 2400;
  int64_t per_ip_window_ms = 60000;
  int64_t global_hourly = 1000000;   // 0: off
  int64_t global_daily = 10000000;   // 0: off
  int64_t persist_interval_ms = 5000;
  std::map<std::string, RouteRateLimit> route_limits;  // "POST /v1/echo" -> limits
  // [store]
  std::string db_url;  // "" -> <data_dir>/vaultproof.db
  int64_t store_threads = 4;
  int64_t pool_size = 8;
  // [worker]: job-queue workers inside the gateway (docs/jobs.md)
  int64_t worker_threads = 2;            // 0: this gateway runs no jobs
  int64_t worker_visibility_ms = 30000;  // a job's lease; a silent worker loses it after this
  // [audit]
  bool audit_reads = true;               // also audit authenticated reads (asynchronously)
  int64_t audit_digest_every = 1000;     // records per signed digest
  int64_t audit_digest_interval_ms = 60000;
  // [custody]: the kms and signer processes the gateway launches (docs/signer_protocol.md)
  bool custody_enabled = true;
  std::string custody_bin_dir;          // "" -> the folder of the running vaultproof binary
  std::string custody_kms_backend = "file";  // file | pkcs11 | external (kms run elsewhere)
  std::string custody_kms_socket;       // "" -> <data_dir>/custody/run/kms.sock
  std::string custody_master_key_file;  // "" -> <data_dir>/custody/master.sealed
  std::string custody_passphrase_file;  // "" -> a generated dev passphrase under <data_dir>/custody
  std::string custody_pkcs11_module;
  std::string custody_pkcs11_token;
  std::string custody_pkcs11_pin_file;
  std::string custody_policy_file;      // "" -> dev policy pinning the measured signer, rewritten each start
  int64_t custody_signer_uid = -1;      // -1: 65534 when running as root
  bool custody_debug = false;           // attest the all-zero debug measurement
  int64_t custody_cache_ttl_s = 300;
  int64_t custody_attestation_refresh_s = 300;
  // [ballot]: the ballot API under /api (docs/api.md, "Ballot API")
  std::vector<std::string> ballot_choices = {"A", "B", "C", "D", "E"};
  int64_t ballot_bot_count = 63;
  bool ballot_shared_election = false;   // true: every session joins the one open election
  int64_t ballot_session_ttl_ms = 30 * 60 * 1000;            // before finalization
  int64_t ballot_finalized_session_ttl_ms = 24 * 3600 * 1000;  // after it
  int64_t ballot_body_bytes = 16 * 1024;  // larger /api bodies: 413
  int64_t ballot_vote_limit_per_ip = 10;     // POST /api/vote per IP and window; 0: off
  int64_t ballot_session_limit_per_ip = 30;  // POST /api/session per IP and window; 0: off
  int64_t ballot_limit_window_ms = 60000;
  int64_t ballot_sweep_interval_ms = 60000;  // how often the expired-session sweep job is queued
  std::string ballot_turnstile = "off";      // off | cloudflare
  std::string ballot_turnstile_secret_file;  // cloudflare: a file holding the secret key
  std::string ballot_turnstile_url = "https://challenges.cloudflare.com/turnstile/v0/siteverify";
  std::vector<std::string> ballot_turnstile_hostnames;  // cloudflare: allowed hostnames
  // Finalization (docs/api.md, "Finalize and verify").
  std::string ballot_finalize_mode = "async";  // async (202 + job) | sync (200 when done)
  int64_t ballot_finalize_timeout_ms = 120000; // sync: how long the request waits
  std::string ballot_prover_binary;            // "" = vaultproof-prover beside this binary
  // The release key's Ed25519 public key (hex) that must sign the prover image; "" = a dev
  // key made under data_dir that signs the local prover at start (never for production).
  std::string ballot_prover_release_public_key;
  // Tally segments: runs of blocks of segment_block_leaves leaves, at most max_segment_leaves
  // leaves each (21 blocks of 1024 fill a 2^16-row trace to 98%; docs/tally_proof.md).
  int64_t ballot_max_segment_leaves = 21504;
  int64_t ballot_segment_block_leaves = 1024;
  bool ballot_prover_sessions = true;          // warm `vaultproof-prover serve` images
  int64_t ballot_prover_idle_exit_ms = 60000;  // an idle warm image exits after this
  int64_t ballot_finalize_limit_per_ip = 50;       // per 24 h
  int64_t ballot_finalize_global_per_hour = 100;
  int64_t ballot_finalize_global_per_day = 1000;
  int64_t ballot_cancel_limit_per_ip = 5;          // per minute
  // [webhooks]: true lets webhook URLs reach loopback, private and link-local addresses
  // (tests, closed networks); false refuses them at creation and at each delivery.
  bool webhooks_allow_private_addresses = false;
  // [web]: the pages the gateway serves (docs/web.md)
  std::string web_root = "auto";  // "auto": <folder of the vaultproof binary>/../web; "": no pages
  // [log]
  std::string log_level = "info";  // trace, debug, info, warn, error, off
  bool access_log = false;         // one line per request (debug aid; costs throughput)

  std::string DbUrl() const { return db_url.empty() ? data_dir + "/vaultproof.db" : db_url; }
};

using GetEnvFn = std::function<std::optional<std::string>(const std::string&)>;
// Reads the real process environment.
GetEnvFn ProcessEnv();

// Applies a TOML document (text) over cfg. Unknown keys and wrong types are
// kInvalidArgument naming the key.
Status ApplyToml(std::string_view toml_text, GatewayConfig& cfg);
// Applies VAULTPROOF_<SECTION>_<KEY> variables over cfg (lists are comma-separated).
Status ApplyEnv(const GetEnvFn& env, GatewayConfig& cfg);
// defaults, then the file (if path non-empty; unreadable is kInvalidArgument), then env.
StatusOr<GatewayConfig> LoadGatewayConfig(const std::string& path, const GetEnvFn& env);

// Checks ranges (positive limits, parsable listen address). kInvalidArgument on failure.
Status Validate(const GatewayConfig& cfg);

// "host:port" -> (host, port); "[::1]:8080" too. Port 0 means "any free port".
StatusOr<std::pair<std::string, uint16_t>> ParseListen(std::string_view listen);

}  // namespace vp::http
