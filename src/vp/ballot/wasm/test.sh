#!/bin/sh
# Builds the WASM ballot verifier, runs an honest election with the native CLI (bundle and
# receipt) and checks both in Node (verify_test.mjs), printing the WASM verification time.
# Usage: src/vp/ballot/wasm/test.sh NATIVE_VAULTPROOF_BINARY [OUT_DIR] [BOTS]
#   (defaults: /tmp/ballot-wasm, 63 bots, so 64 votes). VP_WASM_SKIP_BUILD=1 reuses the module.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$1
OUT=${2:-/tmp/ballot-wasm}
BOTS=${3:-63}
mkdir -p "$OUT"
if [ "${VP_WASM_SKIP_BUILD:-0}" != 1 ] || [ ! -f "$OUT/ballot_verifier.js" ]; then
  "$HERE/build.sh" "$OUT" >/dev/null
fi
RUN="$OUT/s0-$BOTS"
rm -rf "$RUN"
mkdir -p "$RUN/bundle"
"$BIN" ballot simulate --bots "$BOTS" --scenario S0 --out "$RUN/bundle.zip" \
  --receipt-out "$RUN/receipt.json" >"$RUN/simulate.json"
if command -v unzip >/dev/null 2>&1; then
  unzip -q -o "$RUN/bundle.zip" -d "$RUN/bundle"
else
  python3 -m zipfile -e "$RUN/bundle.zip" "$RUN/bundle"
fi
node "$HERE/verify_test.mjs" "$OUT/ballot_verifier.js" "$RUN/bundle" "$RUN/receipt.json"
