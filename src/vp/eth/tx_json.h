// Transactions as JSON, in ethers v6 field names: the input of `sign-tx` and the output of
// `sign-tx` / `decode-tx`. Parsing is strict: unknown fields, fields the type does not carry,
// negative or fractional numbers and bad checksums are all kInvalidArgument.
//
//   ASSIGN_OR_RETURN(Transaction tx, TransactionFromJson(request["tx"]));
//   ASSIGN_OR_RETURN(SignedTransaction st, SignTransaction(tx, key.view()));
//   nlohmann::json out = SignedTransactionToJson(st);
//
// Input fields: type, chainId, nonce, to, value, data, gasLimit, gasPrice, maxFeePerGas,
// maxPriorityFeePerGas, accessList ([{address, storageKeys}]). Integers are JSON integers
// (non-negative), decimal strings or 0x-hex strings; data and storage keys are 0x-hex; `to`
// null or absent means contract creation; a null value counts as absent (as in ethers).
// Absent fields are zero / empty, as in ethers.
//
// When `type` is absent it is inferred exactly as ethers v6 (6.17, Transaction.inferType)
// does, which differs from a first guess in two places:
//   maxFeePerGas or maxPriorityFeePerGas present -> 2
//   else gasPrice present                        -> 1  (EIP-2930 with an empty access list,
//                                                       not legacy: set "type": 0 for legacy)
//   else                                         -> 2  (accessList alone included)
// and then the fields are checked against that type (gasPrice with a fee cap is refused).
#pragma once

#include <nlohmann/json.hpp>

#include "vp/eth/transaction.h"

namespace vp::eth {

StatusOr<Transaction> TransactionFromJson(const nlohmann::json& j);

// The `decode-tx` shape:
//   {"type": 0|1|2, "chainId": "<dec>", "nonce": "<dec>", "to": "<EIP-55>" | null,
//    "value": "<dec>", "data": "0x..", "gasLimit": "<dec>",
//    "gasPrice": "<dec>"                                          (types 0 and 1),
//    "maxPriorityFeePerGas": "<dec>", "maxFeePerGas": "<dec>"     (type 2),
//    "accessList": [{"address": "<EIP-55>", "storageKeys": ["0x<64 hex>"]}]  (types 1, 2),
//    "signature": {"r": "0x<64 hex>", "s": "0x<64 hex>", "yParity": 0|1, "v": V},
//    "hash": "0x..", "from": "<EIP-55>", "raw": "0x.."}
// V is a JSON number (27/28, chainId*2+35+yParity, or yParity for typed transactions), or a
// decimal string when it exceeds 2^53 - 1 (JavaScript's largest exact integer).
nlohmann::json SignedTransactionToJson(const SignedTransaction& st);

// The `sign-tx` shape: {"raw": "0x..", "hash": "0x..", "from": "<EIP-55>"}.
nlohmann::json SignedTransactionSummaryJson(const SignedTransaction& st);

}  // namespace vp::eth
