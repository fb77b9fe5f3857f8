#!/bin/sh
# Builds the ballot verifier to WebAssembly with Debian's emscripten 3.1.6 (apt-get install
# emscripten; nlohmann-json3-dev for the header). Output: $OUT/ballot_verifier.js (single file,
# wasm embedded; loads in Node 20 and browsers). Entry points: ballot_wasm.h.
# Usage: src/vp/ballot/wasm/build.sh [OUT_DIR]   (default /tmp/ballot-wasm)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../../.." && pwd)          # repo/src
OUT=${1:-/tmp/ballot-wasm}
mkdir -p "$OUT/include" "$OUT/obj"
# The optimizer needs Debian's node modules (acorn); see the shared emscripten notes.
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"

# em++ has its own sysroot and does not search /usr/include: expose nlohmann's headers alone.
NLOHMANN=${NLOHMANN_INCLUDE:-}
if [ -z "$NLOHMANN" ]; then
  for d in /usr/include /usr/local/include; do
    if [ -f "$d/nlohmann/json.hpp" ]; then NLOHMANN=$d; break; fi
  done
fi
[ -n "$NLOHMANN" ] || { echo "build.sh: nlohmann/json.hpp not found (set NLOHMANN_INCLUDE)" >&2; exit 2; }
ln -sfn "$NLOHMANN/nlohmann" "$OUT/include/nlohmann"

# JSON_NOEXCEPTION everywhere: nlohmann aborts instead of throwing, so the code checks every
# type before reading (it must anyway: parse runs with allow_exceptions=false).
FLAGS="-std=c++20 -O2 -Wall -Wextra -Wno-unknown-pragmas -DJSON_NOEXCEPTION -I$SRC -isystem $OUT/include"

# Every file builds with -fno-exceptions but vp/base/json.cc (strict parsing, shared with the
# native build), whose try/catch around nlohmann is for the native build. In emscripten's
# default mode (DISABLE_EXCEPTION_CATCHING=1) that catch is dropped, and nothing in it throws
# here (parse runs with allow_exceptions=false under JSON_NOEXCEPTION); the link therefore
# omits -fno-exceptions, so libc++'s throw stubs it references resolve (any throw aborts).
# prover.cc comes along because tally.cc holds ProveSegment too; the linker drops what the
# entry points never reach.
OBJS=""
for f in vp/base/status.cc vp/base/bytes.cc vp/base/json.cc \
    vp/stark/field.cc vp/stark/ntt.cc vp/stark/blake3.cc vp/stark/poseidon2.cc \
    vp/stark/merkle.cc vp/stark/channel.cc vp/stark/random.cc vp/stark/options.cc \
    vp/stark/proof.cc vp/stark/layout.cc vp/stark/prover.cc vp/stark/verifier.cc \
    vp/ballot/commitment.cc vp/ballot/bulletin.cc vp/ballot/sth.cc vp/ballot/tally.cc \
    vp/ballot/tally_air.cc vp/ballot/election.cc vp/ballot/wasm/ballot_wasm.cc; do
  o="$OUT/obj/$(echo "$f" | tr / _).o"
  case $f in
    vp/base/json.cc) EXC="" ;;
    *) EXC="-fno-exceptions" ;;
  esac
  # shellcheck disable=SC2086
  em++ $FLAGS $EXC -c "$SRC/$f" -o "$o"
  OBJS="$OBJS $o"
done
# shellcheck disable=SC2086
em++ -O2 $OBJS \
  -sMODULARIZE=1 -sEXPORT_NAME=BallotVerifier -sSINGLE_FILE=1 -sALLOW_MEMORY_GROWTH=1 \
  -sWASM_BIGINT=1 -sENVIRONMENT=node,web \
  -sEXPORTED_FUNCTIONS=_vp_ballot_commitment,_vp_ballot_verify_inclusion,_vp_ballot_verify_consistency,_vp_ballot_sth_message,_vp_ballot_config_hash,_vp_ballot_verify_tally,_malloc,_free \
  -sEXPORTED_RUNTIME_METHODS=ccall,cwrap,HEAPU8,UTF8ToString \
  -o "$OUT/ballot_verifier.js"
echo "$OUT/ballot_verifier.js"
