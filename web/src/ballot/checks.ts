// The verification checks of docs/bundle_format.md section 9, run in the browser: the same
// fifteen checks, in the same order and with the same pass/fail/skipped rules as the native
// verifier (src/vp/ballot/verify_bundle.cc), with the hashing, Merkle proofs and the STARK
// verification in WebAssembly (the same C++), and the Ed25519 signatures with WebCrypto.
// Nothing here trusts the server: its proofs are evidence that these checks verify.
//
//   for await (const c of runChecks(input, report)) show(c);   // one check at a time
import { msgRef, type MsgKey } from '../common/i18n';
import {
  BundleError, MIN_SECURITY_BITS_FLOOR, TALLY_AIR_NAMES, readClose, readJournal, readManifest, readProofHeaders,
  readReceipt, readStatement, sameOptions,
  type Journal, type Manifest, type ReceiptJson, type SegmentProofHeader, type Statement, type SthJson,
} from './bundle';
import { hexToBytes } from './session';
import type { Verifier } from './verifier';

export type Group = 'cast-as-intended' | 'recorded-as-cast' | 'counted-as-recorded' | 'proof';
export type Evidence = 'local' | 'public' | 'proof';
export type Status = 'pass' | 'fail' | 'skipped';

export interface Detail {
  key: MsgKey;
  vars: Record<string, string | number>;
}

export interface CheckResult {
  id: string;
  group: Group;
  evidence: Evidence;
  status: Status;
  detail: Detail;
}

export const CHECKS: ReadonlyArray<{ id: string; group: Group; evidence: Evidence }> = [
  { id: 'receiptPresent', group: 'cast-as-intended', evidence: 'local' },
  { id: 'choiceValid', group: 'cast-as-intended', evidence: 'local' },
  { id: 'randomWellFormed', group: 'cast-as-intended', evidence: 'local' },
  { id: 'commitmentRecomputes', group: 'cast-as-intended', evidence: 'local' },
  { id: 'commitmentOnBoard', group: 'recorded-as-cast', evidence: 'public' },
  { id: 'rootAtCastConsistent', group: 'recorded-as-cast', evidence: 'public' },
  { id: 'sthSignature', group: 'recorded-as-cast', evidence: 'public' },
  { id: 'claimedEqualsProven', group: 'counted-as-recorded', evidence: 'proof' },
  { id: 'noExcludedSlots', group: 'counted-as-recorded', evidence: 'proof' },
  { id: 'treeSizeMatches', group: 'counted-as-recorded', evidence: 'public' },
  { id: 'rootMatches', group: 'counted-as-recorded', evidence: 'public' },
  { id: 'myVoteCounted', group: 'counted-as-recorded', evidence: 'proof' },
  { id: 'proofVerifies', group: 'proof', evidence: 'proof' },
  { id: 'verifierVersion', group: 'proof', evidence: 'proof' },
  { id: 'configHashMatches', group: 'proof', evidence: 'proof' },
];

// What the session said when it began (POST /api/session) and the log key GET /api/sth
// published at vote time: the bundle must be for this election and this key.
export interface Announced {
  electionId: string;
  electionConfigHash: string;
  logId: string;
  choices: string[];
  botCount: number;
  logPublicKey?: string;
}

export interface CheckInput {
  files: Map<string, Uint8Array>;
  // The receipt object (unvalidated) or null when the voter has none; its inclusion and
  // consistency evidence may be attached already.
  receipt: unknown;
  // Why evidence is missing from the receipt (e.g. the log's answer), for the failure text.
  evidenceNotes: { inclusion?: string; consistency?: string };
  announced: Announced | null;
  verifier: Verifier;
}

// What the checks learnt, for the side panel and the result page.
export interface Facts {
  proofBytes?: number;
  segments?: number;
  securityBits?: number;
  minSecurityBits?: number;
  verifyMs?: number;
  tally?: Array<[string, number]>;
  manifest?: Manifest;
  statement?: Statement;
  close?: SthJson;
  journal?: Journal;
  receipt?: ReceiptJson;
}

type Outcome = [Status, MsgKey, Record<string, string | number>?];
const pass = (key: MsgKey, vars?: Record<string, string | number>): Outcome => ['pass', key, vars];
const fail = (key: MsgKey, vars?: Record<string, string | number>): Outcome => ['fail', key, vars];
const skip = (key: MsgKey, vars?: Record<string, string | number>): Outcome => ['skipped', key, vars];

