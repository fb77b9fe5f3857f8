#!/usr/bin/env bash
# Builds every libFuzzer target of tests/fuzz/ with clang 14 (-fsanitize=fuzzer,address,
# undefined) and runs each one for a fixed number of inputs from a fixed seed, starting from
# seeds made by the real encoders (each target writes them when VP_FUZZ_WRITE_SEEDS=DIR is
# set) and the malformed-input files of tests/corpus/. Exits non-zero on any crash, leak,
# undefined behaviour, timeout or broken invariant, and prints the reproducer's path.
# The ctest `fuzz_smoke` (label fuzz, tests/fuzz/CMakeLists.txt) runs it with no options.
#
#   tests/fuzz/smoke.sh BUILD_DIR                                   # all targets, smoke budget
#   tests/fuzz/smoke.sh BUILD_DIR --target eth_fuzz --time 600      # one target, 10 minutes
#   tests/fuzz/smoke.sh BUILD_DIR --build-only                      # just BUILD_DIR/bin/*
#   BUILD_DIR/bin/eth_fuzz CRASH_FILE                               # replay one input
#
# Options: --target NAME (repeatable; default all), --runs N (instead of each target's
# smoke budget), --time S (run for S seconds instead of a number of runs), --seed N
# (default 1), --jobs N (compile and run jobs, default 2), --build-only.
# A smoke run starts from an empty work corpus every time and runs with address
# randomisation off, so the same seed gives the same inputs; a --time run keeps
# BUILD_DIR/run/NAME/corpus, so long runs by hand build on each other.
# Objects are compiled once per source and shared between targets by a generated
# BUILD_DIR/build.ninja (ccache is used when installed), so a re-run only rebuilds what
# changed. Environment: VP_FUZZ_CXX (default clang++-14).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CXX=${VP_FUZZ_CXX:-clang++-14}

usage() {
  sed -n '9,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 1 ] || usage
OUT=$1
shift
case $OUT in -*) usage ;; esac
SELECTED=() RUNS_OVERRIDE="" TIME="" SEED=1 JOBS=2 BUILD_ONLY=0
while [ $# -gt 0 ]; do
  case $1 in
    --target) SELECTED+=("${2:?--target needs a name}"); shift 2 ;;
    --runs) RUNS_OVERRIDE=${2:?}; shift 2 ;;
    --time) TIME=${2:?}; shift 2 ;;
    --seed) SEED=${2:?}; shift 2 ;;
    --jobs) JOBS=${2:?}; shift 2 ;;
    --build-only) BUILD_ONLY=1; shift ;;
    *) echo "smoke.sh: unknown option $1" >&2; usage ;;
  esac
done

# ---- the targets: sources (under src/vp), libraries, smoke budget, checked-in corpus ----
# Budgets: the five smoke runs take about 70 CPU-seconds together (about 40 s on two idle
# cores), a cold build about 150 CPU-seconds; with ccache or an up-to-date BUILD_DIR the
# build is seconds. Raise a budget only with a measurement: `make test` waits for it.
ALL=(signer_frame_fuzz stark_fuzz http_fuzz eth_fuzz ballot_fuzz)
declare -A SRCS LIBS RUNS CORPUS
BASE="base/status.cc base/bytes.cc base/secure.cc"
SRCS[signer_frame_fuzz]="$BASE crypto/hash.cc crypto/random.cc crypto/ed25519.cc crypto/x25519.cc
  ipc/frame.cc signer/protocol.cc kms/master_key.cc kms/attestation.cc"
LIBS[signer_frame_fuzz]="-lcrypto"
RUNS[signer_frame_fuzz]=300000
SRCS[stark_fuzz]="base/status.cc base/bytes.cc stark/field.cc stark/ntt.cc stark/blake3.cc stark/poseidon2.cc
  stark/merkle.cc stark/channel.cc stark/random.cc stark/options.cc stark/proof.cc stark/layout.cc
  stark/prover.cc stark/verifier.cc stark/airs/fibonacci.cc stark/airs/permutation.cc
  stark/airs/poseidon2_chain.cc stark/airs/registry.cc"
LIBS[stark_fuzz]=""
RUNS[stark_fuzz]=40000
SRCS[http_fuzz]="$BASE base/json.cc crypto/hash.cc http/vp1_auth.cc http/router.cc http/envelope.cc
  http/config.cc"
