// bundle.zip: the container of a ballot bundle's five files (format: docs/bundle_format.md,
// version 1), read and written in memory with libzip, and the native entry point that reads
// a bundle and runs every verification check on it.
//
//   ASSIGN_OR_RETURN(Bytes zip, WriteBundleZip(files));
//   ASSIGN_OR_RETURN(BundleFiles back, ReadBundleZip(zip));    // strict: exactly the 5 files
//   VerificationReport r = VerifyBundleZip(zip, receipt_text);  // OpenSSL Ed25519
//
// The reader is the one to run on untrusted input: it never crashes, checks every entry's
// declared size against its cap before reading and stops reading at the cap, so a zip bomb
// costs nothing. The checks themselves (verify_bundle.h) need no zip code.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "vp/ballot/election.h"
#include "vp/ballot/verify_bundle.h"
#include "vp/base/bytes.h"
#include "vp/base/status.h"

namespace vp::ballot {

inline constexpr size_t kMaxProofFileBytes = size_t{64} << 20;
inline constexpr size_t kMaxJsonFileBytes = size_t{16} << 20;
// Both the sum of the entries' sizes and the archive itself.
inline constexpr size_t kMaxBundleBytes = size_t{96} << 20;

// The archive of the five files: proof.bin stored, the JSON files deflated, every entry
// dated 1980-01-01 00:00, so the same files give the same bytes. kInvalidArgument when a file
// is over its cap; kInternal if libzip fails.
StatusOr<Bytes> WriteBundleZip(const BundleFiles& files);

// kInvalidArgument with the reason for anything but a well-formed zip holding exactly the
// five names, once each, unencrypted, stored or deflated, within the caps (an archive over
// kMaxBundleBytes is kResourceExhausted). The files' contents are not judged here.
StatusOr<BundleFiles> ReadBundleZip(ByteSpan zip);

// ReadBundleZip then VerifyBundleFiles with OpenSSL's Ed25519. An unreadable archive gives a
// report with valid = false, the reason in `error` and no checks.
VerificationReport VerifyBundleZip(ByteSpan zip, const std::optional<std::string>& receipt_json);

}  // namespace vp::ballot
