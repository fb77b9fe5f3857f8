// `vaultproof release keygen|sign-prover|check-prover`.
#include "release_cmd.h"

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "cli_io.h"
#include "vp/base/bytes.h"
#include "vp/crypto/ed25519.h"
#include "vp/prover/prover_image.h"

namespace vp::app {
namespace {

StatusOr<SecureBuffer> ReadReleaseSeed(const std::string& path) {
  ASSIGN_OR_RETURN(SecureBuffer text, ReadSecretFile(path, 256));
  std::string_view hex(reinterpret_cast<const char*>(text.data()), text.size());  // NOLINT
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.remove_suffix(1);
  auto seed = HexDecodeSecret(hex);
  if (!seed.ok() || seed->size() != 32) {
    return InvalidArgumentError("release key file must hold 64 hex digits (an Ed25519 seed)");
  }
  return std::move(*seed);
}

StatusOr<nlohmann::json> Keygen(const std::string& out) {
  ASSIGN_OR_RETURN(SecureBuffer seed, crypto::Ed25519GenerateSeed());
  ASSIGN_OR_RETURN(auto pub, crypto::Ed25519PublicKey(seed.view()));
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return AlreadyExistsError("cannot create " + out + " (it must not exist)");
  const std::string hex = HexEncode(seed.view()) + "\n";
  const bool ok = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size());
  ::close(fd);
  if (!ok) return UnavailableError("cannot write " + out);
  return nlohmann::json{{"publicKey", HexEncode(pub)}};
}

StatusOr<nlohmann::json> SignProver(const std::string& key, const std::string& image) {
  ASSIGN_OR_RETURN(SecureBuffer seed, ReadReleaseSeed(key));
  ASSIGN_OR_RETURN(auto pub, crypto::Ed25519PublicKey(seed.view()));
  ASSIGN_OR_RETURN(auto digest, prover::SignProverImage(seed.view(), image));
  return nlohmann::json{{"image", image}, {"signature", image + ".sig"},
                        {"sha384", HexEncode(digest)}, {"publicKey", HexEncode(pub)}};
}

}  // namespace

void AddReleaseCommands(CLI::App& app, int* exit_code) {
  CLI::App* release = app.add_subcommand("release", "The release key that signs prover images");
  release->require_subcommand(1);

  auto out = std::make_shared<std::string>();
  CLI::App* keygen = release->add_subcommand("keygen", "Create a release key file");
  keygen->add_option("--out", *out, "Key file to create (mode 0600)")->required();
  keygen->callback([=] { EmitJson(exit_code, [&] { return Keygen(*out); }); });

  auto key = std::make_shared<std::string>();
  auto image = std::make_shared<std::string>();
  CLI::App* sign = release->add_subcommand("sign-prover", "Sign a prover image (writes IMAGE.sig)");
  sign->add_option("--key", *key, "Release key file")->required();
  sign->add_option("--image", *image, "Prover binary")->required();
  sign->callback([=] { EmitJson(exit_code, [&] { return SignProver(*key, *image); }); });

  auto pub = std::make_shared<std::string>();
  auto check_image = std::make_shared<std::string>();
  CLI::App* check = release->add_subcommand("check-prover", "Check a prover image's signature");
  check->add_option("--public-key", *pub, "Release public key (64 hex digits)")->required();
  check->add_option("--image", *check_image, "Prover binary")->required();
  check->callback([=] {
    auto key_bytes = HexDecodeFixed<32>(*pub, HexPrefix::kForbidden);
    if (!key_bytes.ok()) {
      PrintError(InvalidArgumentError("--public-key: expected 64 hex digits"));
      *exit_code = 2;
      return;
    }
    prover::ProverImage img;
    img.binary_path = *check_image;
    img.release_public_key = *key_bytes;
    const Status s = prover::CheckProverImage(img);
    if (s.ok()) {
      PrintJson({{"valid", true}});
      *exit_code = 0;
    } else {
      PrintJson({{"valid", false}, {"reason", s.message()}});
      *exit_code = 1;
    }
  });
}

}  // namespace vp::app
