// What this browser keeps between the ballot pages, in localStorage: the session (its
// capability authenticates the /api calls), the receipt (docs/bundle_format.md section 8, the
// voter's own copy), the finalization the voter started, and the last verification's verdict
// (so /result can say whether this browser verified the tally). Read defensively: anything
// malformed counts as absent.
import type { ReceiptJson } from './bundle';

export interface Session {
  sessionId: string;
  electionId: string;
  electionConfigHash: string;
  logId: string;
  capabilityToken: string;
  expiresAt: number;
  choices: string[];
  botCount: number;
  // GET /api/sth's logPublicKey when the vote was cast: the bundle's key must be this one.
  logPublicKey?: string;
}

export interface FinalizeResult {
  tally: Record<string, number>;
  counted: number;
  excluded: number;
  treeSize: number;
  expectedVotes: number;
  root: string;
  scenario: string;
  proveMs?: number;
  proofBytes?: number;
  bundleBytes?: number;
  bundleUrl: string;
  signedProverImage?: boolean;
  droppedIndex?: number;
}

export interface ExecutionStatus {
  executionId?: string;
  statusUrl?: string;
  state: 'none' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  scenario?: string;
  createdAt?: number;
  startedAt?: number;
  finishedAt?: number;
  queue?: { position: number; depth: number; estimatedStartAt: number };
  progress?: { segments: number; segmentsProven: number };  // while running: segment jobs
  result?: FinalizeResult;
  error?: string;
}

export interface Verified {
  electionId: string;
  executionId: string;
  valid: boolean;
  failed: string[];
  at: number;
  // What the proof check measured, for the side panel of the other pages.
  segments?: number;
  securityBits?: number;
  minSecurityBits?: number;
  verifyMs?: number;
}

const KEYS = {
  session: 'vp.ballot.session',
  receipt: 'vp.ballot.receipt',
  execution: 'vp.ballot.execution',
  verified: 'vp.ballot.verified',
} as const;

function read(key: string): unknown {
  try {
    const text = localStorage.getItem(key);
    return text === null ? null : (JSON.parse(text) as unknown);
  } catch {
    return null;
  }
}

function write(key: string, value: unknown): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // storage full or refused: the page still works, the next page will not know
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function loadSession(): Session | null {
  const v = read(KEYS.session);
  if (!isObj(v) || typeof v.sessionId !== 'string' || typeof v.capabilityToken !== 'string' ||
      typeof v.electionId !== 'string' || !Array.isArray(v.choices)) {
    return null;
  }
  return v as unknown as Session;
}
export function saveSession(s: Session | null): void {
  write(KEYS.session, s);
}

export function loadReceipt(): ReceiptJson | null {
  const v = read(KEYS.receipt);
  return isObj(v) && typeof v.voteId === 'string' ? (v as unknown as ReceiptJson) : null;
}
export function saveReceipt(r: ReceiptJson | null): void {
  write(KEYS.receipt, r);
}

export function loadExecution(): ExecutionStatus | null {
  const v = read(KEYS.execution);
  return isObj(v) && typeof v.state === 'string' ? (v as unknown as ExecutionStatus) : null;
}
export function saveExecution(e: ExecutionStatus | null): void {
  write(KEYS.execution, e);
}

export function loadVerified(): Verified | null {
  const v = read(KEYS.verified);
  return isObj(v) && typeof v.valid === 'boolean' ? (v as unknown as Verified) : null;
}
export function saveVerified(v: Verified | null): void {
  write(KEYS.verified, v);
}

// Forgets the election: a new session starts from scratch.
export function forgetAll(): void {
  for (const k of Object.values(KEYS)) write(k, null);
}

export function sessionHeaders(s: Session): Record<string, string> {
  return { 'X-Session-ID': s.sessionId, 'X-Session-Capability': s.capabilityToken };
}
