#!/bin/sh
# Builds the WASM verifier, proves a Poseidon2 chain with the native CLI, and checks the proof
# in Node. Usage: src/vp/stark/wasm/test.sh NATIVE_VAULTPROOF_BINARY [LENGTH] [OUT_DIR]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$1
LEN=${2:-1000}
OUT=${3:-/tmp/stark-wasm}
"$HERE/build.sh" "$OUT" >/dev/null
"$BIN" stark prove --air poseidon2-chain --length "$LEN" --seed 7 --out "$OUT/proof.bin" >/dev/null
node "$HERE/verify_test.mjs" "$OUT/stark_verifier.js" "$OUT/proof.bin" poseidon2-chain
