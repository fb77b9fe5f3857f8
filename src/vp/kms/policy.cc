#include "vp/kms/policy.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "vp/base/json.h"

namespace vp::kms {
namespace {

using nlohmann::json;

constexpr size_t kMaxPolicyBytes = 1 << 20;
constexpr size_t kMaxListEntries = 4096;
constexpr uint64_t kMaxUid = 0xfffffffeu;  // (uid_t)-1 means "no uid"

constexpr std::string_view kFields[] = {"version",   "launcherPublicKeys", "signerMeasurements", "allowDebug",
                                        "maxAttestationAgeSeconds", "generateDataKeyUids", "adminUids",
                                        "decryptUids"};

Status Bad(std::string_view field, std::string_view what) {
  return InvalidArgumentError("key policy: " + std::string(field) + ": " + std::string(what));
}

bool IsLowerHex(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

template <size_t N>
StatusOr<std::vector<ByteArray<N>>> HexList(const json& doc, std::string_view field) {
  const json& v = doc.at(std::string(field));
  if (!v.is_array()) return Bad(field, "must be an array of hex strings");
  if (v.size() > kMaxListEntries) return Bad(field, "too many entries");
  std::vector<ByteArray<N>> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const json& e = v[i];
    const std::string where = std::string(field) + "[" + std::to_string(i) + "]";
    if (!e.is_string()) return Bad(where, "must be a string");
    const std::string& s = e.get_ref<const std::string&>();
    if (s.size() != 2 * N || !IsLowerHex(s)) {
      return Bad(where, "must be " + std::to_string(2 * N) + " lower-case hex digits without 0x");
    }
    auto b = HexDecodeFixed<N>(s, HexPrefix::kForbidden);
    if (!b.ok()) return Bad(where, b.status().message());
    if (std::find(out.begin(), out.end(), *b) != out.end()) return Bad(where, "duplicate entry");
    out.push_back(*b);
  }
  return out;
}

StatusOr<std::vector<uint32_t>> UidList(const json& doc, std::string_view field) {
  const json& v = doc.at(std::string(field));
  if (!v.is_array()) return Bad(field, "must be an array of uids");
  if (v.size() > kMaxListEntries) return Bad(field, "too many entries");
  std::vector<uint32_t> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const json& e = v[i];
    const std::string where = std::string(field) + "[" + std::to_string(i) + "]";
    if (!e.is_number_unsigned() || e.get<uint64_t>() > kMaxUid) return Bad(where, "must be an integer 0..4294967294");
    const auto uid = static_cast<uint32_t>(e.get<uint64_t>());
    if (std::find(out.begin(), out.end(), uid) != out.end()) return Bad(where, "duplicate uid");
    out.push_back(uid);
  }
  return out;
}

StatusOr<KeyPolicy> FromJson(const json& doc) {
  if (!doc.is_object()) return InvalidArgumentError("key policy: must be a JSON object");
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (std::find(std::begin(kFields), std::end(kFields), it.key()) == std::end(kFields)) {
      return InvalidArgumentError("key policy: unknown field \"" + it.key() + "\"");
    }
  }
  for (std::string_view required : {"version", "launcherPublicKeys", "signerMeasurements", "generateDataKeyUids",
                                    "adminUids"}) {
    if (!doc.contains(std::string(required))) return Bad(required, "missing");
  }
  KeyPolicy p;
  const json& version = doc.at("version");
  if (!version.is_number_integer() || version.get<int64_t>() != kKeyPolicyVersion) {
    return Bad("version", "must be 1");
  }
  p.version = kKeyPolicyVersion;
  ASSIGN_OR_RETURN(p.launcher_keys, HexList<32>(doc, "launcherPublicKeys"));
  ASSIGN_OR_RETURN(p.signer_measurements, HexList<48>(doc, "signerMeasurements"));
  const ByteArray<48> zero{};
  if (std::find(p.signer_measurements.begin(), p.signer_measurements.end(), zero) != p.signer_measurements.end()) {
    return Bad("signerMeasurements", "the all-zero debug measurement cannot be listed; set allowDebug instead");
  }
  if (doc.contains("allowDebug")) {
    const json& v = doc.at("allowDebug");
    if (!v.is_boolean()) return Bad("allowDebug", "must be true or false");
    p.allow_debug = v.get<bool>();
  }
  if (doc.contains("maxAttestationAgeSeconds")) {
    const json& v = doc.at("maxAttestationAgeSeconds");
    if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > kMaxAttestationAgeLimitSeconds) {
      return Bad("maxAttestationAgeSeconds", "must be an integer 1..86400");
    }
    p.max_attestation_age_s = v.get<int64_t>();
  }
  ASSIGN_OR_RETURN(p.generate_data_key_uids, UidList(doc, "generateDataKeyUids"));
  ASSIGN_OR_RETURN(p.admin_uids, UidList(doc, "adminUids"));
  if (doc.contains("decryptUids")) {
    ASSIGN_OR_RETURN(p.decrypt_uids, UidList(doc, "decryptUids"));
  }
  return p;
}

}  // namespace

