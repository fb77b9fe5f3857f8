// /verify — every check of docs/bundle_format.md run in this browser: the receipt's
// commitment recomputed, the inclusion and consistency proofs and the signed tree heads
// (WASM + WebCrypto Ed25519), the published tally against the proven one, and the STARK
// tally proof verified in WebAssembly. Each check is shown with its evidence as it completes,
// then a one-line verdict; the server's own run (POST /api/verification/run) is shown beside
// it as a second opinion. A bundle.zip file (and a receipt file) can be verified instead of
// the session's, e.g. a bundle somebody else published.
import { ApiError, apiBytes, apiJson } from '../common/api';
import { clear, downloadLink, formatBytes, h } from '../common/dom';
import { onLangChange, t, tx, type MsgKey } from '../common/i18n';
import { mountLayout, section, statusLine } from '../common/layout';
import { readClose, readReceipt, receiptText, type ReceiptJson } from '../ballot/bundle';
import { CHECKS, runChecks, type Announced, type CheckResult, type Facts, type Group } from '../ballot/checks';
import { renderPanel } from '../ballot/panel';
import { errorText, hex } from '../ballot/session';
import {
  loadExecution, loadReceipt, loadSession, saveReceipt, saveVerified, sessionHeaders, type ExecutionStatus, type Session,
} from '../ballot/state';
import { loadVerifier } from '../ballot/verifier';
import { BUNDLE_MAX_BYTES, readBundleZip } from '../ballot/zip';

const GROUPS: Group[] = ['cast-as-intended', 'recorded-as-cast', 'counted-as-recorded', 'proof'];

const { main, panel } = mountLayout('verify', 'verify.title');
renderPanel(panel);
main.appendChild(tx(h('p', { class: 'lead' }), 'verify.lead'));

// ---- inputs ----------------------------------------------------------------------------------

const receiptInput = h('input', { type: 'file', id: 'receipt-file', accept: '.json,application/json' });
const bundleInput = h('input', { type: 'file', id: 'bundle-file', accept: '.zip,application/zip' });
const sources = h('div', { id: 'sources' });
const runButton = tx(h('button', { type: 'button', class: 'primary', id: 'run' }), 'verify.run');
main.appendChild(section('verify.inputsTitle', sources,
  h('div', { class: 'field' }, tx(h('label', { for: 'receipt-file' }), 'verify.receiptFile'), receiptInput,
    tx(h('p', { class: 'hint' }), 'verify.receiptFileHint')),
  h('div', { class: 'field' }, tx(h('label', { for: 'bundle-file' }), 'verify.bundleFile'), bundleInput,
    tx(h('p', { class: 'hint' }), 'verify.bundleFileHint')),
  h('p', {}, runButton)));

function describeSources(): void {
  clear(sources);
  const r = loadReceipt();
  const e = loadExecution();
  const ul = h('ul');
  ul.appendChild(receiptInput.files?.length
    ? tx(h('li'), 'verify.receiptFromFile', { name: receiptInput.files[0].name })
    : r ? tx(h('li'), 'verify.receiptSaved', { index: r.bulletinIndex }) : tx(h('li'), 'verify.receiptNone'));
  ul.appendChild(bundleInput.files?.length
    ? tx(h('li'), 'verify.bundleFromFile', { name: bundleInput.files[0].name })
    : e?.state === 'succeeded' ? tx(h('li'), 'verify.bundleServer', { id: e.executionId ?? '' })
      : tx(h('li'), 'verify.bundleNone'));
  sources.appendChild(ul);
}
receiptInput.addEventListener('change', describeSources);
bundleInput.addEventListener('change', describeSources);
describeSources();

// ---- results ---------------------------------------------------------------------------------

const verdict = h('p', { id: 'verdict', role: 'status', 'aria-live': 'polite', class: 'verdict' });
const progress = statusLine();
progress.id = 'verify-progress';
const downloads = h('p', { class: 'actions', id: 'downloads' });
const mine = h('div', { class: 'opinion', id: 'browser-checks' });
const theirs = h('div', { class: 'opinion', id: 'server-opinion' });
main.appendChild(section('verify.resultsTitle', verdict, progress, downloads,
  h('div', { class: 'opinions' },
    h('div', {}, tx(h('h3'), 'verify.mineTitle'), tx(h('p', { class: 'hint' }), 'verify.mineHint'), mine),
    h('div', {}, tx(h('h3'), 'verify.theirsTitle'), tx(h('p', { class: 'hint' }), 'verify.theirsHint'), theirs))));

