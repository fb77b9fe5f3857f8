// Proof encoding: little-endian, length-prefixed, see docs/proof_format.md.
#include "vp/stark/proof.h"

#include <cstring>

namespace vp::stark {
namespace {

constexpr uint8_t kMagic[4] = {'V', 'P', 'S', 'K'};
constexpr uint32_t kMaxCount = 1u << 22;  // no field of a valid proof comes near this

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v) { Le(v, 2); }
  void U32(uint32_t v) { Le(v, 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void Raw(ByteSpan b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void F(Fp v) { U64(v.value()); }
  void F2(Fp2 v) { F(v.c0()); F(v.c1()); }
  void Count(size_t n) { U32(static_cast<uint32_t>(n)); }
  void F2s(const std::vector<Fp2>& v) {
    Count(v.size());
    for (Fp2 x : v) F2(x);
  }
  void Opening(const TreeOpening& o) {
    Count(o.rows.size());
    Count(o.rows.empty() ? 0 : o.rows[0].size());
    for (const auto& r : o.rows) for (Fp x : r) F(x);
    Count(o.salts.size());
    for (const auto& s : o.salts) Raw(s);
    Count(o.proof.nodes.size());
    for (const auto& d : o.proof.nodes) Raw(d);
  }
  Bytes Take() { return std::move(out_); }

 private:
  void Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  Bytes out_;
};

class Reader {
 public:
  explicit Reader(ByteSpan b) : b_(b) {}
  bool done() const { return pos_ == b_.size(); }

  Status Need(size_t n, const char* what) {
    if (b_.size() - pos_ < n) return InvalidArgumentError(std::string("proof truncated in ") + what);
    return OkStatus();
  }
  StatusOr<uint64_t> Le(int n, const char* what) {
    RETURN_IF_ERROR(Need(static_cast<size_t>(n), what));
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | b_[pos_ + static_cast<size_t>(i)];
    pos_ += static_cast<size_t>(n);
    return v;
  }
  StatusOr<Fp> F(const char* what) {
    ASSIGN_OR_RETURN(uint64_t v, Le(8, what));
    if (v >= Fp::kModulus) return InvalidArgumentError(std::string("non-canonical field element in ") + what);
    return Fp(v);
  }
  StatusOr<Fp2> F2(const char* what) {
    ASSIGN_OR_RETURN(Fp a, F(what));
    ASSIGN_OR_RETURN(Fp b, F(what));
    return Fp2(a, b);
  }
  StatusOr<size_t> Count(const char* what, size_t max = kMaxCount) {
    ASSIGN_OR_RETURN(uint64_t v, Le(4, what));
    if (v > max) return InvalidArgumentError(std::string("count too large in ") + what);
    return static_cast<size_t>(v);
  }
  Status Raw(uint8_t* out, size_t n, const char* what) {
    RETURN_IF_ERROR(Need(n, what));
    std::memcpy(out, b_.data() + pos_, n);
    pos_ += n;
    return OkStatus();
  }
  StatusOr<std::vector<Fp2>> F2s(const char* what) {
    ASSIGN_OR_RETURN(size_t n, Count(what));
    RETURN_IF_ERROR(Need(n * 16, what));
    std::vector<Fp2> v(n);
    for (auto& x : v) {
      ASSIGN_OR_RETURN(x, F2(what));
    }
    return v;
  }
  StatusOr<TreeOpening> Opening(const char* what) {
    TreeOpening o;
    ASSIGN_OR_RETURN(size_t rows, Count(what, 1u << 12));
    ASSIGN_OR_RETURN(size_t width, Count(what, 1u << 12));
    if (rows == 0 && width != 0) return InvalidArgumentError(std::string("bad shape in ") + what);
    RETURN_IF_ERROR(Need(rows * width * 8, what));
    o.rows.assign(rows, std::vector<Fp>(width));
    for (auto& r : o.rows) {
      for (auto& x : r) {
        ASSIGN_OR_RETURN(x, F(what));
      }
    }
    ASSIGN_OR_RETURN(size_t salts, Count(what, 1u << 12));
    RETURN_IF_ERROR(Need(salts * 32, what));
    o.salts.resize(salts);
    for (auto& s : o.salts) RETURN_IF_ERROR(Raw(s.data(), 32, what));
    ASSIGN_OR_RETURN(size_t nodes, Count(what, 1u << 16));
    RETURN_IF_ERROR(Need(nodes * 32, what));
    o.proof.nodes.resize(nodes);
    for (auto& d : o.proof.nodes) RETURN_IF_ERROR(Raw(d.data(), 32, what));
    return o;
  }

 private:
  ByteSpan b_;
  size_t pos_ = 0;
};

}  // namespace

Bytes SerializeProof(const Proof& p) {
  Writer w;
  w.Raw(ByteSpan(kMagic, 4));
  w.U16(kProofVersion);
  w.U8(p.options.log_blowup);
  w.U8(p.options.num_queries);
  w.U8(p.options.grinding_bits);
  w.U8(p.options.log_folding_factor);
  w.U8(p.options.log_remainder_max);
  w.U8(p.options.zero_knowledge ? 1 : 0);
  w.U8(static_cast<uint8_t>(p.air_name.size()));
  w.Raw(AsBytes(p.air_name));
  w.Count(p.public_inputs.size());
  for (Fp x : p.public_inputs) w.F(x);
  w.U8(p.log_trace_length);
  w.Raw(p.main_root);
  w.U8(p.has_aux ? 1 : 0);
  if (p.has_aux) w.Raw(p.aux_root);
  w.Raw(p.composition_root);
  w.F2s(p.ood_main_current);
  w.F2s(p.ood_main_next);
  w.F2s(p.ood_aux_current);
  w.F2s(p.ood_aux_next);
  w.F2s(p.ood_composition);
  w.Count(p.fri_roots.size());
  for (const auto& r : p.fri_roots) w.Raw(r);
  w.F2s(p.fri_remainder);
  w.U64(p.pow_nonce);
  w.Opening(p.main_opening);
  if (p.has_aux) w.Opening(p.aux_opening);
  w.Opening(p.composition_opening);
  w.Count(p.fri_openings.size());
  for (const auto& o : p.fri_openings) w.Opening(o);
  return w.Take();
}

StatusOr<Proof> DeserializeProof(ByteSpan bytes) {
  Reader r(bytes);
  Proof p;
  uint8_t magic[4];
  RETURN_IF_ERROR(r.Raw(magic, 4, "magic"));
  if (std::memcmp(magic, kMagic, 4) != 0) return InvalidArgumentError("not a vaultproof STARK proof (bad magic)");
  ASSIGN_OR_RETURN(uint64_t version, r.Le(2, "version"));
  if (version != kProofVersion) {
    return InvalidArgumentError("unsupported proof version " + std::to_string(version));
  }
  ASSIGN_OR_RETURN(uint64_t lb, r.Le(1, "options"));
  ASSIGN_OR_RETURN(uint64_t nq, r.Le(1, "options"));
  ASSIGN_OR_RETURN(uint64_t gb, r.Le(1, "options"));
  ASSIGN_OR_RETURN(uint64_t lf, r.Le(1, "options"));
  ASSIGN_OR_RETURN(uint64_t lr, r.Le(1, "options"));
  ASSIGN_OR_RETURN(uint64_t zk, r.Le(1, "options"));
  if (zk > 1) return InvalidArgumentError("bad zero-knowledge flag in options");
  p.options.log_blowup = static_cast<uint8_t>(lb);
  p.options.num_queries = static_cast<uint8_t>(nq);
  p.options.grinding_bits = static_cast<uint8_t>(gb);
  p.options.log_folding_factor = static_cast<uint8_t>(lf);
  p.options.log_remainder_max = static_cast<uint8_t>(lr);
  p.options.zero_knowledge = zk == 1;
  RETURN_IF_ERROR(p.options.Validate());
  ASSIGN_OR_RETURN(uint64_t name_len, r.Le(1, "air name"));
  p.air_name.resize(static_cast<size_t>(name_len));
  if (name_len > 0) {
    RETURN_IF_ERROR(r.Raw(reinterpret_cast<uint8_t*>(p.air_name.data()), p.air_name.size(), "air name"));
  }
  // The name ends up in rejection reasons and JSON: only [a-z0-9-] is a name (docs/proof_format.md).
  if (p.air_name.empty()) return InvalidArgumentError("air name is empty");
  for (char c : p.air_name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return InvalidArgumentError("air name has a character outside [a-z0-9-]");
    }
  }
  ASSIGN_OR_RETURN(size_t npub, r.Count("public inputs", 1u << 16));
  RETURN_IF_ERROR(r.Need(npub * 8, "public inputs"));
  p.public_inputs.resize(npub);
  for (auto& x : p.public_inputs) {
    ASSIGN_OR_RETURN(x, r.F("public inputs"));
  }
  ASSIGN_OR_RETURN(uint64_t logn, r.Le(1, "trace length"));
  if (logn > 28) return InvalidArgumentError("trace length out of range");
  p.log_trace_length = static_cast<uint8_t>(logn);
  RETURN_IF_ERROR(r.Raw(p.main_root.data(), 32, "main commitment"));
  ASSIGN_OR_RETURN(uint64_t has_aux, r.Le(1, "aux flag"));
  if (has_aux > 1) return InvalidArgumentError("bad aux flag");
  p.has_aux = has_aux == 1;
  if (p.has_aux) RETURN_IF_ERROR(r.Raw(p.aux_root.data(), 32, "aux commitment"));
  RETURN_IF_ERROR(r.Raw(p.composition_root.data(), 32, "composition commitment"));
  ASSIGN_OR_RETURN(p.ood_main_current, r.F2s("out-of-domain values"));
  ASSIGN_OR_RETURN(p.ood_main_next, r.F2s("out-of-domain values"));
  ASSIGN_OR_RETURN(p.ood_aux_current, r.F2s("out-of-domain values"));
  ASSIGN_OR_RETURN(p.ood_aux_next, r.F2s("out-of-domain values"));
  ASSIGN_OR_RETURN(p.ood_composition, r.F2s("out-of-domain values"));
  ASSIGN_OR_RETURN(size_t nroots, r.Count("FRI commitments", 64));
  p.fri_roots.resize(nroots);
  for (auto& d : p.fri_roots) RETURN_IF_ERROR(r.Raw(d.data(), 32, "FRI commitments"));
  ASSIGN_OR_RETURN(p.fri_remainder, r.F2s("FRI remainder"));
  ASSIGN_OR_RETURN(p.pow_nonce, r.Le(8, "proof-of-work nonce"));
  ASSIGN_OR_RETURN(p.main_opening, r.Opening("main trace openings"));
  if (p.has_aux) {
    ASSIGN_OR_RETURN(p.aux_opening, r.Opening("aux trace openings"));
  }
  ASSIGN_OR_RETURN(p.composition_opening, r.Opening("composition openings"));
  ASSIGN_OR_RETURN(size_t nlayers, r.Count("FRI openings", 64));
  p.fri_openings.resize(nlayers);
  for (auto& o : p.fri_openings) {
    ASSIGN_OR_RETURN(o, r.Opening("FRI openings"));
  }
  if (!r.done()) return InvalidArgumentError("trailing bytes after proof");
  return p;
}

}  // namespace vp::stark