StatusOr<KeyPolicy> ParseKeyPolicy(std::string_view json_text) {
  if (json_text.size() > kMaxPolicyBytes) return InvalidArgumentError("key policy: larger than 1 MiB");
  ASSIGN_OR_RETURN(json doc, ParseJsonStrict(json_text, "key policy"));
  // Every access above is checked first; the try is a last guard so nothing escapes.
  try {
    return FromJson(doc);
  } catch (const std::exception&) {
    return InvalidArgumentError("key policy: malformed");
  }
}

StatusOr<KeyPolicy> LoadKeyPolicy(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return NotFoundError("key policy: " + path + " not found");
  std::ifstream in(path, std::ios::binary);
  if (!in) return UnavailableError("key policy: cannot open " + path);
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxPolicyBytes) return InvalidArgumentError("key policy: " + path + " is larger than 1 MiB");
  }
  if (in.bad()) return UnavailableError("key policy: cannot read " + path);
  auto p = ParseKeyPolicy(text);
  if (!p.ok()) return p.status().Annotate(path);
  return p;
}

std::string SerializeKeyPolicy(const KeyPolicy& policy) {
  nlohmann::ordered_json doc;
  doc["version"] = policy.version;
  doc["launcherPublicKeys"] = nlohmann::ordered_json::array();
  for (const auto& k : policy.launcher_keys) doc["launcherPublicKeys"].push_back(HexEncode(k));
  doc["signerMeasurements"] = nlohmann::ordered_json::array();
  for (const auto& m : policy.signer_measurements) doc["signerMeasurements"].push_back(HexEncode(m));
  doc["allowDebug"] = policy.allow_debug;
  doc["maxAttestationAgeSeconds"] = policy.max_attestation_age_s;
  doc["generateDataKeyUids"] = policy.generate_data_key_uids;
  doc["adminUids"] = policy.admin_uids;
  if (!policy.decrypt_uids.empty()) doc["decryptUids"] = policy.decrypt_uids;
  return doc.dump(2) + "\n";
}

bool PolicyAllowsGenerateDataKey(const KeyPolicy& policy, uint32_t uid) {
  return std::find(policy.generate_data_key_uids.begin(), policy.generate_data_key_uids.end(), uid) !=
         policy.generate_data_key_uids.end();
}

bool PolicyAllowsDecrypt(const KeyPolicy& policy, uint32_t uid) {
  return policy.decrypt_uids.empty() ||
         std::find(policy.decrypt_uids.begin(), policy.decrypt_uids.end(), uid) != policy.decrypt_uids.end();
}

bool PolicyAllowsAdmin(const KeyPolicy& policy, uint32_t uid) {
  return std::find(policy.admin_uids.begin(), policy.admin_uids.end(), uid) != policy.admin_uids.end();
}

}  // namespace vp::kms