let facts: Facts = {};
let results: CheckResult[] = [];

function checkItem(c: CheckResult): HTMLElement {
  const li = h('li', { class: `check ${c.status}`, 'data-check': c.id, 'data-status': c.status });
  const mark = c.status === 'pass' ? '✓' : c.status === 'fail' ? '✗' : '–';
  li.append(
    h('span', { class: 'mark', 'aria-hidden': 'true' }, mark),
    h('div', {},
      h('p', { class: 'check-title' }, tx(h('strong'), `check.${c.id}` as MsgKey), ' ',
        h('code', {}, c.id), ' ',
        tx(h('span', { class: `status-label ${c.status}` }), `status.${c.status}` as MsgKey), ' ',
        tx(h('span', { class: 'evidence' }), `evidence.${c.evidence}` as MsgKey)),
      tx(h('p', { class: 'what' }), `check.${c.id}.what` as MsgKey),
      tx(h('p', { class: 'detail' }), c.detail.key, c.detail.vars)));
  return li;
}

function groupLists(root: HTMLElement): Map<Group, HTMLElement> {
  clear(root);
  const lists = new Map<Group, HTMLElement>();
  for (const g of GROUPS) {
    const ol = h('ol', { class: 'checks' });
    lists.set(g, ol);
    root.appendChild(h('section', { class: 'group' }, tx(h('h4'), `group.${g}` as MsgKey), ol));
  }
  return lists;
}

function setVerdict(key: MsgKey, vars: Record<string, string | number> = {}, kind: 'ok' | 'bad' | 'busy' = 'busy'): void {
  verdict.className = `verdict ${kind}`;
  tx(verdict, key, vars);
}

// ---- the run ---------------------------------------------------------------------------------

async function bundleBytes(e: ExecutionStatus | null): Promise<{ bytes: Uint8Array; fromServer: boolean }> {
  const file = bundleInput.files?.[0];
  if (file) {
    if (file.size > BUNDLE_MAX_BYTES) throw new Error(t('verify.bundleTooLarge', { bytes: file.size }));
    return { bytes: new Uint8Array(await file.arrayBuffer()), fromServer: false };
  }
  if (e?.state !== 'succeeded' || !e.result?.bundleUrl) throw new Error(t('verify.noBundle'));
  return { bytes: await apiBytes(e.result.bundleUrl, BUNDLE_MAX_BYTES), fromServer: true };
}

async function receiptObject(): Promise<unknown> {
  const file = receiptInput.files?.[0];
  if (file) {
    const text = await file.text();
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      return { unreadable: `receipt.json: not JSON (${(err as Error).message})` };
    }
  }
  return loadReceipt();
}

// The election id of a bundle's statement, or null when it has none that reads.
function electionOf(files: Map<string, Uint8Array>): string | null {
  try {
    const statement = JSON.parse(new TextDecoder().decode(files.get('public-input.json'))) as { electionId?: unknown };
    return typeof statement.electionId === 'string' ? statement.electionId : null;
  } catch {
    return null;
  }
}

