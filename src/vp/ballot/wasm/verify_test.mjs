// Node test of the WebAssembly ballot verifier on a bundle and receipt made by the native CLI:
// the tally proof verifies, a flipped proof byte and an edited count are refused with a
// reason, the receipt's commitment recomputes, its inclusion and consistency proofs verify,
// the signed heads verify through WebCrypto (and node:crypto), and random mutations of every
// input are refused without a trap. Prints one JSON line with the verification time.
//   node verify_test.mjs ballot_verifier.js BUNDLE_DIR receipt.json
// Env: VP_TEST_SEED (mutation seed, printed), VP_WASM_RUNS (timed runs after the first, 10),
// VP_WASM_MUTATIONS (random mutations per input, default 24).
import { createRequire } from 'module';
import nodeCrypto from 'crypto';
import fs from 'fs';
import path from 'path';

const require = createRequire(import.meta.url);
const [modPath, dir, receiptPath] = process.argv.slice(2);
if (!modPath || !dir || !receiptPath) {
  console.error('usage: node verify_test.mjs ballot_verifier.js BUNDLE_DIR receipt.json');
  process.exit(2);
}
const BallotVerifier = require(path.resolve(modPath));
const M = await BallotVerifier();

let failures = 0;
function check(cond, what, detail) {
  if (!cond) {
    failures++;
    console.error('FAIL:', what, detail === undefined ? '' : JSON.stringify(detail));
  }
}

// A trap (abort) surfaces as a thrown RuntimeError and leaves the module unusable: fatal.
function call(name, types, args) {
  let text;
  try {
    text = M.ccall(name, 'string', types, args);
  } catch (e) {
    console.error(`FAIL: ${name} trapped: ${e}`);
    process.exit(1);
  }
  return JSON.parse(text);
}

const commitment = (eid, choice, rand) =>
  call('vp_ballot_commitment', ['string', 'number', 'string'], [eid, choice, rand]);
const inclusion = (o) => call('vp_ballot_verify_inclusion', ['string'], [typeof o === 'string' ? o : JSON.stringify(o)]);
const consistency = (o) => call('vp_ballot_verify_consistency', ['string'], [typeof o === 'string' ? o : JSON.stringify(o)]);
const sthMessage = (o) => call('vp_ballot_sth_message', ['string'], [typeof o === 'string' ? o : JSON.stringify(o)]);

// A NUL-terminated UTF-8 copy on the heap. ccall's 'string' copies onto the 5 MiB stack
// (reserving 4 bytes a character), so a public-input.json of a megabyte or more must come
// this way, as a browser page must pass it too.
function heapString(text) {
  const bytes = new TextEncoder().encode(text);
  const ptr = M._malloc(bytes.length + 1);
  M.HEAPU8.set(bytes, ptr);  // HEAPU8 read after malloc: memory may have grown
  M.HEAPU8[ptr + bytes.length] = 0;
  return ptr;
}

function verifyTally(publicInput, proof, minBits = 100) {
  const pub = heapString(publicInput);
  const ptr = M._malloc(Math.max(proof.length, 1));
  M.HEAPU8.set(proof, ptr);
  const t0 = performance.now();
  const r = call('vp_ballot_verify_tally', ['number', 'number', 'number', 'number'],
                 [pub, ptr, proof.length, minBits]);
  r.ms = performance.now() - t0;
  M._free(ptr);
  M._free(pub);
  return r;
}

const refused = (r) => r.ok === false && typeof r.reason === 'string' && r.reason.length > 0;
const hex = (s) => Buffer.from(s, 'hex');

// ---- the bundle's tally proof ------------------------------------------------------------
const publicInput = fs.readFileSync(path.join(dir, 'public-input.json'), 'utf8');
const proof = new Uint8Array(fs.readFileSync(path.join(dir, 'proof.bin')));
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'election-manifest.json'), 'utf8'));
const closeText = fs.readFileSync(path.join(dir, 'close-statement.json'), 'utf8');
const close = JSON.parse(closeText);
const receipt = JSON.parse(fs.readFileSync(receiptPath, 'utf8'));
const statement = JSON.parse(publicInput);

