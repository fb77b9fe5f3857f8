// libFuzzer target: the signer/kms wire decoders must refuse any byte string with a
// Status, never crash, hang or read out of bounds, and everything they accept must be
// canonical: decode -> encode gives back the input bytes, and decoding that again gives
// the same value (docs/signer_protocol.md, docs/kms.md).
//
// The input is read twice:
//   1. whole, by every decoder: DecodeFrame (no prefix), a FieldReader walk, OpenReply,
//      DecodeKeyBlob, DecodeKeyContext, DecodeWrappedKey, DecodeAttestation;
//   2. as a byte stream the way a server reads it: u32 length prefix -> CheckFrameLength
//      -> DecodeFrame of that many bytes, frame after frame. Each frame body is then taken
//      apart as a signer request (32-byte mac, then fields) and as a reply, and every field
//      is offered to the blob, context, wrapped-key and attestation decoders, so the
//      fuzzer reaches the nested formats through the framing it has to get right first.
// A blob's wrapped data key is decoded as well, as the kms does with it.
//
// Seeds: with VP_FUZZ_WRITE_SEEDS=DIR the binary writes one valid input per format into
// DIR (made by the real encoders) and exits; tests/fuzz/smoke.sh does this before each run.
//
// Run: tests/fuzz/smoke.sh BUILD_DIR --target signer_frame_fuzz [--time 600]
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "seed_file.h"
#include "vp/ipc/frame.h"
#include "vp/kms/attestation.h"
#include "vp/kms/master_key.h"
#include "vp/kms/policy.h"
#include "vp/signer/protocol.h"

