#!/bin/sh
# Builds the libFuzzer target for the signer/kms wire decoders (frames, fields, replies,
# key blobs and contexts, wrapped keys, attestation documents) with clang 14
# (-fsanitize=fuzzer,address,undefined). Not part of the default build.
# Also writes OUT_DIR/seeds: one valid input per format, made by the real encoders.
# Usage: tests/fuzz/build_signer_fuzz.sh [OUT_DIR]   then
#   OUT_DIR/signer_frame_fuzz -max_total_time=60 OUT_DIR/corpus OUT_DIR/seeds
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-/tmp/signer-fuzz}
mkdir -p "$OUT"
S=$ROOT/src/vp
clang++-14 -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Wno-unknown-pragmas -I"$ROOT/src" \
  "$S/base/status.cc" "$S/base/bytes.cc" "$S/base/secure.cc" \
  "$S/crypto/hash.cc" "$S/crypto/random.cc" "$S/crypto/ed25519.cc" \
  "$S/ipc/frame.cc" "$S/signer/protocol.cc" "$S/kms/master_key.cc" "$S/kms/attestation.cc" \
  "$ROOT/tests/fuzz/signer_frame_fuzz.cc" -lcrypto -o "$OUT/signer_frame_fuzz"
mkdir -p "$OUT/seeds" "$OUT/corpus"
VP_FUZZ_WRITE_SEEDS="$OUT/seeds" "$OUT/signer_frame_fuzz"
echo "$OUT/signer_frame_fuzz"
