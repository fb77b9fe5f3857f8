// WalletService over the store and the signer client.
#include "vp/wallet/wallets.h"

#include "vp/crypto/random.h"
#include "vp/eth/address.h"
#include "vp/kms/master_key.h"
#include "vp/store/custody_keys.h"
#include "vp/store/idempotency.h"

namespace vp::wallet {
namespace {

using nlohmann::json;

constexpr std::string_view kColumns = "id, name, chain, kind, key_id, address, next_index, created_by, created_ms";
constexpr int64_t kMaxHdIndex = 0x7fffffff;  // non-hardened BIP-32 indices

Wallet RowAt(const store::Rows& r, size_t i) {
  return Wallet{r.Text(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3), r.Text(i, 4),
                r.Text(i, 5), r.Int(i, 6),  r.Text(i, 7), r.Int(i, 8)};
}

std::string HdPath(int64_t index) { return "m/44'/60'/0'/0/" + std::to_string(index); }

Wallet NewRecord(std::string id, std::string_view name, std::string_view kind, std::string_view principal,
                 int64_t now_ms) {
  Wallet w;
  w.id = std::move(id);
  w.name = std::string(name);
  w.chain = "evm";
  w.kind = std::string(kind);
  w.key_id = "key_" + w.id;
  w.created_by = std::string(principal);
  w.created_ms = now_ms;
  w.next_index = kind == "hd" ? 1 : 0;  // index 0 is the wallet's own address
  return w;
}

// Version 1 of the wallet's key; the address is filled in by the signer.
signer::KeyContext NewContext(const Wallet& w) {
  return signer::KeyContext{.wallet_id = w.id, .address = {}, .key_version = 1,
                            .key_kind = w.kind == "hd" ? signer::KeyKind::kHdSeed : signer::KeyKind::kSecp256k1};
}

}  // namespace

json WalletJson(const Wallet& w) {
  json j = {{"id", w.id},       {"name", w.name},           {"chain", w.chain},
            {"kind", w.kind},   {"address", w.address},     {"createdBy", w.created_by},
            {"createdAt", w.created_ms}};
  if (w.kind == "hd") j["addressCount"] = w.next_index;
  return j;
}

namespace {
Status CheckNewWallet(std::string_view name, std::string_view chain, std::string_view kind);
}  // namespace

StatusOr<Wallet> WalletService::Create(std::string_view name, std::string_view chain, std::string_view kind,
                                       std::string_view principal, int64_t now_ms,
                                       std::string_view idempotency_key) {
  RETURN_IF_ERROR(CheckNewWallet(name, chain, kind));
  if (!idempotency_key.empty()) {
    std::string existing;
    const Status looked = db_.WithConn([&](store::Conn& c) -> Status {
      ASSIGN_OR_RETURN(store::Rows r,
                       c.Query("SELECT id FROM wallets WHERE created_by = $1 AND idempotency_key = $2"
                               " AND created_ms > $3 ORDER BY created_ms DESC LIMIT 1",
                               {store::Value(principal), store::Value(idempotency_key),
                                store::Value(now_ms - store::IdempotencyOptions{}.ttl_ms)}));
      if (!r.empty()) existing = r.Text(0, 0);
      return OkStatus();
    });
    RETURN_IF_ERROR(looked);
    if (!existing.empty()) return Get(existing);
  }
  ASSIGN_OR_RETURN(Bytes rnd, crypto::RandomBytes(12));
  Wallet w = NewRecord("w_" + HexEncode(rnd), name, kind, principal, now_ms);
  const signer::KeyContext ctx = NewContext(w);
  // The key is made inside the signer; only its blob and public data come back.
  ASSIGN_OR_RETURN(signer::CreatedKey created, signer_.CreateKey(ctx));
  return Store(std::move(w), created, now_ms, idempotency_key);
}

StatusOr<Wallet> WalletService::Store(Wallet w, const signer::CreatedKey& created, int64_t now_ms,
                                      std::string_view idempotency_key) {
  w.address = eth::Address(created.context.address).ToChecksumHex();
  ASSIGN_OR_RETURN(signer::KeyBlob blob, signer::DecodeKeyBlob(created.blob));
  ASSIGN_OR_RETURN(kms::WrappedKey wrapped, kms::DecodeWrappedKey(blob.wrapped_dek));
  const Status stored = db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) -> Status {
    RETURN_IF_ERROR(c.Exec("INSERT INTO custody_keys (key_id, wallet_id, blob, master_key_id, created_ms, updated_ms)"
                           " VALUES ($1, $2, $3, $4, $5, $5)",
                           {store::Value(w.key_id), store::Value(w.id), store::Value(created.blob),
                            store::Value(wrapped.master_key_id), store::Value(now_ms)}));
    RETURN_IF_ERROR(c.Exec("INSERT INTO wallets (" + std::string(kColumns) +
                               ", idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                           {store::Value(w.id), store::Value(w.name), store::Value(w.chain), store::Value(w.kind),
                            store::Value(w.key_id), store::Value(w.address), store::Value(w.next_index),
                            store::Value(w.created_by), store::Value(w.created_ms),
                            idempotency_key.empty() ? store::Value::Null() : store::Value(idempotency_key)}));
    if (w.kind == "hd") {
      RETURN_IF_ERROR(c.Exec("INSERT INTO wallet_addresses (wallet_id, idx, address, path, created_ms)"
                             " VALUES ($1, 0, $2, $3, $4)",
                             {store::Value(w.id), store::Value(w.address), store::Value(HdPath(0)),
                              store::Value(now_ms)}));
    }
    return OkStatus();
  });
  RETURN_IF_ERROR(stored);
  return w;
}

