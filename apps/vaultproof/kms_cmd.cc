// `vaultproof kms ...`: create a sealed master key, measure a signer image, ask a running
// kms for its status, rotate the master key (re-wrapping every stored data key), and
// verify the kms audit log. Rotation order (docs/kms.md, "Rotation"): begin (new active
// master key, old kept), re-wrap each blob with compare-and-swap, then finish (old
// master keys destroyed). Re-running after an interruption resumes where it stopped.
#include "kms_cmd.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "cli_io.h"
#include "vp/kms/file_backend.h"
#include "vp/kms/master_key.h"
#include "vp/kms/protocol.h"
#include "vp/kms/service.h"
#include "vp/signer/launcher.h"
#include "vp/signer/protocol.h"
#include "vp/store/custody_keys.h"

namespace vp::app {
namespace {

using nlohmann::json;

struct KmsFlags {
  std::string data_dir = "var";
  std::string db_url;
  std::string socket;
  std::string master_key_file;
  std::string passphrase_file;
  std::string signer;
  std::string file;
};

std::string SocketPath(const KmsFlags& f) {
  return f.socket.empty() ? f.data_dir + "/custody/run/kms.sock" : f.socket;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StatusOr<json> Rotate(const KmsFlags& f) {
  ASSIGN_OR_RETURN(auto db, store::OpenDb(f.db_url.empty() ? f.data_dir + "/vaultproof.db" : f.db_url));
  RETURN_IF_ERROR(db->Migrate());
  store::CustodyKeyRepo repo(*db);
  kms::KmsClient kms(SocketPath(f));
  auto begun = kms.RotateBegin();
  // Resuming an interrupted rotation: the new key is already active.
  if (!begun.ok() && begun.status().code() != StatusCode::kFailedPrecondition) return begun.status();
  ASSIGN_OR_RETURN(json status, kms.GetPublicKey());
  const std::string active = status.value("activeMasterKeyId", "");
  if (active.empty()) return InternalError("kms did not name its active master key");
  int64_t rewrapped = 0, already = 0;
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(auto page, repo.List(after, 500));
    if (page.empty()) break;
    for (const auto& row : page) {
      after = row.key_id;
      ASSIGN_OR_RETURN(signer::KeyBlob blob, signer::DecodeKeyBlob(row.blob));
      ASSIGN_OR_RETURN(kms::WrappedKey wrapped, kms::DecodeWrappedKey(blob.wrapped_dek));
      if (wrapped.master_key_id == active) {
        ++already;
        continue;
      }
      ASSIGN_OR_RETURN(Bytes fresh, kms.ReEncrypt(signer::EncodeKeyContext(blob.context), blob.wrapped_dek));
      blob.wrapped_dek = fresh;
      ASSIGN_OR_RETURN(bool replaced, repo.ReplaceBlob(row.key_id, row.blob, signer::EncodeKeyBlob(blob), active, NowMs()));
      if (!replaced) return FailedPreconditionError("key " + row.key_id + " changed during rotation; run rotate again");
      ++rewrapped;
    }
  }
  ASSIGN_OR_RETURN(int64_t left, repo.CountNotUnder(active));
  if (left != 0) return FailedPreconditionError(std::to_string(left) + " keys are still under an old master key; run rotate again");
  auto finished = kms.RotateFinish();
  if (!finished.ok() && finished.status().code() != StatusCode::kFailedPrecondition) return finished.status();
  return json{{"activeMasterKeyId", active}, {"rewrapped", rewrapped}, {"alreadyCurrent", already}};
}

}  // namespace

void AddKmsCommands(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<KmsFlags>();
  CLI::App* kms = app.add_subcommand("kms", "Operate the kms: master key, status, rotation, audit log");
  kms->require_subcommand(1);

  CLI::App* init = kms->add_subcommand("init", "Create a sealed master-key file (file backend)");
  init->add_option("--master-key-file", f->master_key_file, "Where to write it")->required();
  init->add_option("--passphrase-file", f->passphrase_file, "File holding the operator passphrase")->required();
  init->callback([f, exit_code] {
    EmitJson(exit_code, [&]() -> StatusOr<json> {
      ASSIGN_OR_RETURN(SecureBuffer pass, kms::ReadPassphraseFile(f->passphrase_file));
      RETURN_IF_ERROR(kms::CreateSealedMasterKeyFile(f->master_key_file, pass.view()));
      return json{{"created", f->master_key_file}, {"activeMasterKeyId", "mk-1"}};
    });
  });

  CLI::App* measure = kms->add_subcommand("measure", "SHA-384 of a signer image, as the launcher measures it");
  measure->add_option("--signer", f->signer, "Path of vaultproof-signer")->required();
  measure->callback([f, exit_code] {
    EmitJson(exit_code, [&]() -> StatusOr<json> {
      ASSIGN_OR_RETURN(auto m, signer::MeasureFile(f->signer));
      return json{{"measurement", HexEncode(m)}};
    });
  });

  CLI::App* status = kms->add_subcommand("status", "Ask the running kms for its keys and policy hash");
  status->add_option("--data-dir", f->data_dir, "Data directory (default var/)");
  status->add_option("--socket", f->socket, "kms socket (default <data-dir>/custody/run/kms.sock)");
  status->callback([f, exit_code] {
    EmitJson(exit_code, [&]() -> StatusOr<json> { return kms::KmsClient(SocketPath(*f)).GetPublicKey(); });
  });

  CLI::App* rotate = kms->add_subcommand("rotate", "New master key; re-wrap every stored data key; retire the old one");
  rotate->add_option("--data-dir", f->data_dir, "Data directory (default var/)");
  rotate->add_option("--db", f->db_url, "Store URL; default <data-dir>/vaultproof.db");
  rotate->add_option("--socket", f->socket, "kms socket (default <data-dir>/custody/run/kms.sock)");
  rotate->callback([f, exit_code] { EmitJson(exit_code, [&] { return Rotate(*f); }); });

  CLI::App* verify = kms->add_subcommand("verify-audit", "Check the kms audit log's hash chain");
  verify->add_option("--file", f->file, "kms audit log (default <data-dir>/custody/kms-audit.log)");
  verify->add_option("--data-dir", f->data_dir, "Data directory (default var/)");
  verify->callback([f, exit_code] {
    EmitJson(exit_code, [&]() -> StatusOr<json> {
      const std::string path = f->file.empty() ? f->data_dir + "/custody/kms-audit.log" : f->file;
      ASSIGN_OR_RETURN(int64_t n, kms::VerifyKmsAuditFile(path));
      return json{{"records", n}, {"chain", "intact"}};
    });
  });
}

}  // namespace vp::app
