// /aggregate — the voter picks how the operator behaves (S0 honest, S1–S5 cheating the way
// the original simulator does), starts the finalization (a job that proves the tally) and
// follows it without reloading: queue position, estimated start, progress, the result.
import { ApiError, apiJson } from '../common/api';
import { clear, formatBytes, h, sleep } from '../common/dom';
import { formatNumber, formatTime, onLangChange, t, tx, type MsgKey } from '../common/i18n';
import { mountLayout, section, statusLine } from '../common/layout';
import { renderPanel } from '../ballot/panel';
import { errorText } from '../ballot/session';
import { loadExecution, loadReceipt, loadSession, saveExecution, sessionHeaders, type ExecutionStatus, type Session } from '../ballot/state';

const SCENARIOS = ['S0', 'S1', 'S2', 'S3', 'S4', 'S5'] as const;

const { main, panel } = mountLayout('aggregate', 'agg.title');
renderPanel(panel);
main.appendChild(tx(h('p', { class: 'lead' }), 'agg.lead'));
const status = statusLine();
main.appendChild(status);
const body = h('div');
main.appendChild(body);
const progress = h('div', { id: 'execution' });

function showError(e: unknown): void {
  status.classList.add('error');
  status.textContent = errorText(e);
}

function render(): void {
  clear(body);
  const session = loadSession();
  if (session === null || loadReceipt() === null) {
    body.appendChild(section('agg.voteFirstTitle', tx(h('p'), 'agg.voteFirst'),
                             h('p', {}, tx(h('a', { href: '/vote', class: 'button primary' }), 'agg.toVote'))));
    return;
  }
  const form = h('form', { id: 'scenario-form' });
  const fs = h('fieldset', {}, tx(h('legend'), 'agg.legend'));
  for (const id of SCENARIOS) {
    const input = h('input', { type: 'radio', name: 'scenario', id: `scenario-${id}`, value: id,
                               'aria-describedby': `scenario-${id}-desc` });
    if (id === 'S0') input.checked = true;
    fs.appendChild(h('div', { class: 'choice scenario' }, input,
      h('label', { for: `scenario-${id}` }, h('strong', {}, id), ' ', tx(h('span'), `agg.${id}.name` as MsgKey)),
      tx(h('p', { id: `scenario-${id}-desc`, class: 'desc' }), `agg.${id}.desc` as MsgKey)));
  }
  const start = tx(h('button', { type: 'submit', class: 'primary', id: 'finalize' }), 'agg.start');
  form.append(fs, start);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const picked = form.querySelector<HTMLInputElement>('input[name=scenario]:checked')?.value ?? 'S0';
    start.disabled = true;
    finalize(session, picked).catch((e) => {
      start.disabled = false;
      showError(e);
    });
  });
  body.appendChild(section('agg.chooseTitle', form));
  body.appendChild(section('agg.progressTitle', progress));
  const known = loadExecution();
  if (known !== null) {
    showExecution(known);
    if (known.state === 'queued' || known.state === 'running') void poll(session);
  } else {
    tx(progress, 'agg.notStarted');
  }
}

async function finalize(session: Session, scenarioId: string): Promise<void> {
  status.classList.remove('error');
  tx(status, 'agg.starting', { scenario: scenarioId });
  const { data } = await apiJson<ExecutionStatus>('POST', '/api/finalize', {
    headers: sessionHeaders(session), body: { scenarioId },
  });
  saveExecution(data);
  showExecution(data);
  if (data.state === 'queued' || data.state === 'running') await poll(session);
  else finished(data);
}

let polling = false;
async function poll(session: Session): Promise<void> {
  if (polling) return;
  polling = true;
  try {
    for (;;) {
      await sleep(400);
      let e: ExecutionStatus;
      try {
        ({ data: e } = await apiJson<ExecutionStatus>('GET', `/api/sessions/${session.sessionId}/status`,
                                                      { headers: sessionHeaders(session) }));
      } catch (err) {
        if (err instanceof ApiError && err.status !== 0 && err.status < 500) throw err;
        continue;  // the gateway restarting or a network blip: keep polling
      }
      if (e.state === 'none') break;
      saveExecution(e);
      showExecution(e);
      if (e.state !== 'queued' && e.state !== 'running') {
        finished(e);
        break;
      }
    }
  } catch (err) {
    showError(err);
  } finally {
    polling = false;
  }
}