namespace {

Status CheckNewWallet(std::string_view name, std::string_view chain, std::string_view kind) {
  if (name.empty() || name.size() > 100) return InvalidArgumentError("name: 1..100 bytes");
  if (chain != "evm") return InvalidArgumentError("chain: only \"evm\" is supported");
  if (kind != "single" && kind != "hd") return InvalidArgumentError("kind: \"single\" or \"hd\"");
  return OkStatus();
}

bool ValidWalletId(std::string_view id) {
  if (id.size() != 26 || id.substr(0, 2) != "w_") return false;
  for (char c : id.substr(2)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

StatusOr<json> WalletService::PrepareImport(std::string_view kind) {
  RETURN_IF_ERROR(CheckNewWallet("import", "evm", kind));
  ASSIGN_OR_RETURN(Bytes rnd, crypto::RandomBytes(12));
  const std::string id = "w_" + HexEncode(rnd);
  const signer::KeyContext ctx = NewContext(NewRecord(id, "import", kind, "", 0));
  ASSIGN_OR_RETURN(signer::AttestationInfo att, signer_.Attestation());
  return json{{"walletId", id},
              {"kind", kind},
              {"importPublicKey", HexEncode(att.import_key, true)},
              {"context", HexEncode(signer::EncodeKeyContext(ctx), true)},
              {"attestation", HexEncode(att.document, true)},
              {"sealInfo", signer::kImportSealInfo}};
}

StatusOr<Wallet> WalletService::Import(std::string_view wallet_id, std::string_view name, std::string_view kind,
                                       ByteSpan sealed_secret, std::string_view principal, int64_t now_ms) {
  RETURN_IF_ERROR(CheckNewWallet(name, "evm", kind));
  if (!ValidWalletId(wallet_id)) return InvalidArgumentError("walletId: the id from the prepare step");
  Wallet w = NewRecord(std::string(wallet_id), name, kind, principal, now_ms);
  const signer::KeyContext ctx = NewContext(w);
  auto created = signer_.ImportKey(ctx, sealed_secret);
  if (!created.ok() && created.status().code() == StatusCode::kUnauthenticated)
    return InvalidArgumentError("sealedSecret does not open: seal it to the import key and context of a fresh prepare step");
  if (!created.ok()) return created.status();
  return Store(std::move(w), *created, now_ms);
}

StatusOr<Wallet> WalletService::Get(std::string_view id) {
  std::optional<Wallet> out;
  const Status read = db_.WithConn([&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT " + std::string(kColumns) + " FROM wallets WHERE id = $1",
                                            {store::Value(id)}));
    if (!r.empty()) out = RowAt(r, 0);
    return OkStatus();
  });
  RETURN_IF_ERROR(read);
  if (!out) return NotFoundError("no wallet " + std::string(id));
  return *out;
}

StatusOr<std::vector<Wallet>> WalletService::List(std::string_view after, int64_t limit) {
  if (limit < 1 || limit > 500) return InvalidArgumentError("limit: 1..500");
  std::vector<Wallet> out;
  const Status read = db_.WithConn([&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT " + std::string(kColumns) +
                                                " FROM wallets WHERE id > $1 ORDER BY id LIMIT $2",
                                            {store::Value(after), store::Value(limit)}));
    for (size_t i = 0; i < r.size(); ++i) out.push_back(RowAt(r, i));
    return OkStatus();
  });
  RETURN_IF_ERROR(read);
  return out;
}

