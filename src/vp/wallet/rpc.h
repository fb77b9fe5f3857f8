// RpcClient: a synchronous Ethereum JSON-RPC 2.0 client over HTTP/1.1 or HTTPS, for the
// chains custody broadcasts to (`PUT /v1/chains/{chainId}` {rpcUrl, confirmations}).
// The node is not trusted: every answer is checked strictly (the JSON-RPC envelope, our
// request id, QUANTITY and DATA encodings, hashes that must match what was asked) and
// anything else is a Status naming the field. Nothing here throws. docs/chains.md
// describes the methods used, the checks and the error mapping.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<RpcClient> rpc, RpcClient::Create("http://127.0.0.1:8545"));
//   ASSIGN_OR_RETURN(uint64_t nonce, rpc->GetTransactionCount(from, BlockTag::kPending));
//   StatusOr<crypto::Hash256> hash = rpc->SendRawTransaction(signed_tx.raw);
//   if (IsNonceTooLow(hash.status())) { ... }   // the node's error, classified
//
// Errors: transport failures (connect, timeout, connection closed, HTTP status other than
// 2xx) are kUnavailable; a response over the size cap is kResourceExhausted; a malformed
// response is kInvalidArgument; a JSON-RPC error object is a Status whose message carries
// the node's code and message (read it back with GetRpcError). Messages name host:port
// but never the URL path or query, which often hold a provider's API key.
//
// One RpcClient keeps one keep-alive connection (HttpConnection, http_post.h) and
// serializes calls on it (thread-safe; use several clients for parallel requests). A
// reused connection that turns out to be closed by the server is reopened once, only when
// no byte of the answer was received.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vp/base/bytes.h"
#include "vp/base/status.h"
#include "vp/crypto/keccak.h"
#include "vp/eth/address.h"
#include "vp/eth/transaction.h"
#include "vp/eth/uint256.h"
#include "vp/wallet/http_post.h"

namespace vp::wallet {

struct RpcOptions {
  std::chrono::milliseconds connect_timeout{5000};   // name resolution, TCP connect, TLS handshake
  std::chrono::milliseconds request_timeout{30000};  // writing one request and reading its answer
  size_t max_response_bytes = 4 * 1024 * 1024;       // response body cap (kResourceExhausted)
  // https only: a PEM file of the CAs to trust instead of the system's (tests, private CAs).
  std::string ca_file;
};

// A parsed rpcUrl (http_post.h).
using RpcUrl = HttpUrl;

// ParseHttpUrl with messages starting "rpc url: ". Strict: the scheme is lower-case "http"
// or "https"; the host is a DNS name, an IPv4 address or a bracketed IPv6 address; the port
// is 1..65535 without leading zeros; path and query hold only RFC 3986 characters.
// Userinfo, fragments, spaces, control and non-ASCII characters are kInvalidArgument.
StatusOr<RpcUrl> ParseRpcUrl(std::string_view url);

enum class BlockTag { kLatest, kPending, kSafe, kFinalized, kEarliest };
std::string_view BlockTagName(BlockTag tag);  // "latest", "pending", ...

// The node's JSON-RPC errors that callers act on. Classified from the message (nodes agree
// on meaning, not on codes): geth, Erigon, Nethermind, Besu and Hardhat spellings.
enum class RpcErrorKind {
  kOther,                   // any other node error
  kNonceTooLow,             // the nonce was already used (the transaction, or another, is mined)
  kNonceTooHigh,            // a gap before this nonce (Hardhat refuses it when automining)
  kAlreadyKnown,            // this very transaction is already in the pool
  kReplacementUnderpriced,  // same nonce pending with fees the node will not replace
  kInsufficientFunds,       // balance below gas * fee + value
  kFeeTooLow,               // fee cap below the next block's base fee, or below the pool minimum
  kExecutionReverted,       // eth_call / eth_estimateGas: the call reverted
  kMethodNotFound,          // the node does not serve this method
  kLimitExceeded,           // the provider's rate or quota limit
};
std::string_view RpcErrorKindName(RpcErrorKind kind);  // "nonce_too_low", ...

// A JSON-RPC error object as the node sent it. `message` is the node's message (control
// characters replaced, at most 512 bytes), followed by " (data: …)" when the error carried
// a short string in `data` (revert data).
struct RpcError {
  int64_t code = 0;
  RpcErrorKind kind = RpcErrorKind::kOther;
  std::string message;
};

// The node error carried by a Status that RpcClient returned; nullopt for any other
// Status (transport failures, malformed responses, OK). Status codes of node errors:
// kUnavailable for kLimitExceeded and for -32603 (internal error) when not classified,
// kInvalidArgument for -32700 / -32600 / -32602 when not classified, kFailedPrecondition
// for everything else (execution errors, every other classified kind).
std::optional<RpcError> GetRpcError(const Status& status);
bool IsNonceTooLow(const Status& status);
bool IsNonceTooHigh(const Status& status);
bool IsAlreadyKnown(const Status& status);

// Classifies a node's error code and message (exposed for tests and for callers that hold
// an error object of their own).
RpcErrorKind ClassifyRpcError(int64_t code, std::string_view message);

// The fields of eth_estimateGas / eth_call; unset fields are left out of the request.
struct CallRequest {
  std::optional<eth::Address> from;
  std::optional<eth::Address> to;  // nullopt: contract creation
  std::optional<eth::U256> gas;
  std::optional<eth::U256> gas_price;
  std::optional<eth::U256> max_fee_per_gas;
  std::optional<eth::U256> max_priority_fee_per_gas;
  std::optional<eth::U256> value;
  Bytes data;

