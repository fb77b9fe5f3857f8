#include "vp/http/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

namespace vp::http {
namespace {

// One table of setters, shared by TOML and env, so both accept exactly the same keys.
struct Key {
  const char* section;
  const char* name;
  enum Type { kInt, kString, kBool, kList } type;
  int64_t GatewayConfig::*i = nullptr;
  std::string GatewayConfig::*s = nullptr;
  bool GatewayConfig::*b = nullptr;
  std::vector<std::string> GatewayConfig::*l = nullptr;
};

Key I(const char* sec, const char* n, int64_t GatewayConfig::*p) { return {sec, n, Key::kInt, p, nullptr, nullptr, nullptr}; }
Key S(const char* sec, const char* n, std::string GatewayConfig::*p) { return {sec, n, Key::kString, nullptr, p, nullptr, nullptr}; }
Key B(const char* sec, const char* n, bool GatewayConfig::*p) { return {sec, n, Key::kBool, nullptr, nullptr, p, nullptr}; }
Key L(const char* sec, const char* n, std::vector<std::string> GatewayConfig::*p) { return {sec, n, Key::kList, nullptr, nullptr, nullptr, p}; }

const std::vector<Key>& Keys() {
  static const std::vector<Key> keys = {
      S("server", "listen", &GatewayConfig::listen),
      S("server", "data_dir", &GatewayConfig::data_dir),
      I("server", "threads", &GatewayConfig::threads),
      S("server", "tls_cert", &GatewayConfig::tls_cert),
      S("server", "tls_key", &GatewayConfig::tls_key),
      I("server", "max_connections", &GatewayConfig::max_connections),
      I("server", "max_connections_per_ip", &GatewayConfig::max_connections_per_ip),
      I("limits", "body_bytes", &GatewayConfig::body_bytes),
      I("limits", "header_bytes", &GatewayConfig::header_bytes),
      I("limits", "read_timeout_ms", &GatewayConfig::read_timeout_ms),
      I("limits", "idle_timeout_ms", &GatewayConfig::idle_timeout_ms),
      I("limits", "write_timeout_ms", &GatewayConfig::write_timeout_ms),
      I("limits", "shutdown_grace_ms", &GatewayConfig::shutdown_grace_ms),
      L("cors", "origins", &GatewayConfig::cors_origins),
      I("auth", "max_skew_s", &GatewayConfig::max_skew_s),
      I("auth", "key_cache_ms", &GatewayConfig::key_cache_ms),
      I("rate_limits", "per_key_limit", &GatewayConfig::per_key_limit),
      I("rate_limits", "per_key_window_ms", &GatewayConfig::per_key_window_ms),
      I("rate_limits", "per_ip_limit", &GatewayConfig::per_ip_limit),
      I("rate_limits", "per_ip_window_ms", &GatewayConfig::per_ip_window_ms),
      I("rate_limits", "global_hourly", &GatewayConfig::global_hourly),
      I("rate_limits", "global_daily", &GatewayConfig::global_daily),
      I("rate_limits", "persist_interval_ms", &GatewayConfig::persist_interval_ms),
      S("store", "url", &GatewayConfig::db_url),
      I("store", "threads", &GatewayConfig::store_threads),
      I("store", "pool_size", &GatewayConfig::pool_size),
      I("worker", "threads", &GatewayConfig::worker_threads),
      I("worker", "visibility_ms", &GatewayConfig::worker_visibility_ms),
      B("audit", "reads", &GatewayConfig::audit_reads),
      I("audit", "digest_every", &GatewayConfig::audit_digest_every),
      I("audit", "digest_interval_ms", &GatewayConfig::audit_digest_interval_ms),
      B("custody", "enabled", &GatewayConfig::custody_enabled),
      S("custody", "bin_dir", &GatewayConfig::custody_bin_dir),
      S("custody", "kms_backend", &GatewayConfig::custody_kms_backend),
      S("custody", "kms_socket", &GatewayConfig::custody_kms_socket),
      S("custody", "master_key_file", &GatewayConfig::custody_master_key_file),
      S("custody", "passphrase_file", &GatewayConfig::custody_passphrase_file),
      S("custody", "pkcs11_module", &GatewayConfig::custody_pkcs11_module),
      S("custody", "pkcs11_token", &GatewayConfig::custody_pkcs11_token),
      S("custody", "pkcs11_pin_file", &GatewayConfig::custody_pkcs11_pin_file),
      S("custody", "policy_file", &GatewayConfig::custody_policy_file),
      I("custody", "signer_uid", &GatewayConfig::custody_signer_uid),
      B("custody", "debug", &GatewayConfig::custody_debug),
      I("custody", "cache_ttl_s", &GatewayConfig::custody_cache_ttl_s),
      I("custody", "attestation_refresh_s", &GatewayConfig::custody_attestation_refresh_s),
      L("ballot", "choices", &GatewayConfig::ballot_choices),
      I("ballot", "bot_count", &GatewayConfig::ballot_bot_count),
      B("ballot", "shared_election", &GatewayConfig::ballot_shared_election),
      I("ballot", "session_ttl_ms", &GatewayConfig::ballot_session_ttl_ms),
      I("ballot", "finalized_session_ttl_ms", &GatewayConfig::ballot_finalized_session_ttl_ms),
      I("ballot", "body_bytes", &GatewayConfig::ballot_body_bytes),
      I("ballot", "vote_limit_per_ip", &GatewayConfig::ballot_vote_limit_per_ip),
      I("ballot", "session_limit_per_ip", &GatewayConfig::ballot_session_limit_per_ip),
      I("ballot", "limit_window_ms", &GatewayConfig::ballot_limit_window_ms),
      I("ballot", "sweep_interval_ms", &GatewayConfig::ballot_sweep_interval_ms),
      S("ballot", "turnstile", &GatewayConfig::ballot_turnstile),
      S("ballot", "turnstile_secret_file", &GatewayConfig::ballot_turnstile_secret_file),
      S("ballot", "turnstile_url", &GatewayConfig::ballot_turnstile_url),
      L("ballot", "turnstile_hostnames", &GatewayConfig::ballot_turnstile_hostnames),
      S("ballot", "finalize_mode", &GatewayConfig::ballot_finalize_mode),
      I("ballot", "finalize_timeout_ms", &GatewayConfig::ballot_finalize_timeout_ms),
      S("ballot", "prover_binary", &GatewayConfig::ballot_prover_binary),
      S("ballot", "prover_release_public_key", &GatewayConfig::ballot_prover_release_public_key),
      I("ballot", "max_segment_leaves", &GatewayConfig::ballot_max_segment_leaves),
      I("ballot", "segment_block_leaves", &GatewayConfig::ballot_segment_block_leaves),
      B("ballot", "prover_sessions", &GatewayConfig::ballot_prover_sessions),
      I("ballot", "prover_idle_exit_ms", &GatewayConfig::ballot_prover_idle_exit_ms),
      I("ballot", "finalize_limit_per_ip", &GatewayConfig::ballot_finalize_limit_per_ip),
      I("ballot", "finalize_global_per_hour", &GatewayConfig::ballot_finalize_global_per_hour),
      I("ballot", "finalize_global_per_day", &GatewayConfig::ballot_finalize_global_per_day),
      I("ballot", "cancel_limit_per_ip", &GatewayConfig::ballot_cancel_limit_per_ip),
      B("webhooks", "allow_private_addresses", &GatewayConfig::webhooks_allow_private_addresses),
      S("web", "root", &GatewayConfig::web_root),
      S("log", "level", &GatewayConfig::log_level),
      B("log", "access_log", &GatewayConfig::access_log),
  };
  return keys;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

StatusOr<int64_t> ParseInt(std::string_view text, const std::string& what) {
  if (text.empty() || text.size() > 18) return InvalidArgumentError(what + ": expected an integer");
  int64_t v = 0;
  bool neg = false;
  size_t i = 0;
  if (text[0] == '-') {
    neg = true;
    i = 1;
    if (text.size() == 1) return InvalidArgumentError(what + ": expected an integer");
  }
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return InvalidArgumentError(what + ": expected an integer");
    v = v * 10 + (text[i] - '0');
  }
  return neg ? -v : v;
}

Status ApplyRouteLimits(const toml::table& routes, GatewayConfig& cfg) {
  for (const auto& [k, node] : routes) {
    std::string route(k.str());
    const toml::table* t = node.as_table();
    if (t == nullptr) return InvalidArgumentError("rate_limits.routes." + route + ": expected a table");
    RouteRateLimit rl;
    for (const auto& [field, v] : *t) {
      auto iv = v.value<int64_t>();
      if (!iv || !v.is_integer()) {
        return InvalidArgumentError("rate_limits.routes." + route + "." + std::string(field.str()) +
                                    ": expected an integer");
      }
      if (field.str() == "per_key") {
        rl.per_key = *iv;
      } else if (field.str() == "per_ip") {
        rl.per_ip = *iv;
      } else if (field.str() == "window_ms") {
        rl.window_ms = *iv;
      } else {
        return InvalidArgumentError("rate_limits.routes." + route + ": unknown key " + std::string(field.str()));
      }
    }
    cfg.route_limits[route] = rl;
  }
  return OkStatus();
}

}  // namespace

GetEnvFn ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Status ApplyToml(std::string_view toml_text, GatewayConfig& cfg) {
  toml::table doc;
  try {
    doc = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    return InvalidArgumentError(std::string("config: ") + std::string(e.description()) + " at line " +
                                std::to_string(e.source().begin.line));
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("config: ") + e.what());
  }
  for (const auto& [sec_key, sec_node] : doc) {
    std::string sec(sec_key.str());
    const toml::table* table = sec_node.as_table();
    if (table == nullptr) return InvalidArgumentError("config: " + sec + " must be a table");
    for (const auto& [key, node] : *table) {
      std::string name(key.str());
      std::string full = sec + "." + name;
      if (sec == "rate_limits" && name == "routes") {
        const toml::table* routes = node.as_table();
        if (routes == nullptr) return InvalidArgumentError("config: " + full + " must be a table");
        RETURN_IF_ERROR(ApplyRouteLimits(*routes, cfg));
        continue;
      }
      const Key* found = nullptr;
      for (const Key& k : Keys()) {
        if (sec == k.section && name == k.name) found = &k;
      }
      if (found == nullptr) return InvalidArgumentError("config: unknown key " + full);
      switch (found->type) {
        case Key::kInt:
          if (!node.is_integer()) return InvalidArgumentError("config: " + full + " must be an integer");
          cfg.*(found->i) = node.value<int64_t>().value_or(0);
          break;
        case Key::kString:
          if (!node.is_string()) return InvalidArgumentError("config: " + full + " must be a string");
          cfg.*(found->s) = node.value<std::string>().value_or("");
          break;
        case Key::kBool:
          if (!node.is_boolean()) return InvalidArgumentError("config: " + full + " must be true or false");
          cfg.*(found->b) = node.value<bool>().value_or(false);
          break;
        case Key::kList: {
          const toml::array* arr = node.as_array();
          if (arr == nullptr) return InvalidArgumentError("config: " + full + " must be an array of strings");
          std::vector<std::string> items;
          for (const toml::node& item : *arr) {
            if (!item.is_string()) return InvalidArgumentError("config: " + full + " must be an array of strings");
            items.push_back(item.value<std::string>().value_or(""));
          }
          cfg.*(found->l) = std::move(items);
          break;
        }
      }
    }
  }
  return OkStatus();
}

