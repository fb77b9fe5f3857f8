// The PKCS#11 master-key backend. Every token call goes through one session guarded by one
// mutex (PKCS#11 sessions are not safe for concurrent operations). The module is loaded once
// per process and initialised while at least one backend uses it.
#include "vp/kms/pkcs11_backend.h"

#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "vp/crypto/random.h"

namespace vp::kms {
namespace {

constexpr CK_ULONG kAesKeyBytes = 32;
constexpr uint64_t kMaxKeyNumber = 999'999'999;

std::string RvText(CK_RV rv) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKR 0x%lx", rv);
  return buf;
}

// Failures that say the token or session is gone rather than anything about the input.
bool IsTokenFailure(CK_RV rv) {
  switch (rv) {
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_HOST_MEMORY:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
      return true;
    default:
      return false;
  }
}

Status TokenError(std::string_view what, CK_RV rv) {
  return UnavailableError("pkcs11: " + std::string(what) + " failed (" + RvText(rv) + ")");
}

// --- module registry --------------------------------------------------------------------

struct LoadedModule {
  CK_FUNCTION_LIST_PTR functions = nullptr;
  int users = 0;
  bool we_initialized = false;
};

std::mutex& ModulesMutex() {
  static std::mutex m;
  return m;
}
// Keyed by dlopen handle, so two spellings of one library path share one entry. Never
// destroyed and never dlclose'd: modules often register atexit handlers, and unloading
// them while those are pending crashes at exit.
std::map<void*, LoadedModule>& Modules() {
  static auto* m = new std::map<void*, LoadedModule>;
  return *m;
}

StatusOr<std::pair<void*, CK_FUNCTION_LIST_PTR>> AcquireModule(const std::string& path) {
  std::lock_guard lock(ModulesMutex());
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = ::dlerror();
    return FailedPreconditionError("pkcs11: cannot load module " + path + ": " + (err != nullptr ? err : "?"));
  }
  LoadedModule& m = Modules()[handle];
  if (m.functions == nullptr) {
    void* sym = ::dlsym(handle, "C_GetFunctionList");
    if (sym == nullptr) {
      Modules().erase(handle);
      return FailedPreconditionError("pkcs11: " + path + " is not a PKCS#11 module (no C_GetFunctionList)");
    }
    auto get_function_list = reinterpret_cast<CK_C_GetFunctionList>(sym);
    CK_FUNCTION_LIST_PTR functions = nullptr;
    const CK_RV rv = get_function_list(&functions);
    if (rv != CKR_OK || functions == nullptr) {
      Modules().erase(handle);
      return FailedPreconditionError("pkcs11: C_GetFunctionList failed (" + RvText(rv) + ")");
    }
    m.functions = functions;
  }
  if (m.users == 0) {
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    const CK_RV rv = m.functions->C_Initialize(&args);
    if (rv == CKR_OK) {
      m.we_initialized = true;
    } else if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      m.we_initialized = false;  // someone else in this process owns the initialisation
    } else {
      return FailedPreconditionError("pkcs11: C_Initialize failed (" + RvText(rv) + ")");
    }
  }
  ++m.users;
  return std::make_pair(handle, m.functions);
}

void ReleaseModule(void* handle) {
  std::lock_guard lock(ModulesMutex());
  auto it = Modules().find(handle);
  if (it == Modules().end()) return;
  LoadedModule& m = it->second;
  if (--m.users == 0 && m.we_initialized) {
    m.functions->C_Finalize(nullptr);
    m.we_initialized = false;
  }
}

// --- helpers ----------------------------------------------------------------------------

