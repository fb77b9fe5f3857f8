// Chains configured for broadcast (chains.h).
#include "vp/wallet/chains.h"

#include <limits>

#include "vp/wallet/policy.h"

namespace vp::wallet {
namespace {

constexpr int64_t kMaxConfirmations = 1000;

Chain RowAt(const store::Rows& r, size_t i) {
  Chain c;
  c.chain_id = static_cast<uint64_t>(r.Int(i, 0));
  c.config.rpc_url = r.Text(i, 1);
  c.config.confirmations = r.Int(i, 2);
  c.updated_by = r.Text(i, 3);
  c.updated_ms = r.Int(i, 4);
  return c;
}

constexpr std::string_view kColumns = "chain_id, rpc_url, confirmations, updated_by, updated_ms";

}  // namespace

nlohmann::json ChainJson(const Chain& chain) {
  std::string shown = chain.config.rpc_url;
  StatusOr<RpcUrl> url = ParseRpcUrl(chain.config.rpc_url);
  if (url.ok()) {
    shown = std::string(url->tls ? "https://" : "http://") +
            (url->host.find(':') != std::string::npos ? "[" + url->host + "]" : url->host) + ":" +
            std::to_string(url->port) + (url->target == "/" ? "" : "/…");
  }
  return {{"chainId", chain.chain_id},
          {"rpcUrl", shown},
          {"confirmations", chain.config.confirmations},
          {"updatedBy", chain.updated_by},
          {"updatedAt", chain.updated_ms}};
}

Status ChainRegistry::Put(uint64_t chain_id, const ChainConfig& config, std::string_view principal, int64_t now_ms) {
  if (chain_id == 0 || chain_id > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return InvalidArgumentError("chainId: 1..2^63-1");
  if (config.confirmations < 0 || config.confirmations > kMaxConfirmations)
    return InvalidArgumentError("confirmations: 0..1000");
  // The client checks the URL (ParseRpcUrl) before anything is sent.
  ASSIGN_OR_RETURN(std::unique_ptr<RpcClient> rpc, RpcClient::Create(config.rpc_url, rpc_options_));
  ASSIGN_OR_RETURN(eth::U256 answered, rpc->ChainId());
  if (answered != eth::U256(chain_id))
    return Refusal(StatusCode::kFailedPrecondition, "CHAIN_ID_MISMATCH",
                   "the endpoint at " + rpc->url().host + ":" + std::to_string(rpc->url().port) + " serves chain " +
                       answered.ToDecimal() + ", not " + std::to_string(chain_id));
  return db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) {
    return c.Exec("INSERT INTO chains (chain_id, rpc_url, confirmations, updated_by, updated_ms) VALUES ($1, $2, $3, $4, $5)"
                  " ON CONFLICT (chain_id) DO UPDATE SET rpc_url = excluded.rpc_url,"
                  " confirmations = excluded.confirmations, updated_by = excluded.updated_by,"
                  " updated_ms = excluded.updated_ms",
                  {store::Value(static_cast<int64_t>(chain_id)), store::Value(config.rpc_url),
                   store::Value(config.confirmations), store::Value(principal), store::Value(now_ms)});
  });
}

StatusOr<Chain> ChainRegistry::Get(uint64_t chain_id) {
  if (chain_id > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return Refusal(StatusCode::kFailedPrecondition, "CHAIN_NOT_CONFIGURED", "chain " + std::to_string(chain_id) + " is not configured");
  std::optional<Chain> out;
  RETURN_IF_ERROR(db_.WithConn([&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT " + std::string(kColumns) + " FROM chains WHERE chain_id = $1",
                                            {store::Value(static_cast<int64_t>(chain_id))}));
    if (!r.empty()) out = RowAt(r, 0);
    return OkStatus();
  }));
  if (!out)
    return Refusal(StatusCode::kFailedPrecondition, "CHAIN_NOT_CONFIGURED",
                   "chain " + std::to_string(chain_id) + " is not configured (PUT /v1/chains/" + std::to_string(chain_id) + ")");
  return *out;
}

StatusOr<std::vector<Chain>> ChainRegistry::List() {
  std::vector<Chain> out;
  RETURN_IF_ERROR(db_.WithConn([&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT " + std::string(kColumns) + " FROM chains ORDER BY chain_id"));
    for (size_t i = 0; i < r.size(); ++i) out.push_back(RowAt(r, i));
    return OkStatus();
  }));
  return out;
}

StatusOr<std::unique_ptr<RpcClient>> ChainRegistry::Connect(uint64_t chain_id) {
  ASSIGN_OR_RETURN(Chain chain, Get(chain_id));
  return RpcClient::Create(chain.config.rpc_url, rpc_options_);
}

}  // namespace vp::wallet
