#!/bin/sh
# Builds the pages into OUT_DIR with Vite (docs/web.md): the WebAssembly ballot verifier must be
# built first (src/vp/ballot/wasm/build.sh). Exits 0 without building, saying why, when the
# npm packages are not installed (scripts/setup runs `npm ci` here).
# Usage: web/build.sh OUT_DIR BALLOT_VERIFIER_JS
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$1
WASM=$2
if [ ! -f "$HERE/node_modules/vite/bin/vite.js" ]; then
  echo "web: skipped: web/node_modules is missing (run scripts/setup, or npm ci --prefix web)" >&2
  exit 0
fi
cd "$HERE"
# Vite does not type-check: tsc does (a missing Japanese string is a type error, strings.ts).
node node_modules/typescript/bin/tsc --noEmit -p .
VP_BALLOT_WASM="$WASM" VP_WEB_OUT="$OUT" node node_modules/vite/bin/vite.js build --logLevel warn