Status ApplyEnv(const GetEnvFn& env, GatewayConfig& cfg) {
  for (const Key& k : Keys()) {
    std::string var = "VAULTPROOF_" + Upper(k.section) + "_" + Upper(k.name);
    std::optional<std::string> v = env(var);
    if (!v) continue;
    switch (k.type) {
      case Key::kInt: {
        ASSIGN_OR_RETURN(cfg.*(k.i), ParseInt(*v, var));
        break;
      }
      case Key::kString:
        cfg.*(k.s) = *v;
        break;
      case Key::kBool:
        if (*v == "1" || *v == "true") {
          cfg.*(k.b) = true;
        } else if (*v == "0" || *v == "false") {
          cfg.*(k.b) = false;
        } else {
          return InvalidArgumentError(var + ": expected true or false");
        }
        break;
      case Key::kList: {
        std::vector<std::string> items;
        std::string_view rest = *v;
        while (!rest.empty()) {
          size_t comma = rest.find(',');
          std::string_view item = rest.substr(0, comma);
          while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
          while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
          if (!item.empty()) items.emplace_back(item);
          if (comma == std::string_view::npos) break;
          rest.remove_prefix(comma + 1);
        }
        cfg.*(k.l) = std::move(items);
        break;
      }
    }
  }
  return OkStatus();
}

