// The signed prover image: workers run only a prover binary whose digest the release key
// signed (docs/tally_proof.md, "Prover image"). The binary is copied into a sealed memfd,
// hashed (SHA-384), the signature over that digest checked against the pinned release
// public key, and the same memfd executed with fexecve, so the bytes that were checked are
// the bytes that run.
//
//   ProverImage image{"/usr/lib/vaultproof/vaultproof-prover", release_public_key};
//   ASSIGN_OR_RETURN(ProverRun run, RunSignedProver(image, {"segment"}, request_json, opts));
//   // kPermissionDenied "ImageSignatureVerificationFailed: ..." for an unsigned or altered image
//
// Signature file: `<binary>.sig`, 128 lower-case hex digits, an Ed25519 signature over
// "vaultproof:prover-image:v1" || SHA-384(binary).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "vp/base/bytes.h"
#include "vp/base/status.h"

namespace vp::prover {

inline constexpr std::string_view kProverImageDomain = "vaultproof:prover-image:v1";
inline constexpr std::string_view kImageSignatureFailed = "ImageSignatureVerificationFailed";

struct ProverImage {
  std::string binary_path;
  ByteArray<32> release_public_key{};  // Ed25519
  // "" means binary_path + ".sig".
  std::string signature_path;
  std::string SignaturePath() const {
    return signature_path.empty() ? binary_path + ".sig" : signature_path;
  }
};

// The signed message for an image digest.
Bytes ProverImageMessage(const ByteArray<48>& sha384);

// Signs the file at binary_path with the release key seed (32 bytes) and writes the
// signature to signature_path ("" = binary_path + ".sig"). Returns the digest that was signed.
StatusOr<ByteArray<48>> SignProverImage(ByteSpan release_seed, const std::string& binary_path,
                                        const std::string& signature_path = "");

// Seals and checks the image without running it. OK, or kPermissionDenied whose message
// starts with kImageSignatureFailed (missing, malformed or wrong signature; unreadable image).
Status CheckProverImage(const ProverImage& image);

class ProverSessionPool;

struct ProverRunOptions {
  int timeout_ms = 600000;
  size_t max_output_bytes = size_t{256} << 20;
  // Polled about every 50 ms; true kills the prover (the job was cancelled or lost its lease).
  std::function<bool()> should_stop;
  std::vector<std::string> env;  // "NAME=value" for the prover (e.g. OMP_NUM_THREADS)
  // OpenMP threads for this run; 0 leaves the image's default (its OMP_NUM_THREADS, else the
  // cores).
  unsigned threads = 0;
  // When set, ProveSegmentInput sends the request to a warm image of this pool instead of
  // starting one for it (env then applies to the images the pool starts).
  ProverSessionPool* sessions = nullptr;
};

struct ProverRun {
  Bytes output;        // the prover's stdout
  std::string errors;  // the last 4 KiB of its stderr
  double wall_ms = 0;
};

// Checks the image as CheckProverImage, then runs it with args and `input` on its stdin.
// kPermissionDenied (kImageSignatureFailed) when the check fails; kUnavailable "prover
// cancelled" when should_stop, "prover timed out" after timeout_ms; kInternal when the
// prover exits non-zero or by a signal (the message carries its stderr tail);
// kResourceExhausted for output above the cap. The prover is killed in every error case.
StatusOr<ProverRun> RunSignedProver(const ProverImage& image, const std::vector<std::string>& args,
                                    ByteSpan input, const ProverRunOptions& options);

// Signed prover images kept running between segments (`vaultproof-prover serve`, framed
// requests on its stdin: docs/tally_proof.md, "Prover sessions"), so that a worker pays an
// image's start and its first touch of about 1 GB once rather than for every segment. Every
// Run checks the image file first, exactly as RunSignedProver does, and uses only an idle image
// started from the same digest: an altered or re-signed file is never answered by an image
// started before it changed. Idle images exit by themselves after idle_exit_ms, returning
// their memory. An image that does not know `serve` (it exits with its usage, status 2) is
// run as RunSignedProver(image, {"segment"}) from then on. Thread-safe; one image per request
// proving at once.
//
//   ProverSessionPool pool(image, /*env=*/{});
//   ASSIGN_OR_RETURN(ProverRun run, pool.Run(request_json, /*threads=*/1, options));
class ProverSessionPool {
 public:
  ProverSessionPool(ProverImage image, std::vector<std::string> env, int idle_exit_ms = 60000);
  ~ProverSessionPool();
  ProverSessionPool(const ProverSessionPool&) = delete;
  ProverSessionPool& operator=(const ProverSessionPool&) = delete;

  // One segment's prover input through an idle image, or a new one. Errors as
  // RunSignedProver's (the prover's own refusal is kInternal with its message); an image that
  // fails in any other way (timeout, cancellation, a broken answer, exit) is killed and
  // replaced by the next Run.
  StatusOr<ProverRun> Run(ByteSpan input, unsigned threads, const ProverRunOptions& options);
  // Images started so far (tests: one image serves request after request).
  size_t started() const;

  class Session;

 private:
  ProverImage image_;
  std::vector<std::string> env_;
  int idle_exit_ms_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Session>> idle_;
  std::vector<ByteArray<48>> one_shot_;  // digests of images without `serve`
  size_t started_ = 0;
};

}  // namespace vp::prover