  // The fields of `tx` sent by `from` (fees, value, data, to; the gas limit only if set).
  static CallRequest FromTransaction(const eth::Transaction& tx, const eth::Address& from);
};

struct FeeHistory {
  uint64_t oldest_block = 0;
  std::vector<eth::U256> base_fee_per_gas;     // one per block, plus the next block's last
  std::vector<double> gas_used_ratio;          // one per block, each in [0, 1]
  std::vector<std::vector<eth::U256>> reward;  // per block, one per requested percentile
  eth::U256 next_base_fee_per_gas;             // base_fee_per_gas.back()
  // Median over the blocks that used gas of the reward at the first requested percentile;
  // nullopt when no percentile was asked or no block had a transaction (then fall back to
  // MaxPriorityFeePerGas()).
  std::optional<eth::U256> suggested_priority_fee;
};

struct Receipt {
  crypto::Hash256 transaction_hash{};
  uint8_t status = 0;  // 1 success, 0 reverted (EIP-658)
  uint64_t block_number = 0;
  crypto::Hash256 block_hash{};
  eth::U256 gas_used;
  eth::U256 effective_gas_price;
  std::optional<eth::Address> contract_address;
};

struct TransactionInfo {
  crypto::Hash256 hash{};
  uint8_t type = 0;
  uint64_t nonce = 0;
  eth::Address from;
  std::optional<eth::Address> to;
  eth::U256 value;
  eth::U256 gas;
  std::optional<eth::U256> gas_price;
  std::optional<eth::U256> max_fee_per_gas;
  std::optional<eth::U256> max_priority_fee_per_gas;
  Bytes input;
  std::optional<uint64_t> block_number;  // nullopt while pending
  std::optional<crypto::Hash256> block_hash;
};

class RpcClient {
 public:
  // Parses and checks the URL (ParseRpcUrl); connects lazily on the first call. For https
  // the CA file, if set, must load (kInvalidArgument otherwise).
  static StatusOr<std::unique_ptr<RpcClient>> Create(std::string_view url, RpcOptions options = {});
  ~RpcClient();
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // Any method: `params` must be an array or an object. Returns the `result` member after
  // checking the envelope ({"jsonrpc":"2.0","id":<ours>, result xor error}).
  StatusOr<nlohmann::json> Call(std::string_view method, const nlohmann::json& params);

  StatusOr<eth::U256> ChainId();
  StatusOr<uint64_t> BlockNumber();
  StatusOr<uint64_t> GetTransactionCount(const eth::Address& address, BlockTag tag);
  StatusOr<eth::U256> GetBalance(const eth::Address& address, BlockTag tag = BlockTag::kLatest);
  StatusOr<eth::U256> EstimateGas(const CallRequest& request);
  StatusOr<eth::U256> GasPrice();
  StatusOr<eth::U256> MaxPriorityFeePerGas();
  // eth_feeHistory over the last `blocks` (1..1024) blocks up to `newest`; percentiles in
  // [0, 100], non-decreasing, at most 100 of them.
  StatusOr<FeeHistory> GetFeeHistory(uint64_t blocks, const std::vector<double>& reward_percentiles,
                                     BlockTag newest = BlockTag::kLatest);
  // The node must answer keccak256(raw); a different hash is kInvalidArgument.
  StatusOr<crypto::Hash256> SendRawTransaction(ByteSpan raw);
  // nullopt while the transaction is unknown or not mined (result null).
  StatusOr<std::optional<Receipt>> GetTransactionReceipt(const crypto::Hash256& hash);
  StatusOr<std::optional<TransactionInfo>> GetTransactionByHash(const crypto::Hash256& hash);

  const RpcUrl& url() const;
  // Connections opened so far (the first one included): lets tests see keep-alive reuse.
  uint64_t connections_opened() const;

 private:
  struct Impl;
  explicit RpcClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Strict decoders of JSON-RPC values (exposed for tests). `what` names the value in errors
// ("eth_blockNumber: result is not a quantity").
// QUANTITY: "0x" + lower-case hex without leading zeros ("0x0" for zero), at most 256 bits.
StatusOr<eth::U256> DecodeQuantity(const nlohmann::json& value, std::string_view what);
StatusOr<uint64_t> DecodeQuantity64(const nlohmann::json& value, std::string_view what);
// DATA: "0x" + an even number of hex digits (either case).
StatusOr<Bytes> DecodeData(const nlohmann::json& value, std::string_view what);
StatusOr<crypto::Hash256> DecodeHash(const nlohmann::json& value, std::string_view what);

}  // namespace vp::wallet
