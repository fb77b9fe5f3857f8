// The bundle's documents and the receipt as docs/bundle_format.md defines them, read as
// strictly as the native verifier reads them: canonical JSON for the bundle's files (sorted
// keys, no whitespace, printable ASCII; one document, one byte string), exactly the listed
// keys, integers in [0, 2^53 - 1], hashes and ids in their text forms. A malformed document
// throws BundleError naming the file and the field; the checks report it.

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

export interface SthJson {
  logId: string;
  treeSize: number;
  timestamp: number;
  root: string;
  signature: string;
}

export interface InclusionJson {
  leafIndex: number;
  path: string[];
  treeSize: number;
}
export interface ConsistencyJson {
  newSize: number;
  oldSize: number;
  proof: string[];
}

export interface ReceiptJson {
  voteId: string;
  commitment: string;
  bulletinIndex: number;
  bulletinRootAtCast: string;
  treeSizeAtCast: number;
  timestamp: number;
  sth: SthJson;
  vote: number;
  rand: string;
  inclusion?: InclusionJson;
  consistency?: ConsistencyJson;
}

export interface ElectionConfig {
  botCount: number;
  choices: string[];
  electionId: string;
  logId: string;
}

export interface ProofOptions {
  grindingBits: number;
  logBlowup: number;
  logFoldingFactor: number;
  logRemainderMax: number;
  numQueries: number;
  zeroKnowledge: boolean;
}

export interface Manifest {
  config: ElectionConfig;
  configHash: string;
  formatVersion: number;
  logPublicKey: string;
  minSecurityBits: number;
  proofOptions: ProofOptions;
  verifierVersion: string;
}

// A segment of a version 2 statement is a run of blocks (complete subtrees), each with its
// size and root; of a version 1 statement, one subtree and its root (docs/bundle_format.md).
export interface Block {
  root: string;
  size: number;
}

export interface Segment {
  blocks?: Block[];
  counts: number[];
  excluded: number[];
  offset: number;
  root?: string;
  size: number;
}

export interface Statement {
  version: number;  // 1 when public-input.json has no "version" key
  configHash: string;
  counted: number;
  counts: number[];
  electionId: string;
  excluded: number[];
  excludedCommitment: string;
  numChoices: number;
  root: string;
  segments: Segment[];
  treeSize: number;
}

export interface Journal {
  counted: number;
  excluded: number;
  expectedVotes: number;
  root: string;
  tally: Record<string, number>;
  treeSize: number;
}

// The tally AIR of each statement version; this verifier takes both.
export const TALLY_AIR_NAMES: Record<number, string> = { 1: 'vaultproof-tally-v1', 2: 'vaultproof-tally-v2' };
export const MIN_SECURITY_BITS_FLOOR = 100;

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const isHash = (s: unknown): s is string => typeof s === 'string' && HEX64.test(s);
export const isUuid = (s: unknown): s is string => typeof s === 'string' && UUID.test(s);

// ---- canonical JSON ------------------------------------------------------------------------

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

// Parses a bundle file that must be in the canonical form of section 1.
export function parseCanonical(text: string, file: string): unknown {
  for (let i = 0; i < text.length; ++i) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) throw new BundleError(`${file}: byte ${i} is not printable ASCII`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new BundleError(`${file}: not JSON (${(e as Error).message})`);
  }
  if (canonical(doc) !== text) {
    throw new BundleError(`${file}: not in canonical form (sorted keys, no whitespace, no repeated keys)`);
  }
  return doc;
}

// ---- a strict object reader ----------------------------------------------------------------

class Obj {
  private readonly seen = new Set<string>();
  constructor(private readonly o: Record<string, unknown>, private readonly where: string) {}

  static of(v: unknown, where: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BundleError(`${where}: expected an object`);
    return new Obj(v as Record<string, unknown>, where);
  }
  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.o, key);
  }
  raw(key: string): unknown {
    if (!this.has(key)) throw new BundleError(`${this.where}.${key}: missing`);
    this.seen.add(key);
    return this.o[key];
  }
  uint(key: string): number {
    const v = this.raw(key);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new BundleError(`${this.where}.${key}: expected an integer in [0, 2^53 - 1]`);
    }
    return v;
  }
  str(key: string): string {
    const v = this.raw(key);
    if (typeof v !== 'string') throw new BundleError(`${this.where}.${key}: expected a string`);
    return v;
  }
  bool(key: string): boolean {
    const v = this.raw(key);
    if (typeof v !== 'boolean') throw new BundleError(`${this.where}.${key}: expected true or false`);
    return v;
  }
  hash(key: string): string {
    const v = this.str(key);
    if (!HEX64.test(v)) throw new BundleError(`${this.where}.${key}: expected 64 lower-case hex digits`);
    return v;
  }
  uuid(key: string): string {
    const v = this.str(key);
    if (!UUID.test(v)) throw new BundleError(`${this.where}.${key}: expected a lower-case UUID`);
    return v;
  }
  list<T>(key: string, item: (v: unknown, where: string) => T): T[] {
    const v = this.raw(key);
    if (!Array.isArray(v)) throw new BundleError(`${this.where}.${key}: expected an array`);
    return v.map((x, i) => item(x, `${this.where}.${key}[${i}]`));
  }
  obj(key: string): Obj {
    return Obj.of(this.raw(key), `${this.where}.${key}`);
  }
  // Every key of the object was read: no unknown key.
  done(): void {
    for (const k of Object.keys(this.o)) {
      if (!this.seen.has(k)) throw new BundleError(`${this.where}: unknown key "${k}"`);
    }
  }
}

