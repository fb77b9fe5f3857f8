// The gateway's custody wiring: launcher options from [custody] config, with embedded
// defaults for a single machine (a sealed master key, a generated dev passphrase and a
// dev key policy that pins the signer binary measured at this start, all under
// <data_dir>/custody). Production sets passphrase_file and policy_file (or the pkcs11
// backend) and the dev files are never made.
//
//   ASSIGN_OR_RETURN(auto options, CustodyLauncherOptions(config, warnings));
//   ASSIGN_OR_RETURN(auto launcher, signer::Launcher::Start(std::move(options)));
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vp/audit/audit.h"
#include "vp/election/log_key.h"
#include "vp/http/config.h"
#include "vp/prover/prover_image.h"
#include "vp/signer/launcher.h"
#include "vp/store/db.h"

namespace vp::http {

StatusOr<signer::LauncherOptions> CustodyLauncherOptions(const GatewayConfig& config,
                                                         std::vector<std::string>& warnings);

// The audit log's digest key, held in the signer (an Ed25519 service key). Created on the
// first start with custody; its blob is kept in custody_keys as "system:audit-digest" and
// its public key written to <data_dir>/audit-signing.pub, which `vaultproof audit verify`
// trusts. The launcher is shared so it outlives the audit writer that signs through it.
inline constexpr std::string_view kAuditDigestKeyId = "system:audit-digest";
inline constexpr std::string_view kAuditPublicKeyFile = "audit-signing.pub";
StatusOr<std::shared_ptr<const audit::DigestSigner>> CustodyDigestSigner(store::Db& db,
                                                                         std::shared_ptr<signer::Launcher> launcher,
                                                                         const std::string& data_dir);

// The ballot log's key (election/log_key.h), held in the signer the same way: custody_keys
// "system:ballot-log", shared by every gateway on the store, created on the first start.
StatusOr<std::shared_ptr<const election::LogSigner>> CustodyBallotLogKey(store::Db& db,
                                                                        std::shared_ptr<signer::Launcher> launcher);

// The prover image finalization runs (src/vp/prover/prover_image.h): [ballot] prover_binary
// (default: vaultproof-prover beside this binary) and the release public key that must sign
// it. Without ballot.prover_release_public_key (a dev setup) a release key is made under
// <data_dir>/prover-release.key and signs the local prover now, with a warning; production
// ships the .sig made offline and pins the key.
StatusOr<prover::ProverImage> BallotProverImage(const GatewayConfig& config, std::vector<std::string>& warnings);

}  // namespace vp::http