StatusOr<GatewayConfig> LoadGatewayConfig(const std::string& path, const GetEnvFn& env) {
  GatewayConfig cfg;
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) return InvalidArgumentError("config: cannot read " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    RETURN_IF_ERROR(ApplyToml(ss.str(), cfg));
  }
  RETURN_IF_ERROR(ApplyEnv(env, cfg));
  return cfg;
}

StatusOr<std::pair<std::string, uint16_t>> ParseListen(std::string_view listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return InvalidArgumentError("listen: expected HOST:PORT");
  }
  std::string host(listen.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string_view port_text = listen.substr(colon + 1);
  auto port = ParseInt(port_text, "listen port");
  if (!port.ok() || *port < 0 || *port > 65535) return InvalidArgumentError("listen: port must be 0..65535");
  return std::make_pair(host, static_cast<uint16_t>(*port));
}

Status Validate(const GatewayConfig& cfg) {
  RETURN_IF_ERROR(ParseListen(cfg.listen));
  auto positive = [](int64_t v, const char* name) -> Status {
    if (v <= 0) return InvalidArgumentError(std::string("config: ") + name + " must be > 0");
    return OkStatus();
  };
  RETURN_IF_ERROR(positive(cfg.max_connections, "server.max_connections"));
  RETURN_IF_ERROR(positive(cfg.max_connections_per_ip, "server.max_connections_per_ip"));
  RETURN_IF_ERROR(positive(cfg.body_bytes, "limits.body_bytes"));
  RETURN_IF_ERROR(positive(cfg.header_bytes, "limits.header_bytes"));
  RETURN_IF_ERROR(positive(cfg.read_timeout_ms, "limits.read_timeout_ms"));
  RETURN_IF_ERROR(positive(cfg.idle_timeout_ms, "limits.idle_timeout_ms"));
  RETURN_IF_ERROR(positive(cfg.write_timeout_ms, "limits.write_timeout_ms"));
  RETURN_IF_ERROR(positive(cfg.max_skew_s, "auth.max_skew_s"));
  RETURN_IF_ERROR(positive(cfg.per_key_window_ms, "rate_limits.per_key_window_ms"));
  RETURN_IF_ERROR(positive(cfg.per_ip_window_ms, "rate_limits.per_ip_window_ms"));
  RETURN_IF_ERROR(positive(cfg.store_threads, "store.threads"));
  if (cfg.worker_threads < 0 || cfg.worker_threads > 64) return InvalidArgumentError("worker.threads: 0..64");
  RETURN_IF_ERROR(positive(cfg.worker_visibility_ms, "worker.visibility_ms"));
  RETURN_IF_ERROR(positive(cfg.pool_size, "store.pool_size"));
  RETURN_IF_ERROR(positive(cfg.audit_digest_every, "audit.digest_every"));
  RETURN_IF_ERROR(positive(cfg.audit_digest_interval_ms, "audit.digest_interval_ms"));
  RETURN_IF_ERROR(positive(cfg.custody_cache_ttl_s, "custody.cache_ttl_s"));
  RETURN_IF_ERROR(positive(cfg.custody_attestation_refresh_s, "custody.attestation_refresh_s"));
  if (cfg.custody_kms_backend != "file" && cfg.custody_kms_backend != "pkcs11" && cfg.custody_kms_backend != "external")
    return InvalidArgumentError("config: custody.kms_backend must be file, pkcs11 or external");
  if (cfg.custody_signer_uid < -1 || cfg.custody_signer_uid == 0 || cfg.custody_signer_uid > 0xFFFFFFFE)
    return InvalidArgumentError("config: custody.signer_uid must be -1 (default) or a non-root uid");
  if (cfg.threads < 0) return InvalidArgumentError("config: server.threads must be >= 0");
  if (cfg.tls_cert.empty() != cfg.tls_key.empty()) {
    return InvalidArgumentError("config: server.tls_cert and server.tls_key go together");
  }
  if (cfg.ballot_bot_count < 0 || cfg.ballot_bot_count > (int64_t{1} << 24))
    return InvalidArgumentError("config: ballot.bot_count must be 0..16777216");
  RETURN_IF_ERROR(positive(cfg.ballot_session_ttl_ms, "ballot.session_ttl_ms"));
  RETURN_IF_ERROR(positive(cfg.ballot_finalized_session_ttl_ms, "ballot.finalized_session_ttl_ms"));
  RETURN_IF_ERROR(positive(cfg.ballot_body_bytes, "ballot.body_bytes"));
  RETURN_IF_ERROR(positive(cfg.ballot_limit_window_ms, "ballot.limit_window_ms"));
  RETURN_IF_ERROR(positive(cfg.ballot_sweep_interval_ms, "ballot.sweep_interval_ms"));
  if (cfg.ballot_vote_limit_per_ip < 0 || cfg.ballot_session_limit_per_ip < 0)
    return InvalidArgumentError("config: ballot limits must be >= 0 (0: off)");
  if (cfg.ballot_finalize_mode != "async" && cfg.ballot_finalize_mode != "sync")
    return InvalidArgumentError("config: ballot.finalize_mode must be async or sync");
  RETURN_IF_ERROR(positive(cfg.ballot_finalize_timeout_ms, "ballot.finalize_timeout_ms"));
  if (cfg.ballot_prover_idle_exit_ms < 1000 || cfg.ballot_prover_idle_exit_ms > 86'400'000) {
    return InvalidArgumentError("config: ballot.prover_idle_exit_ms must be 1000..86400000");
  }
  if (cfg.ballot_max_segment_leaves < 1 || cfg.ballot_max_segment_leaves > (int64_t{1} << 20))
    return InvalidArgumentError("config: ballot.max_segment_leaves must be 1..1048576");
  if (cfg.ballot_segment_block_leaves < 1 || cfg.ballot_segment_block_leaves > (int64_t{1} << 20) ||
      (cfg.ballot_segment_block_leaves & (cfg.ballot_segment_block_leaves - 1)) != 0)
    return InvalidArgumentError("config: ballot.segment_block_leaves must be a power of two <= 1048576");
  if (!cfg.ballot_prover_release_public_key.empty() && cfg.ballot_prover_release_public_key.size() != 64)
    return InvalidArgumentError("config: ballot.prover_release_public_key must be 64 hex digits");
  if (cfg.ballot_finalize_limit_per_ip < 0 || cfg.ballot_finalize_global_per_hour < 0 ||
      cfg.ballot_finalize_global_per_day < 0 || cfg.ballot_cancel_limit_per_ip < 0)
    return InvalidArgumentError("config: ballot finalize limits must be >= 0 (0: off)");
  if (cfg.ballot_turnstile != "off" && cfg.ballot_turnstile != "cloudflare")
    return InvalidArgumentError("config: ballot.turnstile must be off or cloudflare");
  if (cfg.ballot_turnstile == "cloudflare" &&
      (cfg.ballot_turnstile_secret_file.empty() || cfg.ballot_turnstile_hostnames.empty()))
    return InvalidArgumentError("config: ballot.turnstile = cloudflare needs turnstile_secret_file and turnstile_hostnames");
  for (const auto& [route, rl] : cfg.route_limits) {
    if (rl.per_key < 0 || rl.per_ip < 0 || rl.window_ms < 0) {
      return InvalidArgumentError("config: rate_limits.routes." + route + ": limits must be >= 0");
    }
  }
  return OkStatus();
}

}  // namespace vp::http
