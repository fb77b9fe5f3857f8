// The PKCS#11 master-key backend against a real SoftHSM2 token, initialised in a temporary
// folder per test: the key object is non-extractable (checked on the token itself, not
// through the backend), wrap/unwrap, wrong context, rotation, wrong PIN, and a planted
// extractable key that must be refused.
#include "vp/kms/pkcs11_backend.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <p11-kit/pkcs11.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

extern char** environ;

namespace vp::kms {
namespace {

namespace fs = std::filesystem;

constexpr const char* kModule = "/usr/lib/softhsm/libsofthsm2.so";
constexpr const char* kTokenLabel = "T";
constexpr std::string_view kPin = "1234";

SecureBuffer Pin(std::string_view s) { return SecureBuffer::CopyOf(AsBytes(s)); }

int RunProgram(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Its chatter ("The token has been initialized ...") would only clutter the test log.
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Direct access to the token, bypassing the backend, for checks of what it really holds.
// Used only while no backend is open (the module's login state is per process).
class RawToken {
 public:
  RawToken() {
    void* h = ::dlopen(kModule, RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) return;
    auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(h, "C_GetFunctionList"));
    if (get == nullptr || get(&f_) != CKR_OK) return;
    if (f_->C_Initialize(nullptr) != CKR_OK) return;
    CK_SLOT_ID slots[8];
    CK_ULONG n = 8;
    if (f_->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK) return;
    for (CK_ULONG i = 0; i < n; ++i) {
      CK_TOKEN_INFO info{};
      if (f_->C_GetTokenInfo(slots[i], &info) != CKR_OK) continue;
      if (info.label[0] == 'T' && info.label[1] == ' ') {
        if (f_->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session_) != CKR_OK) {
          return;
        }
        Bytes pin(kPin.begin(), kPin.end());
        ok_ = f_->C_Login(session_, CKU_USER, pin.data(), pin.size()) == CKR_OK;
        return;
      }
    }
  }
  ~RawToken() {
    if (f_ == nullptr) return;
    if (session_ != CK_INVALID_HANDLE) {
      f_->C_Logout(session_);
      f_->C_CloseSession(session_);
    }
    f_->C_Finalize(nullptr);
  }
  bool ok() const { return ok_; }
  CK_FUNCTION_LIST_PTR f() const { return f_; }
  CK_SESSION_HANDLE session() const { return session_; }

  std::vector<CK_OBJECT_HANDLE> FindByLabel(const std::string& label) {
    std::string l = label;
    CK_ATTRIBUTE tmpl[] = {{CKA_LABEL, l.data(), l.size()}};
    std::vector<CK_OBJECT_HANDLE> out;
    if (f_->C_FindObjectsInit(session_, tmpl, 1) != CKR_OK) return out;
    CK_OBJECT_HANDLE batch[16];
    CK_ULONG got = 0;
    while (f_->C_FindObjects(session_, batch, 16, &got) == CKR_OK && got > 0) out.insert(out.end(), batch, batch + got);
    f_->C_FindObjectsFinal(session_);
    return out;
  }

  CK_RV GetBool(CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, bool& value) {
    CK_BBOOL v = CK_FALSE;
    CK_ATTRIBUTE a{type, &v, sizeof v};
    const CK_RV rv = f_->C_GetAttributeValue(session_, h, &a, 1);
    value = v == CK_TRUE;
    return rv;
  }

 private:
  CK_FUNCTION_LIST_PTR f_ = nullptr;
  CK_SESSION_HANDLE session_ = CK_INVALID_HANDLE;
  bool ok_ = false;
};

class Pkcs11Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kModule)) GTEST_SKIP() << kModule << " not installed (apt package softhsm2)";
    std::string tmpl = (fs::temp_directory_path() / "vp-pkcs11-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    fs::create_directory(dir_ / "tokens");
    {
      std::ofstream conf(dir_ / "softhsm2.conf");
      conf << "directories.tokendir = " << (dir_ / "tokens").string() << "\n"
           << "objectstore.backend = file\n"
           << "log.level = ERROR\n";
    }
    ::setenv("SOFTHSM2_CONF", (dir_ / "softhsm2.conf").c_str(), 1);
    ASSERT_EQ(RunProgram({"softhsm2-util", "--init-token", "--free", "--label", kTokenLabel, "--pin",
                          std::string(kPin), "--so-pin", "5678"}),
              0);
    config_.module_path = kModule;
    config_.token_label = kTokenLabel;
  }
  void TearDown() override {
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
  std::unique_ptr<MasterKeyBackend> Open() {
    auto b = OpenPkcs11Backend(config_, Pin(kPin));
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? std::move(b).value() : nullptr;
  }

  fs::path dir_;
  Pkcs11Config config_;
};