// The first call also compiles the module's hot code (V8 tiers up lazily): timed apart.
const runs = Math.max(1, Number(process.env.VP_WASM_RUNS || 10));
// The config hash recomputed from the manifest's config equals the one the CLI wrote.
const manifestText = fs.readFileSync(path.join(dir, 'election-manifest.json'), 'utf8');
const configHash = call('vp_ballot_config_hash', ['string'], [manifestText]);
check(configHash.ok === true && configHash.configHash === manifest.configHash, 'the config hash recomputes', configHash);
check(refused(call('vp_ballot_config_hash', ['string'], [manifestText.replace(':', ': ')])),
      'a non-canonical manifest is refused');

const first = verifyTally(publicInput, proof, manifest.minSecurityBits);
check(first.ok === true, 'the honest tally proof verifies', first);
const times = [];
for (let i = 0; i < runs; ++i) {
  const r = verifyTally(publicInput, proof, manifest.minSecurityBits);
  check(r.ok === true, 'the honest tally proof verifies again', r);
  times.push(r.ms);
}
times.sort((a, b) => a - b);
const best = times[0], median = times[times.length >> 1];
check(first.segments === statement.segments.length, 'segments reported', first);
check(first.conjecturedSecurityBits >= manifest.minSecurityBits, 'security bits reported', first);
check(refused(verifyTally(publicInput, proof, 257)), 'minBits above 256 refused');
check(refused(verifyTally(publicInput, proof, NaN)), 'minBits NaN refused');

// One flipped byte inside the first segment's stark proof (past the 8-byte magic, the count
// and the length), then one near the end.
const flipped = proof.slice();
flipped[16 + ((proof.length - 16) >> 1)] ^= 0x01;
const flipReason = verifyTally(publicInput, flipped).reason;
check(refused(verifyTally(publicInput, flipped)), 'flipped proof byte refused');
const flippedEnd = proof.slice();
flippedEnd[proof.length - 40] ^= 0x80;
check(refused(verifyTally(publicInput, flippedEnd)), 'flipped proof byte near the end refused');
check(refused(verifyTally(publicInput, proof.slice(0, proof.length - 1))), 'truncated proof refused');
check(refused(verifyTally(publicInput, new Uint8Array(0))), 'empty proof refused');

// An edited count. Alone, the statement's sums no longer agree; moved between two choices in
// the total and in the segment (what a dishonest operator would publish), only the proof
// can tell.
const edited = JSON.parse(publicInput);
edited.counts[0] += 1;
const editReason = verifyTally(JSON.stringify(edited), proof).reason;
check(refused(verifyTally(JSON.stringify(edited), proof)), 'edited total count refused');
const moved = JSON.parse(publicInput);
const seg = moved.segments[0];
const from = seg.counts.findIndex((c) => c > 0);
const to = (from + 1) % moved.numChoices;
seg.counts[from] -= 1; seg.counts[to] += 1;
moved.counts[from] -= 1; moved.counts[to] += 1;
const movedResult = verifyTally(JSON.stringify(moved), proof);
check(refused(movedResult), 'a vote moved between choices (statement consistent) refused',
      movedResult);
check(refused(verifyTally(publicInput.replace(':', ': '), proof)), 'non-canonical JSON refused');
check(refused(verifyTally(publicInput + '\n', proof)), 'trailing newline refused');
const huge = verifyTally(' '.repeat((16 << 20) + 1), proof);
check(refused(huge) && huge.reason.includes('longer than'), 'public input above 16 MiB refused unread', huge);
const deep = verifyTally('['.repeat(200000) + ']'.repeat(200000), proof);
check(refused(deep) && deep.reason.includes('deeper'), 'deeply nested JSON refused', deep);

// ---- the receipt -------------------------------------------------------------------------
const c = commitment(statement.electionId, receipt.vote, receipt.rand);
check(c.ok === true && c.commitment === receipt.commitment, 'receipt commitment recomputes', c);
check(commitment(statement.electionId, receipt.vote + 1, receipt.rand).commitment !==
      receipt.commitment, 'another choice gives another commitment');
