// vaultproof: the one command-line entry point. Parses flags and calls one library
// function per command; see the README for the contract of each command.
#include <sys/stat.h>

#include <CLI/CLI.hpp>

#include <iostream>

#include "apikey_cmd.h"
#include "audit_cmd.h"
#include "ballot_cmd.h"
#include "kms_cmd.h"
#include "release_cmd.h"
#include "eth_cmd.h"
#include "serve_cmd.h"
#include "stark_cmd.h"
#include "vp/base/status.h"

namespace {

int Demo() {
  // The first Hardhat/Anvil development account: a well-known test key, never a real one.
  const char* kDevKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
  auto key = vp::HexDecodeSecret(kDevKey);
  if (!key.ok()) return 1;
  auto addr = vp::app::EthAddress(key->view());
  auto tx = vp::app::EthSignTx(key->view(), R"({"type":2,"chainId":1337,"nonce":0,
      "to":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","value":"1000000000000000000",
      "gasLimit":21000,"maxFeePerGas":"30000000000","maxPriorityFeePerGas":"1000000000"})");
  if (!addr.ok() || !tx.ok()) return 1;
  std::cout << "vaultproof demo: the Ethereum signing core on a development key\n"
            << "address: " << addr->dump() << "\n"
            << "signed EIP-1559 transfer: " << tx->dump(2) << "\n"
            << "Try: echo -n hello | build/bin/vaultproof eth sign-message --key-file KEYFILE\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Everything vaultproof creates (store, keys, logs) is private to its user unless a
  // path is widened on purpose (the kms socket, the custody run dir, the dev policy).
  ::umask(077);
  CLI::App app{"vaultproof: custody and verifiable ballots"};
  app.require_subcommand(1);
  int exit_code = 0;
  vp::app::AddEthCommands(app, &exit_code);
  vp::app::AddServeCommands(app, &exit_code);
  vp::app::AddApiKeyCommands(app, &exit_code);
  vp::app::AddAuditCommands(app, &exit_code);
  vp::app::AddKmsCommands(app, &exit_code);
  vp::app::AddStarkCommands(app, &exit_code);
  vp::app::AddBallotCommands(app, &exit_code);
  vp::app::AddReleaseCommands(app, &exit_code);
  app.add_subcommand("demo", "Show the signing core at work on a development key")->callback([&] {
    exit_code = Demo();
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help
  } catch (const CLI::ParseError& e) {
    vp::app::PrintError(vp::InvalidArgumentError(std::string("usage: ") + e.what()));
    return 2;
  } catch (const std::exception& e) {
    // Nothing below should throw; if it does, report it as ours, never crash.
    vp::app::PrintError(vp::InternalError(e.what()));
    return 2;
  }
  return exit_code;
}
