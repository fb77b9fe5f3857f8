#!/usr/bin/env bash
# The `vaultproof ballot` contract (docs/bundle_format.md, apps/vaultproof/ballot_cmd.h):
# simulate prints the documented JSON; verify exits 0 for an honest bundle (S0) and 1 for
# every cheating scenario (S1..S5), failing exactly the checks simulate expected; a bundle with
# one byte of any of its five files flipped exits 1; a malformed bundle exits 1 with
# {"valid":false,"error"}; usage errors exit 2; nothing ends in a signal.
set -uo pipefail
BIN=$1
TAMPER=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0; passed=0
check() {  # check NAME EXPECTED_RC CMD...
  local name=$1 want=$2; shift 2
  "$@" >"$dir/out" 2>"$dir/err"; local rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL $name: exit $rc, want $want"; head -c 3000 "$dir/out" "$dir/err"; echo
    fail=$((fail+1)); return 1
  fi
  passed=$((passed+1))
}
expect_in_out() {  # expect_in_out NAME PATTERN
  grep -q -- "$2" "$dir/out" || { echo "FAIL $1: output lacks $2"; head -c 3000 "$dir/out"; echo; fail=$((fail+1)); }
}

for s in S0 S1 S2 S3 S4 S5; do
  check "simulate $s" 0 "$BIN" ballot simulate --bots 63 --scenario "$s" \
    --out "$dir/$s.zip" --receipt-out "$dir/$s.receipt.json" || continue
  for k in electionId scenario treeSize proveMs proofBytes tally expectedFailingChecks; do
    expect_in_out "simulate $s" "\"$k\""
  done
  expected=$(sed -n 's/.*"expectedFailingChecks":\[\([^]]*\)\].*/\1/p' "$dir/out" | tr -d '"' | tr ',' ' ')
  want=1; [ "$s" = S0 ] && want=0
  check "verify $s" "$want" "$BIN" ballot verify "$dir/$s.zip" --receipt "$dir/$s.receipt.json" || continue
  expect_in_out "verify $s" '"checks":\['
  if [ "$s" = S0 ]; then
    expect_in_out "verify S0" '"valid":true'
    [ -z "$expected" ] || { echo "FAIL simulate S0 expects failures: $expected"; fail=$((fail+1)); }
    grep -q '"status":"fail"' "$dir/out" && { echo "FAIL verify S0 has a failing check"; fail=$((fail+1)); }
  else
    expect_in_out "verify $s" '"valid":false'
    [ -n "$expected" ] || { echo "FAIL simulate $s expects no failure"; fail=$((fail+1)); }
    for id in $expected; do expect_in_out "verify $s" "\"id\":\"$id\",\"status\":\"fail\""; done
    nfail=$(grep -o '"status":"fail"' "$dir/out" | wc -l)
    nwant=$(echo "$expected" | wc -w)
    [ "$nfail" -eq "$nwant" ] || { echo "FAIL verify $s: $nfail checks failed, want $nwant ($expected)"; fail=$((fail+1)); }
  fi
done

# Anyone can verify without the receipt; the voter's checks are then skipped.
check "verify S0 without receipt" 0 "$BIN" ballot verify "$dir/S0.zip"
expect_in_out "verify S0 without receipt" '"status":"skipped"'
check "verify S1 without receipt" 1 "$BIN" ballot verify "$dir/S1.zip"

# One byte of any file flipped: rejected, whichever byte.
for f in proof.bin public-input.json election-manifest.json close-statement.json journal.json; do
  for permille in 0 250 500 750 1000; do
    if ! "$TAMPER" "$dir/S0.zip" "$dir/t.zip" "$f" "$permille" >/dev/null; then
      echo "FAIL tamper $f@$permille: the helper failed"; fail=$((fail+1)); continue
    fi
    check "flip $f@$permille" 1 "$BIN" ballot verify "$dir/t.zip" --receipt "$dir/S0.receipt.json"
    expect_in_out "flip $f@$permille" '"valid":false'
  done
done

# Version 1 bundles keep verifying: fixtures/bundle-v1-S0.zip was made on 2026-11-22 by the
# last version 1 build (af57205: `vaultproof ballot simulate --bots 3 --scenario S0`).
FIX=$(cd "$(dirname "$0")" && pwd)/fixtures
check "verify version 1 S0" 0 "$BIN" ballot verify "$FIX/bundle-v1-S0.zip" --receipt "$FIX/receipt-v1-S0.json"
expect_in_out "verify version 1 S0" '"id":"verifierVersion","status":"pass"'
grep -q '"status":"fail"' "$dir/out" && { echo "FAIL verify version 1 S0 has a failing check"; fail=$((fail+1)); }
for f in proof.bin public-input.json election-manifest.json; do
  if "$TAMPER" "$FIX/bundle-v1-S0.zip" "$dir/t1.zip" "$f" 500 >/dev/null; then
    check "flip version 1 $f" 1 "$BIN" ballot verify "$dir/t1.zip" --receipt "$FIX/receipt-v1-S0.json"
  else
    echo "FAIL tamper version 1 $f: the helper failed"; fail=$((fail+1))
  fi
done

# Another voter's receipt, or a receipt edited, fails the voter's checks.
check "foreign receipt" 1 "$BIN" ballot verify "$dir/S0.zip" --receipt "$dir/S2.receipt.json"
expect_in_out "foreign receipt" '"id":"commitmentRecomputes","status":"fail"'
sed 's/"vote": \([0-9]\)/"vote": 1\1/' "$dir/S0.receipt.json" > "$dir/r.json"
check "receipt vote edited" 1 "$BIN" ballot verify "$dir/S0.zip" --receipt "$dir/r.json"
echo '{"not":"a receipt"}' > "$dir/r.json"
check "malformed receipt" 1 "$BIN" ballot verify "$dir/S0.zip" --receipt "$dir/r.json"
expect_in_out "malformed receipt" '"id":"receiptPresent","status":"fail"'

# Malformed bundles: exit 1 with the reason.
head -c 200 "$dir/S0.zip" > "$dir/trunc.zip"
check "truncated bundle" 1 "$BIN" ballot verify "$dir/trunc.zip"
expect_in_out "truncated bundle" '"error":"bundle: '
: > "$dir/empty.zip"
check "empty bundle" 1 "$BIN" ballot verify "$dir/empty.zip"
echo "not a zip" > "$dir/text.zip"
check "text bundle" 1 "$BIN" ballot verify "$dir/text.zip"
expect_in_out "text bundle" '"valid":false'

# Usage errors: exit 2.
check "usage: no bundle" 2 "$BIN" ballot verify
check "usage: missing bundle" 2 "$BIN" ballot verify "$dir/does-not-exist.zip"
check "usage: missing receipt" 2 "$BIN" ballot verify "$dir/S0.zip" --receipt "$dir/nope.json"
check "usage: unknown scenario" 2 "$BIN" ballot simulate --scenario S9 --out "$dir/x.zip"
check "usage: choice out of range" 2 "$BIN" ballot simulate --choice 5 --out "$dir/x.zip"
check "usage: no --out" 2 "$BIN" ballot simulate --scenario S0
check "usage: negative bots" 2 "$BIN" ballot simulate --bots -1 --out "$dir/x.zip"
check "usage: S3 without bots" 2 "$BIN" ballot simulate --bots 0 --scenario S3 --out "$dir/x.zip"

echo "$passed passed, $fail failed"
[ "$fail" -eq 0 ]
