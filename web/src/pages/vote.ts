// /vote — the voter's side of the cast: a session, a choice, a 256-bit random from
// crypto.getRandomValues, the commitment computed here by the WASM verifier's code, the cast,
// and the receipt (kept in this browser and offered as receipt.json), then the bots' votes
// arriving on the board.
import { ApiError, apiJson } from '../common/api';
import { byId, clear, downloadLink, h, sleep } from '../common/dom';
import { formatNumber, formatTime, onLangChange, t, tx } from '../common/i18n';
import { mountLayout, section, statusLine } from '../common/layout';
import { readSth, type ReceiptJson, receiptText } from '../ballot/bundle';
import { renderPanel } from '../ballot/panel';
import { forgetAll, loadReceipt, loadSession, saveReceipt, saveSession, sessionHeaders, type Session } from '../ballot/state';
import { loadVerifier } from '../ballot/verifier';
import { errorText, hex, hexToBytes, startSession } from '../ballot/session';

const { main, panel } = mountLayout('vote', 'vote.title');
renderPanel(panel);
main.appendChild(tx(h('p', { class: 'lead' }), 'vote.lead'));
const status = statusLine();
main.appendChild(status);
const body = h('div');
main.appendChild(body);

function fail(e: unknown): void {
  status.classList.add('error');
  status.textContent = errorText(e);
}

async function render(): Promise<void> {
  clear(body);
  status.classList.remove('error');
  const session = loadSession();
  const receipt = loadReceipt();
  if (session === null) {
    const start = tx(h('button', { type: 'button', class: 'primary', id: 'start-session' }), 'vote.startSession');
    start.addEventListener('click', () => {
      start.disabled = true;
      tx(status, 'vote.creatingSession');
      startSession().then(() => render()).catch((e) => {
        start.disabled = false;
        fail(e);
      });
    });
    body.appendChild(section('vote.sessionTitle', tx(h('p'), 'vote.sessionBody'), start));
    return;
  }
  if (receipt === null) {
    body.appendChild(ballotForm(session));
  } else {
    body.appendChild(receiptCard(session, receipt));
    body.appendChild(progressCard(session));
    if (session.logPublicKey) void checkReceiptHead(receipt, session.logPublicKey);
  }
  const again = tx(h('button', { type: 'button', class: 'secondary', id: 'new-election' }), 'vote.newElection');
  again.addEventListener('click', () => {
    if (receipt !== null && !window.confirm(t('vote.newElectionConfirm'))) return;
    forgetAll();
    renderPanel(panel);
    void render();
  });
  body.appendChild(h('p', {}, again));
}

function ballotForm(session: Session): HTMLElement {
  const form = h('form', { id: 'ballot', novalidate: true });
  const fs = h('fieldset', {}, tx(h('legend'), 'vote.choiceLegend'));
  session.choices.forEach((name, i) => {
    const id = `choice-${i}`;
    const input = h('input', { type: 'radio', name: 'choice', id, value: i, required: true });
    fs.appendChild(h('div', { class: 'choice' }, input, h('label', { for: id }, name)));
  });
  const steps = h('ol', { class: 'howto' },
    tx(h('li'), 'vote.how1'), tx(h('li'), 'vote.how2'), tx(h('li'), 'vote.how3'));
  const submit = tx(h('button', { type: 'submit', class: 'primary', id: 'cast' }), 'vote.cast');
  form.append(fs, tx(h('p', { class: 'note' }), 'vote.howTitle'), steps, submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const picked = form.querySelector<HTMLInputElement>('input[name=choice]:checked');
    if (picked === null) {
      status.classList.add('error');
      tx(status, 'vote.pickOne');
      fs.querySelector<HTMLInputElement>('input')?.focus();
      return;
    }
    submit.disabled = true;
    cast(session, Number(picked.value)).catch((e) => {
      submit.disabled = false;
      fail(e);
    });
  });
  return section('vote.ballotTitle', form);
}

async function cast(session: Session, choice: number): Promise<void> {
  status.classList.remove('error');
  tx(status, 'vote.drawing');
  const rand = hex(crypto.getRandomValues(new Uint8Array(32)));
  tx(status, 'vote.computing');
  const verifier = await loadVerifier();
  const c = verifier.commitment(session.electionId, choice, rand);
  if (!c.ok || typeof c.commitment !== 'string') throw new Error(t('vote.commitmentFailed', { reason: c.reason ?? '?' }));
  tx(status, 'vote.casting', { commitment: c.commitment });
  const { data } = await apiJson<Omit<ReceiptJson, 'vote' | 'rand'>>('POST', '/api/vote', {
    headers: sessionHeaders(session), body: { commitment: c.commitment, vote: choice, rand },
  });
  const receipt: ReceiptJson = { ...data, vote: choice, rand };
  if (receipt.commitment !== c.commitment) throw new Error(t('vote.receiptMismatch'));
  saveReceipt(receipt);
  // The log key as published now: the bundle at the end must carry this one.
  const { data: sth } = await apiJson<{ logPublicKey: string }>('GET', '/api/sth', { headers: sessionHeaders(session) });
  saveSession({ ...session, logPublicKey: sth.logPublicKey });
  tx(status, 'vote.cast.done', { index: receipt.bulletinIndex });
  renderPanel(panel);
  await render();
}