const uintItem = (v: unknown, where: string): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new BundleError(`${where}: expected an integer`);
  return v;
};
const hashItem = (v: unknown, where: string): string => {
  if (!isHash(v)) throw new BundleError(`${where}: expected 64 lower-case hex digits`);
  return v;
};
const strItem = (v: unknown, where: string): string => {
  if (typeof v !== 'string') throw new BundleError(`${where}: expected a string`);
  return v;
};

function strictlyIncreasing(xs: number[], where: string): number[] {
  for (let i = 1; i < xs.length; ++i) {
    if (xs[i] <= xs[i - 1]) throw new BundleError(`${where}: indices must be strictly increasing`);
  }
  return xs;
}

// ---- the documents -------------------------------------------------------------------------

export function readSth(v: unknown, where: string, withSignature = true): SthJson {
  const o = Obj.of(v, where);
  const sth: SthJson = {
    logId: o.hash('logId'),
    root: o.hash('root'),
    signature: '',
    timestamp: o.uint('timestamp'),
    treeSize: o.uint('treeSize'),
  };
  if (withSignature || o.has('signature')) {
    sth.signature = o.str('signature');
    if (!HEX128.test(sth.signature)) throw new BundleError(`${where}.signature: expected 128 lower-case hex digits`);
  }
  o.done();
  return sth;
}

export function readConfig(v: unknown, where: string): ElectionConfig {
  const o = Obj.of(v, where);
  const c: ElectionConfig = {
    botCount: o.uint('botCount'),
    choices: o.list('choices', strItem),
    electionId: o.uuid('electionId'),
    logId: o.hash('logId'),
  };
  o.done();
  if (c.choices.length < 2 || c.choices.length > 16) throw new BundleError(`${where}.choices: 2 to 16 choices`);
  if (new Set(c.choices).size !== c.choices.length) throw new BundleError(`${where}.choices: names must be distinct`);
  return c;
}

export function readManifest(text: string): Manifest {
  const f = 'election-manifest.json';
  const o = Obj.of(parseCanonical(text, f), f);
  const po = o.obj('proofOptions');
  const m: Manifest = {
    config: readConfig(o.raw('config'), `${f}.config`),
    configHash: o.hash('configHash'),
    formatVersion: o.uint('formatVersion'),
    logPublicKey: o.hash('logPublicKey'),
    minSecurityBits: o.uint('minSecurityBits'),
    proofOptions: {
      grindingBits: po.uint('grindingBits'),
      logBlowup: po.uint('logBlowup'),
      logFoldingFactor: po.uint('logFoldingFactor'),
      logRemainderMax: po.uint('logRemainderMax'),
      numQueries: po.uint('numQueries'),
      zeroKnowledge: po.bool('zeroKnowledge'),
    },
    verifierVersion: o.str('verifierVersion'),
  };
  po.done();
  o.done();
  if (m.formatVersion !== 1) throw new BundleError(`${f}.formatVersion: ${m.formatVersion}, this reader knows 1`);
  if (m.minSecurityBits < MIN_SECURITY_BITS_FLOOR || m.minSecurityBits > 256) {
    throw new BundleError(`${f}.minSecurityBits: expected 100 to 256`);
  }
  return m;
}

export function readStatement(text: string): Statement {
  const f = 'public-input.json';
  const o = Obj.of(parseCanonical(text, f), f);
  const version = o.has('version') ? o.uint('version') : 1;
  if (o.has('version') && version !== 2) {
    throw new BundleError(`${f}.version: ${version} is not 2 (version 1 has no version key)`);
  }
  const s: Statement = {
    version,
    configHash: o.hash('configHash'),
    counted: o.uint('counted'),
    counts: o.list('counts', uintItem),
    electionId: o.uuid('electionId'),
    excluded: strictlyIncreasing(o.list('excluded', uintItem), `${f}.excluded`),
    excludedCommitment: o.hash('excludedCommitment'),
    numChoices: o.uint('numChoices'),
    root: o.hash('root'),
    segments: o.list('segments', (v, where) => {
      const so = Obj.of(v, where);
      const seg: Segment = {
        counts: so.list('counts', uintItem),
        excluded: strictlyIncreasing(so.list('excluded', uintItem), `${where}.excluded`),
        offset: so.uint('offset'),
        size: so.uint('size'),
      };
      if (version === 1) {
        seg.root = so.hash('root');
      } else {
        seg.blocks = so.list('blocks', (b, bwhere) => {
          const bo = Obj.of(b, bwhere);
          const block: Block = { root: bo.hash('root'), size: bo.uint('size') };
          bo.done();
          return block;
        });
        if (seg.blocks.length === 0) throw new BundleError(`${where}.blocks: expected at least one block`);
      }
      so.done();
      return seg;
    }),
    treeSize: o.uint('treeSize'),
  };
  o.done();
  return s;
}

