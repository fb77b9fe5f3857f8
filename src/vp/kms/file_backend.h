// The `file` master-key backend: the key ring sealed in one file with AES-256-GCM under a
// key that scrypt derives from an operator passphrase. The passphrase comes from a file or
// an inherited descriptor, never from argv (argv is readable through /proc by any local
// user). File format: docs/kms.md, section "Sealed master-key file".
//
//   RETURN_IF_ERROR(CreateSealedMasterKeyFile("var/kms/master.key", pass.view()));
//   ASSIGN_OR_RETURN(SecureBuffer pass, ReadPassphraseFile("/run/secrets/kms-pass"));
//   ASSIGN_OR_RETURN(auto backend, OpenFileBackend("var/kms/master.key", std::move(pass)));
#pragma once

#include <memory>
#include <string>

#include "vp/crypto/scrypt.h"
#include "vp/kms/master_key.h"

namespace vp::kms {

inline constexpr char kSealedFileMagic[4] = {'V', 'P', 'M', 'K'};
inline constexpr uint8_t kSealedFileVersion = 1;
inline constexpr size_t kMaxPassphraseBytes = 4096;

// Creates a new sealed file holding one fresh random master key "mk-1". kAlreadyExists if
// the path exists; kInvalidArgument for an empty passphrase or parameters Scrypt refuses.
// The file has mode 0600 and appears atomically (temp file, fsync, link, directory fsync),
// so a crash leaves either no file or a complete one.
Status CreateSealedMasterKeyFile(const std::string& path, ByteSpan passphrase, const crypto::ScryptParams& = {});

// Opens the ring. kNotFound if the file does not exist; kInvalidArgument for a file that is
// not a version-1 sealed master-key file (bad magic, version, parameters, length);
// kUnauthenticated "wrong passphrase or corrupted file" when decryption fails (the two are
// indistinguishable by design: nothing about the contents leaks). Rotation rewrites the file
// atomically under the same passphrase-derived key with a fresh nonce; the passphrase
// itself is not kept.
StatusOr<std::unique_ptr<MasterKeyBackend>> OpenFileBackend(const std::string& path, SecureBuffer passphrase);

// The passphrase from a file, with one trailing "\n" (or "\r\n") removed. kNotFound if the
// file does not exist; kInvalidArgument if the result is empty or above 4096 bytes.
StatusOr<SecureBuffer> ReadPassphraseFile(const std::string& path);
// As ReadPassphraseFile, from a descriptor read to end of file. The caller keeps ownership
// of fd (it is not closed).
StatusOr<SecureBuffer> ReadPassphraseFd(int fd);

}  // namespace vp::kms