LIBS[http_fuzz]="-ltomlplusplus -lcrypto"
RUNS[http_fuzz]=80000
CORPUS[http_fuzz]="typed_data"
SRCS[eth_fuzz]="$BASE base/json.cc crypto/keccak.cc crypto/hash.cc crypto/random.cc crypto/secp256k1.cc
  eth/uint256.cc eth/address.cc eth/rlp.cc eth/transaction.cc eth/tx_json.cc eth/eip191.cc
  eth/eip712.cc eth/bip39.cc eth/bip39_wordlist.cc eth/bip32.cc"
LIBS[eth_fuzz]="-lsecp256k1 -lunistring -lcrypto"
RUNS[eth_fuzz]=60000
CORPUS[eth_fuzz]="address bip32_path hex mnemonic raw_tx rlp typed_data"
STARK_SRCS="stark/field.cc stark/ntt.cc stark/blake3.cc stark/poseidon2.cc stark/merkle.cc stark/channel.cc
  stark/random.cc stark/options.cc stark/proof.cc stark/layout.cc stark/prover.cc stark/verifier.cc"
SRCS[ballot_fuzz]="$BASE base/json.cc crypto/hash.cc crypto/random.cc crypto/ed25519.cc $STARK_SRCS
  ballot/commitment.cc ballot/bulletin.cc ballot/sth.cc ballot/tally.cc ballot/tally_air.cc
  ballot/election.cc ballot/bundle.cc ballot/verify_bundle.cc ballot/simulate.cc prover/segment_request.cc"
LIBS[ballot_fuzz]="-lzip -lcrypto"
RUNS[ballot_fuzz]=10000

