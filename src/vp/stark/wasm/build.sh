#!/bin/sh
# Builds the STARK verifier to WebAssembly with Debian's emscripten 3.1.6 (apt-get install
# emscripten). Output: $OUT/stark_verifier.js (single file, wasm embedded; loads in Node and
# browsers). Usage: src/vp/stark/wasm/build.sh [OUT_DIR]   (default /tmp/stark-wasm)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../../.." && pwd)          # repo/src
OUT=${1:-/tmp/stark-wasm}
mkdir -p "$OUT"
# The optimizer needs Debian's node modules (acorn); see docs in shared notes.
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
S=$SRC/vp/stark
em++ -std=c++20 -O2 -fno-exceptions -Wall -Wextra -Wno-unknown-pragmas -I"$SRC" \
  "$SRC/vp/base/status.cc" "$SRC/vp/base/bytes.cc" \
  "$S/field.cc" "$S/ntt.cc" "$S/blake3.cc" "$S/poseidon2.cc" "$S/merkle.cc" "$S/channel.cc" \
  "$S/random.cc" "$S/options.cc" "$S/proof.cc" "$S/layout.cc" "$S/verifier.cc" \
  "$S/airs/fibonacci.cc" "$S/airs/permutation.cc" "$S/airs/poseidon2_chain.cc" \
  "$S/airs/registry.cc" "$HERE/verifier_wasm.cc" \
  -sMODULARIZE=1 -sEXPORT_NAME=StarkVerifier -sSINGLE_FILE=1 -sALLOW_MEMORY_GROWTH=1 \
  -sWASM_BIGINT=1 -sENVIRONMENT=node,web \
  -sEXPORTED_FUNCTIONS=_vp_stark_verify,_malloc,_free \
  -sEXPORTED_RUNTIME_METHODS=ccall,cwrap,HEAPU8,UTF8ToString \
  -o "$OUT/stark_verifier.js"
echo "$OUT/stark_verifier.js"