function finished(e: ExecutionStatus): void {
  renderPanel(panel);
  if (e.state === 'succeeded') tx(status, 'agg.succeeded');
  else tx(status, e.state === 'cancelled' ? 'agg.cancelled' : 'agg.failed', { error: e.error ?? '' });
  const form = document.getElementById('finalize') as HTMLButtonElement | null;
  if (form !== null) form.disabled = e.state === 'succeeded';
}

// A rough prove-time estimate from this machine's benchmark (bench/results/tally.json:
// ~0.2 s for 64 votes, ~1.7 s for 1024, segments of 2^14 in parallel), for the progress bar only.
function estimateMs(votes: number): number {
  return Math.max(300, 150 + 1.6 * Math.min(votes, 16384) * Math.max(1, Math.log2(votes / 16384 + 1)));
}

function showExecution(e: ExecutionStatus): void {
  clear(progress);
  const session = loadSession();
  const dl = h('dl', { class: 'facts' });
  const row = (k: MsgKey, v: string, id?: string) => dl.append(tx(h('dt'), k), h('dd', { id: id ?? null }, v));
  row('agg.scenario', e.scenario ?? '?');
  row('agg.state', t(`agg.state.${e.state}` as MsgKey), 'execution-state');
  if (e.executionId) row('agg.executionId', e.executionId);
  progress.appendChild(dl);
  const now = Date.now();
  if (e.state === 'queued' && e.queue) {
    const waitS = Math.max(0, Math.round((e.queue.estimatedStartAt - now) / 1000));
    row('agg.queuePosition', t('agg.queueOf', { position: e.queue.position, depth: e.queue.depth }), 'queue-position');
    row('agg.estimatedStart', t('agg.inSeconds', { s: waitS }));
    progress.appendChild(h('progress', { 'aria-label': t('agg.state.queued') }));
  } else if (e.state === 'running') {
    const votes = session ? session.botCount + 1 : 64;
    const elapsed = e.startedAt ? now - e.startedAt : 0;
    const est = estimateMs(votes);
    row('agg.elapsed', `${(elapsed / 1000).toFixed(1)} s`);
    row('agg.estimate', t('agg.estimateText', { s: (est / 1000).toFixed(1), votes: formatNumber(votes) }));
    // The segments proven so far when the server reports them, else the time against the estimate.
    const p = e.progress;
    if (p && p.segments > 0) row('agg.segments', t('agg.segmentsOf', { proven: p.segmentsProven, total: p.segments }));
    const done = p && p.segments > 0 ? p.segmentsProven / p.segments : Math.min(0.95, elapsed / est);
    progress.appendChild(h('progress', { max: 1, value: done, 'aria-label': t('agg.state.running') }));
  }
  if (e.state === 'queued' || e.state === 'running') {
    const cancel = tx(h('button', { type: 'button', class: 'secondary', id: 'cancel' }), 'agg.cancel');
    cancel.addEventListener('click', () => {
      if (session === null) return;
      cancel.disabled = true;
      apiJson<ExecutionStatus>('POST', '/api/finalize/cancel', { headers: sessionHeaders(session), body: {} })
        .then(({ data }) => { saveExecution(data); showExecution(data); finished(data); })
        .catch(showError);
    });
    progress.appendChild(h('p', {}, cancel));
  }
  if (e.state === 'failed' || e.state === 'cancelled') {
    progress.appendChild(h('p', { class: 'error', id: 'execution-error' }, e.error ?? ''));
  }
  if (e.state === 'succeeded' && e.result) {
    const r = e.result;
    if (e.finishedAt) row('agg.finishedAt', formatTime(e.finishedAt));
    row('agg.counted', t('agg.countedText', { counted: r.counted, size: r.treeSize, excluded: r.excluded }));
    if (r.proveMs !== undefined) row('agg.proveTime', `${formatNumber(Math.round(r.proveMs))} ms`);
    if (r.proofBytes !== undefined) row('agg.proofSize', formatBytes(r.proofBytes));
    if (r.bundleBytes !== undefined) row('agg.bundleSize', formatBytes(r.bundleBytes));
    row('agg.signedImage', r.signedProverImage ? t('agg.yes') : t('agg.no'));
    progress.appendChild(tx(h('p', { class: 'note' }), 'agg.claimNote'));
    progress.appendChild(h('p', { class: 'actions' },
      tx(h('a', { href: '/result', class: 'button', id: 'to-result' }), 'agg.toResult'), ' ',
      tx(h('a', { href: '/verify', class: 'button primary', id: 'to-verify' }), 'agg.toVerify')));
  }
}

onLangChange(() => {
  const e = loadExecution();
  if (e !== null && document.getElementById('execution') !== null) showExecution(e);
  renderPanel(panel);
});
render();
