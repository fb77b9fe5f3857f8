// The audit log's hash chain re-checked in the browser (docs/audit_log.md §1.1, §1.2 and
// §4.1 step 2) over the records an operator is looking at: every record from seq 1 (or, past
// a cap, from just before the first shown) to the last shown is fetched unfiltered, its
// canonical bytes rebuilt and SHA-256("vp-audit-v1" || previous hash || canonical) compared
// with its stored hash; then each shown record must be the chain's record of that seq.
// The signed digests (§2) and the chain head are not served by the API, so they are not
// checked here: the page says so (strings c.a.not.*).
//
//   const r = await verifyShown(events, (cursor, limit) => client.get('/v1/audit/events', {cursor, limit}));

export interface AuditEvent {
  seq: number;
  time: number;
  requestId: string;
  principal: string;
  action: string;
  resource: string;
  outcome: string;
  sourceIp: string;
  details: string;
  hash: string;
}

export interface AuditPage {
  events: unknown[];
  nextCursor: number | null;
}

const TEXT_FIELDS = ['requestId', 'principal', 'action', 'resource', 'outcome', 'sourceIp', 'details'] as const;
const enc = new TextEncoder();
const DOMAIN = enc.encode('vp-audit-v1');

// A record as the API sends it, or why not.
export function parseEvent(x: unknown): AuditEvent | string {
  if (typeof x !== 'object' || x === null) return 'not an object';
  const o = x as Record<string, unknown>;
  for (const k of ['seq', 'time'] as const) {
    if (typeof o[k] !== 'number' || !Number.isSafeInteger(o[k])) return `${k}: not an integer`;
  }
  if ((o.seq as number) < 1) return 'seq: below 1';
  for (const k of TEXT_FIELDS) if (typeof o[k] !== 'string') return `${k}: not a string`;
  if (typeof o.hash !== 'string' || !/^[0-9a-fA-F]{64}$/.test(o.hash)) return 'hash: not 64 hex digits';
  return {
    seq: o.seq as number, time: o.time as number, requestId: o.requestId as string,
    principal: o.principal as string, action: o.action as string, resource: o.resource as string,
    outcome: o.outcome as string, sourceIp: o.sourceIp as string, details: o.details as string,
    hash: (o.hash as string).toLowerCase(),
  };
}

// §1.1: u8 version=1, u64 seq, i64 time_ms, then each text field as u32 length || UTF-8 bytes,
// all big-endian. The stored text is valid UTF-8 (§1 normalization), so JSON carries it exactly.
export function canonical(e: AuditEvent): Uint8Array<ArrayBuffer> {
  const fields = TEXT_FIELDS.map((k) => enc.encode(e[k]));
  const out = new Uint8Array(17 + fields.reduce((n, f) => n + 4 + f.length, 0));
  const view = new DataView(out.buffer);
  view.setUint8(0, 1);
  view.setBigUint64(1, BigInt(e.seq));
  view.setBigInt64(9, BigInt(e.time));
  let at = 17;
  for (const f of fields) {
    view.setUint32(at, f.length);
    out.set(f, at + 4);
    at += 4 + f.length;
  }
  return out;
}