// The receipt's signed tree head, checked at once with WebCrypto: the log committed to a
// tree holding this vote.
async function checkReceiptHead(receipt: ReceiptJson, logPublicKey: string): Promise<void> {
  const out = document.getElementById('receipt-check');
  if (out === null) return;
  try {
    const verifier = await loadVerifier();
    const sth = readSth(receipt.sth, 'receipt.sth');
    const m = verifier.sthMessage(sth);
    if (!m.ok || typeof m.message !== 'string' || typeof m.signature !== 'string') throw new Error(m.reason ?? '?');
    const key = await crypto.subtle.importKey('raw', hexToBytes(logPublicKey), { name: 'Ed25519' }, false, ['verify']);
    const ok = await crypto.subtle.verify({ name: 'Ed25519' }, key, hexToBytes(m.signature), hexToBytes(m.message));
    out.className = ok ? 'ok' : 'bad';
    tx(out, ok ? 'vote.headOk' : 'vote.headBad', { size: sth.treeSize });
  } catch (e) {
    out.className = 'bad';
    tx(out, 'vote.headError', { reason: String(e) });
  }
}

function receiptCard(session: Session, r: ReceiptJson): HTMLElement {
  const dl = h('dl', { class: 'receipt', id: 'receipt' });
  const row = (key: Parameters<typeof tx>[1], value: string, mono = false) =>
    dl.append(tx(h('dt'), key), h('dd', { class: mono ? 'mono' : null }, value));
  row('receipt.choice', `${session.choices[r.vote] ?? '?'} (${r.vote})`);
  row('receipt.index', String(r.bulletinIndex));
  row('receipt.commitment', r.commitment, true);
  row('receipt.rootAtCast', r.bulletinRootAtCast, true);
  row('receipt.sizeAtCast', String(r.treeSizeAtCast));
  row('receipt.time', formatTime(r.timestamp));
  row('receipt.sth', `treeSize ${r.sth.treeSize}, timestamp ${r.sth.timestamp}, root ${r.sth.root}, signature ${r.sth.signature}`, true);
  const save = downloadLink(receiptText(r), 'receipt.json', 'application/json');
  save.id = 'save-receipt';
  tx(save, 'vote.saveReceipt');
  const check = h('p', { id: 'receipt-check', role: 'status' });
  return section('vote.receiptTitle', tx(h('p'), 'vote.receiptBody'), dl, check, h('p', {}, save),
                 tx(h('p', { class: 'note' }), 'vote.receiptKept'));
}

let polling = false;
function progressCard(session: Session): HTMLElement {
  const bar = h('progress', { id: 'progress', max: 1, value: 0 });
  const label = h('label', { for: 'progress' });
  tx(label, 'vote.progressLabel');
  const line = h('p', { id: 'progress-text', 'aria-live': 'polite' });
  const next = tx(h('a', { href: '/aggregate', class: 'button primary', id: 'to-aggregate', hidden: true }), 'vote.next');
  if (!polling) {
    polling = true;
    void pollProgress(session);
  }
  return section('vote.progressTitle', label, bar, line, h('p', {}, next));
}

async function pollProgress(session: Session): Promise<void> {
  for (;;) {
    try {
      const { data } = await apiJson<{ votesCast: number; expected: number; state: string }>(
        'GET', '/api/progress', { headers: sessionHeaders(session) });
      const bar = document.getElementById('progress') as HTMLProgressElement | null;
      const line = document.getElementById('progress-text');
      if (bar === null || line === null) break;
      bar.max = Math.max(1, data.expected);
      bar.value = data.votesCast;
      tx(line, data.state === 'finalized' ? 'vote.progressClosed' : 'vote.progressText',
         { cast: formatNumber(data.votesCast), expected: formatNumber(data.expected) });
      if (data.votesCast >= data.expected || data.state === 'finalized') {
        byId('to-aggregate').hidden = false;
        break;
      }
    } catch (e) {
      if (e instanceof ApiError && (e.code === 'SESSION_EXPIRED' || e.code === 'INVALID_CAPABILITY')) {
        fail(e);
        break;
      }
    }
    await sleep(500);
  }
  polling = false;
}

onLangChange(() => renderPanel(panel));
void render();
