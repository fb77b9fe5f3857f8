#include "audit_cmd.h"

#include <sys/stat.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fstream>

#include "cli_io.h"
#include "vp/http/custody.h"
#include "vp/audit/audit.h"
#include "vp/store/db.h"

namespace vp::app {
namespace {

struct AuditFlags {
  std::string data_dir = "var";
  std::string db_url;  // default <data-dir>/vaultproof.db
  std::vector<std::string> public_keys;
};

// The trusted keys: the data directory's key file (never created here) and --public-key.
StatusOr<std::vector<crypto::Ed25519Public>> TrustedKeys(const AuditFlags& f) {
  std::vector<crypto::Ed25519Public> keys;
  for (const auto& hex : f.public_keys) {
    auto k = HexDecodeFixed<32>(hex);
    if (!k.ok()) return InvalidArgumentError("--public-key " + hex + ": " + k.status().message());
    keys.push_back(*k);
  }
  // With custody the digest key lives in the signer; the gateway publishes its public key.
  const std::string pub_path = f.data_dir + "/" + std::string(http::kAuditPublicKeyFile);
  if (std::ifstream pub(pub_path); pub) {
    std::string hex;
    std::getline(pub, hex);
    auto k = HexDecodeFixed<32>(hex, HexPrefix::kForbidden);
    if (!k.ok()) return InvalidArgumentError(pub_path + ": " + k.status().message());
    keys.insert(keys.begin(), *k);
  }
  auto signer = audit::FileDigestSigner::Load(f.data_dir);
  if (signer.ok()) {
    keys.insert(keys.begin(), (*signer)->public_key());
  } else if (signer.status().code() != StatusCode::kNotFound) {
    return signer.status();  // e.g. a key file others can read: refuse to vouch with it
  } else if (keys.empty()) {
    return NotFoundError(signer.status().message() + " (pass the signing public key with --public-key)");
  }
  return keys;
}

StatusOr<int> VerifyCommand(const AuditFlags& f) {
  const std::string url = f.db_url.empty() ? f.data_dir + "/vaultproof.db" : f.db_url;
  const std::string_view u = url;
  if (!u.starts_with("postgres://") && !u.starts_with("postgresql://")) {
    // Opening a missing SQLite file would create an empty store and call it intact.
    const std::string path(u.starts_with("sqlite:") ? u.substr(7) : u);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return NotFoundError("no store at " + path);
  }
  ASSIGN_OR_RETURN(auto keys, TrustedKeys(f));
  ASSIGN_OR_RETURN(std::unique_ptr<store::Db> db, store::OpenDb(url));
  ASSIGN_OR_RETURN(audit::VerifyReport report, audit::Verify(*db, keys));
  std::cout << audit::VerifyReportToJson(report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
            << std::endl;
  return report.ok() ? 0 : 1;
}

}  // namespace

void AddAuditCommands(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<AuditFlags>();
  CLI::App* audit = app.add_subcommand("audit", "The tamper-evident audit log");
  audit->require_subcommand(1);
  CLI::App* verify = audit->add_subcommand(
      "verify", "Check the whole chain and every digest; exit 0 intact, 1 tampered, 2 error");
  verify->add_option("--data-dir", f->data_dir, "Data directory with the store and audit-signing.key (default var/)");
  verify->add_option("--db", f->db_url, "Store URL (postgres://... or a SQLite path); default <data-dir>/vaultproof.db");
  verify->add_option("--public-key", f->public_keys,
                     "Also trust this Ed25519 public key (hex; repeatable: one per gateway key)");
  verify->callback([f, exit_code] {
    auto rc = VerifyCommand(*f);
    if (!rc.ok()) {
      PrintError(rc.status());
      *exit_code = 2;
      return;
    }
    *exit_code = *rc;
  });
}

}  // namespace vp::app
