// EIP-191 version 0x45 ("personal_sign"): signs keccak256("\x19Ethereum Signed Message:\n" +
// decimal byte length + message). The signature is r || s || v with v = 27/28, the 65 bytes
// ethers' wallet.signMessage returns; RFC 6979 nonces make it byte-identical to ethers.
//
//   ASSIGN_OR_RETURN(std::string sig, SignPersonalMessageHex(key.view(), AsBytes("hello")));
//   ASSIGN_OR_RETURN(Address who, RecoverPersonalMessageSigner(AsBytes("hello"), sig_bytes));
#pragma once

#include <string>
#include <string_view>

#include "vp/base/bytes.h"
#include "vp/crypto/keccak.h"
#include "vp/eth/address.h"

namespace vp::eth {

// keccak256 of the prefixed message (ethers' hashMessage for a byte message).
crypto::Hash256 PersonalMessageDigest(ByteSpan message);

// r || s || v (v = 27 + yParity). 'private_key' is 32 bytes the caller keeps in a SecureBuffer;
// kInvalidArgument if it is not a valid key.
StatusOr<ByteArray<65>> SignPersonalMessage(ByteSpan private_key, ByteSpan message);
// The same as "0x" + 130 lower-case hex digits.
StatusOr<std::string> SignPersonalMessageHex(ByteSpan private_key, ByteSpan message);

// The address that signed 'message'. The signature must be exactly 65 bytes r || s || v with
// v in {27, 28} or {0, 1}; r and s must be in range and s low (EIP-2); anything else is
// kInvalidArgument. (64-byte EIP-2098 compact signatures are not accepted.)
StatusOr<Address> RecoverPersonalMessageSigner(ByteSpan message, ByteSpan signature);
// As above with the signature as hex ("0x" optional).
StatusOr<Address> RecoverPersonalMessageSignerHex(ByteSpan message, std::string_view signature_hex);

}  // namespace vp::eth