export function readClose(text: string): SthJson {
  const f = 'close-statement.json';
  return readSth(parseCanonical(text, f), f);
}

export function readJournal(text: string): Journal {
  const f = 'journal.json';
  const o = Obj.of(parseCanonical(text, f), f);
  const j: Journal = {
    counted: o.uint('counted'),
    excluded: o.uint('excluded'),
    expectedVotes: o.uint('expectedVotes'),
    root: o.hash('root'),
    tally: readTally(o.raw('tally'), `${f}.tally`),
    treeSize: o.uint('treeSize'),
  };
  o.done();
  return j;
}

function readTally(v: unknown, where: string): Record<string, number> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BundleError(`${where}: expected an object`);
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(v as Record<string, unknown>)) out[k] = uintItem(n, `${where}.${k}`);
  return out;
}

// The voter's receipt (section 8): strict keys, any whitespace.
export function readReceipt(v: unknown): ReceiptJson {
  const f = 'receipt';
  const o = Obj.of(v, f);
  const r: ReceiptJson = {
    bulletinIndex: o.uint('bulletinIndex'),
    bulletinRootAtCast: o.hash('bulletinRootAtCast'),
    commitment: o.hash('commitment'),
    rand: o.str('rand'),
    sth: readSth(o.raw('sth'), `${f}.sth`),
    timestamp: o.uint('timestamp'),
    treeSizeAtCast: o.uint('treeSizeAtCast'),
    vote: o.uint('vote'),
    voteId: o.uuid('voteId'),
  };
  if (o.has('inclusion')) {
    const io = o.obj('inclusion');
    r.inclusion = { leafIndex: io.uint('leafIndex'), path: io.list('path', hashItem), treeSize: io.uint('treeSize') };
    io.done();
  }
  if (o.has('consistency')) {
    const co = o.obj('consistency');
    r.consistency = { newSize: co.uint('newSize'), oldSize: co.uint('oldSize'), proof: co.list('proof', hashItem) };
    co.done();
  }
  o.done();
  return r;
}

// The receipt in the key order of the format (sorted), as the CLI reads it.
export function receiptText(r: ReceiptJson): string {
  return JSON.stringify(JSON.parse(canonical(r)), null, 2);
}

// ---- proof.bin -----------------------------------------------------------------------------

export interface SegmentProofHeader {
  bytes: number;
  version: number;
  options: ProofOptions;
  airName: string;
}

const MAX_SEGMENTS = 1 << 16;

// proof.bin's container (tally.h SerializeSegmentProofs) and each stark proof's header
// (docs/proof_format.md): enough to compare the options and the AIR with the manifest's.
// The proof itself is checked by the WASM verifier.
export function readProofHeaders(proof: Uint8Array): SegmentProofHeader[] {
  const magic = 'VPTALLY1';
  if (proof.length < 12 || String.fromCharCode(...proof.subarray(0, 8)) !== magic) {
    throw new BundleError('proof.bin: not a vaultproof tally proof (bad magic)');
  }
  const view = new DataView(proof.buffer, proof.byteOffset, proof.byteLength);
  const count = view.getUint32(8, true);
  if (count === 0 || count > MAX_SEGMENTS) throw new BundleError('proof.bin: segment count out of range');
  const out: SegmentProofHeader[] = [];
  let at = 12;
  for (let i = 0; i < count; ++i) {
    if (proof.length - at < 4) throw new BundleError('proof.bin: truncated segment length');
    const len = view.getUint32(at, true);
    at += 4;
    if (len === 0 || proof.length - at < len) throw new BundleError(`proof.bin: segment ${i}: truncated`);
    const p = proof.subarray(at, at + len);
    if (p.length < 13 || String.fromCharCode(...p.subarray(0, 4)) !== 'VPSK') {
      throw new BundleError(`proof.bin: segment ${i}: not a stark proof (bad magic)`);
    }
    const version = p[4] | (p[5] << 8);
    const nameLen = p[12];
    if (p.length < 13 + nameLen) throw new BundleError(`proof.bin: segment ${i}: truncated AIR name`);
    out.push({
      bytes: len,
      version,
      options: {
        logBlowup: p[6],
        numQueries: p[7],
        grindingBits: p[8],
        logFoldingFactor: p[9],
        logRemainderMax: p[10],
        zeroKnowledge: p[11] === 1,
      },
      airName: String.fromCharCode(...p.subarray(13, 13 + nameLen)),
    });
    at += len;
  }
  if (at !== proof.length) throw new BundleError('proof.bin: trailing bytes');
  return out;
}

export function sameOptions(a: ProofOptions, b: ProofOptions): boolean {
  return a.grindingBits === b.grindingBits && a.logBlowup === b.logBlowup && a.logFoldingFactor === b.logFoldingFactor &&
         a.logRemainderMax === b.logRemainderMax && a.numQueries === b.numQueries && a.zeroKnowledge === b.zeroKnowledge;
}
