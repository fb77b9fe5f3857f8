#!/usr/bin/env bash
# The `vaultproof stark` contract: prove prints the documented JSON; verify exits 0 with
# {"valid":true}; a tampered, truncated, empty or mismatched proof exits 1 with
# {"valid":false,"reason"}; usage errors exit 2; no input ends in a signal.
set -uo pipefail
BIN=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0; passed=0
check() {  # check NAME EXPECTED_RC CMD...
  local name=$1 want=$2; shift 2
  "$@" >"$dir/out" 2>"$dir/err"; local rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL $name: exit $rc, want $want"; cat "$dir/out" "$dir/err"; fail=$((fail+1)); return
  fi
  passed=$((passed+1))
}
check prove 0 "$BIN" stark prove --air poseidon2-chain --length 200 --seed 3 --out "$dir/p.bin"
for k in publicInputs proofBytes proveMs traceRows conjecturedSecurityBits provenSecurityBits; do
  grep -q "\"$k\"" "$dir/out" || { echo "FAIL prove output lacks $k"; fail=$((fail+1)); }
done
check verify 0 "$BIN" stark verify --air poseidon2-chain --proof "$dir/p.bin"
grep -q '"valid":true' "$dir/out" || { echo "FAIL verify output"; cat "$dir/out"; fail=$((fail+1)); }
size=$(stat -c %s "$dir/p.bin")
for off in 0 17 $((size / 3)) $((size / 2)) $((size - 1)); do
  cp "$dir/p.bin" "$dir/t.bin"
  printf '\xa5' | dd of="$dir/t.bin" bs=1 seek="$off" conv=notrunc status=none
  if cmp -s "$dir/p.bin" "$dir/t.bin"; then printf '\x5a' | dd of="$dir/t.bin" bs=1 seek="$off" conv=notrunc status=none; fi
  check "tamper@$off" 1 "$BIN" stark verify --air poseidon2-chain --proof "$dir/t.bin"
  grep -q '"reason"' "$dir/out" || { echo "FAIL tamper@$off: no reason"; fail=$((fail+1)); }
done
head -c $((size - 9)) "$dir/p.bin" > "$dir/trunc.bin"
check truncated 1 "$BIN" stark verify --air poseidon2-chain --proof "$dir/trunc.bin"
: > "$dir/empty.bin"
check empty 1 "$BIN" stark verify --air poseidon2-chain --proof "$dir/empty.bin"
check wrong-air 1 "$BIN" stark verify --air fibonacci --proof "$dir/p.bin"
check usage-no-proof 2 "$BIN" stark verify --air poseidon2-chain
check usage-unknown-air 2 "$BIN" stark prove --air nope --length 10 --seed 1 --out "$dir/x.bin"
check missing-file 2 "$BIN" stark verify --air poseidon2-chain --proof "$dir/does-not-exist"
echo "$passed passed, $fail failed"
[ "$fail" -eq 0 ]
