// The gateway's custody wiring: launcher options from [custody] config, with embedded
// defaults for a single machine (a sealed master key, a generated dev passphrase and a
// dev key policy that pins the signer binary measured at this start, all under
// <data_dir>/custody). Production sets passphrase_file and policy_file (or the pkcs11
// backend) and the dev files are never made.
//
//   ASSIGN_OR_RETURN(auto options, CustodyLauncherOptions(config, warnings));
//   ASSIGN_OR_RETURN(auto launcher, signer::Launcher::Start(std::move(options)));
#pragma once

#include <string>
#include <vector>

#include "vp/http/config.h"
#include "vp/signer/launcher.h"

namespace vp::http {

StatusOr<signer::LauncherOptions> CustodyLauncherOptions(const GatewayConfig& config,
                                                         std::vector<std::string>& warnings);

}  // namespace vp::http
