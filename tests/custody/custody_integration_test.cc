// The custody stack end to end: the real vaultproof-kms and vaultproof-signer processes,
// started by the launcher, create keys and sign; signatures are checked with the eth
// layer. Then every attack the design stops: a foreign measurement, the debug
// measurement, a swapped blob, a caller without the gateway's key, replayed and malformed
// frames, memory reads through /proc, crashes of either process, master-key rotation,
// and a scan of every output for the private key.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "vp/base/test_util.h"
#include "vp/crypto/ed25519.h"
#include "vp/crypto/hash.h"
#include "vp/crypto/random.h"
#include "vp/crypto/sealed_box.h"
#include "vp/crypto/secp256k1.h"
#include "vp/eth/address.h"
#include "vp/eth/bip32.h"
#include "vp/eth/eip191.h"
#include "vp/eth/eip712.h"
#include "vp/eth/transaction.h"
#include "vp/ipc/socket.h"
#include "vp/kms/attestation.h"
#include "vp/kms/master_key.h"
#include "vp/crypto/x25519.h"
#include "vp/kms/protocol.h"
#include "vp/kms/service.h"
#include "vp/signer/hardening.h"
#include "vp/signer/test_hooks.h"
#include "vp/signer/testing.h"
#include "vp/store/custody_keys.h"
#include "vp/store/db.h"

namespace vp::signer {
namespace {

using nlohmann::json;

constexpr std::string_view kTx1559 = R"({"type":2,"chainId":1,"nonce":7,"to":"0x3535353535353535353535353535353535353535",
  "value":"1000000000000000000","gasLimit":21000,"maxFeePerGas":"30000000000","maxPriorityFeePerGas":"1000000000"})";

constexpr std::string_view kTypedData = R"({"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"chainId","type":"uint256"}],
  "Mail":[{"name":"contents","type":"string"}]},"primaryType":"Mail","domain":{"name":"vp","chainId":1},
  "message":{"contents":"hello"}})";

KeyContext Ctx(std::string wallet, KeyKind kind = KeyKind::kSecp256k1) {
  return KeyContext{.wallet_id = std::move(wallet), .address = {}, .key_version = 1, .key_kind = kind};
}

using vp::testing::RunCapture;

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class CustodyTest : public ::testing::Test {
 protected:
  void StartStack(CustodyStackOptions options = {}) {
    stack_ = std::make_unique<CustodyStack>(std::move(options));
    Status s = stack_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << ReadAll(stack_->dir() + "/signer.log")
                        << ReadAll(stack_->dir() + "/kms.log");
  }
  SignerClient& client() { return stack_->launcher().client(); }
  std::unique_ptr<CustodyStack> stack_;
};

TEST_F(CustodyTest, CreatesKeysAndSignsWhatTheEthLayerVerifies) {
  StartStack();
  auto created = client().CreateKey(Ctx("w-1"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const eth::Address address(created->context.address);
  EXPECT_EQ(created->public_data["address"], address.ToChecksumHex());

  auto tx = client().SignTransaction(created->blob, created->context, "", kTx1559);
  ASSERT_TRUE(tx.ok()) << tx.status().ToString();
  auto decoded = eth::DecodeSignedTransaction(tx->raw);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->from, address);
  EXPECT_EQ(tx->from, address);
  EXPECT_EQ(decoded->hash, tx->hash);

  auto msg = client().SignMessage(created->blob, created->context, "", AsBytes("hello"));
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();
  auto who = eth::RecoverPersonalMessageSigner(AsBytes("hello"), msg->signature);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(*who, address);

  auto typed = client().SignTypedData(created->blob, created->context, "", kTypedData);
  ASSERT_TRUE(typed.ok()) << typed.status().ToString();
  crypto::RecoverableSignature sig;
  std::copy_n(typed->signature.begin(), 32, sig.r.begin());
  std::copy_n(typed->signature.begin() + 32, 32, sig.s.begin());
  sig.recovery_id = static_cast<uint8_t>(typed->signature[64] - 27);
  auto pub = crypto::Secp256k1Recover(typed->hash, sig);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(eth::Address::FromPublicKey(*pub), address);

  crypto::Hash256 digest = crypto::Sha256(AsBytes("digest"));
  auto d = client().SignDigest(created->blob, created->context, "", digest);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  std::copy_n(d->signature.begin(), 32, sig.r.begin());
  std::copy_n(d->signature.begin() + 32, 32, sig.s.begin());
  sig.recovery_id = static_cast<uint8_t>(d->signature[64] - 27);
  pub = crypto::Secp256k1Recover(digest, sig);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(eth::Address::FromPublicKey(*pub), address);

  // A second key gets a different address; the kms audited each data-key call.
  auto other = client().CreateKey(Ctx("w-2"));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->context.address, created->context.address);
  auto audited = kms::VerifyKmsAuditFile(stack_->kms_audit_log());
  ASSERT_TRUE(audited.ok()) << audited.status().ToString();
  EXPECT_GE(*audited, 2);
  EXPECT_NE(ReadAll(stack_->kms_audit_log()).find("w-2"), std::string::npos);
}