namespace {

using vp::ByteSpan;
using vp::Bytes;

// A broken invariant is a finding: abort so libFuzzer keeps the input.
void Require(bool ok) {
  if (!ok) std::abort();
}

bool Same(ByteSpan a, ByteSpan b) { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }

bool SameWrapped(const vp::kms::WrappedKey& a, const vp::kms::WrappedKey& b) {
  return a.master_key_id == b.master_key_id && a.nonce == b.nonce && a.ciphertext == b.ciphertext;
}

bool SameAttestation(const vp::kms::AttestationDoc& a, const vp::kms::AttestationDoc& b) {
  return a.measurement == b.measurement && a.signer_public_key == b.signer_public_key && a.nonce == b.nonce &&
         a.timestamp_ms == b.timestamp_ms && a.launcher_key == b.launcher_key && a.signature == b.signature;
}

// A policy that pins one fixed launcher key, so an input that names it goes on to the
// signature check instead of stopping at "not pinned".
const vp::kms::KeyPolicy& Policy() {
  static const vp::kms::KeyPolicy kPolicy = [] {
    vp::kms::KeyPolicy p;
    vp::crypto::Ed25519Public key{};
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(0x40 + i);
    p.launcher_keys.push_back(key);
    vp::ByteArray<48> m{};
    m[0] = 1;
    p.signer_measurements.push_back(m);
    return p;
  }();
  return kPolicy;
}

void CheckWrappedKey(ByteSpan data) {
  auto w = vp::kms::DecodeWrappedKey(data);
  if (!w.ok()) return;
  Require(vp::kms::IsValidMasterKeyId(w->master_key_id));
  Require(w->nonce.size() == vp::kms::kWrapNonceSize);
  Require(w->ciphertext.size() >= vp::kms::kWrapMinCiphertext && w->ciphertext.size() <= vp::kms::kWrapMaxCiphertext);
  const Bytes encoded = vp::kms::EncodeWrappedKey(*w);
  Require(Same(encoded, data));
  auto again = vp::kms::DecodeWrappedKey(encoded);
  Require(again.ok() && SameWrapped(*w, *again));
}

void CheckKeyContext(ByteSpan data) {
  auto ctx = vp::signer::DecodeKeyContext(data);
  if (!ctx.ok()) return;
  Require(!ctx->wallet_id.empty() && ctx->wallet_id.size() <= vp::signer::kMaxWalletIdBytes);
  const Bytes encoded = vp::signer::EncodeKeyContext(*ctx);
  Require(Same(encoded, data));
  auto again = vp::signer::DecodeKeyContext(encoded);
  Require(again.ok() && *again == *ctx);
}

void CheckKeyBlob(ByteSpan data) {
  auto blob = vp::signer::DecodeKeyBlob(data);
  if (!blob.ok()) return;
  Require(data.size() <= vp::signer::kMaxBlobBytes);
  Require(!blob->wrapped_dek.empty() && blob->sealed_key.size() >= 17);
  const Bytes encoded = vp::signer::EncodeKeyBlob(*blob);
  Require(Same(encoded, data));
  auto again = vp::signer::DecodeKeyBlob(encoded);
  Require(again.ok() && again->context == blob->context && again->wrapped_dek == blob->wrapped_dek &&
          again->nonce == blob->nonce && again->sealed_key == blob->sealed_key);
  // The context inside is canonical too, and the wrapped data key goes to the kms decoder.
  CheckKeyContext(vp::signer::EncodeKeyContext(blob->context));
  CheckWrappedKey(blob->wrapped_dek);
}

void CheckAttestation(ByteSpan data) {
  auto doc = vp::kms::DecodeAttestation(data);
  if (!doc.ok()) return;
  Require(data.size() == vp::kms::kAttestationSize && doc->timestamp_ms >= 0);
  const Bytes encoded = vp::kms::EncodeAttestation(*doc);
  Require(Same(encoded, data));
  auto again = vp::kms::DecodeAttestation(encoded);
  Require(again.ok() && SameAttestation(*doc, *again));
  // Nobody holds the pinned key's private half, so no fuzzed document may verify.
  const vp::Status verified = vp::kms::VerifyAttestation(*doc, Policy(), doc->timestamp_ms);
  Require(!verified.ok() && verified.code() == vp::StatusCode::kPermissionDenied);
}

// Every decoder on one byte string.
void CheckValue(ByteSpan data) {
  CheckKeyBlob(data);
  CheckKeyContext(data);
  CheckWrappedKey(data);
  CheckAttestation(data);
}

// Walks the fields of a body; each field is offered to the value decoders.
void WalkFields(ByteSpan body, bool decode_values) {
  vp::ipc::FieldReader r(body);
  size_t before = r.remaining();
  while (r.remaining() > 0) {
    auto f = r.Next("field");
    if (!f.ok()) {
      Require(!r.Finish().ok());  // a refused field leaves the bytes unread
      return;
    }
    Require(r.remaining() + 4 + f->size() == before);  // consumed exactly prefix + field
    before = r.remaining();
    if (decode_values) CheckValue(*f);
  }
  Require(r.Finish().ok());
}

void CheckReply(ByteSpan body, bool decode_values) {
  auto reply = vp::ipc::OpenReply(body);
  if (!reply.ok()) {
    // An error reply decodes to exactly what ErrorReplyBody makes of it.
    if (!body.empty() && body[0] >= 1 && body[0] <= static_cast<uint8_t>(vp::StatusCode::kInternal)) {
      vp::ipc::FieldReader r(body.subspan(1));
      auto msg = r.NextString("message", 4096);
      if (msg.ok() && r.Finish().ok()) {
        Require(static_cast<uint8_t>(reply.status().code()) == body[0] && reply.status().message() == *msg);
        Require(Same(vp::ipc::ErrorReplyBody(reply.status()), body));
      }
    }
    return;
  }
  Require(!body.empty() && body[0] == 0);
  WalkFields(body.subspan(1), decode_values);
}

// A decoded frame: canonical, then its body as a signer request and as a reply.
void CheckFrame(ByteSpan framed_without_prefix) {
  auto f = vp::ipc::DecodeFrame(framed_without_prefix);
  if (!f.ok()) return;
  Require(f->version == vp::ipc::kWireVersion && f->flags == 0);
  Require(f->body.size() + vp::ipc::kHeaderSize == framed_without_prefix.size());
  const Bytes encoded = vp::ipc::EncodeFrame(*f);
  Require(encoded.size() == framed_without_prefix.size() + 4);
  Require(Same(ByteSpan(encoded).subspan(4), framed_without_prefix));
  auto again = vp::ipc::DecodeFrame(ByteSpan(encoded).subspan(4));
  Require(again.ok() && again->protocol == f->protocol && again->kind == f->kind &&
          again->request_id == f->request_id && again->body == f->body);
  Require(vp::ipc::MacHeader(*f).size() == 9);
  const ByteSpan body(f->body);
  if ((f->kind & vp::ipc::kReplyBit) != 0) {
    CheckReply(body, true);
  } else if (f->protocol == vp::ipc::kProtocolSigner && f->kind != vp::ipc::kKindHello) {
    // Signer request: a 32-byte mac, then the operation's fields.
    vp::ipc::FieldReader r(body);
    if (r.Raw("mac", vp::signer::kMacSize).ok()) WalkFields(body.subspan(vp::signer::kMacSize), true);
  } else {
    WalkFields(body, true);
  }
}

// ---- seeds ------------------------------------------------------------------------------

Bytes Framed(uint8_t protocol, uint8_t kind, uint64_t id, Bytes body) {
  return vp::ipc::EncodeFrame(vp::ipc::Frame{.protocol = protocol, .kind = kind, .request_id = id, .body = std::move(body)});
}

std::vector<std::pair<std::string, Bytes>> Seeds() {
  vp::signer::KeyContext ctx{.wallet_id = "w-1", .address = {}, .key_version = 1,
                             .key_kind = vp::signer::KeyKind::kSecp256k1};
  for (size_t i = 0; i < ctx.address.size(); ++i) ctx.address[i] = static_cast<uint8_t>(0x11 * (i + 1));
  const Bytes ctx_bytes = vp::signer::EncodeKeyContext(ctx);
  const Bytes wrapped = vp::kms::EncodeWrappedKey(
      vp::kms::WrappedKey{.master_key_id = "mk-1", .nonce = Bytes(12, 0x22), .ciphertext = Bytes(48, 0x33)});
  vp::signer::KeyBlob blob{.context = ctx, .wrapped_dek = wrapped, .nonce = {}, .sealed_key = Bytes(48, 0x44)};
  const Bytes blob_bytes = vp::signer::EncodeKeyBlob(blob);
  vp::kms::AttestationDoc doc;
  doc.measurement[0] = 1;
  doc.signer_public_key.fill(0x55);
  doc.nonce.fill(0x66);
  doc.timestamp_ms = 1'700'000'000'000;
  doc.launcher_key = Policy().launcher_keys[0];
  doc.signature.fill(0x77);
  const Bytes attestation = vp::kms::EncodeAttestation(doc);

  // A signer sign-digest request: mac, then blob, context, path, digest.
  Bytes sign = Bytes(vp::signer::kMacSize, 0x99);
  {
    vp::ipc::FieldWriter w;
    w.Add(blob_bytes).Add(ctx_bytes).AddString("").Add(Bytes(32, 0x88));
    vp::Append(sign, w.Take());
  }
  vp::ipc::FieldWriter kms_decrypt;
  kms_decrypt.Add(ctx_bytes).Add(wrapped).Add(attestation);
  vp::ipc::FieldWriter created;
  created.Add(blob_bytes).AddString(R"({"address":"0x0","publicKey":"0x04","path":""})");
  Bytes two = Framed('S', 0x08, 1, sign);
  vp::Append(two, Framed('S', 0x88, 1, vp::ipc::ErrorReplyBody(vp::PermissionDeniedError("no"))));
  return {
      {"context", ctx_bytes},
      {"wrapped_key", wrapped},
      {"blob", blob_bytes},
      {"attestation", attestation},
      {"frame_sign_digest", Framed('S', 0x08, 7, sign)},
      {"frame_kms_decrypt", Framed('K', 0x02, 3, kms_decrypt.Take())},
      {"frame_created_reply", Framed('S', 0x82, 7, vp::ipc::OkReplyBody(created.Take()))},
      {"frame_error_reply", Framed('K', 0x82, 3, vp::ipc::ErrorReplyBody(vp::UnauthenticatedError("bad mac")))},
      {"two_frames", two},
  };
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const char* dir = std::getenv("VP_FUZZ_WRITE_SEEDS");
  if (dir == nullptr) return 0;
  for (const auto& [name, bytes] : Seeds()) {
    // Each seed must pass its own decoder, or it would not lead the fuzzer anywhere.
    const ByteSpan b(bytes);
    const bool valid = name == "context"       ? vp::signer::DecodeKeyContext(b).ok()
                       : name == "wrapped_key" ? vp::kms::DecodeWrappedKey(b).ok()
                       : name == "blob"        ? vp::signer::DecodeKeyBlob(b).ok()
                       : name == "attestation" ? vp::kms::DecodeAttestation(b).ok()
                                               : b.size() > 4 && vp::ipc::DecodeFrame(b.subspan(4)).ok();
    vp::fuzz::RequireSeed(valid, name);
    vp::fuzz::WriteSeed(dir, name, bytes.data(), bytes.size());
  }
  std::exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteSpan in(data, size);

  // 1. The whole input, as each decoder would meet it.
  CheckValue(in);
  (void)vp::ipc::DecodeFrame(in);
  WalkFields(in, false);
  CheckReply(in, false);

  // 2. A stream of length-prefixed frames, as a server reads them.
  ByteSpan rest = in;
  while (rest.size() >= 4) {
    const uint32_t length = (uint32_t{rest[0]} << 24) | (uint32_t{rest[1]} << 16) | (uint32_t{rest[2]} << 8) |
                            uint32_t{rest[3]};
    if (!vp::ipc::CheckFrameLength(length).ok()) {
      Require(length < vp::ipc::kHeaderSize || length > vp::ipc::kMaxFrameLength);
      break;  // the connection cannot be resynchronised: the server closes it
    }
    if (rest.size() - 4 < length) {
      CheckFrame(rest.subspan(4));  // a truncated frame: whatever arrived must still be refused cleanly
      break;
    }
    CheckFrame(rest.subspan(4, length));
    rest = rest.subspan(4 + length);
  }
  return 0;
}
