// vaultproof-signer: the isolated signer ("enclave"). Started only by the launcher
// (src/vp/signer/launcher.h), which hands it fd 3, a listening Unix socket, and fd 4, the
// bootstrap channel (docs/signer_protocol.md, "Launcher bootstrap"). It reads its init,
// hardens itself (own uid, no network, seccomp, locked non-dumpable memory), makes its
// ephemeral X25519 key, obtains its attestation, and serves until SIGTERM.
#include <atomic>
#include <csignal>
#include <memory>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vp/base/json.h"
#include "vp/crypto/random.h"
#include "vp/crypto/x25519.h"
#include "vp/ipc/server.h"
#include "vp/kms/protocol.h"
#include "vp/signer/hardening.h"
#include "vp/signer/service.h"
#include "vp/signer/test_hooks.h"

namespace {

using nlohmann::json;
using namespace vp;

constexpr int kListenFd = 3;
constexpr int kBootstrapFd = 4;

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

void Log(std::string_view level, std::string_view msg) {
  // Never key material: messages here are fixed strings and Status messages.
  std::string line = json{{"service", "vaultproof-signer"}, {"level", level}, {"msg", msg}}.dump(
                         -1, ' ', false, json::error_handler_t::replace) +
                     "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

// Holds the current attestation and refreshes it over the bootstrap channel.
class BootstrapChannel {
 public:
  BootstrapChannel(ipc::Connection conn, int64_t refresh_ms) : conn_(std::move(conn)), refresh_ms_(refresh_ms) {}

  Status ReceiveAttestation() {
    ASSIGN_OR_RETURN(ipc::Frame f, conn_.ReadFrame(30000));
    if (f.protocol != ipc::kProtocolLauncher || f.kind != 0x02) return InvalidArgumentError("expected an attestation");
    ipc::FieldReader r(f.body);
    ASSIGN_OR_RETURN(ByteSpan doc, r.Next("attestation", 512));
    RETURN_IF_ERROR(r.Finish());
    doc_.assign(doc.begin(), doc.end());
    received_ = std::chrono::steady_clock::now();
    return OkStatus();
  }

  StatusOr<Bytes> Current() {
    std::lock_guard lock(mu_);
    if (std::chrono::steady_clock::now() - received_ > std::chrono::milliseconds(refresh_ms_)) {
      Status s = conn_.WriteFrame(ipc::Frame{.protocol = ipc::kProtocolLauncher, .kind = 0x03, .body = {}});
      if (s.ok()) s = ReceiveAttestation();
      if (!s.ok()) return UnavailableError("attestation refresh failed: " + s.message());
    }
    return doc_;
  }

 private:
  std::mutex mu_;
  ipc::Connection conn_;
  int64_t refresh_ms_;
  Bytes doc_;
  std::chrono::steady_clock::time_point received_;
};

void ServeConnection(ipc::Connection& conn, signer::SignerService& service, const ipc::UnixServer& server) {
  ByteArray<16> challenge{};
  if (!crypto::RandomBytes(challenge).ok()) return;
  ipc::FieldWriter hello;
  // The public key names this signer instance, so a client holding the previous
  // instance's credentials notices the restart instead of sending a bad mac.
  hello.Add(challenge).AddString("vaultproof-signer/1").Add(service.import_public_key());
  uint64_t last_id = 0;
  ipc::ServeFrames(conn, ipc::kProtocolSigner, hello.Take(), [&] { return server.stopping(); },
                   [&](const ipc::Frame& req) { return service.Handle(req, challenge, last_id); });
}

int Run() {
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);

  ipc::Connection boot(kBootstrapFd);
  auto init = boot.ReadFrame(30000);
  if (!init.ok() || init->protocol != ipc::kProtocolLauncher || init->kind != 0x01) {
    Log("error", "no init from the launcher; vaultproof-signer is started by the gateway's launcher only");
    return 2;
  }
  ipc::FieldReader r(init->body);
  auto auth_key = r.Next("auth key", 32);
  auto kms_socket = r.NextString("kms socket", 108);
  auto options_text = r.NextString("options", 4096);
  if (!auth_key.ok() || auth_key->size() != 32 || !kms_socket.ok() || !options_text.ok() || !r.Finish().ok()) {
    Log("error", "malformed init");
    return 2;
  }
  SecureBuffer auth = SecureBuffer::CopyOf(*auth_key);
  SecureWipe(init->body.data(), init->body.size());
  auto options = ParseJsonStrict(*options_text, "signer options");
  if (!options.ok() || !options->is_object()) {
    Log("error", "malformed init options");
    return 2;
  }
  const json& o = *options;
  signer::HardeningOptions hardening;
  if (o.contains("uid") && o["uid"].is_number_unsigned()) hardening.uid = o["uid"].get<uid_t>();
  if (o.contains("gid") && o["gid"].is_number_unsigned()) hardening.gid = o["gid"].get<gid_t>();
  hardening.new_network_namespace = o.value("netns", true);
  hardening.keep_fds = {kListenFd, kBootstrapFd};
  signer::SignerOptions service_options;
  service_options.cache_ttl_ms = o.value("cacheTtlSeconds", int64_t{300}) * 1000;
  service_options.cache_entries = o.value("cacheEntries", size_t{1024});
  const int64_t refresh_ms = o.value("attestationRefreshSeconds", int64_t{300}) * 1000;
  if (Status s = signer::InstallTestHooks(o, service_options); !s.ok()) {
    Log("error", s.message());
    return 2;
  }

  auto report = signer::HardenProcess(hardening);
  if (!report.ok()) {
    Log("error", "hardening failed: " + report.status().message());
    return 3;
  }
  for (const auto& w : report->warnings) Log("warning", w);
  service_options.health_extra_json = json{{"hardening",
                                            {{"droppedPrivileges", report->dropped_privileges},
                                             {"networkNamespace", report->network_namespace},
                                             {"noNewPrivs", report->no_new_privs},
                                             {"seccomp", report->seccomp},
                                             {"memoryLocked", report->memory_locked},
                                             {"notDumpable", report->not_dumpable},
                                             {"coreLimitZero", report->core_limit_zero},
                                             {"warnings", report->warnings}}}}
                                          .dump();

  auto ephemeral = crypto::X25519Generate();
  if (!ephemeral.ok()) {
    Log("error", "cannot make the ephemeral key");
    return 3;
  }
  ipc::FieldWriter hello;
  hello.Add(ephemeral->public_key);
  if (!boot.WriteFrame(ipc::Frame{.protocol = ipc::kProtocolLauncher, .kind = ipc::kReplyBit | 0x01,
                                  .body = ipc::OkReplyBody(hello.Take())})
           .ok()) {
    Log("error", "launcher went away");
    return 3;
  }
  BootstrapChannel channel(std::move(boot), refresh_ms);
  if (Status s = channel.ReceiveAttestation(); !s.ok()) {
    Log("error", "no attestation: " + s.message());
    return 3;
  }

  kms::KmsClient kms(*kms_socket);
  signer::SignerService service(std::move(auth), std::move(*ephemeral), [&] { return channel.Current(); }, &kms,
                                service_options);
  ipc::UnixServer* server_ptr = nullptr;
  ipc::UnixServer server(kListenFd, [&](ipc::Connection& c, const ipc::PeerCredentials&) {
    ServeConnection(c, service, *server_ptr);
  });
  server_ptr = &server;
  std::thread stopper([&] {
    while (!g_stop.load() && !server.stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server.Stop();
  });
  Log("info", "serving");
  server.Run();
  g_stop.store(true);
  stopper.join();
  Log("info", "stopped");
  return 0;
}

}  // namespace

namespace vp::signer {

// Compiled per variant: only the -testseed build (VP_SIGNER_TEST_HOOKS) honours testSeed.
Status InstallTestHooks(const nlohmann::json& options, SignerOptions& service_options) {
  if (!options.contains("testSeed")) return OkStatus();
#ifdef VP_SIGNER_TEST_HOOKS
  if (!options["testSeed"].is_string()) return InvalidArgumentError("testSeed must be hex");
  auto seed = HexDecodeSecret(options["testSeed"].get<std::string>());
  if (!seed.ok() || seed->size() != 32) return InvalidArgumentError("testSeed must be 32 bytes of hex");
  auto shared_seed = std::make_shared<SecureBuffer>(std::move(*seed));
  auto counter = std::make_shared<std::atomic<uint64_t>>(0);
  service_options.random_secret = [shared_seed, counter](size_t n) -> StatusOr<SecureBuffer> {
    if (n != 32) return InvalidArgumentError("test seed makes 32-byte secrets only");
    return TestSeedKey(shared_seed->view(), counter->fetch_add(1));
  };
  return OkStatus();
#else
  (void)service_options;
  return PermissionDeniedError("this signer build has no test hooks");
#endif
}


}  // namespace vp::signer

int main() { return Run(); }