interface Parsed<T> {
  value?: T;
  error?: string;
}

function parse<T>(fn: () => T): Parsed<T> {
  try {
    return { value: fn() };
  } catch (e) {
    return { error: e instanceof BundleError ? e.message : String(e) };
  }
}

const text = (b: Uint8Array | undefined): string => (b === undefined ? '' : new TextDecoder().decode(b));
const leaves = (n: number): string => String(n);

function indexList(xs: number[]): string {
  const shown = xs.slice(0, 10).join(', ');
  return xs.length > 10 ? `${shown}, … (${xs.length})` : shown;
}

// Ed25519 through WebCrypto (Chromium 137+, Firefox 129+, Safari 17+). A browser without it
// cannot make this check: that is reported as a failure, never skipped.
async function ed25519Verify(publicKeyHex: string, message: Uint8Array<ArrayBuffer>, signature: Uint8Array<ArrayBuffer>): Promise<boolean> {
  const key = await crypto.subtle.importKey('raw', hexToBytes(publicKeyHex), { name: 'Ed25519' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'Ed25519' }, key, signature, message);
}

// Lets the page paint each check as it completes: a message-channel task, which (unlike a
// nested setTimeout, clamped to 4 ms) costs nothing when no frame is due.
function yieldToBrowser(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(null);
  });
}

