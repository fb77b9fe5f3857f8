// Ethereum transactions: legacy (type 0, EIP-155 or pre-EIP-155 when chainId is 0), EIP-2930
// (type 1) and EIP-1559 (type 2). Signing uses RFC 6979 low-s signatures, so the raw bytes
// equal what ethers v6 produces for the same key and fields. Decoding is strict: one
// canonical encoding per transaction, signatures checked (EIP-2 low s), sender recovered.
//
//   Transaction tx; tx.type = TxType::kDynamicFee; tx.chain_id = 1; tx.to = address; ...
//   ASSIGN_OR_RETURN(SignedTransaction st, SignTransaction(tx, key.view()));
//   ASSIGN_OR_RETURN(SignedTransaction back, DecodeSignedTransaction(st.raw));  // back.from
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "vp/base/bytes.h"
#include "vp/crypto/keccak.h"
#include "vp/crypto/secp256k1.h"
#include "vp/eth/address.h"
#include "vp/eth/uint256.h"

namespace vp::eth {

enum class TxType : uint8_t {
  kLegacy = 0,      // gasPrice; v = 27/28 (chainId 0) or chainId*2+35+yParity (EIP-155)
  kAccessList = 1,  // EIP-2930: gasPrice and an access list
  kDynamicFee = 2,  // EIP-1559: maxPriorityFeePerGas, maxFeePerGas and an access list
};

struct AccessListEntry {
  Address address;
  std::vector<crypto::Hash256> storage_keys;

  friend bool operator==(const AccessListEntry&, const AccessListEntry&) = default;
};
using AccessList = std::vector<AccessListEntry>;

// The fields of one transaction. Fields that the type does not carry must stay zero/empty
// (ValidateTransaction refuses them rather than silently dropping them).
struct Transaction {
  TxType type = TxType::kDynamicFee;
  U256 chain_id;
  uint64_t nonce = 0;                // EIP-2681: nonces fit 64 bits
  U256 gas_price;                    // types 0 and 1
  U256 max_priority_fee_per_gas;     // type 2
  U256 max_fee_per_gas;              // type 2
  U256 gas_limit;
  std::optional<Address> to;         // nullopt: contract creation
  U256 value;
  Bytes data;
  AccessList access_list;            // types 1 and 2

  friend bool operator==(const Transaction&, const Transaction&) = default;
};

struct SignedTransaction {
  Transaction tx;
  crypto::RecoverableSignature signature;  // recovery_id is the signature's yParity (0 or 1)
  Bytes raw;                               // the signed serialization (what eth_sendRawTransaction takes)
  crypto::Hash256 hash{};                  // keccak256(raw): the transaction hash
  Address from;                            // the signer
};

// kInvalidArgument when a field the type does not carry is set (gasPrice on type 2, fee caps
// on types 0/1, an access list on type 0), when maxPriorityFeePerGas > maxFeePerGas (ethers
// refuses it too), or when a legacy chainId is too large for v = chainId*2+36 in 256 bits.
Status ValidateTransaction(const Transaction& tx);

// The payload whose keccak256 is signed: the EIP-155 nine-field list (or the six-field list
// for chainId 0) for legacy, type byte || rlp(fields) for typed transactions.
StatusOr<Bytes> EncodeUnsignedTransaction(const Transaction& tx);
StatusOr<crypto::Hash256> TransactionSigningHash(const Transaction& tx);

// Validates, signs with 'private_key' (32 bytes; the caller keeps it in a SecureBuffer; it is
// neither copied nor retained) and returns raw bytes, hash, signature and sender.
StatusOr<SignedTransaction> SignTransaction(const Transaction& tx, ByteSpan private_key);
// As above for a caller that already holds the key's address (the signer derives it once
// when it unwraps a key): skips deriving the public key, which costs as much as the
// signature. 'from' must be the address of 'private_key'; it is reported, not checked.
StatusOr<SignedTransaction> SignTransaction(const Transaction& tx, ByteSpan private_key, const Address& from);

// Parses a raw signed transaction of type 0, 1 or 2 and recovers its sender. Everything that
// is not the one canonical form is kInvalidArgument: an unknown type byte, wrong field
// counts or kinds, integers with leading zeros or too wide (nonce > 64 bits), a 'to' of a
// length other than 0 or 20, storage keys other than 32 bytes, r or s zero or >= n, s > n/2
// (EIP-2), yParity other than 0/1, a legacy v that fits neither 27/28 nor chainId*2+35/36,
// trailing bytes, and fields ValidateTransaction refuses.
StatusOr<SignedTransaction> DecodeSignedTransaction(ByteSpan raw);

// The v a client shows: 27/28 for pre-EIP-155 legacy, chainId*2+35+yParity for EIP-155,
// yParity for typed transactions.
U256 SignatureV(const Transaction& tx, uint8_t y_parity);

}  // namespace vp::eth