std::string TrimLabel(const unsigned char* label, size_t n) {
  std::string s(reinterpret_cast<const char*>(label), n);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

// "<prefix>-<n>" with n decimal, no leading zero, 1..kMaxKeyNumber; 0 if it is not ours.
uint64_t LabelNumber(std::string_view label, std::string_view prefix) {
  if (label.size() <= prefix.size() + 1 || label.substr(0, prefix.size()) != prefix || label[prefix.size()] != '-') {
    return 0;
  }
  const std::string_view digits = label.substr(prefix.size() + 1);
  if (digits.size() > 9 || digits[0] == '0') return 0;
  uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

uint64_t IdNumber(std::string_view id) { return LabelNumber(id, "mk"); }

std::string KeyId(uint64_t n) { return "mk-" + std::to_string(n); }

bool ValidLabelText(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

class Pkcs11Backend final : public MasterKeyBackend {
 public:
  Pkcs11Backend(void* module, CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, std::string prefix)
      : module_(module), f_(f), session_(session), prefix_(std::move(prefix)) {}

  ~Pkcs11Backend() override {
    f_->C_Logout(session_);
    f_->C_CloseSession(session_);
    ReleaseModule(module_);
  }

  Pkcs11Backend(const Pkcs11Backend&) = delete;
  Pkcs11Backend& operator=(const Pkcs11Backend&) = delete;

  // Finds our key objects; generates "<prefix>-1" if there are none.
  Status Load() {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(FindKeys());
    if (keys_.empty()) RETURN_IF_ERROR(GenerateKey(1));
    return OkStatus();
  }

  std::string Kind() const override { return "pkcs11"; }

  std::string ActiveKeyId() const override {
    std::lock_guard lock(mu_);
    return KeyId(keys_.rbegin()->first);
  }

  std::vector<std::string> KeyIds() const override {
    std::lock_guard lock(mu_);
    std::vector<std::string> ids = {KeyId(keys_.rbegin()->first)};
    for (auto it = keys_.begin(); it != keys_.end(); ++it) {
      if (it->first != keys_.rbegin()->first) ids.push_back(KeyId(it->first));
    }
    return ids;
  }

  StatusOr<WrappedKey> Wrap(ByteSpan plaintext, ByteSpan aad) override {
    if (plaintext.empty() || plaintext.size() > kWrapMaxPlaintext) {
      return InvalidArgumentError("wrap: plaintext must be 1.." + std::to_string(kWrapMaxPlaintext) + " bytes");
    }
    WrappedKey w;
    w.nonce.resize(kWrapNonceSize);
    RETURN_IF_ERROR(crypto::RandomBytes(std::span<uint8_t>(w.nonce)));
    std::lock_guard lock(mu_);
    const auto& [n, handle] = *keys_.rbegin();
    w.master_key_id = KeyId(n);
    Bytes full_aad = WrapAssociatedData(w.master_key_id, aad);
    CK_GCM_PARAMS gcm = GcmParams(w.nonce, full_aad);
    CK_MECHANISM mech{CKM_AES_GCM, &gcm, sizeof gcm};
    CK_RV rv = f_->C_EncryptInit(session_, &mech, handle);
    if (rv != CKR_OK) return TokenError("C_EncryptInit", rv);
    // Room for the tag and more, so the call never fails with CKR_BUFFER_TOO_SMALL (which
    // would leave the operation active and block the session).
    Bytes out(plaintext.size() + 2 * kWrapTagSize);
    CK_ULONG out_len = static_cast<CK_ULONG>(out.size());
    rv = f_->C_Encrypt(session_, const_cast<CK_BYTE_PTR>(plaintext.data()), static_cast<CK_ULONG>(plaintext.size()),
                       out.data(), &out_len);
    if (rv != CKR_OK) return TokenError("C_Encrypt", rv);
    if (out_len != plaintext.size() + kWrapTagSize) return InternalError("pkcs11: unexpected AES-GCM output length");
    out.resize(out_len);
    w.ciphertext = std::move(out);
    return w;
  }

  StatusOr<SecureBuffer> Unwrap(const WrappedKey& w, ByteSpan aad) override {
    if (!IsValidMasterKeyId(w.master_key_id) || w.nonce.size() != kWrapNonceSize ||
        w.ciphertext.size() < kWrapMinCiphertext || w.ciphertext.size() > kWrapMaxCiphertext) {
      return InvalidArgumentError("unwrap: malformed wrapped key");
    }
    const uint64_t n = IdNumber(w.master_key_id);
    std::lock_guard lock(mu_);
    auto it = keys_.find(n);
    if (n == 0 || it == keys_.end()) {
      return NotFoundError("unwrap: master key " + w.master_key_id + " is not in the ring");
    }
    Bytes nonce = w.nonce;  // CK_GCM_PARAMS takes non-const pointers
    Bytes full_aad = WrapAssociatedData(w.master_key_id, aad);
    CK_GCM_PARAMS gcm = GcmParams(nonce, full_aad);
    CK_MECHANISM mech{CKM_AES_GCM, &gcm, sizeof gcm};
    CK_RV rv = f_->C_DecryptInit(session_, &mech, it->second);
    if (rv != CKR_OK) return TokenError("C_DecryptInit", rv);
    SecureBuffer out(w.ciphertext.size());
    CK_ULONG out_len = static_cast<CK_ULONG>(out.size());
    rv = f_->C_Decrypt(session_, const_cast<CK_BYTE_PTR>(w.ciphertext.data()),
                       static_cast<CK_ULONG>(w.ciphertext.size()), out.data(), &out_len);
    if (rv != CKR_OK) {
      if (IsTokenFailure(rv)) return TokenError("C_Decrypt", rv);
      // Tokens report a tag mismatch variously (ENCRYPTED_DATA_INVALID, GENERAL_ERROR, ...).
      return UnauthenticatedError("unwrap: authentication failed (wrong context or tampered key)");
    }
    if (out_len != w.ciphertext.size() - kWrapTagSize) return InternalError("pkcs11: unexpected AES-GCM output length");
    return SecureBuffer::CopyOf(out.view().first(out_len));
  }

  Status BeginRotation() override {
    std::lock_guard lock(mu_);
    if (keys_.size() > 1) return FailedPreconditionError("rotation: a rotation is already in progress");
    const uint64_t next = keys_.rbegin()->first + 1;
    if (next > kMaxKeyNumber) return FailedPreconditionError("rotation: key numbers exhausted");
    return GenerateKey(next);
  }

  Status FinishRotation() override {
    std::lock_guard lock(mu_);
    if (keys_.size() < 2) return FailedPreconditionError("rotation: no rotation in progress");
    const uint64_t active = keys_.rbegin()->first;
    for (auto it = keys_.begin(); it != keys_.end();) {
      if (it->first == active) {
        ++it;
        continue;
      }
      const CK_RV rv = f_->C_DestroyObject(session_, it->second);
      if (rv != CKR_OK && rv != CKR_OBJECT_HANDLE_INVALID) return TokenError("C_DestroyObject", rv);
      it = keys_.erase(it);
    }
    return OkStatus();
  }

 private:
  static CK_GCM_PARAMS GcmParams(Bytes& nonce, Bytes& aad) {
    CK_GCM_PARAMS p{};
    p.pIv = nonce.data();
    p.ulIvLen = static_cast<CK_ULONG>(nonce.size());
    p.ulIvBits = static_cast<CK_ULONG>(8 * nonce.size());
    p.pAAD = aad.data();
    p.ulAADLen = static_cast<CK_ULONG>(aad.size());
    p.ulTagBits = 8 * kWrapTagSize;
    return p;
  }

  Status GetBool(CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, bool& out) {
    CK_BBOOL v = CK_FALSE;
    CK_ATTRIBUTE a{type, &v, sizeof v};
    const CK_RV rv = f_->C_GetAttributeValue(session_, h, &a, 1);
    if (rv != CKR_OK) return TokenError("C_GetAttributeValue", rv);
    out = v == CK_TRUE;
    return OkStatus();
  }

  StatusOr<std::string> GetLabel(CK_OBJECT_HANDLE h) {
    CK_ATTRIBUTE a{CKA_LABEL, nullptr, 0};
    CK_RV rv = f_->C_GetAttributeValue(session_, h, &a, 1);
    if (rv != CKR_OK) return TokenError("C_GetAttributeValue", rv);
    if (a.ulValueLen == static_cast<CK_ULONG>(-1) || a.ulValueLen > 256) return std::string();
    std::string label(a.ulValueLen, '\0');
    a.pValue = label.data();
    rv = f_->C_GetAttributeValue(session_, h, &a, 1);
    if (rv != CKR_OK) return TokenError("C_GetAttributeValue", rv);
    label.resize(a.ulValueLen);
    return label;
  }

  // Every AES secret-key token object labelled "<prefix>-<n>", checked to be safe to use.
  Status FindKeys() {
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_TOKEN, &yes, sizeof yes},
    };
    CK_RV rv = f_->C_FindObjectsInit(session_, tmpl, 3);
    if (rv != CKR_OK) return TokenError("C_FindObjectsInit", rv);
    std::vector<CK_OBJECT_HANDLE> handles;
    for (;;) {
      CK_OBJECT_HANDLE batch[32];
      CK_ULONG got = 0;
      rv = f_->C_FindObjects(session_, batch, 32, &got);
      if (rv != CKR_OK) {
        f_->C_FindObjectsFinal(session_);
        return TokenError("C_FindObjects", rv);
      }
      if (got == 0) break;
      handles.insert(handles.end(), batch, batch + got);
    }
    f_->C_FindObjectsFinal(session_);
    for (CK_OBJECT_HANDLE h : handles) {
      ASSIGN_OR_RETURN(std::string label, GetLabel(h));
      const uint64_t n = LabelNumber(label, prefix_);
      if (n == 0) continue;
      if (keys_.count(n) != 0) {
        return FailedPreconditionError("pkcs11: two key objects are labelled " + label);
      }
      bool sensitive = false, extractable = true;
      RETURN_IF_ERROR(GetBool(h, CKA_SENSITIVE, sensitive));
      RETURN_IF_ERROR(GetBool(h, CKA_EXTRACTABLE, extractable));
      CK_ULONG len = 0;
      CK_ATTRIBUTE a{CKA_VALUE_LEN, &len, sizeof len};
      rv = f_->C_GetAttributeValue(session_, h, &a, 1);
      if (rv != CKR_OK) return TokenError("C_GetAttributeValue", rv);
      if (!sensitive || extractable || len != kAesKeyBytes) {
        return FailedPreconditionError("pkcs11: key object " + label +
                                       " is not a sensitive, non-extractable AES-256 key; refusing to use it");
      }
      keys_[n] = h;
    }
    return OkStatus();
  }

  Status GenerateKey(uint64_t n) {
    std::string label = prefix_ + "-" + std::to_string(n);
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_ULONG len = kAesKeyBytes;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_VALUE_LEN, &len, sizeof len},
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_EXTRACTABLE, &no, sizeof no},
        {CKA_ENCRYPT, &yes, sizeof yes},
        {CKA_DECRYPT, &yes, sizeof yes},
        {CKA_WRAP, &no, sizeof no},
        {CKA_UNWRAP, &no, sizeof no},
        {CKA_LABEL, label.data(), static_cast<CK_ULONG>(label.size())},
        {CKA_ID, label.data(), static_cast<CK_ULONG>(label.size())},
    };
    CK_MECHANISM mech{CKM_AES_KEY_GEN, nullptr, 0};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    const CK_RV rv = f_->C_GenerateKey(session_, &mech, tmpl, sizeof tmpl / sizeof tmpl[0], &h);
    if (rv != CKR_OK) return TokenError("C_GenerateKey", rv);
    keys_[n] = h;
    return OkStatus();
  }

  void* const module_;
  const CK_FUNCTION_LIST_PTR f_;
  const CK_SESSION_HANDLE session_;
  const std::string prefix_;
  mutable std::mutex mu_;
  std::map<uint64_t, CK_OBJECT_HANDLE> keys_;  // GUARDED_BY(mu_): key number -> object; highest is active
};