StatusOr<WalletService::KeyRef> WalletService::Key(std::string_view id, std::optional<int64_t> index) {
  ASSIGN_OR_RETURN(Wallet w, Get(id));
  store::CustodyKeyRepo keys(db_);
  ASSIGN_OR_RETURN(auto row, keys.Get(w.key_id));
  if (!row) return InternalError("wallet " + w.id + " has no key");
  KeyRef ref;
  ASSIGN_OR_RETURN(signer::KeyBlob blob, signer::DecodeKeyBlob(row->blob));
  ASSIGN_OR_RETURN(eth::Address stored, eth::Address::Parse(w.address));
  // The store's view of the wallet must agree with the blob's context; the signer checks
  // the blob against the key itself.
  if (blob.context.wallet_id != w.id || blob.context.address != stored.bytes())
    return PermissionDeniedError("wallet " + w.id + ": key blob does not belong to this wallet");
  ref.context = blob.context;
  ref.blob = std::move(row->blob);
  if (index.has_value()) {
    if (w.kind != "hd") return InvalidArgumentError("index: only HD wallets have derived addresses");
    if (*index < 0 || *index >= std::max<int64_t>(w.next_index, 1))
      return InvalidArgumentError("index: no such deposit address (" + std::to_string(w.next_index) + " handed out)");
    ref.path = HdPath(*index);
  }
  ref.wallet = std::move(w);
  return ref;
}

StatusOr<json> WalletService::NextAddress(std::string_view id, int64_t now_ms) {
  ASSIGN_OR_RETURN(KeyRef ref, Key(id, std::nullopt));
  if (ref.wallet.kind != "hd") return FailedPreconditionError("wallet " + ref.wallet.id + " is not an HD wallet");
  // Reserve the index first (atomic increment), then derive: two concurrent requests get
  // two different indices, and a failed derivation leaves only an unused gap number.
  int64_t index = 0;
  const Status reserved = db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(store::Rows r, c.Query("UPDATE wallets SET next_index = next_index + 1 WHERE id = $1"
                                            " RETURNING next_index - 1",
                                            {store::Value(ref.wallet.id)}));
    if (r.empty()) return NotFoundError("no wallet " + ref.wallet.id);
    index = r.Int(0, 0);
    return OkStatus();
  });
  RETURN_IF_ERROR(reserved);
  if (index > kMaxHdIndex) return ResourceExhaustedError("wallet has used every deposit index");
  const std::string path = HdPath(index);
  ASSIGN_OR_RETURN(json pub, signer_.DeriveAddress(ref.blob, ref.context, path));
  const std::string address = pub.value("address", "");
  RETURN_IF_ERROR(db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) {
    return c.Exec("INSERT INTO wallet_addresses (wallet_id, idx, address, path, created_ms) VALUES ($1, $2, $3, $4, $5)",
                  {store::Value(ref.wallet.id), store::Value(index), store::Value(address), store::Value(path),
                   store::Value(now_ms)});
  }));
  return json{{"walletId", ref.wallet.id}, {"index", index}, {"path", path}, {"address", address}};
}

StatusOr<json> WalletService::SignTransaction(std::string_view id, std::string_view tx_json,
                                              std::optional<int64_t> index) {
  ASSIGN_OR_RETURN(KeyRef ref, Key(id, index));
  ASSIGN_OR_RETURN(auto r, signer_.SignTransaction(ref.blob, ref.context, ref.path, tx_json));
  return json{{"raw", HexEncode(r.raw, true)}, {"hash", HexEncode(r.hash, true)}, {"from", r.from.ToChecksumHex()}};
}

StatusOr<json> WalletService::SignMessage(std::string_view id, ByteSpan message, std::optional<int64_t> index) {
  ASSIGN_OR_RETURN(KeyRef ref, Key(id, index));
  ASSIGN_OR_RETURN(auto r, signer_.SignMessage(ref.blob, ref.context, ref.path, message));
  return json{{"signature", HexEncode(r.signature, true)}, {"hash", HexEncode(r.hash, true)},
              {"from", r.from.ToChecksumHex()}};
}

StatusOr<json> WalletService::SignTypedData(std::string_view id, std::string_view typed_data_json,
                                            std::optional<int64_t> index) {
  ASSIGN_OR_RETURN(KeyRef ref, Key(id, index));
  ASSIGN_OR_RETURN(auto r, signer_.SignTypedData(ref.blob, ref.context, ref.path, typed_data_json));
  return json{{"signature", HexEncode(r.signature, true)}, {"hash", HexEncode(r.hash, true)},
              {"from", r.from.ToChecksumHex()}};
}

}  // namespace vp::wallet