TEST_F(Pkcs11Test, GeneratesANonExtractableMasterKeyOnFirstUse) {
  {
    auto b = Open();
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->Kind(), "pkcs11");
    EXPECT_EQ(b->ActiveKeyId(), "mk-1");
    EXPECT_EQ(b->KeyIds(), std::vector<std::string>{"mk-1"});
  }
  RawToken token;
  ASSERT_TRUE(token.ok());
  auto objects = token.FindByLabel("vaultproof-master-1");
  ASSERT_EQ(objects.size(), 1u);
  const CK_OBJECT_HANDLE key = objects[0];
  // The key bytes cannot be read out of the token...
  uint8_t value[64];
  CK_ATTRIBUTE a{CKA_VALUE, value, sizeof value};
  EXPECT_EQ(token.f()->C_GetAttributeValue(token.session(), key, &a, 1), CKR_ATTRIBUTE_SENSITIVE);
  // ...nor wrapped out of it, and it lives on the token, not in a session.
  bool extractable = true, sensitive = false, on_token = false, private_object = false;
  EXPECT_EQ(token.GetBool(key, CKA_EXTRACTABLE, extractable), CKR_OK);
  EXPECT_EQ(token.GetBool(key, CKA_SENSITIVE, sensitive), CKR_OK);
  EXPECT_EQ(token.GetBool(key, CKA_TOKEN, on_token), CKR_OK);
  EXPECT_EQ(token.GetBool(key, CKA_PRIVATE, private_object), CKR_OK);
  EXPECT_FALSE(extractable);
  EXPECT_TRUE(sensitive);
  EXPECT_TRUE(on_token);
  EXPECT_TRUE(private_object);
}

TEST_F(Pkcs11Test, WrapsAndUnwrapsAcrossReopening) {
  WrappedKey w;
  const Bytes dek(32, 0x5a);
  {
    auto b = Open();
    ASSERT_NE(b, nullptr);
    auto wrapped = b->Wrap(dek, AsBytes("wallet-1|0xabc|v1"));
    ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
    w = *wrapped;
    EXPECT_EQ(w.master_key_id, "mk-1");
    EXPECT_EQ(w.nonce.size(), 12u);
    EXPECT_EQ(w.ciphertext.size(), 48u);
    auto plain = b->Unwrap(w, AsBytes("wallet-1|0xabc|v1"));
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    EXPECT_EQ(HexEncode(plain->view()), HexEncode(dek));
  }
  auto b = Open();  // same token object, found again by label
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->KeyIds(), std::vector<std::string>{"mk-1"});
  auto decoded = DecodeWrappedKey(EncodeWrappedKey(w));
  ASSERT_TRUE(decoded.ok());
  auto plain = b->Unwrap(*decoded, AsBytes("wallet-1|0xabc|v1"));
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(HexEncode(plain->view()), HexEncode(dek));
}