[ ${#SELECTED[@]} -gt 0 ] || SELECTED=("${ALL[@]}")
for t in "${SELECTED[@]}"; do
  [ -n "${SRCS[$t]+x}" ] || { echo "smoke.sh: no target $t (targets: ${ALL[*]})" >&2; exit 2; }
done

# ---- tools ----
# An absolute path, so that ctest's and a hand run's command lines match and ninja does not
# rebuild everything when both use the same BUILD_DIR.
CXX=$(command -v "$CXX") || { echo "FAIL: ${VP_FUZZ_CXX:-clang++-14} not found (install clang-14)" >&2; exit 1; }
command -v ninja >/dev/null || { echo "FAIL: ninja not found (install ninja-build)" >&2; exit 1; }
FUZZER_RT=$("$CXX" -print-file-name=libclang_rt.fuzzer-x86_64.a)
[ -f "$FUZZER_RT" ] || { echo "FAIL: libFuzzer runtime missing (install libclang-rt-14-dev)" >&2; exit 1; }
LAUNCHER=""
if command -v ccache >/dev/null; then LAUNCHER="ccache "; fi

# ---- build: one object per source, shared by every target that lists it ----
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
# Warnings as the project's own build has them, for the fuzz targets' sources only.
WARN="-Wall -Wextra -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast -Woverloaded-virtual"
esc() { printf '%s' "$1" | sed -e 's/\$/$$/g' -e 's/ /$ /g' -e 's/:/$:/g'; }
{
  echo "# Generated by tests/fuzz/smoke.sh; rewritten on every run."
  echo "cxx = $LAUNCHER$CXX"
  echo "cxxflags = -std=c++20 -O1 -gline-tables-only -fsanitize=fuzzer-no-link $SAN -Wno-unknown-pragmas" \
       "-DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1 -I$(esc "$ROOT/src")"
  echo "ldflags = -fsanitize=fuzzer $SAN"
  echo "rule cxx"
  echo "  command = \$cxx -MMD -MF \$out.d \$cxxflags \$extra -c \$in -o \$out"
  echo "  depfile = \$out.d"
  echo "  deps = gcc"
  echo "  description = CXX \$out"
  echo "rule link"
  echo "  command = $CXX \$ldflags \$in \$libs -o \$out"
  echo "  description = LINK \$out"
  declare -A seen=()
  for t in "${ALL[@]}"; do
    objs=""
    for s in ${SRCS[$t]}; do
      o="obj/src/vp/${s%.cc}.o"
      objs="$objs $o"
      if [ -z "${seen[$o]+x}" ]; then
        seen[$o]=1
        echo "build $o: cxx $(esc "$ROOT/src/vp/$s")"
      fi
    done
    echo "build obj/tests/fuzz/$t.o: cxx $(esc "$ROOT/tests/fuzz/$t.cc")"
    echo "  extra = $WARN"
    echo "build bin/$t: link$objs obj/tests/fuzz/$t.o"
    echo "  libs = ${LIBS[$t]}"
  done
} >"$OUT/build.ninja.new"
mv "$OUT/build.ninja.new" "$OUT/build.ninja"

START=$(date +%s)
BINS=()
for t in "${SELECTED[@]}"; do BINS+=("bin/$t"); done
echo "== building ${SELECTED[*]} in $OUT (-j $JOBS)"
if ! ninja -C "$OUT" -j "$JOBS" "${BINS[@]}"; then
  echo "FAIL: fuzz targets did not build" >&2
  exit 1
fi
BUILT=$(date +%s)
echo "== built in $((BUILT - START)) s"
[ "$BUILD_ONLY" = 0 ] || exit 0

# ---- run ----
SYMBOLIZER=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
# Same seed, same inputs only with the same addresses: libFuzzer feeds compared values
# (pointers among them) back into its mutations. So address randomisation is off and the
# environment (which sits on the stack) is fixed; -reload=0 as reloading is time-based.
FUZZ_ENV=(env -i "PATH=$PATH" "UBSAN_OPTIONS=print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}")
if [ -n "${ASAN_OPTIONS:-}" ]; then FUZZ_ENV+=("ASAN_OPTIONS=$ASAN_OPTIONS"); fi
if [ -n "$SYMBOLIZER" ]; then FUZZ_ENV+=("ASAN_SYMBOLIZER_PATH=$SYMBOLIZER"); fi
if setarch "$(uname -m)" -R true 2>/dev/null; then FUZZ_ENV=(setarch "$(uname -m)" -R "${FUZZ_ENV[@]}"); fi

# Writes one target's seeds, then fuzzes it; the exit status is the fuzzer's.
run_one() {
  local t=$1 dir=$OUT/run/$1 bin=$OUT/bin/$1
  mkdir -p "$dir/artifacts"
  rm -rf "$dir/seeds"
  mkdir -p "$dir/seeds"
  if ! VP_FUZZ_WRITE_SEEDS="$dir/seeds" "$bin" >"$dir/seeds.log" 2>&1; then
    echo "seed writer failed" >"$dir/log"
    cat "$dir/seeds.log" >>"$dir/log"
    return 1
  fi
  # A smoke run is deterministic only from the same starting corpus: start it empty.
  [ -n "$TIME" ] || rm -rf "$dir/corpus"
  mkdir -p "$dir/corpus"
  local dirs=("$dir/corpus" "$dir/seeds") c
  for c in ${CORPUS[$t]:-}; do dirs+=("$ROOT/tests/corpus/$c"); done
  local budget
  if [ -n "$TIME" ]; then budget=-max_total_time=$TIME; else budget=-runs=${RUNS_OVERRIDE:-${RUNS[$t]}}; fi
  "${FUZZ_ENV[@]}" "$bin" "$budget" -seed="$SEED" -reload=0 -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "${dirs[@]}" >"$dir/log" 2>&1
}

for t in "${SELECTED[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 0.2; done
  mkdir -p "$OUT/run/$t"
  rm -f "$OUT/run/$t/rc" "$OUT/run/$t/artifacts/"*
  (
    rc=0
    run_one "$t" || rc=$?
    echo "$rc" >"$OUT/run/$t/rc"
  ) &
done
wait

FAILED=0
for t in "${SELECTED[@]}"; do
  dir=$OUT/run/$t
  if [ "$(cat "$dir/rc" 2>/dev/null)" = 0 ]; then
    done_line=$(grep -E '^Done [0-9]+ runs' "$dir/log" | tail -1 || true)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$dir/log" | tail -1 || true)
    echo "PASS $t: ${done_line:-done} (${cov:-no coverage line})"
  else
    FAILED=1
    echo "FAIL $t: the fuzzer stopped with an error; log: $dir/log"
    grep -E 'ERROR: |runtime error|invariant broken|threw|SUMMARY|Test unit written|in (Check|LLVMFuzzer)|seed writer' \
      "$dir/log" | head -20 | sed 's/^/  | /'
    for a in "$dir/artifacts/"*; do
      [ -f "$a" ] || continue
      echo "  reproducer: $a ($(wc -c <"$a") bytes)"
      echo "  replay:     $OUT/bin/$t $a"
      if [ "$(wc -c <"$a")" -le 512 ]; then echo "  hex:        $(od -An -v -tx1 "$a" | tr -d ' \n')"; fi
    done
  fi
done
echo "== total $(($(date +%s) - START)) s (build $((BUILT - START)) s)"
exit "$FAILED"
