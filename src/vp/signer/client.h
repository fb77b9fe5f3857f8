// The gateway's client for the signer socket: a few authenticated connections (hello
// challenge, per-connection request ids, request mac; docs/signer_protocol.md), each
// multiplexed: callers on any thread write requests in id order and a reader thread per
// connection hands each reply to its caller, so concurrent requests pipeline and the
// signer answers them in batches. Thread-safe. Every transport failure is kUnavailable "signer unavailable: ...", which
// the gateway answers as 503 SIGNER_UNAVAILABLE; errors the signer reports keep their code.
//
//   SignerClient client(socket_path, [&] { return launcher.SignerCredentials(); });
//   ASSIGN_OR_RETURN(auto created, client.CreateKey(ctx));
//   ASSIGN_OR_RETURN(auto signed_tx, client.SignTransaction(created.blob, created.context, "", tx_json));
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vp/base/secure.h"
#include "vp/crypto/secp256k1.h"
#include "vp/eth/address.h"
#include "vp/ipc/socket.h"
#include "vp/signer/protocol.h"

namespace vp::signer {

struct SignerCredentials {
  uint64_t generation = 0;  // changes with each signer start; older connections are dropped
  std::shared_ptr<const SecureBuffer> auth_key;
  ByteArray<32> signer_public{};  // the instance's X25519 key, as its hello names it
};
// kUnavailable while no signer is running.
using CredentialsSource = std::function<StatusOr<SignerCredentials>()>;

struct CreatedKey {
  Bytes blob;
  KeyContext context;     // with the address filled in
  nlohmann::json public_data;
};
struct SignedTransactionResult {
  Bytes raw;
  crypto::Hash256 hash{};
  eth::Address from;
};
struct SignatureResult {
  ByteArray<65> signature{};
  crypto::Hash256 hash{};  // the digest signed (zero for SignDigest: the caller has it)
  eth::Address from;
};
struct Ed25519SignatureResult {
  ByteArray<64> signature{};
  ByteArray<32> public_key{};
};
struct AttestationInfo {
  Bytes document;             // kms.md attestation document
  ByteArray<32> import_key{}; // X25519: seal imported secrets to it
};

class SignerClient {
 public:
  SignerClient(std::string socket_path, CredentialsSource credentials, int timeout_ms = 10000,
               size_t connections = 2);
  ~SignerClient();

  StatusOr<nlohmann::json> Health();
  StatusOr<AttestationInfo> Attestation();
  StatusOr<CreatedKey> CreateKey(const KeyContext& context);
  StatusOr<CreatedKey> ImportKey(const KeyContext& context, ByteSpan sealed_secret);
  StatusOr<nlohmann::json> DeriveAddress(ByteSpan blob, const KeyContext& context, std::string_view path);
  StatusOr<SignedTransactionResult> SignTransaction(ByteSpan blob, const KeyContext& context, std::string_view path,
                                                    std::string_view transaction_json);
  StatusOr<SignatureResult> SignMessage(ByteSpan blob, const KeyContext& context, std::string_view path,
                                        ByteSpan message);
  StatusOr<SignatureResult> SignTypedData(ByteSpan blob, const KeyContext& context, std::string_view path,
                                          std::string_view typed_data_json);
  StatusOr<SignatureResult> SignDigest(ByteSpan blob, const KeyContext& context, std::string_view path,
                                       const crypto::Hash256& digest);

  StatusOr<Ed25519SignatureResult> SignEd25519(ByteSpan blob, const KeyContext& context, ByteSpan message);

  // One request: the OK reply's fields, or the error. Exposed for tests and tools.
  StatusOr<Bytes> Call(Op op, ByteSpan fields);

 private:
  struct Mux;
  StatusOr<std::shared_ptr<Mux>> Connect(const SignerCredentials& creds);
  StatusOr<std::shared_ptr<Mux>> Pick(const SignerCredentials& creds);
  StatusOr<CreatedKey> ParseCreated(const KeyContext& request_context, StatusOr<Bytes> reply);
  StatusOr<SignatureResult> ParseSignature(StatusOr<Bytes> reply, bool has_hash);

  std::string socket_path_;
  CredentialsSource credentials_;
  int timeout_ms_;
  std::mutex mu_;
  std::vector<std::shared_ptr<Mux>> muxes_;  // fixed size, entries replaced when dead
  std::atomic<size_t> next_{0};
};

}  // namespace vp::signer
