// RpcClient: the JSON-RPC envelope and the typed methods over HttpConnection
// (http_post.h), which owns the transport (Beast, TLS, caps, timeouts).
#include "vp/wallet/rpc.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <utility>

#include "vp/base/json.h"

namespace vp::wallet {
namespace {

using nlohmann::json;
using eth::U256;

constexpr size_t kMaxNodeMessage = 512;
constexpr size_t kMaxErrorData = 256;
constexpr std::string_view kNodeErrorTag = ": node error ";

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLowerHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string Sanitize(std::string_view s, size_t limit) { return SanitizeForLog(s, limit); }

// ---------------------------------------------------------------------------------------
// Decoding of JSON-RPC values.

std::string What(std::string_view method, std::string_view field) {
  return std::string(method) + ": " + std::string(field);
}

Status NotA(std::string_view what, std::string_view kind) {
  return InvalidArgumentError(std::string(what) + " is not " + std::string(kind));
}

// The hex digits of a QUANTITY (execution-apis base-types "uint": ^0x(0|[1-9a-f][0-9a-f]*)$),
// or nullopt.
std::optional<std::string_view> QuantityDigits(const json& value) {
  if (!value.is_string()) return std::nullopt;
  const std::string& s = value.get_ref<const std::string&>();
  if (s.size() < 3 || s[0] != '0' || s[1] != 'x') return std::nullopt;
  const std::string_view digits = std::string_view(s).substr(2);
  if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
  for (char c : digits) {
    if (!IsLowerHexDigit(c)) return std::nullopt;
  }
  return digits;
}

StatusOr<std::optional<eth::Address>> DecodeOptionalAddress(const json& obj, std::string_view key,
                                                            std::string_view what) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<eth::Address>();
  if (!it->is_string()) return NotA(what, "an address");
  const std::string& s = it->get_ref<const std::string&>();
  if (s.size() != 42 || s[0] != '0' || s[1] != 'x') return NotA(what, "an address");
  StatusOr<eth::Address> a = eth::Address::Parse(s);
  if (!a.ok()) return InvalidArgumentError(std::string(what) + " is not an address: " + a.status().message());
  return std::optional<eth::Address>(*a);
}

const json& Member(const json& obj, std::string_view key) {
  static const json kNull;
  const auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

StatusOr<std::optional<U256>> DecodeOptionalQuantity(const json& obj, std::string_view key, std::string_view what) {
  const json& v = Member(obj, key);
  if (v.is_null()) return std::optional<U256>();
  ASSIGN_OR_RETURN(U256 q, DecodeQuantity(v, what));
  return std::optional<U256>(q);
}

// ---------------------------------------------------------------------------------------
// Node errors.

StatusCode NodeErrorCode(int64_t code, RpcErrorKind kind) {
  switch (kind) {
    case RpcErrorKind::kLimitExceeded:
      return StatusCode::kUnavailable;
    case RpcErrorKind::kOther:
      if (code == -32700 || code == -32600 || code == -32602) return StatusCode::kInvalidArgument;
      if (code == -32603) return StatusCode::kUnavailable;
      return StatusCode::kFailedPrecondition;
    default:
      return StatusCode::kFailedPrecondition;
  }
}

std::optional<RpcErrorKind> KindFromName(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(RpcErrorKind::kLimitExceeded); ++i) {
    const auto kind = static_cast<RpcErrorKind>(i);
    if (RpcErrorKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

// The JSON-RPC error object of a response as a Status:
//   "<method>: node error <code> (<kind>): <message>"
// GetRpcError parses this back; the method name cannot contain the tag (Call checks it).
Status NodeErrorStatus(std::string_view method, const json& error) {
  if (!error.is_object()) return InvalidArgumentError(std::string(method) + ": response error is not an object");
  const json& code_json = Member(error, "code");
  const json& message_json = Member(error, "message");
  if (!code_json.is_number_integer()) {
    return InvalidArgumentError(std::string(method) + ": response error.code is not an integer");
  }
  if (!message_json.is_string()) {
    return InvalidArgumentError(std::string(method) + ": response error.message is not a string");
  }
  // is_number_integer covers unsigned values too; anything beyond int64 is not a code.
  if (code_json.is_number_unsigned() && code_json.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return InvalidArgumentError(std::string(method) + ": response error.code is out of range");
  }
  const int64_t code = code_json.get<int64_t>();
  std::string message = Sanitize(message_json.get_ref<const std::string&>(), kMaxNodeMessage);
  const json& data = Member(error, "data");
  if (data.is_string() && !data.get_ref<const std::string&>().empty()) {
    message += " (data: " + Sanitize(data.get_ref<const std::string&>(), kMaxErrorData) + ")";
  }
  const RpcErrorKind kind = ClassifyRpcError(code, message_json.get_ref<const std::string&>());
  return Status(NodeErrorCode(code, kind), std::string(method) + std::string(kNodeErrorTag) +
                                               std::to_string(code) + " (" +
                                               std::string(RpcErrorKindName(kind)) + "): " + message);
}

}  // namespace

// ---------------------------------------------------------------------------------------

StatusOr<RpcUrl> ParseRpcUrl(std::string_view url) { return ParseHttpUrl(url, "rpc url"); }

std::string_view BlockTagName(BlockTag tag) {
  switch (tag) {
    case BlockTag::kLatest: return "latest";
    case BlockTag::kPending: return "pending";
    case BlockTag::kSafe: return "safe";
    case BlockTag::kFinalized: return "finalized";
    case BlockTag::kEarliest: return "earliest";
  }
  return "latest";
}

std::string_view RpcErrorKindName(RpcErrorKind kind) {
  switch (kind) {
    case RpcErrorKind::kOther: return "other";
    case RpcErrorKind::kNonceTooLow: return "nonce_too_low";
    case RpcErrorKind::kNonceTooHigh: return "nonce_too_high";
    case RpcErrorKind::kAlreadyKnown: return "already_known";
    case RpcErrorKind::kReplacementUnderpriced: return "replacement_underpriced";
    case RpcErrorKind::kInsufficientFunds: return "insufficient_funds";
    case RpcErrorKind::kFeeTooLow: return "fee_too_low";
    case RpcErrorKind::kExecutionReverted: return "execution_reverted";
    case RpcErrorKind::kMethodNotFound: return "method_not_found";
    case RpcErrorKind::kLimitExceeded: return "limit_exceeded";
  }
  return "other";
}

RpcErrorKind ClassifyRpcError(int64_t code, std::string_view message) {
  const std::string m = Lower(message);
  auto has = [&](std::string_view needle) { return m.find(needle) != std::string::npos; };
  // Order matters: "replacement transaction underpriced" before "underpriced", and the
  // nonce errors before anything about fees (Hardhat's nonce messages mention neither).
  if (has("nonce too low") || has("oldnonce") || has("nonce_too_low")) return RpcErrorKind::kNonceTooLow;
  if (has("nonce too high") || has("nonce_too_high") || has("noncegap")) return RpcErrorKind::kNonceTooHigh;
  if (has("already known") || has("known transaction") || has("alreadyknown") ||
      has("already imported")) {
    return RpcErrorKind::kAlreadyKnown;
  }
  if (has("replacement transaction underpriced") || has("replacement_underpriced") ||
      has("replacement fee too low")) {
    return RpcErrorKind::kReplacementUnderpriced;
  }
  if (has("insufficient funds") || has("doesn't have enough funds") || has("insufficientfunds") ||
      has("upfront cost exceeds")) {
    return RpcErrorKind::kInsufficientFunds;
  }
  if (has("less than block base fee") || has("is too low for the next block") ||
      has("transaction underpriced") || has("feetoolow") || has("gas price too low") ||
      has("max fee per gas less than")) {
    return RpcErrorKind::kFeeTooLow;
  }
  if (code == 3 || has("execution reverted") || has("transaction reverted") || has("reverted with")) {
    return RpcErrorKind::kExecutionReverted;
  }
  // -32004 is EIP-1474's "method not supported" (Hardhat uses it); -32601 JSON-RPC 2.0's.
  if (code == -32601 || code == -32004) return RpcErrorKind::kMethodNotFound;
  if (code == -32005 || has("rate limit") || has("too many requests")) return RpcErrorKind::kLimitExceeded;
  return RpcErrorKind::kOther;
}

std::optional<RpcError> GetRpcError(const Status& status) {
  if (status.ok()) return std::nullopt;
  const std::string& m = status.message();
  const size_t tag = m.find(kNodeErrorTag);
  if (tag == std::string::npos) return std::nullopt;
  // The method before the tag is one of ours: letters, digits and '_' only.
  for (size_t i = 0; i < tag; ++i) {
    if (!IsAlpha(m[i]) && !IsDigit(m[i]) && m[i] != '_') return std::nullopt;
  }
  size_t i = tag + kNodeErrorTag.size();
  const size_t code_start = i;
  if (i < m.size() && m[i] == '-') ++i;
  while (i < m.size() && IsDigit(m[i])) ++i;
  if (i == code_start || i - code_start > 20 || m.compare(i, 2, " (") != 0) return std::nullopt;
  RpcError out;
  try {
    out.code = std::stoll(m.substr(code_start, i - code_start));
  } catch (...) {
    return std::nullopt;
  }
  const size_t kind_start = i + 2;
  const size_t kind_end = m.find("): ", kind_start);
  if (kind_end == std::string::npos) return std::nullopt;
  const std::optional<RpcErrorKind> kind = KindFromName(std::string_view(m).substr(kind_start, kind_end - kind_start));
  if (!kind) return std::nullopt;
  out.kind = *kind;
  out.message = m.substr(kind_end + 3);
  return out;
}

bool IsNonceTooLow(const Status& status) {
  const auto e = GetRpcError(status);
  return e && e->kind == RpcErrorKind::kNonceTooLow;
}
bool IsNonceTooHigh(const Status& status) {
  const auto e = GetRpcError(status);
  return e && e->kind == RpcErrorKind::kNonceTooHigh;
}
bool IsAlreadyKnown(const Status& status) {
  const auto e = GetRpcError(status);
  return e && e->kind == RpcErrorKind::kAlreadyKnown;
}

CallRequest CallRequest::FromTransaction(const eth::Transaction& tx, const eth::Address& from) {
  CallRequest r;
  r.from = from;
  r.to = tx.to;
  if (!tx.gas_limit.IsZero()) r.gas = tx.gas_limit;
  if (tx.type == eth::TxType::kDynamicFee) {
    r.max_fee_per_gas = tx.max_fee_per_gas;
    r.max_priority_fee_per_gas = tx.max_priority_fee_per_gas;
  } else {
    r.gas_price = tx.gas_price;
  }
  r.value = tx.value;
  r.data = tx.data;
  return r;
}

StatusOr<U256> DecodeQuantity(const json& value, std::string_view what) {
  const std::optional<std::string_view> digits = QuantityDigits(value);
  if (!digits) return NotA(what, "a quantity");
  if (digits->size() > 64) return InvalidArgumentError(std::string(what) + " is a quantity wider than 256 bits");
  StatusOr<U256> v = U256::ParseHex(*digits);
  if (!v.ok()) return NotA(what, "a quantity");
  return *v;
}

StatusOr<uint64_t> DecodeQuantity64(const json& value, std::string_view what) {
  ASSIGN_OR_RETURN(U256 v, DecodeQuantity(value, what));
  if (!v.FitsUint64()) return InvalidArgumentError(std::string(what) + " does not fit 64 bits");
  return v.Low64();
}

StatusOr<Bytes> DecodeData(const json& value, std::string_view what) {
  if (!value.is_string()) return NotA(what, "hex data");
  const std::string& s = value.get_ref<const std::string&>();
  if (s.size() < 2 || s[0] != '0' || s[1] != 'x') return NotA(what, "hex data");
  StatusOr<Bytes> b = HexDecode(s, HexPrefix::kRequired);
  if (!b.ok()) return NotA(what, "hex data");
  return std::move(*b);
}

StatusOr<crypto::Hash256> DecodeHash(const json& value, std::string_view what) {
  ASSIGN_OR_RETURN(Bytes b, DecodeData(value, what));
  if (b.size() != 32) return NotA(what, "a 32-byte hash");
  crypto::Hash256 h{};
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}

// ---------------------------------------------------------------------------------------
// Calls.

struct RpcClient::Impl {
  std::unique_ptr<HttpConnection> conn;
  std::mutex mu;  // serializes calls, so ids go out in order
  uint64_t next_id = 1;
};

RpcClient::RpcClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RpcClient::~RpcClient() = default;

StatusOr<std::unique_ptr<RpcClient>> RpcClient::Create(std::string_view url, RpcOptions options) {
  if (options.max_response_bytes == 0) return InvalidArgumentError("rpc: max_response_bytes must be positive");
  if (options.connect_timeout.count() <= 0 || options.request_timeout.count() <= 0) {
    return InvalidArgumentError("rpc: timeouts must be positive");
  }
  HttpOptions http;
  http.connect_timeout = options.connect_timeout;
  http.request_timeout = options.request_timeout;
  http.max_response_bytes = options.max_response_bytes;
  http.ca_file = std::move(options.ca_file);
  auto impl = std::make_unique<Impl>();
  ASSIGN_OR_RETURN(impl->conn, HttpConnection::Create(url, std::move(http), "rpc url"));
  return std::unique_ptr<RpcClient>(new RpcClient(std::move(impl)));
}

const RpcUrl& RpcClient::url() const { return impl_->conn->url(); }

uint64_t RpcClient::connections_opened() const { return impl_->conn->connections_opened(); }

StatusOr<json> RpcClient::Call(std::string_view method, const json& params) {
  if (method.empty() || method.size() > 64 ||
      !std::all_of(method.begin(), method.end(), [](char c) { return IsAlpha(c) || IsDigit(c) || c == '_'; })) {
    return InvalidArgumentError("rpc: method name must be 1..64 letters, digits or '_'");
  }
  if (!params.is_array() && !params.is_object()) {
    return InvalidArgumentError(std::string(method) + ": params must be an array or an object");
  }
  const std::string m(method);
  std::lock_guard<std::mutex> lock(impl_->mu);
  const uint64_t id = impl_->next_id++;
  std::string body;
  try {
    body = json{{"jsonrpc", "2.0"}, {"id", id}, {"method", m}, {"params", params}}.dump();
  } catch (const std::exception&) {
    return InvalidArgumentError(m + ": params cannot be serialized (invalid UTF-8)");
  }

  ASSIGN_OR_RETURN(HttpResponse http, impl_->conn->Post(m, {}, body));
  if (http.status < 200 || http.status > 299) {
    return UnavailableError(m + ": " + impl_->conn->host_port() + ": HTTP " + std::to_string(http.status) + " " +
                            Sanitize(http.reason, 64) + (http.body.empty() ? "" : ": " + Sanitize(http.body, 200)));
  }
  const std::string& response = http.body;

  StatusOr<json> doc = ParseJsonStrict(response, m + ": response");
  if (!doc.ok()) return InvalidArgumentError(doc.status().message() + ": " + Sanitize(response, 120));
  if (!doc->is_object()) return InvalidArgumentError(m + ": response is not a JSON-RPC object");
  const json& version = Member(*doc, "jsonrpc");
  if (!version.is_string() || version.get_ref<const std::string&>() != "2.0") {
    return InvalidArgumentError(m + ": response jsonrpc is not \"2.0\"");
  }
  const json& rid = Member(*doc, "id");
  if (!rid.is_number_unsigned() || rid.get<uint64_t>() != id) {
    // Without our id the answer may belong to another request (a confused proxy).
    return InvalidArgumentError(m + ": response id " + Sanitize(rid.dump(), 40) + " does not match request id " +
                                std::to_string(id));
  }
  const bool has_result = doc->contains("result");
  const bool has_error = doc->contains("error");
  if (has_result == has_error) return InvalidArgumentError(m + ": response must have exactly one of result and error");
  if (has_error) return NodeErrorStatus(m, Member(*doc, "error"));
  return std::move((*doc)["result"]);
}

// ---------------------------------------------------------------------------------------
// Typed methods.

namespace {

json Quantity(const U256& v) { return v.ToHex(); }
json Quantity(uint64_t v) { return U256(v).ToHex(); }

}  // namespace

StatusOr<U256> RpcClient::ChainId() {
  ASSIGN_OR_RETURN(json r, Call("eth_chainId", json::array()));
  return DecodeQuantity(r, "eth_chainId: result");
}

StatusOr<uint64_t> RpcClient::BlockNumber() {
  ASSIGN_OR_RETURN(json r, Call("eth_blockNumber", json::array()));
  return DecodeQuantity64(r, "eth_blockNumber: result");
}

StatusOr<uint64_t> RpcClient::GetTransactionCount(const eth::Address& address, BlockTag tag) {
  ASSIGN_OR_RETURN(json r, Call("eth_getTransactionCount", json::array({address.ToLowerHex(), BlockTagName(tag)})));
  return DecodeQuantity64(r, "eth_getTransactionCount: result");
}

StatusOr<U256> RpcClient::GetBalance(const eth::Address& address, BlockTag tag) {
  ASSIGN_OR_RETURN(json r, Call("eth_getBalance", json::array({address.ToLowerHex(), BlockTagName(tag)})));
  return DecodeQuantity(r, "eth_getBalance: result");
}

StatusOr<U256> RpcClient::EstimateGas(const CallRequest& request) {
  json tx = json::object();
  if (request.from) tx["from"] = request.from->ToLowerHex();
  if (request.to) tx["to"] = request.to->ToLowerHex();
  if (request.gas) tx["gas"] = Quantity(*request.gas);
  if (request.gas_price) tx["gasPrice"] = Quantity(*request.gas_price);
  if (request.max_fee_per_gas) tx["maxFeePerGas"] = Quantity(*request.max_fee_per_gas);
  if (request.max_priority_fee_per_gas) tx["maxPriorityFeePerGas"] = Quantity(*request.max_priority_fee_per_gas);
  if (request.value) tx["value"] = Quantity(*request.value);
  if (!request.data.empty()) tx["data"] = HexEncode(request.data, /*prefix=*/true);
  ASSIGN_OR_RETURN(json r, Call("eth_estimateGas", json::array({tx})));
  return DecodeQuantity(r, "eth_estimateGas: result");
}

StatusOr<U256> RpcClient::GasPrice() {
  ASSIGN_OR_RETURN(json r, Call("eth_gasPrice", json::array()));
  return DecodeQuantity(r, "eth_gasPrice: result");
}

StatusOr<U256> RpcClient::MaxPriorityFeePerGas() {
  ASSIGN_OR_RETURN(json r, Call("eth_maxPriorityFeePerGas", json::array()));
  return DecodeQuantity(r, "eth_maxPriorityFeePerGas: result");
}

StatusOr<FeeHistory> RpcClient::GetFeeHistory(uint64_t blocks, const std::vector<double>& reward_percentiles,
                                              BlockTag newest) {
  constexpr std::string_view kM = "eth_feeHistory";
  if (blocks < 1 || blocks > 1024) return InvalidArgumentError("eth_feeHistory: blocks must be 1..1024");
  if (reward_percentiles.size() > 100) return InvalidArgumentError("eth_feeHistory: at most 100 percentiles");
  for (size_t i = 0; i < reward_percentiles.size(); ++i) {
    const double p = reward_percentiles[i];
    if (!std::isfinite(p) || p < 0 || p > 100 || (i > 0 && p < reward_percentiles[i - 1])) {
      return InvalidArgumentError("eth_feeHistory: percentiles must be non-decreasing values in [0, 100]");
    }
  }
  ASSIGN_OR_RETURN(json r, Call(kM, json::array({Quantity(blocks), BlockTagName(newest), reward_percentiles})));
  if (!r.is_object()) return NotA(What(kM, "result"), "an object");
  FeeHistory out;
  ASSIGN_OR_RETURN(out.oldest_block, DecodeQuantity64(Member(r, "oldestBlock"), What(kM, "result.oldestBlock")));
  const json& ratios = Member(r, "gasUsedRatio");
  if (!ratios.is_array()) return NotA(What(kM, "result.gasUsedRatio"), "an array");
  const size_t n = ratios.size();
  if (n == 0 || n > blocks) {
    return InvalidArgumentError("eth_feeHistory: result covers " + std::to_string(n) + " blocks, asked for " +
                                std::to_string(blocks));
  }
  for (size_t i = 0; i < n; ++i) {
    const json& g = ratios[i];
    const double v = g.is_number() ? g.get<double>() : -1;
    if (!g.is_number() || !std::isfinite(v) || v < 0 || v > 1) {
      return NotA(What(kM, "result.gasUsedRatio[" + std::to_string(i) + "]"), "a ratio in [0, 1]");
    }
    out.gas_used_ratio.push_back(v);
  }
  const json& fees = Member(r, "baseFeePerGas");
  if (!fees.is_array() || fees.size() != n + 1) {
    return InvalidArgumentError("eth_feeHistory: result.baseFeePerGas must have one entry per block plus one");
  }
  for (size_t i = 0; i < fees.size(); ++i) {
    ASSIGN_OR_RETURN(U256 f, DecodeQuantity(fees[i], What(kM, "result.baseFeePerGas[" + std::to_string(i) + "]")));
    out.base_fee_per_gas.push_back(f);
  }
  out.next_base_fee_per_gas = out.base_fee_per_gas.back();
  const json& reward = Member(r, "reward");
  if (!reward_percentiles.empty()) {
    if (!reward.is_array() || reward.size() != n) {
      return InvalidArgumentError("eth_feeHistory: result.reward must have one entry per block");
    }
    std::vector<U256> first;
    for (size_t i = 0; i < n; ++i) {
      const std::string where = "result.reward[" + std::to_string(i) + "]";
      if (!reward[i].is_array() || reward[i].size() != reward_percentiles.size()) {
        return InvalidArgumentError("eth_feeHistory: " + where + " must have one entry per percentile");
      }
      std::vector<U256> row;
      for (size_t j = 0; j < reward[i].size(); ++j) {
        ASSIGN_OR_RETURN(U256 v, DecodeQuantity(reward[i][j], What(kM, where + "[" + std::to_string(j) + "]")));
        row.push_back(v);
      }
      if (out.gas_used_ratio[i] > 0) first.push_back(row[0]);
      out.reward.push_back(std::move(row));
    }
    if (!first.empty()) {
      std::sort(first.begin(), first.end());
      out.suggested_priority_fee = first[first.size() / 2];
    }
  }
  return out;
}

StatusOr<crypto::Hash256> RpcClient::SendRawTransaction(ByteSpan raw) {
  if (raw.empty()) return InvalidArgumentError("eth_sendRawTransaction: empty transaction");
  ASSIGN_OR_RETURN(json r, Call("eth_sendRawTransaction", json::array({HexEncode(raw, /*prefix=*/true)})));
  ASSIGN_OR_RETURN(crypto::Hash256 h, DecodeHash(r, "eth_sendRawTransaction: result"));
  if (h != crypto::Keccak256(raw)) {
    return InvalidArgumentError("eth_sendRawTransaction: result is not the hash of the transaction sent");
  }
  return h;
}

StatusOr<std::optional<Receipt>> RpcClient::GetTransactionReceipt(const crypto::Hash256& hash) {
  constexpr std::string_view kM = "eth_getTransactionReceipt";
  ASSIGN_OR_RETURN(json r, Call(kM, json::array({HexEncode(hash, /*prefix=*/true)})));
  if (r.is_null()) return std::optional<Receipt>();
  if (!r.is_object()) return NotA(What(kM, "result"), "an object or null");
  Receipt out;
  ASSIGN_OR_RETURN(out.transaction_hash, DecodeHash(Member(r, "transactionHash"), What(kM, "result.transactionHash")));
  if (out.transaction_hash != hash) {
    return InvalidArgumentError("eth_getTransactionReceipt: result.transactionHash is not the hash asked for");
  }
  ASSIGN_OR_RETURN(uint64_t status, DecodeQuantity64(Member(r, "status"), What(kM, "result.status")));
  if (status > 1) return InvalidArgumentError("eth_getTransactionReceipt: result.status is neither 0x0 nor 0x1");
  out.status = static_cast<uint8_t>(status);
  ASSIGN_OR_RETURN(out.block_number, DecodeQuantity64(Member(r, "blockNumber"), What(kM, "result.blockNumber")));
  ASSIGN_OR_RETURN(out.block_hash, DecodeHash(Member(r, "blockHash"), What(kM, "result.blockHash")));
  ASSIGN_OR_RETURN(out.gas_used, DecodeQuantity(Member(r, "gasUsed"), What(kM, "result.gasUsed")));
  ASSIGN_OR_RETURN(out.effective_gas_price,
                   DecodeQuantity(Member(r, "effectiveGasPrice"), What(kM, "result.effectiveGasPrice")));
  ASSIGN_OR_RETURN(out.contract_address, DecodeOptionalAddress(r, "contractAddress", What(kM, "result.contractAddress")));
  return std::optional<Receipt>(std::move(out));
}

StatusOr<std::optional<TransactionInfo>> RpcClient::GetTransactionByHash(const crypto::Hash256& hash) {
  constexpr std::string_view kM = "eth_getTransactionByHash";
  ASSIGN_OR_RETURN(json r, Call(kM, json::array({HexEncode(hash, /*prefix=*/true)})));
  if (r.is_null()) return std::optional<TransactionInfo>();
  if (!r.is_object()) return NotA(What(kM, "result"), "an object or null");
  TransactionInfo out;
  ASSIGN_OR_RETURN(out.hash, DecodeHash(Member(r, "hash"), What(kM, "result.hash")));
  if (out.hash != hash) return InvalidArgumentError("eth_getTransactionByHash: result.hash is not the hash asked for");
  // Nodes before Berlin leave `type` out: those transactions are all legacy.
  ASSIGN_OR_RETURN(std::optional<U256> type, DecodeOptionalQuantity(r, "type", What(kM, "result.type")));
  if (type && *type > U256(0xff)) return InvalidArgumentError("eth_getTransactionByHash: result.type is not a byte");
  out.type = type ? static_cast<uint8_t>(type->Low64()) : 0;
  ASSIGN_OR_RETURN(out.nonce, DecodeQuantity64(Member(r, "nonce"), What(kM, "result.nonce")));
  ASSIGN_OR_RETURN(std::optional<eth::Address> from, DecodeOptionalAddress(r, "from", What(kM, "result.from")));
  if (!from) return NotA(What(kM, "result.from"), "an address");
  out.from = *from;
  ASSIGN_OR_RETURN(out.to, DecodeOptionalAddress(r, "to", What(kM, "result.to")));
  ASSIGN_OR_RETURN(out.value, DecodeQuantity(Member(r, "value"), What(kM, "result.value")));
  ASSIGN_OR_RETURN(out.gas, DecodeQuantity(Member(r, "gas"), What(kM, "result.gas")));
  ASSIGN_OR_RETURN(out.gas_price, DecodeOptionalQuantity(r, "gasPrice", What(kM, "result.gasPrice")));
  ASSIGN_OR_RETURN(out.max_fee_per_gas, DecodeOptionalQuantity(r, "maxFeePerGas", What(kM, "result.maxFeePerGas")));
  ASSIGN_OR_RETURN(out.max_priority_fee_per_gas,
                   DecodeOptionalQuantity(r, "maxPriorityFeePerGas", What(kM, "result.maxPriorityFeePerGas")));
  ASSIGN_OR_RETURN(out.input, DecodeData(Member(r, "input"), What(kM, "result.input")));
  // Pending: blockNumber and blockHash are null together.
  const json& bn = Member(r, "blockNumber");
  const json& bh = Member(r, "blockHash");
  if (bn.is_null() != bh.is_null()) {
    return InvalidArgumentError("eth_getTransactionByHash: result.blockNumber and result.blockHash must both be set or both null");
  }
  if (!bn.is_null()) {
    ASSIGN_OR_RETURN(uint64_t number, DecodeQuantity64(bn, What(kM, "result.blockNumber")));
    ASSIGN_OR_RETURN(crypto::Hash256 block_hash, DecodeHash(bh, What(kM, "result.blockHash")));
    out.block_number = number;
    out.block_hash = block_hash;
  }
  return std::optional<TransactionInfo>(std::move(out));
}

}  // namespace vp::wallet