// The evidence of the voter's vote against the closing tree, fetched from the log: the
// inclusion proof of the vote and the consistency proof from the tree at cast. The checks
// verify both; a refusal of the log is recorded as the reason the evidence is missing.
async function attachEvidence(receipt: unknown, session: Session | null, closeText: string,
                              notes: { inclusion?: string; consistency?: string }): Promise<unknown> {
  let r: ReceiptJson;
  try {
    r = readReceipt(receipt);
  } catch {
    return receipt;  // the checks report what is wrong with it
  }
  if (session === null) {
    if (!r.inclusion) notes.inclusion = t('verify.noSessionEvidence');
    if (!r.consistency) notes.consistency = t('verify.noSessionEvidence');
    return r;
  }
  const headers = sessionHeaders(session);
  // First the evidence against the tree the operator closed (under S3 that tree is not a
  // prefix of the log, so the log's own proofs would not match its root), from the server's
  // recorded verification: the second opinion below then reads the same record instead of
  // verifying again. It is only evidence: the checks verify it against the signed close
  // statement.
  let closed: { inclusion?: unknown; consistency?: unknown } = {};
  try {
    const { data } = await apiJson<{ evidence?: { inclusion?: unknown; consistency?: unknown } }>(
      'POST', '/api/verification/run', { headers, body: {} });
    closed = data.evidence ?? {};
  } catch {
    // Then the log's proofs below.
  }
  if (closed.inclusion !== undefined) {
    r.inclusion = closed.inclusion as ReceiptJson['inclusion'];
  } else {
    try {
      const { data } = await apiJson<{ leafIndex: number; treeSize: number; path: string[] }>(
        'GET', `/api/bulletin/${encodeURIComponent(r.voteId)}/proof`, { headers });
      r.inclusion = { leafIndex: data.leafIndex, path: data.path, treeSize: data.treeSize };
    } catch (err) {
      delete r.inclusion;
      notes.inclusion = errorText(err);
    }
  }
  if (closed.consistency !== undefined) {
    r.consistency = closed.consistency as ReceiptJson['consistency'];
    return r;
  }
  try {
    const close = readClose(closeText);
    if (r.treeSizeAtCast > close.treeSize) {
      // No proof can exist: the log would refuse the request. Said without asking.
      delete r.consistency;
      notes.consistency = t('verify.closeSmaller', { close: close.treeSize, cast: r.treeSizeAtCast });
      return r;
    }
    const { data } = await apiJson<{ oldSize: number; newSize: number; proof: string[] }>(
      'GET', `/api/bulletin/consistency-proof?oldSize=${r.treeSizeAtCast}&newSize=${close.treeSize}`, { headers });
    r.consistency = { newSize: data.newSize, oldSize: data.oldSize, proof: data.proof };
  } catch (err) {
    delete r.consistency;
    notes.consistency = err instanceof ApiError ? errorText(err) : String(err);
  }
  return r;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes.slice().buffer)));
}

async function run(): Promise<void> {
  runButton.disabled = true;
  clear(downloads);
  clear(theirs);
  facts = {};
  results = [];
  const lists = groupLists(mine);
  delete verdict.dataset.failed;
  delete verdict.dataset.verifyMs;
  delete verdict.dataset.checksMs;
  const started = performance.now();
  setVerdict('verify.running');
  const session = loadSession();
  const execution = loadExecution();
  try {
    tx(progress, 'verify.loadingWasm');
    const verifier = await loadVerifier();
    tx(progress, 'verify.wasmLoaded', { kb: (verifier.wasmBytes / 1024).toFixed(0), ms: verifier.loadMs.toFixed(0) });

    const { bytes, fromServer } = await bundleBytes(execution);
    const digest = await sha256Hex(bytes);
    const dl = downloadLink(bytes, 'bundle.zip', 'application/zip');
    dl.id = 'bundle-download';
    tx(dl, 'verify.downloadBundle', { size: formatBytes(bytes.length) });
    downloads.append(dl, ' ', h('span', { class: 'mono small' }, `SHA-256 ${digest}`));

    let files: Map<string, Uint8Array>;
    try {
      files = await readBundleZip(bytes);
    } catch (err) {
      setVerdict('verify.unreadable', { reason: String((err as Error).message ?? err) }, 'bad');
      clear(mine);
      return;
    }

    const notes: { inclusion?: string; consistency?: string } = {};
    const closeText = new TextDecoder().decode(files.get('close-statement.json'));
    const given = await receiptObject();
    // The session's log holds evidence only for the session's own election: a bundle of
    // another election (chosen from a file) keeps the evidence its receipt carries.
    const receipt = given === null ? null
      : await attachEvidence(given, session !== null && electionOf(files) === session.electionId ? session : null,
                             closeText, notes);
    const announced: Announced | null = session && (fromServer || !bundleInput.files?.length)
      ? { electionId: session.electionId, electionConfigHash: session.electionConfigHash, logId: session.logId,
          choices: session.choices, botCount: session.botCount, logPublicKey: session.logPublicKey }
      : null;

    tx(progress, 'verify.checking');
    for await (const c of runChecks({ files, receipt, evidenceNotes: notes, announced, verifier }, facts)) {
      results.push(c);
      lists.get(c.group)?.appendChild(checkItem(c));
    }
    clear(progress);

    const failed = results.filter((c) => c.status === 'fail').map((c) => c.id);
    const receiptChecked = !results.some((c) => c.id === 'receiptPresent' && c.status === 'skipped');
    if (failed.length === 0) {
      setVerdict(receiptChecked ? 'verify.verdictOk' : 'verify.verdictOkNoReceipt', {}, 'ok');
    } else {
      setVerdict('verify.verdictFail', { checks: failed.map((id) => `${t(`check.${id}` as MsgKey)} (${id})`).join(', ') }, 'bad');
    }
    verdict.dataset.failed = failed.join(',');
    if (facts.verifyMs !== undefined) verdict.dataset.verifyMs = facts.verifyMs.toFixed(2);
    // From the click to the verdict: bundle bytes, unzip, evidence, every check.
    verdict.dataset.checksMs = (performance.now() - started).toFixed(1);

    if (facts.receipt && (receiptInput.files?.length ?? 0) === 0) {
      saveReceipt(facts.receipt);
      const rd = downloadLink(receiptText(facts.receipt), 'receipt.json', 'application/json');
      rd.id = 'receipt-download';
      tx(rd, 'verify.downloadReceipt');
      downloads.append(' ', rd);
    }
    if (fromServer && execution?.executionId && facts.manifest) {
      saveVerified({ electionId: facts.manifest.config.electionId, executionId: execution.executionId,
                     valid: failed.length === 0, failed, at: Date.now(), segments: facts.segments,
                     securityBits: facts.securityBits, minSecurityBits: facts.minSecurityBits, verifyMs: facts.verifyMs });
    }
    renderPanel(panel, facts);
    if (session !== null && execution?.state === 'succeeded') await secondOpinion(session, fromServer);
    else tx(theirs, 'verify.noServer');
  } catch (err) {
    setVerdict('verify.error', { reason: errorText(err) }, 'bad');
    clear(progress);
  } finally {
    runButton.disabled = false;
  }
}

