// /result — the published tally as bars, marked "not verified yet" until this browser's own
// verification (/verify) of this very execution passed; a failed verification says so.
import { apiJson } from '../common/api';
import { clear, h } from '../common/dom';
import { formatNumber, formatTime, onLangChange, tx } from '../common/i18n';
import { mountLayout, section, statusLine } from '../common/layout';
import { renderPanel } from '../ballot/panel';
import { errorText } from '../ballot/session';
import { loadExecution, loadSession, loadVerified, saveExecution, sessionHeaders, type ExecutionStatus } from '../ballot/state';

const { main, panel } = mountLayout('result', 'result.title');
renderPanel(panel);
main.appendChild(tx(h('p', { class: 'lead' }), 'result.lead'));
const status = statusLine();
main.appendChild(status);
const body = h('div');
main.appendChild(body);

function badge(e: ExecutionStatus): HTMLElement {
  const v = loadVerified();
  const mine = v !== null && v.executionId === e.executionId;
  const p = h('p', { id: 'verified-badge', class: 'badge' });
  if (mine && v.valid) {
    p.classList.add('ok');
    tx(p, 'result.verified', { at: formatTime(v.at) });
  } else if (mine) {
    p.classList.add('bad');
    tx(p, 'result.verifyFailed', { checks: v.failed.join(', ') });
  } else {
    p.classList.add('pending');
    tx(p, 'result.notVerified');
  }
  return p;
}

function bars(e: ExecutionStatus): HTMLElement {
  const tally = e.result?.tally ?? {};
  const names = loadSession()?.choices ?? Object.keys(tally);
  const total = Object.values(tally).reduce((a, b) => a + b, 0);
  const max = Math.max(1, ...Object.values(tally));
  const table = h('table', { class: 'tally', id: 'tally' });
  const caption = tx(h('caption'), 'result.caption', { total: formatNumber(total) });
  const head = h('tr', {}, tx(h('th', { scope: 'col' }), 'result.choice'), tx(h('th', { scope: 'col' }), 'result.votes'),
                 tx(h('th', { scope: 'col', class: 'barcol' }), 'result.share'));
  table.append(caption, h('thead', {}, head));
  const tbody = h('tbody');
  for (const name of names) {
    const n = tally[name] ?? 0;
    const pct = total > 0 ? (100 * n) / total : 0;
    const fill = h('span', { class: 'fill' });
    fill.style.width = `${(100 * n) / max}%`;  // CSSOM: allowed by the CSP (no inline style attribute)
    tbody.appendChild(h('tr', {},
      h('th', { scope: 'row' }, name),
      h('td', { class: 'num' }, formatNumber(n)),
      h('td', { class: 'barcol' }, h('span', { class: 'tally-bar', 'aria-hidden': 'true' }, fill), ` ${pct.toFixed(1)}%`)));
  }
  table.appendChild(tbody);
  return table;
}

async function render(): Promise<void> {
  clear(body);
  let e = loadExecution();
  const session = loadSession();
  if ((e === null || e.state !== 'succeeded') && session !== null) {
    try {
      const { data } = await apiJson<ExecutionStatus>('GET', `/api/sessions/${session.sessionId}/status`,
                                                      { headers: sessionHeaders(session) });
      if (data.state !== 'none') {
        e = data;
        saveExecution(data);
      }
    } catch (err) {
      status.textContent = errorText(err);
    }
  }
  if (e === null || e.state !== 'succeeded' || !e.result) {
    body.appendChild(section('result.noneTitle', tx(h('p'), 'result.none'),
                             h('p', {}, tx(h('a', { href: '/aggregate', class: 'button' }), 'result.toAggregate'))));
    return;
  }
  const r = e.result;
  body.appendChild(section('result.tallyTitle', badge(e), bars(e),
    tx(h('p', { class: 'note' }), 'result.meta', { scenario: r.scenario, counted: r.counted, excluded: r.excluded, size: r.treeSize }),
    h('p', {}, tx(h('a', { href: '/verify', class: 'button primary', id: 'to-verify' }), 'result.toVerify'))));
  renderPanel(panel);
}

onLangChange(() => {
  void render();
  renderPanel(panel);
});
void render();
