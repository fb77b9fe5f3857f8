// Wallets: the custody product's resource. A wallet owns one key generated inside the
// signer (its blob in custody_keys, never plaintext here) and signs through it; HD
// wallets hand out deposit addresses m/44'/60'/0'/0/i. Transport-free: the gateway's
// routes call this on its store threads (every call may block on the store or the signer).
//
//   WalletService wallets(db, signer_client);
//   ASSIGN_OR_RETURN(Wallet w, wallets.Create("treasury", "hd", principal, now_ms));
//   ASSIGN_OR_RETURN(json signed_tx, wallets.SignTransaction(w.id, tx_json, std::nullopt));
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vp/signer/client.h"
#include "vp/store/db.h"

namespace vp::wallet {

struct Wallet {
  std::string id;          // "w_" + 24 hex
  std::string name;
  std::string chain;       // "evm"
  std::string kind;        // "single" | "hd"
  std::string key_id;      // custody_keys row
  std::string address;     // EIP-55; for "hd" the address at m/44'/60'/0'/0/0
  int64_t next_index = 0;  // HD: deposit addresses handed out so far
  std::string created_by;  // API key id
  int64_t created_ms = 0;
};
nlohmann::json WalletJson(const Wallet& w);

class WalletService {
 public:
  WalletService(store::Db& db, signer::SignerClient& signer) : db_(db), signer_(signer) {}

  // kInvalidArgument for a bad name (1..100 bytes), chain or kind. idempotency_key (the
  // request's Idempotency-Key, or empty) is stored with the wallet; a wallet the principal
  // created under the same key within the key's lifetime (24 h) is returned instead of a
  // second one (a retry after the gateway died before completing the key).
  StatusOr<Wallet> Create(std::string_view name, std::string_view chain, std::string_view kind,
                          std::string_view principal, int64_t now_ms, std::string_view idempotency_key = {});
  StatusOr<Wallet> Get(std::string_view id);
  // Ordered by id, after `after` ("" first page); limit 1..500.
  StatusOr<std::vector<Wallet>> List(std::string_view after, int64_t limit);
  // HD only (kFailedPrecondition otherwise): the next deposit address, atomically numbered.
  StatusOr<nlohmann::json> NextAddress(std::string_view id, int64_t now_ms);

  // Import, step 1: a fresh wallet id and what the client seals its secret to: the
  // signer's import key (X25519), the key context (the AEAD data), and the attestation
  // document that vouches for the signer holding that key.
  StatusOr<nlohmann::json> PrepareImport(std::string_view kind);
  // Step 2: the sealed secret (docs/signer_protocol.md, "import key") goes to the signer,
  // which alone can open it; the store gets the blob. Admin only (the gateway checks).
  StatusOr<Wallet> Import(std::string_view wallet_id, std::string_view name, std::string_view kind,
                          ByteSpan sealed_secret, std::string_view principal, int64_t now_ms);

  // Signing. `index` picks an HD deposit address (m/44'/60'/0'/0/index, < next_index or 0);
  // single-key wallets take none. Results use ethers' names: raw, hash, signature, from.
  StatusOr<nlohmann::json> SignTransaction(std::string_view id, std::string_view tx_json, std::optional<int64_t> index);
  StatusOr<nlohmann::json> SignMessage(std::string_view id, ByteSpan message, std::optional<int64_t> index);
  StatusOr<nlohmann::json> SignTypedData(std::string_view id, std::string_view typed_data_json,
                                         std::optional<int64_t> index);

 private:
  struct KeyRef {
    Wallet wallet;
    Bytes blob;
    signer::KeyContext context;
    std::string path;
  };
  StatusOr<KeyRef> Key(std::string_view id, std::optional<int64_t> index);
  StatusOr<Wallet> Store(Wallet w, const signer::CreatedKey& created, int64_t now_ms,
                         std::string_view idempotency_key = {});

  store::Db& db_;
  signer::SignerClient& signer_;
};

}  // namespace vp::wallet