export function hexOf(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

function bytesOf(hexText: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hexText.length / 2);
  for (let i = 0; i < out.length; ++i) out[i] = parseInt(hexText.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// §1.2: hash_i = SHA-256("vp-audit-v1" || hash_{i-1} || canonical_i).
export async function chainHash(prev: Uint8Array, e: AuditEvent): Promise<Uint8Array<ArrayBuffer>> {
  const c = canonical(e);
  const msg = new Uint8Array(DOMAIN.length + prev.length + c.length);
  msg.set(DOMAIN, 0);
  msg.set(prev, DOMAIN.length);
  msg.set(c, DOMAIN.length + prev.length);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', msg));
}

// The worked example of docs/audit_log.md §1.2, run before every verification so that a
// broken implementation here cannot report a good chain.
export async function knownAnswer(): Promise<boolean> {
  const h = await chainHash(new Uint8Array(32), {
    seq: 1, time: 1700000000000, requestId: 'req-1', principal: 'key-1', action: 'POST /v1/echo',
    resource: '/v1/echo', outcome: 'success', sourceIp: '127.0.0.1', details: '{}', hash: '',
  });
  return hexOf(h) === '1fe2b239b4379fd0fd4bfb4ab1c19002b60c7ec6eeee137694e4f35f1181fa60';
}

export type FindingKind = 'gap' | 'hash' | 'shown' | 'absent' | 'malformed';
export interface Finding {
  kind: FindingKind;
  seq: number;
  expected?: number;
  why?: string;
}

export interface VerifyResult {
  state: 'ok' | 'bad' | 'too-large' | 'self-test';
  first: number;   // first seq walked
  last: number;    // last seq walked (the last shown)
  anchor: number;  // 0: walked from the genesis hash; else the seq whose stored hash was trusted
  walked: number;  // records hashed
  shown: number;
  findings: Finding[];
}

// Records from seq 1 are walked when the last shown is at most CAP; otherwise from the first
// shown, trusting the stored hash of the record before it (the result says so).
export const CAP = 50000;

function sameRecord(a: AuditEvent, b: AuditEvent): boolean {
  return a.seq === b.seq && a.time === b.time && a.hash === b.hash && TEXT_FIELDS.every((k) => a[k] === b[k]);
}

export async function verifyShown(shown: AuditEvent[], fetchPage: (cursor: number, limit: number) => Promise<AuditPage>,
                                  onProgress: (walked: number) => void = () => {}): Promise<VerifyResult> {
  const seqs = shown.map((e) => e.seq);
  const lo = Math.min(...seqs), hi = Math.max(...seqs);
  const result: VerifyResult = { state: 'ok', first: 1, last: hi, anchor: 0, walked: 0, shown: shown.length, findings: [] };
  if (!(await knownAnswer())) {
    result.state = 'self-test';
    return result;
  }
  let prev = new Uint8Array(32);
  if (hi > CAP) {
    if (hi - lo + 1 > CAP) {
      result.state = 'too-large';
      result.first = lo;
      return result;
    }
    result.first = lo;
    result.anchor = lo - 1;
    if (lo > 1) {
      const page = await fetchPage(lo - 2, 1);
      const before = page.events.length > 0 ? parseEvent(page.events[0]) : 'missing';
      if (typeof before === 'string' || before.seq !== lo - 1) {
        result.findings.push({ kind: 'gap', seq: typeof before === 'string' ? lo - 1 : before.seq, expected: lo - 1 });
      } else {
        prev = bytesOf(before.hash);
      }
    }
  }
  const wanted = new Set(seqs);
  const chain = new Map<number, AuditEvent>();
  let expected = result.first;
  let cursor: number | null = result.first - 1;
  walk: while (cursor !== null && expected <= hi) {
    const page = await fetchPage(cursor, Math.min(1000, hi - expected + 1));
    if (page.events.length === 0) break;
    for (const raw of page.events) {
      const e = parseEvent(raw);
      if (typeof e === 'string') {
        result.findings.push({ kind: 'malformed', seq: expected, why: e });
        continue;
      }
      if (e.seq > hi) break walk;
      result.walked++;
      if (e.seq !== expected) {
        // Deleted or out-of-order records: report, then re-synchronize on the stored hash.
        result.findings.push({ kind: 'gap', seq: e.seq, expected });
        prev = bytesOf(e.hash);
      } else {
        const h = await chainHash(prev, e);
        if (hexOf(h) !== e.hash) {
          result.findings.push({ kind: 'hash', seq: e.seq });
          prev = bytesOf(e.hash);
        } else {
          prev = h;
        }
      }
      if (wanted.has(e.seq)) chain.set(e.seq, e);
      expected = e.seq + 1;
    }
    onProgress(result.walked);
    cursor = page.nextCursor;
  }
  for (const s of shown) {
    const c = chain.get(s.seq);
    if (c === undefined) result.findings.push({ kind: 'absent', seq: s.seq });
    else if (!sameRecord(c, s)) result.findings.push({ kind: 'shown', seq: s.seq });
  }
  result.state = result.findings.length === 0 ? 'ok' : 'bad';
  return result;
}
