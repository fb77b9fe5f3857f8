#!/bin/sh
# Builds the libFuzzer target for STARK proof decoding + verification with clang 14
# (-fsanitize=fuzzer,address,undefined). Not part of the default build.
# Usage: tests/fuzz/build_stark_fuzz.sh [OUT_DIR]   then   OUT_DIR/stark_fuzz -max_total_time=60
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-/tmp/stark-fuzz}
mkdir -p "$OUT"
S=$ROOT/src/vp/stark
clang++-14 -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Wno-unknown-pragmas -I"$ROOT/src" \
  "$ROOT/src/vp/base/status.cc" "$ROOT/src/vp/base/bytes.cc" \
  "$S/field.cc" "$S/ntt.cc" "$S/blake3.cc" "$S/poseidon2.cc" "$S/merkle.cc" "$S/channel.cc" \
  "$S/random.cc" "$S/options.cc" "$S/proof.cc" "$S/layout.cc" "$S/prover.cc" "$S/verifier.cc" \
  "$S/airs/fibonacci.cc" "$S/airs/permutation.cc" "$S/airs/poseidon2_chain.cc" \
  "$S/airs/registry.cc" "$ROOT/tests/fuzz/stark_fuzz.cc" -o "$OUT/stark_fuzz"
echo "$OUT/stark_fuzz"