StatusOr<CK_SLOT_ID> FindToken(CK_FUNCTION_LIST_PTR f, const std::string& label) {
  CK_ULONG count = 0;
  CK_RV rv = f->C_GetSlotList(CK_TRUE, nullptr, &count);
  if (rv != CKR_OK) return TokenError("C_GetSlotList", rv);
  std::vector<CK_SLOT_ID> slots(count);
  if (count > 0) {
    rv = f->C_GetSlotList(CK_TRUE, slots.data(), &count);
    if (rv != CKR_OK) return TokenError("C_GetSlotList", rv);
    slots.resize(count);
  }
  std::vector<CK_SLOT_ID> matches;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (f->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if (TrimLabel(info.label, sizeof info.label) == label) matches.push_back(slot);
  }
  if (matches.empty()) return NotFoundError("pkcs11: no token labelled \"" + label + "\"");
  if (matches.size() > 1) return FailedPreconditionError("pkcs11: several tokens are labelled \"" + label + "\"");
  return matches[0];
}

}  // namespace

StatusOr<std::unique_ptr<MasterKeyBackend>> OpenPkcs11Backend(const Pkcs11Config& config, SecureBuffer pin) {
  if (pin.empty()) return InvalidArgumentError("pkcs11: empty PIN");
  if (config.module_path.empty()) return InvalidArgumentError("pkcs11: no module path");
  if (config.token_label.empty() || config.token_label.size() > 32) {
    return InvalidArgumentError("pkcs11: token label must be 1..32 bytes");
  }
  if (!ValidLabelText(config.key_label_prefix, 64)) {
    return InvalidArgumentError("pkcs11: key label prefix must be 1..64 printable characters without spaces");
  }
  ASSIGN_OR_RETURN(auto module, AcquireModule(config.module_path));
  auto [handle, f] = module;
  auto slot = FindToken(f, config.token_label);
  if (!slot.ok()) {
    ReleaseModule(handle);
    return slot.status();
  }
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  CK_RV rv = f->C_OpenSession(*slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session);
  if (rv != CKR_OK) {
    ReleaseModule(handle);
    return TokenError("C_OpenSession", rv);
  }
  rv = f->C_Login(session, CKU_USER, pin.data(), static_cast<CK_ULONG>(pin.size()));
  if (rv != CKR_OK) {
    Status st;
    switch (rv) {
      case CKR_PIN_INCORRECT:
      case CKR_PIN_INVALID:
      case CKR_PIN_LEN_RANGE:
        st = UnauthenticatedError("pkcs11: login refused (wrong PIN)");
        break;
      case CKR_PIN_LOCKED:
        st = UnauthenticatedError("pkcs11: login refused (PIN locked)");
        break;
      case CKR_USER_ALREADY_LOGGED_IN:
        // Login state is per process and token; logging in again would skip the PIN check.
        st = FailedPreconditionError("pkcs11: token already in use by another backend in this process");
        break;
      case CKR_USER_PIN_NOT_INITIALIZED:
        st = FailedPreconditionError("pkcs11: token has no user PIN");
        break;
      default:
        st = TokenError("C_Login", rv);
    }
    f->C_CloseSession(session);
    ReleaseModule(handle);
    return st;
  }
  // From here the backend owns session and module reference.
  auto backend = std::make_unique<Pkcs11Backend>(handle, f, session, config.key_label_prefix);
  RETURN_IF_ERROR(backend->Load());
  return std::unique_ptr<MasterKeyBackend>(std::move(backend));
}

}  // namespace vp::kms
