// Node test: the WebAssembly verifier accepts a proof made by the native prover, rejects a
// tampered copy with a reason, and reports its verification time.
//   node verify_test.mjs stark_verifier.js proof.bin poseidon2-chain
import { createRequire } from 'module';
import fs from 'fs';

const require = createRequire(import.meta.url);
const [modPath, proofPath, air] = process.argv.slice(2);
const StarkVerifier = require(modPath);
const M = await StarkVerifier();
const verify = M.cwrap('vp_stark_verify', 'number', ['number', 'number', 'string', 'number', 'number']);

function run(bytes) {
  const ptr = M._malloc(bytes.length);
  M.HEAPU8.set(bytes, ptr);  // re-read HEAPU8 after malloc: memory may have grown
  const cap = 512;
  const out = M._malloc(cap);
  const t0 = performance.now();
  const ok = verify(ptr, bytes.length, air, out, cap);
  const ms = performance.now() - t0;
  const reason = M.UTF8ToString(out);
  M._free(ptr);
  M._free(out);
  return { ok, reason, ms };
}

const proof = new Uint8Array(fs.readFileSync(proofPath));
let best = Infinity, first;
for (let i = 0; i < 5; ++i) {
  const r = run(proof);
  if (!first) first = r;
  if (r.ok !== 1) { console.error('FAIL: valid proof rejected:', r.reason); process.exit(1); }
  best = Math.min(best, r.ms);
}
const bad = proof.slice();
bad[bad.length - 40] ^= 1;
const r2 = run(bad);
if (r2.ok !== 0 || r2.reason.length === 0) { console.error('FAIL: tampered proof accepted'); process.exit(1); }
const r3 = run(proof.slice(0, 100));
if (r3.ok !== 0) { console.error('FAIL: truncated proof accepted'); process.exit(1); }
console.log(JSON.stringify({ valid: true, proofBytes: proof.length, wasmVerifyMs: +best.toFixed(2),
                             firstCallMs: +first.ms.toFixed(2), tamperedReason: r2.reason,
                             truncatedReason: r3.reason }));