interface ServerReport {
  valid: boolean;
  checks: Array<{ id: string; group: string; evidence: string; status: string; detail: string }>;
  executionId?: string;
}

async function secondOpinion(session: Session, sameBundle: boolean): Promise<void> {
  clear(theirs);
  tx(theirs, 'verify.asking');
  try {
    const { data } = await apiJson<ServerReport>('POST', '/api/verification/run', { headers: sessionHeaders(session), body: {} });
    clear(theirs);
    theirs.dataset.valid = String(data.valid);
    const p = h('p', { class: `verdict ${data.valid ? 'ok' : 'bad'}`, id: 'server-verdict' });
    const failed = data.checks.filter((c) => c.status === 'fail').map((c) => c.id);
    tx(p, data.valid ? 'verify.serverOk' : 'verify.serverFail', { checks: failed.join(', ') });
    theirs.appendChild(p);
    if (!sameBundle) theirs.appendChild(tx(h('p', { class: 'hint' }), 'verify.serverOtherBundle'));
    const ol = h('ol', { class: 'checks compact' });
    for (const c of data.checks) {
      const ours = results.find((r) => r.id === c.id);
      const agree = ours !== undefined && ours.status === c.status;
      const li = h('li', { class: `check ${c.status}`, 'data-check': c.id, 'data-status': c.status },
        h('span', { class: 'mark', 'aria-hidden': 'true' }, c.status === 'pass' ? '✓' : c.status === 'fail' ? '✗' : '–'),
        h('div', {},
          h('p', { class: 'check-title' }, h('code', {}, c.id), ' ',
            tx(h('span', { class: `status-label ${c.status}` }), `status.${c.status === 'pass' || c.status === 'fail' ? c.status : 'skipped'}` as MsgKey),
            ' ', tx(h('span', { class: agree ? 'agree' : 'disagree' }), agree ? 'verify.agrees' : 'verify.differs')),
          h('p', { class: 'detail', lang: 'en' }, c.detail)));
      ol.appendChild(li);
    }
    theirs.appendChild(ol);
  } catch (err) {
    clear(theirs);
    theirs.appendChild(h('p', { class: 'error' }, errorText(err)));
  }
}

runButton.addEventListener('click', () => void run());
onLangChange(() => {
  describeSources();
  renderPanel(panel, facts);
});

// Placeholders until the first run, so the page shows what it will check.
{
  const lists = groupLists(mine);
  for (const spec of CHECKS) {
    lists.get(spec.group)?.appendChild(h('li', { class: 'check pending', 'data-check': spec.id },
      h('span', { class: 'mark', 'aria-hidden': 'true' }, '·'),
      h('div', {}, h('p', { class: 'check-title' }, tx(h('strong'), `check.${spec.id}` as MsgKey), ' ', h('code', {}, spec.id)),
        tx(h('p', { class: 'what' }), `check.${spec.id}.what` as MsgKey))));
  }
  tx(verdict, 'verify.notRun');
  tx(theirs, 'verify.serverLater');
}