export async function* runChecks(input: CheckInput, facts: Facts): AsyncGenerator<CheckResult> {
  const { files, verifier, announced } = input;
  const manifest = parse(() => readManifest(text(files.get('election-manifest.json'))));
  const statement = parse(() => readStatement(text(files.get('public-input.json'))));
  const close = parse(() => readClose(text(files.get('close-statement.json'))));
  const journal = parse(() => readJournal(text(files.get('journal.json'))));
  const proofBytes = files.get('proof.bin') ?? new Uint8Array(0);
  const headers = parse<SegmentProofHeader[]>(() => readProofHeaders(proofBytes));
  const receiptGiven = input.receipt !== null && input.receipt !== undefined;
  const receipt = receiptGiven ? parse(() => readReceipt(input.receipt)) : {};
  facts.manifest = manifest.value;
  facts.statement = statement.value;
  facts.close = close.value;
  facts.journal = journal.value;
  facts.receipt = receipt.value;
  facts.proofBytes = proofBytes.length;
  facts.segments = headers.value?.length;
  facts.minSecurityBits = manifest.value?.minSecurityBits;
  if (statement.value && manifest.value && statement.value.counts.length === manifest.value.config.choices.length) {
    const choices = manifest.value.config.choices;
    facts.tally = statement.value.counts.map((c, i) => [choices[i], c]);
  }

  const missing = (...ps: Array<Parsed<unknown>>): Outcome | null => {
    for (const p of ps) if (p.value === undefined) return fail('d.cannot', { reason: p.error ?? '?' });
    return null;
  };
  const missingReceipt = (): Outcome | null => {
    if (!receiptGiven) return skip('d.noReceipt');
    if (!receipt.value) return skip('d.receiptUnreadable');
    return null;
  };

  const checks: Record<string, () => Outcome | Promise<Outcome>> = {
    receiptPresent: () => {
      if (!receiptGiven) return skip('d.noReceipt');
      if (!receipt.value) return fail('d.reason', { reason: receipt.error ?? '?' });
      return pass('d.receiptPresent.pass', { voteId: receipt.value.voteId, index: receipt.value.bulletinIndex });
    },

    choiceValid: () => {
      const m = missingReceipt() ?? missing(manifest);
      if (m) return m;
      const r = receipt.value!, choices = manifest.value!.config.choices;
      if (r.vote >= choices.length) {
        return fail('d.choiceValid.fail', { vote: r.vote, n: choices.length, max: choices.length - 1 });
      }
      return pass('d.choiceValid.pass', { vote: r.vote, name: choices[r.vote] });
    },

    randomWellFormed: () => {
      const m = missingReceipt();
      if (m) return m;
      if (!/^[0-9a-f]{64}$/.test(receipt.value!.rand)) return fail('d.randomWellFormed.fail');
      return pass('d.randomWellFormed.pass');
    },

    commitmentRecomputes: () => {
      const m = missingReceipt() ?? missing(manifest);
      if (m) return m;
      const r = receipt.value!, eid = manifest.value!.config.electionId;
      if (!/^[0-9a-f]{64}$/.test(r.rand) || r.vote > 0xffffffff) return fail('d.commitmentRecomputes.badInput');
      const c = verifier.commitment(eid, r.vote, r.rand);
      if (!c.ok || typeof c.commitment !== 'string') return fail('d.wasmRefused', { reason: c.reason ?? '?' });
      if (c.commitment !== r.commitment) {
        return fail('d.commitmentRecomputes.fail', { eid, vote: r.vote, computed: c.commitment, held: r.commitment });
      }
      return pass('d.commitmentRecomputes.pass', { eid, vote: r.vote, commitment: c.commitment });
    },

    commitmentOnBoard: () => {
      const m = missingReceipt() ?? missing(close);
      if (m) return m;
      const r = receipt.value!, cs = close.value!;
      if (!r.inclusion) return fail('d.noInclusion', { reason: input.evidenceNotes.inclusion ?? '' });
      const inc = r.inclusion;
      if (inc.leafIndex !== r.bulletinIndex) {
        return fail('d.commitmentOnBoard.otherLeaf', { leaf: inc.leafIndex, index: r.bulletinIndex });
      }
      if (inc.treeSize !== cs.treeSize) {
        return fail('d.commitmentOnBoard.otherTree', { size: inc.treeSize, close: cs.treeSize });
      }
      const v = verifier.inclusion({ commitment: r.commitment, leafIndex: r.bulletinIndex, treeSize: cs.treeSize,
                                     path: inc.path, root: cs.root });
      if (!v.ok) return fail('d.commitmentOnBoard.fail', { index: r.bulletinIndex, reason: v.reason ?? '?' });
      return pass('d.commitmentOnBoard.pass', { index: r.bulletinIndex, size: leaves(cs.treeSize), hashes: inc.path.length });
    },

    rootAtCastConsistent: () => {
      const m = missingReceipt() ?? missing(close);
      if (m) return m;
      const r = receipt.value!, cs = close.value!;
      if (r.sth.treeSize !== r.treeSizeAtCast || r.sth.root !== r.bulletinRootAtCast) {
        return fail('d.rootAtCast.notCast', { sthSize: r.sth.treeSize, size: r.treeSizeAtCast, root: r.bulletinRootAtCast });
      }
      if (r.bulletinIndex >= r.treeSizeAtCast) {
        return fail('d.rootAtCast.outside', { index: r.bulletinIndex, size: r.treeSizeAtCast });
      }
      if (!r.consistency) return fail('d.noConsistency', { reason: input.evidenceNotes.consistency ?? '' });
      const c = r.consistency;
      if (c.oldSize !== r.treeSizeAtCast || c.newSize !== cs.treeSize) {
        return fail('d.rootAtCast.sizes', { from: c.oldSize, to: c.newSize, need1: r.treeSizeAtCast, need2: cs.treeSize });
      }
      const v = verifier.consistency({ oldSize: c.oldSize, newSize: c.newSize, oldRoot: r.bulletinRootAtCast,
                                       newRoot: cs.root, proof: c.proof });
      if (!v.ok) return fail('d.rootAtCast.fail', { reason: v.reason ?? '?' });
      return pass('d.rootAtCast.pass', { old: c.oldSize, new: c.newSize });
    },

    sthSignature: async () => {
      const m = missing(manifest, close);
      if (m) return m;
      const man = manifest.value!;
      if (announced?.logPublicKey && announced.logPublicKey !== man.logPublicKey) {
        return fail('d.sth.keyChanged', { key: man.logPublicKey, known: announced.logPublicKey });
      }
      const heads: Array<[MsgKey, SthJson]> = [['d.which.close', close.value!]];
      if (receipt.value) heads.push(['d.which.receipt', receipt.value.sth]);
      for (const [which, sth] of heads) {
        if (sth.logId !== man.config.logId) {
          return fail('d.sth.otherLog', { which: msgRef(which), logId: sth.logId, expected: man.config.logId });
        }
        const msg = verifier.sthMessage(sth);
        if (!msg.ok || typeof msg.message !== 'string' || typeof msg.signature !== 'string') {
          return fail('d.sth.malformed', { which: msgRef(which), reason: msg.reason ?? '?' });
        }
        let ok: boolean;
        try {
          ok = await ed25519Verify(man.logPublicKey, hexToBytes(msg.message), hexToBytes(msg.signature));
        } catch (e) {
          return fail('d.sth.noEd25519', { reason: String(e) });
        }
        if (!ok) return fail('d.sth.bad', { which: msgRef(which), key: man.logPublicKey });
      }
      return pass(heads.length === 2 ? 'd.sth.pass2' : 'd.sth.pass1', { key: man.logPublicKey });
    },

    claimedEqualsProven: () => {
      const m = missing(journal, statement, manifest);
      if (m) return m;
      const j = journal.value!, s = statement.value!, choices = manifest.value!.config.choices;
      if (s.counts.length !== choices.length) return fail('d.claimed.choices', { n: s.counts.length, m: choices.length });
      const diffs: string[] = [];
      choices.forEach((name, i) => {
        if (!(name in j.tally)) diffs.push(`tally["${name}"] ∅ ≠ ${s.counts[i]}`);
        else if (j.tally[name] !== s.counts[i]) diffs.push(`tally["${name}"] ${j.tally[name]} ≠ ${s.counts[i]}`);
      });
      for (const name of Object.keys(j.tally)) if (!choices.includes(name)) diffs.push(`tally["${name}"] ∉ choices`);
      if (j.counted !== s.counted) diffs.push(`counted ${j.counted} ≠ ${s.counted}`);
      if (j.excluded !== s.excluded.length) diffs.push(`excluded ${j.excluded} ≠ ${s.excluded.length}`);
      if (j.treeSize !== s.treeSize) diffs.push(`treeSize ${j.treeSize} ≠ ${s.treeSize}`);
      if (j.root !== s.root) diffs.push(`root ${j.root} ≠ ${s.root}`);
      if (diffs.length > 0) return fail('d.claimed.fail', { diffs: diffs.join('; ') });
      return pass('d.claimed.pass');
    },

    noExcludedSlots: () => {
      const m = missing(statement);
      if (m) return m;
      const s = statement.value!;
      if (s.excluded.length > 0) {
        return fail('d.noExcluded.fail', { n: s.excluded.length, size: s.treeSize, list: indexList(s.excluded) });
      }
      return pass('d.noExcluded.pass', { size: s.treeSize });
    },

    treeSizeMatches: () => {
      const m = missing(statement, close, journal, manifest);
      if (m) return m;
      const proven = statement.value!.treeSize, closed = close.value!.treeSize;
      const published = journal.value!.expectedVotes, expected = manifest.value!.config.botCount + 1;
      if (proven !== closed || closed !== published || published !== expected) {
        return fail('d.treeSize.fail', { proven, closed, published, expected });
      }
      return pass('d.treeSize.pass', { n: expected });
    },

    rootMatches: () => {
      const m = missing(statement, close);
      if (m) return m;
      if (statement.value!.root !== close.value!.root) {
        return fail('d.rootMatches.fail', { proven: statement.value!.root, closed: close.value!.root });
      }
      return pass('d.rootMatches.pass', { root: close.value!.root });
    },

    myVoteCounted: () => {
      const m = missingReceipt() ?? missing(statement);
      if (m) return m;
      const r = receipt.value!, s = statement.value!;
      if (s.excluded.includes(r.bulletinIndex)) return fail('d.myVote.excluded', { index: r.bulletinIndex });
      if (!r.inclusion) return fail('d.myVote.noInclusion', { reason: input.evidenceNotes.inclusion ?? '' });
      if (r.inclusion.treeSize !== s.treeSize) {
        return fail('d.myVote.otherTree', { size: r.inclusion.treeSize, proven: s.treeSize });
      }
      const v = verifier.inclusion({ commitment: r.commitment, leafIndex: r.bulletinIndex, treeSize: s.treeSize,
                                     path: r.inclusion.path, root: s.root });
      if (!v.ok) return fail('d.myVote.fail', { index: r.bulletinIndex, reason: v.reason ?? '?' });
      return pass('d.myVote.pass', { index: r.bulletinIndex });
    },

    proofVerifies: () => {
      const m = missing(headers, statement, manifest);
      if (m) return m;
      const man = manifest.value!;
      for (let i = 0; i < headers.value!.length; ++i) {
        if (!sameOptions(headers.value![i].options, man.proofOptions)) return fail('d.proof.options', { i });
      }
      const minBits = Math.max(MIN_SECURITY_BITS_FLOOR, man.minSecurityBits);
      const r = verifier.verifyTally(text(files.get('public-input.json')), proofBytes, minBits);
      facts.verifyMs = r.ms;
      if (!r.ok) return fail('d.proof.fail', { reason: r.reason ?? '?' });
      facts.securityBits = r.conjecturedSecurityBits;
      return pass('d.proof.pass', { n: r.segments ?? headers.value!.length, bits: minBits,
                                    actual: (r.conjecturedSecurityBits ?? 0).toFixed(1), ms: r.ms.toFixed(1) });
    },

    verifierVersion: () => {
      const m = missing(manifest);
      if (m) return m;
      const v = manifest.value!.verifierVersion;
      const ours = Object.values(TALLY_AIR_NAMES).join('”, “');
      if (!Object.values(TALLY_AIR_NAMES).includes(v)) return fail('d.version.manifest', { v, ours });
      const ms = missing(statement);
      if (ms) return ms;
      const want = TALLY_AIR_NAMES[statement.value!.version];
      if (v !== want) return fail('d.version.manifest', { v, ours: want });
      const mh = missing(headers);
      if (mh) return mh;
      for (let i = 0; i < headers.value!.length; ++i) {
        const air = headers.value![i].airName;
        if (air !== v) return fail('d.version.segment', { i, air, ours: v });
      }
      return pass('d.version.pass', { ours: v });
    },

    // The config hash recomputed in WebAssembly from the manifest's config (Poseidon2 over its
    // canonical JSON) must be the manifest's and the proven statement's; with a session, the
    // config must also be what the session announced before any vote.
    configHashMatches: () => {
      const m = missing(manifest, statement);
      if (m) return m;
      const man = manifest.value!, s = statement.value!, cfg = man.config;
      const diffs: string[] = [];
      const computed = verifier.configHash(text(files.get('election-manifest.json')));
      if (!computed.ok) {
        diffs.push(`the config hash cannot be computed: ${computed.reason}`);
      } else if (computed.configHash !== man.configHash) {
        diffs.push(`the config hashes to ${computed.configHash}, not manifest.configHash ${man.configHash}`);
      }
      if (man.configHash !== s.configHash) diffs.push(`manifest.configHash ${man.configHash} ≠ statement.configHash ${s.configHash}`);
      if (s.electionId !== cfg.electionId) diffs.push(`statement.electionId ${s.electionId} ≠ config.electionId ${cfg.electionId}`);
      if (s.numChoices !== cfg.choices.length) diffs.push(`statement.numChoices ${s.numChoices} ≠ ${cfg.choices.length}`);
      if (announced) {
        if (man.configHash !== announced.electionConfigHash) diffs.push(`configHash ≠ session ${announced.electionConfigHash}`);
        if (cfg.electionId !== announced.electionId) diffs.push(`config.electionId ≠ session ${announced.electionId}`);
        if (cfg.logId !== announced.logId) diffs.push(`config.logId ≠ session ${announced.logId}`);
        if (JSON.stringify(cfg.choices) !== JSON.stringify(announced.choices)) diffs.push('config.choices ≠ session choices');
        if (cfg.botCount !== announced.botCount) diffs.push(`config.botCount ${cfg.botCount} ≠ session ${announced.botCount}`);
      }
      if (diffs.length > 0) return fail('d.config.fail', { diffs: diffs.join('; ') });
      return pass(announced ? 'd.config.passSession' : 'd.config.passBundle', { hash: man.configHash });
    },
  };

  for (const spec of CHECKS) {
    let outcome: Outcome;
    try {
      outcome = await checks[spec.id]();
    } catch (e) {
      outcome = fail('d.reason', { reason: String(e) });
    }
    const [status, key, vars] = outcome;
    yield { ...spec, status, detail: { key, vars: vars ?? {} } };
    await yieldToBrowser();
  }
}