check(refused(commitment(statement.electionId, -1, receipt.rand)), 'negative choice refused');
check(refused(commitment(statement.electionId, 0.5, receipt.rand)), 'fractional choice refused');
check(refused(commitment(statement.electionId, 2 ** 32, receipt.rand)), 'choice >= 2^32 refused');
check(refused(commitment(statement.electionId.toUpperCase(), 0, receipt.rand)), 'upper-case UUID refused');
check(refused(commitment(statement.electionId, 0, receipt.rand.slice(2))), 'short random refused');
check(refused(commitment(null, 0, null)), 'missing arguments refused');

check(receipt.inclusion !== undefined, 'receipt carries an inclusion proof');
const inc = {
  commitment: receipt.commitment, leafIndex: receipt.inclusion.leafIndex,
  treeSize: close.treeSize, path: receipt.inclusion.path, root: close.root,
};
check(receipt.inclusion.treeSize === close.treeSize, 'inclusion is for the closing tree');
const incOk = inclusion(inc);
check(incOk.ok === true && incOk.reason === '', 'receipt inclusion verifies', incOk);
check(inclusion({ ...inc, root: statement.root }).ok === true, 'inclusion against the proven root');
check(refused(inclusion({ ...inc, commitment: c.commitment.replace(/^./, (d) => (d === '0' ? '1' : '0')) })),
      'another commitment refused');
check(refused(inclusion({ ...inc, leafIndex: inc.leafIndex ^ 1 })), 'another index refused');
check(refused(inclusion({ ...inc, treeSize: inc.leafIndex })), 'index >= size refused');
if (inc.path.length > 0) {
  const badPath = inc.path.slice();
  badPath[0] = badPath[0].replace(/^./, (d) => (d === '0' ? '1' : '0'));
  check(refused(inclusion({ ...inc, path: badPath })), 'tampered path refused');
  check(refused(inclusion({ ...inc, path: inc.path.slice(1) })), 'short path refused');
}
check(refused(inclusion({ ...inc, extra: 1 })), 'unknown key refused');
check(refused(inclusion({ ...inc, treeSize: 2 ** 53 })), 'size above 2^53 - 1 refused');
check(refused(inclusion({ ...inc, path: Array(129).fill(inc.root) })), '129 hashes refused');

check(receipt.consistency !== undefined, 'receipt carries a consistency proof');
const cons = {
  oldSize: receipt.treeSizeAtCast, newSize: close.treeSize,
  oldRoot: receipt.bulletinRootAtCast, newRoot: close.root, proof: receipt.consistency.proof,
};
const consOk = consistency(cons);
check(consOk.ok === true, 'receipt consistency verifies', consOk);
check(refused(consistency({ ...cons, newRoot: cons.oldRoot, oldRoot: cons.newRoot })) ||
      cons.oldRoot === cons.newRoot, 'swapped roots refused');
check(refused(consistency({ ...cons, oldSize: 0 })), 'old size 0 refused');

// ---- signed tree heads through WebCrypto and node:crypto ----------------------------------
const subtle = globalThis.crypto.subtle;
const logKey = hex(manifest.logPublicKey);
const webKey = await subtle.importKey('raw', logKey, { name: 'Ed25519' }, false, ['verify']);
const nodeKey = nodeCrypto.createPublicKey({
  key: { kty: 'OKP', crv: 'Ed25519', x: logKey.toString('base64url') }, format: 'jwk',
});
async function sthVerifies(sth) {
  const m = sthMessage(sth);
  if (m.ok !== true || m.signature === undefined) return { ok: false, m };
  const msg = hex(m.message), sig = hex(m.signature);
  const web = await subtle.verify({ name: 'Ed25519' }, webKey, sig, msg);
  const nod = nodeCrypto.verify(null, msg, nodeKey, sig);
  return { ok: web && nod, web, nod, bytes: msg.length };
}
const closeSig = await sthVerifies(closeText);
check(closeSig.ok && closeSig.bytes === 97, 'close statement signature verifies', closeSig);
check((await sthVerifies(receipt.sth)).ok, 'receipt head signature verifies');
check(receipt.sth.root === receipt.bulletinRootAtCast && receipt.sth.treeSize === receipt.treeSizeAtCast,
      'receipt head is the tree at cast');
