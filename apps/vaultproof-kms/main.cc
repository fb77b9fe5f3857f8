// vaultproof-kms: the key management service. Holds the master key (sealed file or
// PKCS#11 token), enforces the key policy, audits every call, and serves the kms
// protocol (docs/signer_protocol.md) on a Unix socket whose peers it identifies with
// SO_PEERCRED. Secrets come from files or inherited fds, never from the command line.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "vp/crypto/hash.h"
#include "vp/crypto/random.h"
#include "vp/ipc/server.h"
#include "vp/kms/file_backend.h"
#include "vp/kms/pkcs11_backend.h"
#include "vp/kms/policy.h"
#include "vp/kms/service.h"

namespace {

using namespace vp;
using nlohmann::json;

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

void Log(std::string_view level, std::string_view msg) {
  std::string line = json{{"service", "vaultproof-kms"}, {"level", level}, {"msg", msg}}.dump(
                         -1, ' ', false, json::error_handler_t::replace) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

struct Args {
  std::string socket, policy, audit_log, backend = "file";
  std::string master_key_file, passphrase_file, pkcs11_module, pkcs11_token, pkcs11_pin_file;
  std::string pkcs11_key_label = "vaultproof-master";
  int passphrase_fd = -1;
};

StatusOr<std::unique_ptr<kms::MasterKeyBackend>> OpenBackend(const Args& a) {
  if (a.backend == "file") {
    if (a.master_key_file.empty()) return InvalidArgumentError("--master-key-file is required for the file backend");
    StatusOr<SecureBuffer> pass = a.passphrase_fd >= 0 ? kms::ReadPassphraseFd(a.passphrase_fd)
                                  : !a.passphrase_file.empty()
                                      ? kms::ReadPassphraseFile(a.passphrase_file)
                                      : StatusOr<SecureBuffer>(InvalidArgumentError("--passphrase-file or --passphrase-fd is required"));
    if (!pass.ok()) return pass.status();
    return kms::OpenFileBackend(a.master_key_file, std::move(*pass));
  }
  if (a.backend == "pkcs11") {
    if (a.pkcs11_module.empty() || a.pkcs11_token.empty() || a.pkcs11_pin_file.empty())
      return InvalidArgumentError("--pkcs11-module, --pkcs11-token and --pkcs11-pin-file are required");
    ASSIGN_OR_RETURN(SecureBuffer pin, kms::ReadPassphraseFile(a.pkcs11_pin_file));
    return kms::OpenPkcs11Backend(
        kms::Pkcs11Config{.module_path = a.pkcs11_module, .token_label = a.pkcs11_token,
                          .key_label_prefix = a.pkcs11_key_label},
        std::move(pin));
  }
  return InvalidArgumentError("unknown backend '" + a.backend + "' (file or pkcs11)");
}

void Serve(ipc::Connection& conn, kms::KmsService& service, const ipc::PeerCredentials& peer,
           const ipc::UnixServer& server) {
  ByteArray<16> challenge{};
  (void)crypto::RandomBytes(challenge);
  ipc::FieldWriter hello;
  hello.Add(challenge).AddString("vaultproof-kms/1");
  ipc::ServeFrames(conn, ipc::kProtocolKms, hello.Take(), [&] { return server.stopping(); },
                   [&](const ipc::Frame& req) { return service.Handle(req, peer); });
}

int Run(const Args& a) {
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  std::ifstream pf(a.policy);
  std::stringstream ss;
  ss << pf.rdbuf();
  if (!pf) {
    Log("error", "cannot read policy file " + a.policy);
    return 2;
  }
  const std::string policy_text = ss.str();
  auto policy = kms::ParseKeyPolicy(policy_text);
  if (!policy.ok()) {
    Log("error", "policy: " + policy.status().message());
    return 2;
  }
  auto backend = OpenBackend(a);
  if (!backend.ok()) {
    Log("error", "master key: " + backend.status().message());
    return 2;
  }
  auto audit = kms::KmsAuditLog::Open(a.audit_log);
  if (!audit.ok()) {
    Log("error", "audit log: " + audit.status().message());
    return 2;
  }
  kms::KmsService service(std::move(*backend), std::move(*policy), HexEncode(crypto::Sha256(AsBytes(policy_text))),
                          audit->get());
  // Any local process may connect; what it may do is decided per call by SO_PEERCRED
  // and attestation, so the socket is world-connectable.
  auto fd = ipc::ListenUnix(a.socket, 0666);
  if (!fd.ok()) {
    Log("error", fd.status().message());
    return 2;
  }
  ipc::UnixServer* server_ptr = nullptr;
  ipc::UnixServer server(*fd, [&](ipc::Connection& c, const ipc::PeerCredentials& peer) {
    Serve(c, service, peer, *server_ptr);
  });
  server_ptr = &server;
  std::thread stopper([&] {
    while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server.Stop();
  });
  Log("info", "serving on " + a.socket);
  server.Run();
  g_stop.store(true);
  stopper.join();
  ::unlink(a.socket.c_str());
  Log("info", "stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vaultproof-kms: master key, key policy, data keys"};
  Args a;
  app.add_option("--socket", a.socket, "Unix socket to serve on")->required();
  app.add_option("--policy", a.policy, "key policy file (docs/kms.md)")->required();
  app.add_option("--audit-log", a.audit_log, "hash-chained audit log file")->required();
  app.add_option("--backend", a.backend, "file | pkcs11");
  app.add_option("--master-key-file", a.master_key_file, "sealed master key file (file backend)");
  app.add_option("--passphrase-file", a.passphrase_file, "file holding the operator passphrase");
  app.add_option("--passphrase-fd", a.passphrase_fd, "inherited fd to read the passphrase from");
  app.add_option("--pkcs11-module", a.pkcs11_module, "PKCS#11 module path");
  app.add_option("--pkcs11-token", a.pkcs11_token, "token label");
  app.add_option("--pkcs11-pin-file", a.pkcs11_pin_file, "file holding the user PIN");
  app.add_option("--pkcs11-key-label", a.pkcs11_key_label, "label prefix of the master key objects");
  CLI11_PARSE(app, argc, argv);
  return Run(a);
}
