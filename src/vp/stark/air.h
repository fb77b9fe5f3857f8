// The algebraic intermediate representation an engine proves: a trace of `TraceRows()` real
// rows and `MainWidth()` base-field columns, optional auxiliary extension-field columns built
// after the main commitment from verifier randomness (permutation / lookup arguments),
// periodic columns, and constraints over a two-row window (current, next), each with a
// declared degree and the rows it must hold on.
//
// The engine appends padding rows after the real rows (random in zero-knowledge mode) and
// never constrains them; constraints name their rows relative to the real rows only.
//
//   class MyAir : public Air { ... };             // see airs/fibonacci.h for a small one
//   Prove(air, trace, options, rng);              // prover.h
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vp/stark/field.h"
#include "vp/stark/packed.h"

namespace vp::stark {

enum class ConstraintDomain : uint8_t {
  kEveryRow = 0,    // rows 0 .. u-1
  kTransition = 1,  // rows 0 .. u-2 (relates row i to row i+1)
  kFirstRow = 2,    // row 0
  kLastRow = 3,     // row u-1
};
inline constexpr size_t kNumConstraintDomains = 4;

struct ConstraintInfo {
  unsigned degree = 1;  // total degree in the trace columns (periodic columns count as 1)
  ConstraintDomain domain = ConstraintDomain::kEveryRow;
};

// Values of one column set at row i (current) and row i+1 (next).
template <typename F>
struct Frame {
  std::span<const F> current;
  std::span<const F> next;
};

// Column-major trace: columns[c][row].
using TraceColumns = std::vector<std::vector<Fp>>;
using ExtTraceColumns = std::vector<std::vector<Fp2>>;

class Air {
 public:
  virtual ~Air() = default;

  // Identifies the statement kind; part of the transcript and of the proof.
  virtual std::string Name() const = 0;
  // Everything the verifier must know; absorbed into the transcript.
  virtual std::vector<Fp> PublicInputs() const = 0;
  // Number of real rows u (>= 2).
  virtual size_t TraceRows() const = 0;
  virtual size_t MainWidth() const = 0;
  virtual std::vector<ConstraintInfo> MainConstraints() const = 0;

  // Each periodic column is one cycle of values (length a power of two dividing the padded
  // trace length); the constraint sees cycle[row % length].
  virtual std::vector<std::vector<Fp>> PeriodicColumns() const { return {}; }

  // Main constraints. The base-field form is what the prover evaluates on the extended
  // domain; the extension form is what the verifier evaluates at the out-of-domain point.
  // Implementations usually forward both to one template.
  virtual void EvaluateMain(const Frame<Fp>& main, std::span<const Fp> periodic,
                            std::span<Fp> out) const = 0;
  virtual void EvaluateMain(const Frame<Fp2>& main, std::span<const Fp2> periodic,
                            std::span<Fp2> out) const = 0;
  // Optional speed-up for the prover: the base-field form on eight rows at once (lane j of
  // every value is row j). An AIR that provides it returns true from HasPackedMain(); it
  // must compute exactly what EvaluateMain(Frame<Fp>) computes, lane by lane.
  virtual bool HasPackedMain() const { return false; }
  virtual void EvaluateMainPacked(const Frame<PackedFp>& main, std::span<const PackedFp> periodic,
                                  std::span<PackedFp> out) const {
    (void)main;
    (void)periodic;
    (void)out;
  }

  // Auxiliary (randomized) trace: AuxWidth() extension columns built from the main trace
  // and NumAuxRandomElements() challenges drawn after the main commitment.
  virtual size_t AuxWidth() const { return 0; }
  virtual size_t NumAuxRandomElements() const { return 0; }
  virtual std::vector<ConstraintInfo> AuxConstraints() const { return {}; }
  // main: the u real rows. Returns AuxWidth() columns of u rows.
  virtual ExtTraceColumns BuildAuxTrace(const TraceColumns& main,
                                        std::span<const Fp2> rand) const {
    (void)main;
    (void)rand;
    return {};
  }
  virtual void EvaluateAux(const Frame<Fp2>& main, const Frame<Fp2>& aux,
                           std::span<const Fp2> periodic, std::span<const Fp2> rand,
                           std::span<Fp2> out) const {
    (void)main;
    (void)aux;
    (void)periodic;
    (void)rand;
    (void)out;
  }
  // Optional speed-up, like EvaluateMainPacked: the auxiliary constraints on eight rows at
  // once (main values in the base field). Used when both packed forms are provided; must
  // compute exactly what EvaluateAux computes, lane by lane.
  virtual bool HasPackedAux() const { return false; }
  virtual void EvaluateAuxPacked(const Frame<PackedFp>& main, const Frame<PackedFp2>& aux,
                                 std::span<const PackedFp> periodic, std::span<const Fp2> rand,
                                 std::span<PackedFp2> out) const {
    (void)main;
    (void)aux;
    (void)periodic;
    (void)rand;
    (void)out;
  }
};

}  // namespace vp::stark