check(!(await sthVerifies({ ...close, treeSize: close.treeSize + 1 })).ok, 'edited head refused by Ed25519');
check(refused(sthMessage({ ...close, signature: close.signature.slice(2) })), 'short signature refused');
check(refused(sthMessage({ ...close, treeSize: 0 })), 'empty tree with a non-empty root refused');

// docs/ballot_log.md section 5: the pinned message and its RFC 8032 TEST 1 signature.
const vector = {
  logId: Buffer.from([...Array(32).keys()]).toString('hex'), treeSize: 7, timestamp: 1700000000000,
  root: '00000000000000010123456789abcdefffffffff000000000000000000000000',
  signature: 'aa38d762e5a696a612db31b1ded94afdddc0e8a78c8febdc6d31fbe704cdd701' +
             '99b4c0d80d619181f2e25455f7d50760c5ed8a75ada999d5dc7fbc913554fe0d',
};
const vm = sthMessage(vector);
check(vm.message === '7661756c7470726f6f663a7374683a7631' +
      '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f' +
      '00000000000000070000018bcfe56800' +
      '00000000000000010123456789abcdefffffffff000000000000000000000000', 'STH message vector', vm);
const rfcKey = await subtle.importKey(
  'raw', hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'),
  { name: 'Ed25519' }, false, ['verify']);
check(await subtle.verify({ name: 'Ed25519' }, rfcKey, hex(vm.signature), hex(vm.message)),
      'STH signature vector verifies through WebCrypto');

// ---- random mutations: refused, never a trap -----------------------------------------------
let seed = Number(process.env.VP_TEST_SEED || 20261121) >>> 0;
const seedUsed = seed;
function rnd(n) {  // xorshift32
  seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
  return seed % n;
}
function mutate(text) {
  const b = Buffer.from(text);
  switch (rnd(3)) {
    case 0: b[rnd(b.length)] = rnd(256); return b.toString('latin1');
    case 1: return b.subarray(0, rnd(b.length)).toString('latin1');
    default: { const i = rnd(b.length); return text.slice(0, i) + text.slice(i, i + 1).repeat(2) + text.slice(i + 1); }
  }
}
const mutations = Number(process.env.VP_WASM_MUTATIONS || 24);
let mutationsRun = 0;
for (let i = 0; i < mutations; ++i) {
  const p = proof.slice();
  const at = 12 + rnd(p.length - 12);
  p[at] ^= 1 + rnd(255);
  check(refused(verifyTally(publicInput, p)), `proof byte ${at} mutated refused (seed ${seedUsed})`);
  const t = mutate(publicInput);
  if (t !== publicInput) check(refused(verifyTally(t, proof)), `mutated public input refused (seed ${seedUsed})`, t.slice(0, 80));
  const incText = mutate(JSON.stringify(inc));
  const ri = inclusion(incText);
  check(typeof ri.ok === 'boolean', 'mutated inclusion answers');
  consistency(mutate(JSON.stringify(cons)));
  sthMessage(mutate(closeText));
  commitment(mutate(statement.electionId), rnd(20), mutate(receipt.rand));
  mutationsRun += 1;
}

const summary = {
  ok: failures === 0, treeSize: statement.treeSize, segments: first.segments,
  proofBytes: proof.length, conjecturedSecurityBits: first.conjecturedSecurityBits,
  wasmVerifyMs: +best.toFixed(2), wasmVerifyMedianMs: +median.toFixed(2),
  firstCallMs: +first.ms.toFixed(2), runs,
  flippedByteReason: flipReason, editedCountReason: editReason,
  movedVoteReason: movedResult.reason, seed: seedUsed, mutations: mutationsRun,
};
console.log(JSON.stringify(summary));
process.exit(failures === 0 ? 0 : 1);