TEST_F(Pkcs11Test, RefusesWrongContextAndTampering) {
  auto b = Open();
  ASSERT_NE(b, nullptr);
  auto w = *b->Wrap(Bytes(32, 1), AsBytes("ctx"));
  EXPECT_EQ(b->Unwrap(w, AsBytes("ctX")).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(b->Unwrap(w, {}).status().code(), StatusCode::kUnauthenticated);
  WrappedKey bad = w;
  bad.ciphertext[0] ^= 1;
  EXPECT_EQ(b->Unwrap(bad, AsBytes("ctx")).status().code(), StatusCode::kUnauthenticated);
  bad = w;
  bad.ciphertext.back() ^= 1;
  EXPECT_EQ(b->Unwrap(bad, AsBytes("ctx")).status().code(), StatusCode::kUnauthenticated);
  bad = w;
  bad.nonce[3] ^= 1;
  EXPECT_EQ(b->Unwrap(bad, AsBytes("ctx")).status().code(), StatusCode::kUnauthenticated);
  bad = w;
  bad.master_key_id = "mk-7";
  EXPECT_EQ(b->Unwrap(bad, AsBytes("ctx")).status().code(), StatusCode::kNotFound);
  bad.master_key_id = "other-1";
  EXPECT_EQ(b->Unwrap(bad, AsBytes("ctx")).status().code(), StatusCode::kNotFound);
  bad = w;
  bad.nonce.resize(16);
  EXPECT_EQ(b->Unwrap(bad, AsBytes("ctx")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b->Wrap({}, {}).status().code(), StatusCode::kInvalidArgument);
  // The session is still usable after every refusal.
  EXPECT_TRUE(b->Unwrap(w, AsBytes("ctx")).ok());
}

TEST_F(Pkcs11Test, RotationKeepsOldKeysReadableThenRetiresThem) {
  WrappedKey old, fresh;
  {
    auto b = Open();
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->FinishRotation().code(), StatusCode::kFailedPrecondition);
    old = *b->Wrap(Bytes(32, 1), AsBytes("a"));
    ASSERT_TRUE(b->BeginRotation().ok());
    EXPECT_EQ(b->ActiveKeyId(), "mk-2");
    EXPECT_EQ(b->KeyIds(), (std::vector<std::string>{"mk-2", "mk-1"}));
    EXPECT_EQ(b->BeginRotation().code(), StatusCode::kFailedPrecondition);
    fresh = *b->Wrap(Bytes(32, 2), AsBytes("a"));
    EXPECT_EQ(fresh.master_key_id, "mk-2");
    EXPECT_TRUE(b->Unwrap(old, AsBytes("a")).ok());
  }
  {
    auto b = Open();  // the rotation state lives on the token
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->KeyIds(), (std::vector<std::string>{"mk-2", "mk-1"}));
    EXPECT_TRUE(b->Unwrap(old, AsBytes("a")).ok());
    ASSERT_TRUE(b->FinishRotation().ok());
    EXPECT_EQ(b->KeyIds(), std::vector<std::string>{"mk-2"});
    EXPECT_EQ(b->Unwrap(old, AsBytes("a")).status().code(), StatusCode::kNotFound);
    EXPECT_TRUE(b->Unwrap(fresh, AsBytes("a")).ok());
    EXPECT_EQ(b->FinishRotation().code(), StatusCode::kFailedPrecondition);
  }
  {
    RawToken token;
    ASSERT_TRUE(token.ok());
    EXPECT_TRUE(token.FindByLabel("vaultproof-master-1").empty());  // destroyed on the token
    EXPECT_EQ(token.FindByLabel("vaultproof-master-2").size(), 1u);
  }
  auto b = Open();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->ActiveKeyId(), "mk-2");
  ASSERT_TRUE(b->BeginRotation().ok());
  EXPECT_EQ(b->ActiveKeyId(), "mk-3");
}

TEST_F(Pkcs11Test, WrongPinIsUnauthenticated) {
  auto r = OpenPkcs11Backend(config_, Pin("4321"));
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << r.status().ToString();
  EXPECT_EQ(OpenPkcs11Backend(config_, Pin("")).status().code(), StatusCode::kInvalidArgument);
  // The right PIN still works afterwards.
  EXPECT_NE(Open(), nullptr);
}

TEST_F(Pkcs11Test, ASecondBackendInTheSameProcessCannotSkipThePinCheck) {
  auto first = Open();
  ASSERT_NE(first, nullptr);
  auto second = OpenPkcs11Backend(config_, Pin("not the pin"));
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition) << second.status().ToString();
  EXPECT_TRUE(first->Wrap(Bytes(32, 1), {}).ok());  // the first is unaffected
}

TEST_F(Pkcs11Test, RefusesUnknownTokenAndModule) {
  Pkcs11Config c = config_;
  c.token_label = "no such token";
  EXPECT_EQ(OpenPkcs11Backend(c, Pin(kPin)).status().code(), StatusCode::kNotFound);
  c = config_;
  c.module_path = (dir_ / "missing.so").string();
  EXPECT_EQ(OpenPkcs11Backend(c, Pin(kPin)).status().code(), StatusCode::kFailedPrecondition);
  c = config_;
  c.key_label_prefix = "has space";
  EXPECT_EQ(OpenPkcs11Backend(c, Pin(kPin)).status().code(), StatusCode::kInvalidArgument);
  // After the failures the module is usable again.
  EXPECT_NE(Open(), nullptr);
}

TEST_F(Pkcs11Test, RefusesAnExtractableKeyPlantedUnderItsLabel) {
  {
    RawToken token;
    ASSERT_TRUE(token.ok());
    std::string label = "vaultproof-master-1";
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_ULONG len = 32;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof cls},       {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_VALUE_LEN, &len, sizeof len},   {CKA_TOKEN, &yes, sizeof yes},
        {CKA_SENSITIVE, &no, sizeof no},     {CKA_EXTRACTABLE, &yes, sizeof yes},
        {CKA_ENCRYPT, &yes, sizeof yes},     {CKA_DECRYPT, &yes, sizeof yes},
        {CKA_LABEL, label.data(), label.size()},
    };
    CK_MECHANISM mech{CKM_AES_KEY_GEN, nullptr, 0};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    ASSERT_EQ(token.f()->C_GenerateKey(token.session(), &mech, tmpl, sizeof tmpl / sizeof tmpl[0], &h), CKR_OK);
  }
  auto r = OpenPkcs11Backend(config_, Pin(kPin));
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
}

}  // namespace
}  // namespace vp::kms
