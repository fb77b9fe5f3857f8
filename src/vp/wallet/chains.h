// ChainRegistry: the chains custody broadcasts to, one JSON-RPC endpoint each
// (`PUT /v1/chains/{chainId}` {rpcUrl, confirmations}, admin). A chain is stored only after
// its endpoint answered eth_chainId with the very id it is configured under, so a URL that
// points at another network can never take this chain's signed transactions.
// docs/chains.md, "Configuration".
//
//   ChainRegistry chains(db);
//   RETURN_IF_ERROR(chains.Put(1, {.rpc_url = "https://node.example/v3/KEY", .confirmations = 12}, principal, now));
//   ASSIGN_OR_RETURN(std::unique_ptr<RpcClient> rpc, chains.Connect(1));
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vp/base/status.h"
#include "vp/store/db.h"
#include "vp/wallet/rpc.h"

namespace vp::wallet {

struct ChainConfig {
  std::string rpc_url;        // http:// or https://, checked by ParseRpcUrl
  int64_t confirmations = 0;  // 0..1000 blocks on top of the including block
};

struct Chain {
  uint64_t chain_id = 0;
  ChainConfig config;
  std::string updated_by;
  int64_t updated_ms = 0;
};

// The API shape: {"chainId", "rpcUrl", "confirmations", "updatedBy", "updatedAt"}. The
// URL's path and query (where providers put API keys) are shown as "/…" only.
nlohmann::json ChainJson(const Chain& chain);

class ChainRegistry {
 public:
  // `rpc_options` are used for every client made here (the eth_chainId check included).
  explicit ChainRegistry(store::Db& db, RpcOptions rpc_options = {}) : db_(db), rpc_options_(std::move(rpc_options)) {}

  // Checks and stores (insert or replace) a chain. kInvalidArgument for chain id 0 or above
  // 2^63 - 1, a URL ParseRpcUrl refuses, or confirmations outside 0..1000; kUnavailable
  // (or the RPC client's other codes) when the endpoint cannot be asked; kFailedPrecondition
  // "CHAIN_ID_MISMATCH: ..." when it answers another chain id.
  Status Put(uint64_t chain_id, const ChainConfig& config, std::string_view principal, int64_t now_ms);
  // kFailedPrecondition "CHAIN_NOT_CONFIGURED: ..." for a chain never put.
  StatusOr<Chain> Get(uint64_t chain_id);
  // Every chain, ordered by id.
  StatusOr<std::vector<Chain>> List();
  // A new client for the chain's endpoint (one keep-alive connection, used by one caller).
  // Errors as Get, or the client's for a stored URL that no longer parses.
  StatusOr<std::unique_ptr<RpcClient>> Connect(uint64_t chain_id);

  const RpcOptions& rpc_options() const { return rpc_options_; }

 private:
  store::Db& db_;
  RpcOptions rpc_options_;
};

}  // namespace vp::wallet