TEST_F(CustodyTest, HdWalletsDeriveAddressesUnderTheEthereumPath) {
  StartStack();
  auto created = client().CreateKey(Ctx("hd-1", KeyKind::kHdSeed));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->public_data["path"], "m/44'/60'/0'/0/0");
  auto a3 = client().DeriveAddress(created->blob, created->context, "m/44'/60'/0'/0/3");
  ASSERT_TRUE(a3.ok()) << a3.status().ToString();
  EXPECT_NE((*a3)["address"], created->public_data["address"]);
  auto tx = client().SignTransaction(created->blob, created->context, "m/44'/60'/0'/0/3", kTx1559);
  ASSERT_TRUE(tx.ok()) << tx.status().ToString();
  EXPECT_EQ(tx->from.ToChecksumHex(), (*a3)["address"]);
  auto btc = client().DeriveAddress(created->blob, created->context, "m/44'/0'/0'/0/0");
  EXPECT_EQ(btc.status().code(), StatusCode::kInvalidArgument);
  auto single_with_path = client().CreateKey(Ctx("s-1"));
  ASSERT_TRUE(single_with_path.ok());
  EXPECT_EQ(client().DeriveAddress(single_with_path->blob, single_with_path->context, "m/44'/60'/0'/0/1").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(CustodyTest, ImportedKeysAreSealedToTheSignerAndSignLikeTheOriginal) {
  StartStack();
  auto att = client().Attestation();
  ASSERT_TRUE(att.ok()) << att.status().ToString();
  ByteArray<32> pk{};
  pk[31] = 1;  // private key 1: address 0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf
  Bytes payload{1};
  Append(payload, pk);
  KeyContext ctx = Ctx("imp-1");
  auto sealed = crypto::SealTo(att->import_key, AsBytes(kImportSealInfo), EncodeKeyContext(ctx), payload);
  ASSERT_TRUE(sealed.ok());
  auto created = client().ImportKey(ctx, *sealed);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->public_data["address"], "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
  // The same sealed secret for another wallet's context does not open.
  EXPECT_EQ(client().ImportKey(Ctx("imp-2"), *sealed).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(CustodyTest, SwappedBlobsAreRefused) {
  StartStack();
  auto a = client().CreateKey(Ctx("w-a"));
  auto b = client().CreateKey(Ctx("w-b"));
  ASSERT_TRUE(a.ok() && b.ok());
  // Wallet b's row holding wallet a's blob.
  auto swapped = client().SignDigest(a->blob, b->context, "", crypto::Hash256{});
  EXPECT_EQ(swapped.status().code(), StatusCode::kPermissionDenied) << swapped.status().ToString();
  // A blob rebuilt to claim b's context but carrying a's wrapped data key and sealed key.
  auto blob_a = DecodeKeyBlob(a->blob);
  auto blob_b = DecodeKeyBlob(b->blob);
  ASSERT_TRUE(blob_a.ok() && blob_b.ok());
  KeyBlob forged = *blob_b;
  forged.wrapped_dek = blob_a->wrapped_dek;
  forged.nonce = blob_a->nonce;
  forged.sealed_key = blob_a->sealed_key;
  auto r = client().SignDigest(EncodeKeyBlob(forged), b->context, "", crypto::Hash256{});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  // b's own key, but the context's address edited to a's: the re-derived address differs.
  KeyBlob relabelled = *blob_b;
  relabelled.context.address = a->context.address;
  auto r2 = client().SignDigest(EncodeKeyBlob(relabelled), relabelled.context, "", crypto::Hash256{});
  EXPECT_FALSE(r2.ok());
  // The genuine pair still works.
  EXPECT_TRUE(client().SignDigest(b->blob, b->context, "", crypto::Hash256{}).ok());
}

TEST_F(CustodyTest, AForeignMeasurementIsRefusedByTheKms) {
  // A signer image with one byte appended: it runs the same code but measures differently.
  StartStack();  // for the bin dir
  const std::string bin = stack_->bin_dir() + "/vaultproof-signer";
  const std::string copy = "/tmp/vp-signer-modified-" + std::to_string(::getpid());
  std::filesystem::remove(copy);
  std::filesystem::copy_file(bin, copy);
  {
    std::ofstream f(copy, std::ios::app | std::ios::binary);
    f << '\0';
  }
  ::chmod(copy.c_str(), 0755);
  auto original = MeasureFile(bin);
  auto modified = MeasureFile(copy);
  ASSERT_TRUE(original.ok() && modified.ok());
  ASSERT_NE(*original, *modified);
  stack_.reset();
  CustodyStackOptions o;
  o.signer_binary = copy;
  o.edit_policy = [&](kms::KeyPolicy& p) { p.signer_measurements = {*original}; };
  StartStack(std::move(o));
  auto created = client().CreateKey(Ctx("w-1"));
  EXPECT_EQ(created.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(created.status().message().find("measurement not allowed"), std::string::npos)
      << created.status().ToString();
  EXPECT_NE(ReadAll(stack_->kms_audit_log()).find("PERMISSION_DENIED"), std::string::npos);
  std::filesystem::remove(copy);
}

TEST_F(CustodyTest, TheDebugMeasurementNeedsAllowDebug) {
  CustodyStackOptions o;
  o.debug_measurement = true;
  StartStack(std::move(o));
  auto refused = client().CreateKey(Ctx("w-1"));
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.status().message().find("debug"), std::string::npos) << refused.status().ToString();
  stack_.reset();
  CustodyStackOptions allowed;
  allowed.debug_measurement = true;
  allowed.edit_policy = [](kms::KeyPolicy& p) { p.allow_debug = true; };
  StartStack(std::move(allowed));
  EXPECT_TRUE(client().CreateKey(Ctx("w-1")).ok());
}

// Raw frames to the signer socket, as another local process would send them.
class RawSigner {
 public:
  explicit RawSigner(const std::string& path) {
    auto fd = ipc::ConnectUnix(path);
    if (fd.ok()) conn_ = ipc::Connection(*fd);
    auto hello = conn_.ReadFrame(5000);
    if (hello.ok()) {
      ipc::FieldReader r(hello->body);
      auto c = r.Next("challenge");
      if (c.ok()) challenge_.assign(c->begin(), c->end());
    }
  }
  StatusOr<ipc::Frame> Send(uint8_t kind, uint64_t id, ByteSpan key, ByteSpan fields) {
    ipc::Frame f{.protocol = ipc::kProtocolSigner, .kind = kind, .request_id = id, .body = {}};
    auto mac = RequestMac(key, challenge_, f, fields);
    Append(f.body, mac);
    Append(f.body, fields);
    RETURN_IF_ERROR(conn_.WriteFrame(f));
    return conn_.ReadFrame(5000);
  }
  Status ReplyStatus(const StatusOr<ipc::Frame>& f) {
    if (!f.ok()) return f.status();
    auto r = ipc::OpenReply(f->body);
    return r.ok() ? OkStatus() : r.status();
  }
  ipc::Connection& conn() { return conn_; }
  Bytes challenge_;

 private:
  ipc::Connection conn_;
};

TEST_F(CustodyTest, RequestsWithoutTheGatewaysKeyAreRefusedAndTheSignerKeepsServing) {
  StartStack();
  const std::string path = stack_->dir() + "/signer.sock";
  RawSigner raw(path);
  ASSERT_EQ(raw.challenge_.size(), 16u);
  ByteArray<32> wrong_key{};
  auto r = raw.Send(static_cast<uint8_t>(Op::kHealth), 1, wrong_key, {});
  EXPECT_EQ(raw.ReplyStatus(r).code(), StatusCode::kUnauthenticated);

  // With the real key (a test reaches into the launcher), a replayed id is refused.
  auto creds = stack_->launcher().Credentials();
  ASSERT_TRUE(creds.ok());
  EXPECT_TRUE(raw.ReplyStatus(raw.Send(1, 5, creds->auth_key->view(), {})).ok());
  EXPECT_EQ(raw.ReplyStatus(raw.Send(1, 5, creds->auth_key->view(), {})).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(raw.ReplyStatus(raw.Send(1, 4, creds->auth_key->view(), {})).code(), StatusCode::kUnauthenticated);
  // A mac made for another connection's challenge does not carry over.
  RawSigner other(path);
  ipc::Frame f{.protocol = ipc::kProtocolSigner, .kind = 1, .request_id = 9, .body = {}};
  auto mac = RequestMac(creds->auth_key->view(), raw.challenge_, f, {});
  Append(f.body, mac);
  ASSERT_TRUE(other.conn().WriteFrame(f).ok());
  auto reply = other.conn().ReadFrame(5000);
  EXPECT_EQ(raw.ReplyStatus(reply).code(), StatusCode::kUnauthenticated);

  // Malformed frames: unknown version, flags, kind, a short body; each answered, the
  // connection stays usable.
  for (Bytes bad : {Bytes{0, 0, 0, 12, 'S', 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                    Bytes{0, 0, 0, 12, 'S', 1, 1, 7, 0, 0, 0, 0, 0, 0, 0, 1},
                    Bytes{0, 0, 0, 12, 'S', 1, 0x55, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                    Bytes{0, 0, 0, 13, 'S', 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xAA}}) {
    ASSERT_EQ(::write(raw.conn().fd(), bad.data(), bad.size()), static_cast<ssize_t>(bad.size()));
    auto answer = raw.conn().ReadFrame(5000);
    ASSERT_TRUE(answer.ok()) << answer.status().ToString();
    EXPECT_FALSE(ipc::OpenReply(answer->body).ok());
  }
  EXPECT_TRUE(raw.ReplyStatus(raw.Send(1, 6, creds->auth_key->view(), {})).ok());
  // An oversized length gets an error and the connection closes; the signer serves on.
  const uint8_t huge[4] = {0x7f, 0, 0, 0};
  ASSERT_EQ(::write(raw.conn().fd(), huge, 4), 4);
  auto answer = raw.conn().ReadFrame(5000);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(ipc::OpenReply(answer->body).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(raw.conn().ReadFrame(5000).ok());
  EXPECT_TRUE(client().Health().ok());
}

TEST_F(CustodyTest, TheSignerIsHardened) {
  StartStack();
  const pid_t pid = stack_->launcher().signer_pid();
  auto st = ReadProcessSecurityStatus(pid);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->no_new_privs, 1);
  EXPECT_EQ(st->seccomp, 2);
  if (::geteuid() == 0) {
    EXPECT_EQ(st->uid, 65534u);
    EXPECT_EQ(st->gid, 65534u);
    // Its own network namespace.
    std::error_code ec;
    auto mine = std::filesystem::read_symlink("/proc/self/ns/net", ec);
    auto its = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/ns/net", ec);
    EXPECT_NE(mine, its);
    // Another process of the same uid cannot read the signer's memory.
    const pid_t reader = ::fork();
    if (reader == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
      const std::string mem = "/proc/" + std::to_string(pid) + "/mem";
      const int fd = ::open(mem.c_str(), O_RDONLY);
      if (fd < 0) ::_exit(0);
      char b;
      ::_exit(::pread(fd, &b, 1, 0x400000) == 1 ? 1 : 0);
    }
    int status = 0;
    ::waitpid(reader, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  const std::string limits = ReadAll("/proc/" + std::to_string(pid) + "/limits");
  EXPECT_NE(limits.find("Max core file size        0"), std::string::npos) << limits;
  // Only its socket, the bootstrap channel and stdio are open.
  int fds = 0;
  for (auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    (void)e;
    ++fds;
  }
  EXPECT_LE(fds, 5 + 64);  // stdio, listen, bootstrap, plus at most one per connection
  auto health = client().Health();
  ASSERT_TRUE(health.ok());
  EXPECT_TRUE((*health)["hardening"]["seccomp"].get<bool>());
}

TEST_F(CustodyTest, ACrashedSignerIsRestartedAndCallsFailCleanlyMeanwhile) {
  StartStack();
  auto created = client().CreateKey(Ctx("w-1"));
  ASSERT_TRUE(created.ok());
  const pid_t first = stack_->launcher().signer_pid();
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  // Until the launcher notices and restarts, calls fail with UNAVAILABLE, never hang.
  bool saw_unavailable = false;
  for (int i = 0; i < 200 && stack_->launcher().signer_pid() == first; ++i) {
    auto r = client().SignDigest(created->blob, created->context, "", crypto::Hash256{});
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
      EXPECT_NE(r.status().message().find("signer unavailable"), std::string::npos);
      saw_unavailable = true;
    }
    ::usleep(5000);
  }
  EXPECT_TRUE(saw_unavailable);
  ASSERT_TRUE(stack_->launcher().WaitUntilUp(10000));
  EXPECT_NE(stack_->launcher().signer_pid(), first);
  EXPECT_EQ(stack_->launcher().signer_starts(), 2);
  // The new signer has a new ephemeral key and attestation; the blob still works.
  auto r = client().SignDigest(created->blob, created->context, "", crypto::Hash256{});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

TEST_F(CustodyTest, ACrashedKmsIsRestarted) {
  StartStack();
  auto created = client().CreateKey(Ctx("w-1"));
  ASSERT_TRUE(created.ok());
  const pid_t first = stack_->launcher().kms_pid();
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  // The signer's cached key keeps signing while the kms is down.
  EXPECT_TRUE(client().SignDigest(created->blob, created->context, "", crypto::Hash256{}).ok());
  for (int i = 0; i < 500 && (stack_->launcher().kms_pid() == first || stack_->launcher().kms_pid() == 0); ++i)
    ::usleep(10000);
  EXPECT_NE(stack_->launcher().kms_pid(), first);
  StatusOr<CreatedKey> again = UnavailableError("not tried");
  for (int i = 0; i < 100 && !again.ok(); ++i) {
    again = client().CreateKey(Ctx("w-2"));
    if (!again.ok()) ::usleep(50000);
  }
  EXPECT_TRUE(again.ok()) << again.status().ToString();
  // The audit chain survived the crash.
  EXPECT_TRUE(kms::VerifyKmsAuditFile(stack_->kms_audit_log()).ok());
}

TEST_F(CustodyTest, MasterKeyRotationRewrapsAndRetiresTheOldKey) {
  StartStack();
  std::vector<CreatedKey> keys;
  for (int i = 0; i < 3; ++i) {
    auto k = client().CreateKey(Ctx("rot-" + std::to_string(i)));
    ASSERT_TRUE(k.ok());
    keys.push_back(std::move(*k));
  }
  kms::KmsClient admin(stack_->kms_socket());
  auto begun = admin.RotateBegin();
  ASSERT_TRUE(begun.ok()) << begun.status().ToString();
  EXPECT_EQ((*begun)["activeMasterKeyId"], "mk-2");
  std::vector<Bytes> rewrapped;
  for (auto& k : keys) {
    auto blob = DecodeKeyBlob(k.blob);
    ASSERT_TRUE(blob.ok());
    auto w = admin.ReEncrypt(EncodeKeyContext(blob->context), blob->wrapped_dek);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_NE(*w, blob->wrapped_dek);
    blob->wrapped_dek = *w;
    rewrapped.push_back(EncodeKeyBlob(*blob));
  }
  // During the rotation both old and new blobs work (fresh signer: no cached keys).
  ASSERT_EQ(::kill(stack_->launcher().signer_pid(), SIGKILL), 0);
  ::usleep(100000);
  ASSERT_TRUE(stack_->launcher().WaitUntilUp(10000));
  auto sign = [&](ByteSpan blob, const KeyContext& ctx) {
    StatusOr<SignatureResult> r = UnavailableError("");
    for (int i = 0; i < 50; ++i) {
      r = client().SignDigest(blob, ctx, "", crypto::Hash256{});
      if (r.ok() || r.status().code() != StatusCode::kUnavailable) break;
      ::usleep(50000);
    }
    return r;
  };
  EXPECT_TRUE(sign(keys[0].blob, keys[0].context).ok());
  EXPECT_TRUE(sign(rewrapped[1], keys[1].context).ok());
  auto finished = admin.RotateFinish();
  ASSERT_TRUE(finished.ok()) << finished.status().ToString();
  EXPECT_EQ((*finished)["masterKeyIds"].size(), 1u);
  ASSERT_EQ(::kill(stack_->launcher().signer_pid(), SIGKILL), 0);
  ::usleep(100000);
  ASSERT_TRUE(stack_->launcher().WaitUntilUp(10000));
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_TRUE(sign(rewrapped[i], keys[i].context).ok()) << i;
  auto old = sign(keys[2].blob, keys[2].context);
  EXPECT_EQ(old.status().code(), StatusCode::kNotFound) << old.status().ToString();
  // Only admins rotate: a process with another uid is refused.
  if (::geteuid() == 0) {
    const pid_t child = ::fork();
    if (child == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
      kms::KmsClient intruder(stack_->kms_socket());
      auto r = intruder.RotateBegin();
      ::_exit(r.status().code() == StatusCode::kPermissionDenied ? 0 : 1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
}

TEST_F(CustodyTest, HsmBackendThroughSoftHsm) {
  if (::access("/usr/lib/softhsm/libsofthsm2.so", F_OK) != 0) GTEST_SKIP() << "softhsm2 not installed";
  CustodyStackOptions o;
  o.backend = "pkcs11";
  StartStack(std::move(o));
  auto created = client().CreateKey(Ctx("hsm-1"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto tx = client().SignTransaction(created->blob, created->context, "", kTx1559);
  ASSERT_TRUE(tx.ok());
  EXPECT_EQ(tx->from, eth::Address(created->context.address));
  // The kms restarts against the same token and still unwraps the data key.
  ASSERT_EQ(::kill(stack_->launcher().kms_pid(), SIGKILL), 0);
  ASSERT_EQ(::kill(stack_->launcher().signer_pid(), SIGKILL), 0);
  ::usleep(300000);
  ASSERT_TRUE(stack_->launcher().WaitUntilUp(10000));
  StatusOr<SignatureResult> r = UnavailableError("");
  for (int i = 0; i < 100 && !r.ok(); ++i) {
    r = client().SignDigest(created->blob, created->context, "", crypto::Hash256{});
    if (!r.ok()) ::usleep(50000);
  }
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

TEST_F(CustodyTest, NoPrivateKeyByteReachesAnyOutput) {
  Bytes seed(32);
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(0xA0 + i);
  CustodyStackOptions o;
  o.test_seed_hex = HexEncode(seed);
  StartStack(std::move(o));
  auto created = client().CreateKey(Ctx("leak-1"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  SecureBuffer expected = TestSeedKey(seed, 0);
  // The test knows the key: the address proves the signer really used it.
  auto expected_address = eth::Address::FromPrivateKey(expected.view());
  ASSERT_TRUE(expected_address.ok());
  EXPECT_EQ(eth::Address(created->context.address), *expected_address);
  ASSERT_TRUE(client().SignTransaction(created->blob, created->context, "", kTx1559).ok());
  ASSERT_TRUE(client().Health().ok());

  const std::string db_path = stack_->dir() + "/store.db";
  {
    auto db = store::OpenDb(db_path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Migrate().ok());
    store::CustodyKeyRepo repo(**db);
    ASSERT_TRUE(repo.Insert({.key_id = "k-leak", .wallet_id = "leak-1", .blob = created->blob, .master_key_id = "mk-1"}, 1).ok());
    ASSERT_TRUE((*db)->Flush().ok());
  }
  const std::string raw(reinterpret_cast<const char*>(expected.data()), expected.size());
  const std::string hex = HexEncode(expected.view());
  std::string upper = hex;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::vector<std::pair<std::string, std::string>> outputs = {
      {"blob", std::string(AsString(created->blob))},
      {"public data", created->public_data.dump()},
      {"kms audit log", ReadAll(stack_->kms_audit_log())},
      {"kms log", ReadAll(stack_->dir() + "/kms.log")},
      {"signer log", ReadAll(stack_->dir() + "/signer.log")},
      {"store file", ReadAll(db_path) + ReadAll(db_path + "-wal")},
  };
  for (const auto& [name, text] : outputs) {
    EXPECT_EQ(text.find(raw), std::string::npos) << name;
    EXPECT_EQ(text.find(hex), std::string::npos) << name;
    EXPECT_EQ(text.find(upper), std::string::npos) << name;
  }
  // The production signer refuses the test hook outright.
  stack_.reset();
  CustodyStackOptions prod;
  prod.test_seed_hex = HexEncode(seed);
  prod.signer_binary = std::string(std::getenv("VP_BIN_DIR") ? std::getenv("VP_BIN_DIR") : "build/bin") + "/vaultproof-signer";
  CustodyStack refused(std::move(prod));
  EXPECT_FALSE(refused.Start().ok());
}

TEST_F(CustodyTest, KmsRotateCommandRewrapsEveryStoredBlob) {
  StartStack();
  const std::string db_path = stack_->dir() + "/store.db";
  auto db = store::OpenDb(db_path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE((*db)->Migrate().ok());
  store::CustodyKeyRepo repo(**db);
  std::vector<CreatedKey> keys;
  for (int i = 0; i < 4; ++i) {
    auto k = client().CreateKey(Ctx("cli-" + std::to_string(i)));
    ASSERT_TRUE(k.ok());
    ASSERT_TRUE(repo.Insert({.key_id = "k-" + std::to_string(i), .wallet_id = k->context.wallet_id, .blob = k->blob,
                             .master_key_id = "mk-1"}, 1).ok());
    keys.push_back(std::move(*k));
  }
  int code = -1;
  const std::string cmd = stack_->bin_dir() + "/vaultproof kms rotate --db " + db_path + " --socket " +
                          stack_->kms_socket() + " 2>&1";
  std::string out = RunCapture(cmd, &code);
  ASSERT_EQ(code, 0) << out;
  auto result = json::parse(out, nullptr, false);
  ASSERT_FALSE(result.is_discarded()) << out;
  EXPECT_EQ(result["activeMasterKeyId"], "mk-2");
  EXPECT_EQ(result["rewrapped"], 4);
  EXPECT_EQ(*repo.CountNotUnder("mk-2"), 0);
  // Each run is a rotation of its own: the next one moves everything to mk-3.
  out = RunCapture(cmd, &code);
  ASSERT_EQ(code, 0) << out;
  result = json::parse(out, nullptr, false);
  EXPECT_EQ(result["activeMasterKeyId"], "mk-3");
  EXPECT_EQ(result["rewrapped"], 4);
  // A fresh signer (no cached keys) signs with every stored blob; the old blobs are dead.
  ASSERT_EQ(::kill(stack_->launcher().signer_pid(), SIGKILL), 0);
  ::usleep(100000);
  ASSERT_TRUE(stack_->launcher().WaitUntilUp(10000));
  for (size_t i = 0; i < keys.size(); ++i) {
    auto row = repo.Get("k-" + std::to_string(i));
    ASSERT_TRUE(row.ok() && row->has_value());
    StatusOr<SignatureResult> r = UnavailableError("");
    for (int t = 0; t < 50 && !r.ok() && r.status().code() == StatusCode::kUnavailable; ++t) {
      r = client().SignDigest((*row)->blob, keys[i].context, "", crypto::Hash256{});
      if (!r.ok()) ::usleep(50000);
    }
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(client().SignDigest(keys[i].blob, keys[i].context, "", crypto::Hash256{}).status().code(),
              StatusCode::kNotFound);
  }
  // The audit log command agrees that the chain is intact.
  out = RunCapture(stack_->bin_dir() + "/vaultproof kms verify-audit --file " + stack_->kms_audit_log(), &code);
  EXPECT_EQ(code, 0) << out;
  // A tampered audit log is caught.
  std::string text = ReadAll(stack_->kms_audit_log());
  const size_t at = text.find("\"op\":\"GenerateDataKey\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 22, "\"op\":\"GenerateDataKeX\"");
  std::ofstream(stack_->dir() + "/tampered.log") << text;
  out = RunCapture(stack_->bin_dir() + "/vaultproof kms verify-audit --file " + stack_->dir() + "/tampered.log 2>&1", &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("chain broken at seq"), std::string::npos) << out;
}

// An attacker who copied the launcher key can forge an attestation for the pinned
// measurement; decryptUids still refuses it unless it also runs as the signer's uid.
TEST_F(CustodyTest, AForgedAttestationFromAnotherUidIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run processes as other uids";
  StartStack();
  auto created = client().CreateKey(Ctx("w-forge"));
  ASSERT_TRUE(created.ok());
  auto blob = DecodeKeyBlob(created->blob);
  ASSERT_TRUE(blob.ok());
  auto try_as = [&](uid_t uid) {
    const pid_t child = ::fork();
    if (child == 0) {
      if (::setgid(uid) != 0 || ::setuid(uid) != 0) ::_exit(3);
      auto mine = crypto::X25519Generate();
      if (!mine.ok()) ::_exit(4);
      auto doc = kms::SignAttestation(stack_->launcher_seed(), stack_->measurement(), mine->public_key,
                                      std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch()).count());
      if (!doc.ok()) ::_exit(5);
      kms::KmsClient kms(stack_->kms_socket());
      auto sealed = kms.Decrypt(EncodeKeyContext(blob->context), blob->wrapped_dek, kms::EncodeAttestation(*doc));
      if (sealed.ok()) ::_exit(0);
      ::_exit(sealed.status().code() == StatusCode::kPermissionDenied ? 10 : 11);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(try_as(4242), 10);
  // The residual risk, shown: with the launcher key AND the signer's uid it works.
  EXPECT_EQ(try_as(65534), 0);
  EXPECT_NE(ReadAll(stack_->kms_audit_log()).find("may not Decrypt"), std::string::npos);
}

TEST_F(CustodyTest, Ed25519ServiceKeysSignAndRefuseEthereumPayloads) {
  StartStack();
  auto created = client().CreateKey(Ctx("system:log-key", KeyKind::kEd25519));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->public_data["keyType"], "ed25519");
  auto sig = client().SignEd25519(created->blob, created->context, AsBytes("tree head"));
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_TRUE(crypto::Ed25519Verify(sig->public_key, AsBytes("tree head"), sig->signature));
  EXPECT_FALSE(crypto::Ed25519Verify(sig->public_key, AsBytes("tree heaD"), sig->signature));
  EXPECT_EQ(client().SignDigest(created->blob, created->context, "", crypto::Hash256{}).status().code(),
            StatusCode::kInvalidArgument);
  auto secp = client().CreateKey(Ctx("w-secp"));
  ASSERT_TRUE(secp.ok());
  EXPECT_EQ(client().SignEd25519(secp->blob, secp->context, AsBytes("x")).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vp::signer
