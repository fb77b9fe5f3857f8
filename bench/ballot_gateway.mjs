// A whole election through the gateway (docs/api.md, "Ballot"): a real `vaultproof serve` on
// SQLite with `ballot.bot_count = votes - 1` (web/tests/harness.mjs starts it), one session,
// one vote whose commitment the WebAssembly verifier's code computes (as the /vote page does;
// the bots vote in the same request), then POST /api/finalize S0 polled until it ends. Reports
// the cast and finalize times and the execution's per-segment figures as one JSON object.
// Results: bench/results/tally.json ("gateway").
//   node bench/ballot_gateway.mjs [--votes 1048576] [--bin-dir build/bin]
//                                 [--wasm build/ballot-wasm/ballot_verifier.js]
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGateway } from '../web/tests/harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
};
const votes = Number(arg('--votes', String(1 << 20)));
const binDir = path.resolve(arg('--bin-dir', path.join(ROOT, 'build/bin')));
const wasm = path.resolve(arg('--wasm', path.join(ROOT, 'build/ballot-wasm/ballot_verifier.js')));
if (!Number.isInteger(votes) || votes < 1 || votes > (1 << 24)) {
  console.error('usage: node bench/ballot_gateway.mjs [--votes 1..16777216] [--bin-dir DIR] [--wasm ballot_verifier.js]');
  process.exit(2);
}

const verifier = await createRequire(import.meta.url)(wasm)();
const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-ballot-bench-web-'));
const gw = await startGateway(binDir, webRoot, { extraToml: `bot_count = ${votes - 1}` });
const seconds = (t0) => Number(((performance.now() - t0) / 1000).toFixed(1));

async function call(method, route, body, session) {
  const headers = { 'content-type': 'application/json' };
  if (session) {
    headers['x-session-id'] = session.sessionId;
    headers['x-session-capability'] = session.capabilityToken;
  }
  const r = await fetch(gw.base + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok) throw new Error(`${method} ${route}: ${r.status} ${JSON.stringify(j)}`);
  return j.data;
}

try {
  const session = await call('POST', '/api/session', {});
  const choice = 1;
  const rand = crypto.randomBytes(32).toString('hex');
  const c = JSON.parse(verifier.ccall('vp_ballot_commitment', 'string', ['string', 'number', 'string'],
                                      [session.electionId, choice, rand]));
  if (!c.ok) throw new Error(`commitment: ${c.reason}`);

  let t0 = performance.now();
  const receipt = await call('POST', '/api/vote', { commitment: c.commitment, vote: choice, rand }, session);
  const castS = seconds(t0);
  console.error(`cast: ${castS} s (tree size ${receipt.sth.treeSize ?? receipt.sth.tree_size ?? '?'})`);

  t0 = performance.now();
  let status = await call('POST', '/api/finalize', { scenarioId: 'S0' }, session);
  while (status.state === 'queued' || status.state === 'running') {
    await new Promise((res) => setTimeout(res, 500));
    status = await call('GET', `/api/sessions/${session.sessionId}/status`, undefined, session);
  }
  const finalizeS = seconds(t0);
  if (status.state !== 'succeeded') throw new Error(`finalize ended ${status.state}: ${JSON.stringify(status.error)}`);
  const r = status.result;
  const seg = r.segmentProveMs;
  console.log(JSON.stringify({
    votes, castS, finalizeS,
    provingS: Number((r.proveMs / 1000).toFixed(1)),
    segments: r.segments,
    segmentMsMean: Math.round(seg.reduce((a, b) => a + b, 0) / seg.length),
    segmentMsMax: Math.max(...seg),
    proofBytes: r.proofBytes, bundleBytes: r.bundleBytes, counted: r.counted,
    loadAvg: os.loadavg()[0], date: new Date().toISOString().slice(0, 10),
  }));
} finally {
  await gw.stop();
  fs.rmSync(webRoot, { recursive: true, force: true });
}
