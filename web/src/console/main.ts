// /console — the operators' wallet console (docs/web.md, "Console"): sign in with an API key
// whose secret lives only in this module (as a non-extractable WebCrypto key, vp1.ts), then
// wallets (paged, with their addresses), transactions (filtered by wallet and status, detail,
// approve / reject), and the audit log (filters, paging, and the hash chain re-verified in the
// browser, audit_verify.ts). Every failure shows the envelope's code and message; a 401 signs
// out. Nothing is stored: no localStorage, sessionStorage, cookie or URL holds the key.
import './console.css';
import { ApiError } from '../common/api';
import { clear, h } from '../common/dom';
import { formatTime, onLangChange } from '../common/i18n';
import { mountLayout } from '../common/layout';
import { CAP, parseEvent, verifyShown, type AuditEvent, type AuditPage, type VerifyResult } from './audit_verify';
import { Client, encodeComponent, type Params } from './client';
import { ckeyRef, ct, ctx, ctxAttr, type CKey } from './strings';
import { validKeyId, Vp1Key, webCryptoAvailable } from './vp1';

// ---- API shapes (docs/api.md, "Wallets", "Policies, transaction requests and approvals") ----

interface Wallet {
  id: string;
  name: string;
  chain: string;
  kind: string;
  address: string;
  createdBy: string;
  createdAt: number;
  addressCount?: number;
}
interface Approval {
  approver: string;
  decision: string;
  at: number;
}
interface Transaction {
  id: string;
  walletId: string;
  status: string;
  request: Record<string, unknown> | null;
  value: string;
  requiredApprovals: number;
  approvals?: Approval[];
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  raw?: string;
  hash?: string;
  from?: string;
  error?: string;
  broadcast?: boolean;
  nonce?: number | null;
  hashes?: string[];
}

const STATUSES = ['pending_approval', 'approved', 'nonce_assigned', 'signed', 'broadcast', 'confirmed', 'rejected', 'failed'];
const OUTCOMES = ['success', 'denied', 'rejected', 'rate_limited', 'error'];
const DECIDERS = new Set(['approver', 'admin']);

// ---- the session: the only place the key lives ----------------------------------------------

let client: Client | null = null;
let role = '';
let signedInAt = 0;
let selectedWallet = '';
let selectedTx = '';
let lastVerify: { key: CKey; vars: Record<string, string | number> } | null = null;

// ---- the frame ---------------------------------------------------------------------------------

const { main } = mountLayout('console', 'nav.console');
const panelBody = document.querySelector<HTMLElement>('aside.panel .panel-body') ?? h('div');
main.appendChild(ctx(h('p', { class: 'lead' }), 'c.lead'));
const errorBox = h('div', { id: 'console-error', class: 'console-error', role: 'alert' });
const status = h('p', { id: 'console-status', role: 'status', 'aria-live': 'polite', class: 'status' });
const body = h('div', { id: 'console-body' });
main.append(errorBox, status, body);

function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'NETWORK') return ct('c.err.network', { message: e.message });
    const text = ct('c.err.api', { code: e.code, status: e.status, message: e.message });
    return e.requestId ? `${text} (${ct('c.err.request', { id: e.requestId })})` : text;
  }
  return ct('c.err.other', { message: e instanceof Error ? e.message : String(e) });
}

function showError(e: unknown, where: HTMLElement = errorBox): void {
  clear(where);
  if (e instanceof ApiError && e.code !== 'NETWORK') {
    where.append(h('strong', { class: 'code' }, e.code), ' ', errorText(e).slice(e.code.length));
  } else {
    where.textContent = errorText(e);
  }
  where.dataset.code = e instanceof ApiError ? e.code : 'ERROR';
}

function clearError(where: HTMLElement = errorBox): void {
  clear(where);
  delete where.dataset.code;
}

function say(key: CKey | null, vars: Record<string, string | number> = {}): void {
  if (key === null) {
    clear(status);
    delete status.dataset.ci18n;
  } else {
    ctx(status, key, vars);
  }
}

// A failure of a signed call: a 401 means the key is no longer good (disabled, clock skew,
// wrong secret), so the console forgets it and asks again.
function failed(e: unknown, where: HTMLElement = errorBox): void {
  if (e instanceof ApiError && e.status === 401) {
    signOut();
    showError(e);
    ctx(status, 'c.signin.expired', { why: e.code });
    return;
  }
  showError(e, where);
}

// ---- side panel -------------------------------------------------------------------------------

function renderPanel(): void {
  clear(panelBody);
  const group = (title: CKey, rows: Array<[CKey, string | null, boolean?]>): HTMLElement => {
    const dl = h('dl');
    for (const [label, value, mono] of rows) {
      const dd = h('dd', { class: mono ? 'mono' : null });
      if (value === null) {
        dd.classList.add('unknown');
        ctx(dd, 'c.p.none');
      } else {
        dd.textContent = value;
      }
      dl.append(ctx(h('dt'), label), dd);
    }
    return h('section', {}, ctx(h('h3'), title), dl);
  };
  if (client === null) {
    panelBody.append(h('section', {}, ctx(h('h3'), 'c.p.session'), ctx(h('p', { class: 'unknown' }), 'c.p.signedOut')));
    return;
  }
  const secret = h('dd');
  ctx(secret, 'c.p.secretValue');
  const session = group('c.p.session', [['c.p.keyId', client.keyId, true], ['c.p.role', role], ['c.p.since', formatTime(signedInAt)]]);
  session.querySelector('dl')?.append(ctx(h('dt'), 'c.p.secret'), secret);
  const audit = h('section', {}, ctx(h('h3'), 'c.p.audit'),
                  ctx(h('p', { id: 'panel-audit' }), lastVerify?.key ?? 'c.p.auditNone', lastVerify?.vars ?? {}));
  panelBody.append(session,
                   group('c.p.selection', [['c.p.wallet', selectedWallet || null, true], ['c.p.transaction', selectedTx || null, true]]),
                   audit);
}

// ---- sign in and out ------------------------------------------------------------------------

function renderSignIn(): void {
  clear(body);
  if (!webCryptoAvailable()) {
    body.appendChild(ctx(h('p', { class: 'console-error', id: 'no-webcrypto' }), 'c.noCrypto'));
    return;
  }
  const keyId = h('input', { id: 'key-id', name: 'keyId', type: 'text', autocomplete: 'off', spellcheck: 'false',
                             autocapitalize: 'off', required: true, maxlength: 64, 'aria-describedby': 'key-id-hint' });
  const secret = h('input', { id: 'key-secret', name: 'secret', type: 'password', autocomplete: 'off',
                              required: true, maxlength: 256, 'aria-describedby': 'key-secret-hint' });
  const submit = ctx(h('button', { type: 'submit', class: 'primary', id: 'sign-in' }), 'c.signin.submit');
  const form = h('form', { id: 'signin-form', class: 'card', autocomplete: 'off', novalidate: true },
    ctx(h('h2'), 'c.signin.title'),
    h('div', { class: 'field' }, ctx(h('label', { for: 'key-id' }), 'c.signin.keyId'), keyId,
      ctx(h('p', { id: 'key-id-hint', class: 'hint' }), 'c.signin.keyIdHint')),
    h('div', { class: 'field' }, ctx(h('label', { for: 'key-secret' }), 'c.signin.secret'), secret,
      ctx(h('p', { id: 'key-secret-hint', class: 'hint' }), 'c.signin.secretHint')),
    h('div', { class: 'actions' }, submit));
  // Handled here, never submitted: a submitted form could carry the secret into a URL.
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = keyId.value.trim();
    let text = secret.value;
    secret.value = '';
    if (id === '' || text === '') {
      ctx(errorBox, 'c.signin.missing');
      (id === '' ? keyId : secret).focus();
      return;
    }
    if (!validKeyId(id)) {
      ctx(errorBox, 'c.signin.badKeyId');
      keyId.focus();
      return;
    }
    submit.disabled = true;
    const imported = Vp1Key.import(id, text);
    text = '';
    void signIn(imported).finally(() => {
      submit.disabled = false;
      if (client === null) secret.focus();
    });
  });
  body.appendChild(form);
  renderPanel();
}

async function signIn(imported: Promise<Vp1Key>): Promise<void> {
  clearError();
  say('c.signin.busy');
  let key: Vp1Key;
  try {
    key = await imported;
  } catch (e) {
    say(null);
    showError(e);
    return;
  }
  const c = new Client(key);
  try {
    const who = await c.get<{ keyId: string; role: string }>('/v1/ping');
    client = c;
    role = who.role;
    signedInAt = Date.now();
  } catch (e) {
    key.forget();
    say(null);
    showError(e);
    return;
  }
  say(null);
  renderConsole();
}

function signOut(): void {
  client?.forget();
  client = null;
  role = '';
  selectedWallet = '';
  selectedTx = '';
  lastVerify = null;
  auditShown = [];
  // The panel's times follow the language too.
onLangChange(() => renderPanel());
renderSignIn();
}

// Leaving the page (or putting it in the back-forward cache) forgets the key; a page restored
// from that cache shows the sign-in form.
window.addEventListener('pagehide', () => {
  if (client !== null) signOut();
});

// ---- the signed-in console: three tabs ---------------------------------------------------

type TabId = 'wallets' | 'transactions' | 'audit';
const TABS: Array<[TabId, CKey]> = [['wallets', 'c.tab.wallets'], ['transactions', 'c.tab.transactions'], ['audit', 'c.tab.audit']];
let tabButtons = new Map<TabId, HTMLButtonElement>();
let tabPanels = new Map<TabId, HTMLElement>();

function renderConsole(): void {
  clear(body);
  clearError();
  if (client === null) return;
  const signOutButton = ctx(h('button', { type: 'button', class: 'secondary', id: 'sign-out' }), 'c.session.signOut');
  signOutButton.addEventListener('click', () => {
    signOut();
    ctx(status, 'c.signin.signedOut');
    document.getElementById('key-id')?.focus();
  });
  const who = ctx(h('p', { id: 'signed-in-as', tabindex: -1 }), 'c.session.as', { keyId: client.keyId, role });
  body.appendChild(h('div', { class: 'card session-bar' }, who, signOutButton));

  const list = h('div', { role: 'tablist', class: 'tabs' });
  ctxAttr(list, 'aria-label', 'c.tabs.label');
  tabButtons = new Map();
  tabPanels = new Map();
  for (const [id, label] of TABS) {
    const b = ctx(h('button', { type: 'button', role: 'tab', id: `tab-${id}`, 'aria-controls': `panel-${id}`,
                                'aria-selected': 'false', tabindex: -1 }), label);
    b.addEventListener('click', () => selectTab(id));
    tabButtons.set(id, b);
    list.appendChild(b);
    tabPanels.set(id, h('section', { role: 'tabpanel', id: `panel-${id}`, 'aria-labelledby': `tab-${id}`, hidden: true }));
  }
  // Arrow keys move between tabs (WAI-ARIA tabs pattern, automatic activation).
  list.addEventListener('keydown', (ev) => {
    const ids = TABS.map(([id]) => id);
    const at = ids.findIndex((id) => tabButtons.get(id) === document.activeElement);
    if (at < 0) return;
    let next = -1;
    if (ev.key === 'ArrowRight') next = (at + 1) % ids.length;
    else if (ev.key === 'ArrowLeft') next = (at + ids.length - 1) % ids.length;
    else if (ev.key === 'Home') next = 0;
    else if (ev.key === 'End') next = ids.length - 1;
    if (next < 0) return;
    ev.preventDefault();
    selectTab(ids[next]);
    tabButtons.get(ids[next])?.focus();
  });
  body.appendChild(list);
  for (const p of tabPanels.values()) body.appendChild(p);
  buildWallets(tabPanels.get('wallets')!);
  buildTransactions(tabPanels.get('transactions')!);
  buildAudit(tabPanels.get('audit')!);
  selectTab('wallets');
  renderPanel();
  who.focus();
}

function selectTab(id: TabId): void {
  for (const [tid, b] of tabButtons) {
    const on = tid === id;
    b.setAttribute('aria-selected', String(on));
    b.tabIndex = on ? 0 : -1;
    const p = tabPanels.get(tid);
    if (p) p.hidden = !on;
  }
  if (id === 'wallets' && walletRows.childElementCount === 0) void loadWallets();
  if (id === 'transactions' && txRows.childElementCount === 0) void loadTransactions();
}

// ---- small builders -------------------------------------------------------------------------

function field(id: string, label: CKey, control: HTMLElement, hint?: CKey): HTMLElement {
  control.id = id;
  if (hint) control.setAttribute('aria-describedby', `${id}-hint`);
  return h('div', { class: 'field' }, ctx(h('label', { for: id }), label), control,
           hint ? ctx(h('p', { id: `${id}-hint`, class: 'hint' }), hint) : null);
}

function select(options: Array<[string, string | CKey, boolean?]>): HTMLSelectElement {
  const s = h('select');
  for (const [value, label, translated] of options) {
    const o = h('option', { value });
    if (translated) ctx(o, label as CKey);
    else o.textContent = label;
    s.appendChild(o);
  }
  return s;
}

// A table in a scrollable region, so that a phone scrolls the table and not the page.
function table(id: string, caption: HTMLElement, columns: CKey[]): { wrap: HTMLElement; rows: HTMLTableSectionElement } {
  const rows = h('tbody');
  const head = h('tr');
  for (const c of columns) head.appendChild(ctx(h('th', { scope: 'col' }), c));
  const t = h('table', { id, class: 'data' }, caption, h('thead', {}, head), rows);
  const wrap = h('div', { class: 'table-wrap', role: 'region', tabindex: 0, 'aria-labelledby': `${id}-caption` }, t);
  caption.id = `${id}-caption`;
  return { wrap, rows };
}

function statusBadge(s: string): HTMLElement {
  const kind = ['signed', 'broadcast', 'confirmed'].includes(s) ? 'ok'
    : ['rejected', 'failed'].includes(s) ? 'bad' : 'pending';
  return h('span', { class: `badge ${kind} tx-status`, 'data-status': s }, s);
}

// Wei as a decimal string, with ether beside it (exact: BigInt, no floating point).
function weiText(wei: string): string {
  if (!/^[0-9]+$/.test(wei)) return wei;
  const v = BigInt(wei);
  const unit = 10n ** 18n;
  const frac = (v % unit).toString().padStart(18, '0').replace(/0+$/, '');
  return `${wei} wei (${(v / unit).toString()}${frac ? '.' + frac : ''} ETH)`;
}

// ---- wallets ----------------------------------------------------------------------------------

let walletRows: HTMLTableSectionElement = h('tbody');
const walletsKnown = new Map<string, Wallet>();
let walletPages: string[] = [''];  // the `after` of each page seen
let walletPage = 0;
let walletNext: string | null = null;
let walletCaption: HTMLElement = h('caption');
let walletPrev: HTMLButtonElement = h('button');
let walletNextButton: HTMLButtonElement = h('button');
let walletSize: HTMLSelectElement = h('select');

function buildWallets(panel: HTMLElement): void {
  walletPages = [''];
  walletPage = 0;
  walletCaption = h('caption');
  const t = table('wallets', walletCaption, ['c.w.name', 'c.w.kind', 'c.w.address', 'c.w.created', 'c.w.actions']);
  walletRows = t.rows;
  walletPrev = ctx(h('button', { type: 'button', id: 'wallets-prev' }), 'c.w.prev');
  walletNextButton = ctx(h('button', { type: 'button', id: 'wallets-next' }), 'c.w.next');
  walletSize = select([['10', '10'], ['20', '20'], ['50', '50'], ['100', '100']]);
  walletSize.value = '20';
  const refresh = ctx(h('button', { type: 'button', id: 'wallets-refresh', class: 'secondary' }), 'c.w.refresh');
  walletPrev.addEventListener('click', () => {
    if (walletPage > 0) {
      walletPage--;
      void loadWallets();
    }
  });
  walletNextButton.addEventListener('click', () => {
    if (walletNext !== null) {
      walletPages[walletPage + 1] = walletNext;
      walletPage++;
      void loadWallets();
    }
  });
  walletSize.addEventListener('change', () => {
    walletPages = [''];
    walletPage = 0;
    void loadWallets();
  });
  refresh.addEventListener('click', () => void loadWallets());
  panel.append(h('div', { class: 'card' }, ctx(h('h2'), 'c.w.title'), t.wrap,
    h('div', { class: 'actions pager' }, walletPrev, walletNextButton,
      h('span', { class: 'inline-field' }, ctx(h('label', { for: 'wallets-size' }), 'c.w.pageSize'), walletSize), refresh)));
  walletSize.id = 'wallets-size';
}

async function loadWallets(): Promise<void> {
  if (client === null) return;
  clearError();
  ctx(walletCaption, 'c.w.loading');
  try {
    const data = await client.get<{ wallets: Wallet[]; next: string | null }>('/v1/wallets', {
      after: walletPages[walletPage], limit: walletSize.value,
    });
    walletNext = data.next;
    clear(walletRows);
    ctx(walletCaption, 'c.w.caption', { page: walletPage + 1 });
    if (data.wallets.length === 0) {
      walletRows.appendChild(h('tr', {}, ctx(h('td', { colspan: 5, class: 'empty' }), 'c.w.none')));
    }
    for (const w of data.wallets) {
      walletsKnown.set(w.id, w);
      const show = ctx(h('button', { type: 'button', class: 'small-button', 'data-wallet': w.id }), 'c.w.showTx');
      ctxAttr(show, 'aria-label', 'c.w.showTxOf', { name: w.name });
      show.addEventListener('click', () => showWalletTransactions(w.id));
      const address = h('td', {}, h('span', { class: 'mono' }, w.address));
      if (w.kind === 'hd' && w.addressCount !== undefined) {
        address.append(h('br'), ctx(h('span', { class: 'hint' }), 'c.w.addressCount', { n: w.addressCount }));
      }
      walletRows.appendChild(h('tr', { 'data-wallet': w.id },
        h('th', { scope: 'row' }, w.name, h('br'), h('span', { class: 'mono hint' }, w.id)),
        h('td', {}, `${w.kind} · ${w.chain}`), address, h('td', {}, formatTime(w.createdAt)), h('td', {}, show)));
    }
    walletPrev.disabled = walletPage === 0;
    walletNextButton.disabled = walletNext === null;
    refreshWalletFilter();
  } catch (e) {
    ctx(walletCaption, 'c.w.caption', { page: walletPage + 1 });
    failed(e);
  }
}

function showWalletTransactions(walletId: string): void {
  selectedWallet = walletId;
  refreshWalletFilter();
  txWallet.value = walletId;
  selectTab('transactions');
  void loadTransactions();
  tabButtons.get('transactions')?.focus();
  renderPanel();
}

// ---- transactions ---------------------------------------------------------------------------

let txRows: HTMLTableSectionElement = h('tbody');
let txWallet: HTMLSelectElement = h('select');
let txStatus: HTMLSelectElement = h('select');
let txLimit: HTMLSelectElement = h('select');
let txCaption: HTMLElement = h('caption');
let txDetail: HTMLElement = h('div');

function refreshWalletFilter(): void {
  const current = txWallet.value || selectedWallet;
  clear(txWallet);
  txWallet.appendChild(ctx(h('option', { value: '' }), 'c.t.allWallets'));
  for (const w of walletsKnown.values()) txWallet.appendChild(h('option', { value: w.id }, `${w.name} (${w.id})`));
  txWallet.value = walletsKnown.has(current) ? current : '';
}

function buildTransactions(panel: HTMLElement): void {
  txWallet = h('select');
  refreshWalletFilter();
  txStatus = select([['', 'c.t.anyStatus', true], ...STATUSES.map((s): [string, string] => [s, s])]);
  txLimit = select([['20', '20'], ['50', '50'], ['100', '100'], ['500', '500']]);
  txLimit.value = '50';
  const apply = ctx(h('button', { type: 'submit', class: 'primary', id: 'tx-apply' }), 'c.t.apply');
  const form = h('form', { id: 'tx-filters', class: 'filters' },
    h('fieldset', {}, ctx(h('legend'), 'c.t.filters'),
      h('div', { class: 'form-grid' }, field('tx-wallet', 'c.t.wallet', txWallet), field('tx-status', 'c.t.status', txStatus),
        field('tx-limit', 'c.t.limit', txLimit)),
      h('div', { class: 'actions' }, apply)));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    selectedWallet = txWallet.value;
    renderPanel();
    void loadTransactions();
  });
  txCaption = ctx(h('caption'), 'c.t.caption');
  const t = table('transactions', txCaption, ['c.t.id', 'c.t.wallet', 'c.t.status', 'c.t.to', 'c.t.value', 'c.t.created']);
  txRows = t.rows;
  txDetail = h('div', { id: 'tx-detail', class: 'card' }, ctx(h('p', { class: 'hint' }), 'c.t.detailNone'));
  panel.append(h('div', { class: 'card' }, ctx(h('h2'), 'c.t.title'), form, t.wrap), txDetail);
}

async function loadTransactions(): Promise<void> {
  if (client === null) return;
  clearError();
  ctx(txCaption, 'c.t.loading');
  try {
    const data = await client.get<{ transactions: Transaction[] }>('/v1/transactions', {
      walletId: txWallet.value, status: txStatus.value, limit: txLimit.value,
    });
    clear(txRows);
    ctx(txCaption, 'c.t.caption');
    if (data.transactions.length === 0) {
      txRows.appendChild(h('tr', {}, ctx(h('td', { colspan: 6, class: 'empty' }), 'c.t.none')));
    }
    for (const tx of data.transactions) {
      const open = h('button', { type: 'button', class: 'link mono', 'data-tx': tx.id }, tx.id);
      ctxAttr(open, 'aria-label', 'c.t.open', { id: tx.id });
      open.addEventListener('click', () => void openTransaction(tx.id));
      const to = tx.request && typeof tx.request.to === 'string' ? tx.request.to : '—';
      txRows.appendChild(h('tr', { 'data-tx': tx.id, 'data-status': tx.status },
        h('th', { scope: 'row' }, open), h('td', { class: 'mono' }, walletsKnown.get(tx.walletId)?.name ?? tx.walletId),
        h('td', {}, statusBadge(tx.status)), h('td', { class: 'mono' }, to), h('td', { class: 'num' }, tx.value),
        h('td', {}, formatTime(tx.createdAt))));
    }
  } catch (e) {
    ctx(txCaption, 'c.t.caption');
    failed(e);
  }
}

async function openTransaction(id: string, focus = true): Promise<Transaction | null> {
  if (client === null) return null;
  clearError();
  try {
    const tx = await client.get<Transaction>(`/v1/transactions/${encodeComponent(id)}`);
    selectedTx = tx.id;
    renderPanel();
    renderTransaction(tx, focus);
    return tx;
  } catch (e) {
    failed(e);
    return null;
  }
}

function renderTransaction(tx: Transaction, focus: boolean): void {
  clear(txDetail);
  txDetail.dataset.tx = tx.id;
  txDetail.dataset.status = tx.status;
  const heading = ctx(h('h2', { tabindex: -1, id: 'tx-detail-title' }), 'c.t.detail', { id: tx.id });
  const dl = h('dl', { class: 'tx-fields' });
  const row = (label: CKey, value: Node | string, mono = false): void => {
    dl.append(ctx(h('dt'), label), h('dd', { class: mono ? 'mono' : null }, value));
  };
  row('c.t.f.status', statusBadge(tx.status));
  row('c.t.f.wallet', tx.walletId, true);
  row('c.t.f.value', weiText(tx.value));
  row('c.t.f.required', String(tx.requiredApprovals));
  row('c.t.f.createdBy', tx.createdBy, true);
  row('c.t.f.createdAt', formatTime(tx.createdAt));
  row('c.t.f.updatedAt', formatTime(tx.updatedAt));
  if (tx.from) row('c.t.f.from', tx.from, true);
  if (tx.hash) row('c.t.f.hash', h('span', { id: 'tx-hash' }, tx.hash), true);
  if (tx.raw) row('c.t.f.raw', h('span', { id: 'tx-raw' }, tx.raw), true);
  if (tx.error) row('c.t.f.error', tx.error);
  if (tx.broadcast !== undefined) row('c.t.f.broadcast', ctx(h('span'), tx.broadcast ? 'c.t.yes' : 'c.t.no'));
  if (tx.nonce !== undefined && tx.nonce !== null) row('c.t.f.nonce', String(tx.nonce));
  if (tx.hashes && tx.hashes.length > 0) row('c.t.f.hashes', tx.hashes.join('\n'), true);

  const req = h('dl', { class: 'tx-request' });
  for (const [k, v] of Object.entries(tx.request ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    req.append(h('dt', {}, k), h('dd', { class: 'mono' }, typeof v === 'string' ? v : JSON.stringify(v)));
  }

  const approvals = tx.approvals ?? [];
  const approved = approvals.filter((a) => a.decision === 'approve').length;
  const list = h('ul', { class: 'approvals', id: 'tx-approvals' });
  for (const a of approvals) {
    list.appendChild(ctx(h('li', { 'data-decision': a.decision }), 'c.t.approvalRow', {
      decision: ckeyRef(a.decision === 'approve' ? 'c.t.decision.approve' : 'c.t.decision.reject'),
      approver: a.approver, at: formatTime(a.at),
    }));
  }
  if (approvals.length === 0) list.appendChild(ctx(h('li', { class: 'hint' }), 'c.t.noApprovals'));

  const decision = h('div', { id: 'tx-decision-error', class: 'console-error', role: 'alert' });
  const decisionStatus = h('p', { id: 'tx-decision-status', role: 'status', 'aria-live': 'polite', class: 'status' });
  const actions = h('div', { class: 'actions' });
  if (tx.status === 'pending_approval') {
    if (DECIDERS.has(role)) {
      const approve = ctx(h('button', { type: 'button', class: 'primary', id: 'approve' }), 'c.t.approve');
      const reject = ctx(h('button', { type: 'button', class: 'danger', id: 'reject' }), 'c.t.reject');
      approve.addEventListener('click', () => void decide(tx.id, 'approve', [approve, reject], decision, decisionStatus));
      reject.addEventListener('click', () => {
        if (window.confirm(ct('c.t.confirmReject', { id: tx.id }))) {
          void decide(tx.id, 'reject', [approve, reject], decision, decisionStatus);
        }
      });
      actions.append(approve, reject);
    } else {
      actions.appendChild(ctx(h('p', { class: 'hint' }), 'c.t.onlyApprovers', { role }));
    }
  }
  const refresh = ctx(h('button', { type: 'button', class: 'secondary', id: 'tx-refresh' }), 'c.t.refresh');
  refresh.addEventListener('click', () => void openTransaction(tx.id));
  actions.appendChild(refresh);

  txDetail.append(heading, dl, ctx(h('h3'), 'c.t.approvals', { n: approved, required: tx.requiredApprovals }), list,
                  actions, decision, decisionStatus, ctx(h('h3'), 'c.t.request'), req);
  if (focus) heading.focus();
}

async function decide(id: string, what: 'approve' | 'reject', buttons: HTMLButtonElement[], errorAt: HTMLElement,
                      statusAt: HTMLElement): Promise<void> {
  if (client === null) return;
  for (const b of buttons) b.disabled = true;
  clearError(errorAt);
  ctx(statusAt, 'c.t.deciding');
  let tx: Transaction;
  try {
    tx = await client.post<Transaction>(`/v1/transactions/${encodeComponent(id)}/${what}`, {});
  } catch (e) {
    for (const b of buttons) b.disabled = false;
    clear(statusAt);
    failed(e, errorAt);
    return;
  }
  // The last approval signs in the same call; should signing still be under way, follow it.
  for (let i = 0; i < 30 && (tx.status === 'approved' || tx.status === 'nonce_assigned'); ++i) {
    renderTransaction(tx, false);
    ctx(document.getElementById('tx-decision-status') ?? statusAt, 'c.t.waiting', { status: tx.status });
    await new Promise((r) => setTimeout(r, 1000));
    if (client === null) return;
    try {
      tx = await client.get<Transaction>(`/v1/transactions/${encodeComponent(id)}`);
    } catch (e) {
      failed(e);
      return;
    }
  }
  renderTransaction(tx, true);
  ctx(document.getElementById('tx-decision-status') ?? statusAt, 'c.t.decided', { status: tx.status });
  void loadTransactions();
}

// ---- audit log --------------------------------------------------------------------------------

let auditShown: AuditEvent[] = [];
let auditRows: HTMLTableSectionElement = h('tbody');
let auditCaption: HTMLElement = h('caption');
let auditCursors: Array<number | null> = [null];  // the cursor of each page seen
let auditPage = 0;
let auditNextCursor: number | null = null;
let auditParams: Params = {};
let auditNext: HTMLButtonElement = h('button');
let auditFirst: HTMLButtonElement = h('button');
let auditVerifyButton: HTMLButtonElement = h('button');
let auditVerdict: HTMLElement = h('div');

function localTimeMs(input: HTMLInputElement, label: CKey): number | null | 'bad' {
  if (input.value === '') return null;
  const ms = new Date(input.value).getTime();
  if (!Number.isFinite(ms) || ms < 0) {
    ctx(errorBox, 'c.a.badTime', { field: ckeyRef(label) });
    return 'bad';
  }
  return ms;
}

function buildAudit(panel: HTMLElement): void {
  auditShown = [];
  const principal = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const action = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const outcome = select([['', 'c.a.anyOutcome', true], ...OUTCOMES.map((s): [string, string] => [s, s])]);
  const since = h('input', { type: 'datetime-local', step: 1 });
  const until = h('input', { type: 'datetime-local', step: 1 });
  const order = select([['desc', 'c.a.desc', true], ['asc', 'c.a.asc', true]]);
  const limit = select([['20', '20'], ['50', '50'], ['100', '100'], ['500', '500'], ['1000', '1000']]);
  limit.value = '50';
  const search = ctx(h('button', { type: 'submit', class: 'primary', id: 'audit-search' }), 'c.a.search');
  const form = h('form', { id: 'audit-filters', class: 'filters' },
    h('fieldset', {}, ctx(h('legend'), 'c.a.filters'),
      h('div', { class: 'form-grid' },
        field('audit-principal', 'c.a.principal', principal), field('audit-action', 'c.a.action', action, 'c.a.actionHint'),
        field('audit-outcome', 'c.a.outcome', outcome), field('audit-since', 'c.a.since', since),
        field('audit-until', 'c.a.until', until), field('audit-order', 'c.a.order', order),
        field('audit-limit', 'c.a.limit', limit)),
      h('div', { class: 'actions' }, search)));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearError();
    const s = localTimeMs(since, 'c.a.since');
    const u = localTimeMs(until, 'c.a.until');
    if (s === 'bad' || u === 'bad') return;
    auditParams = { principal: principal.value.trim(), action: action.value.trim(), outcome: outcome.value,
                    since: s, until: u, order: order.value, limit: limit.value };
    auditCursors = [null];
    auditPage = 0;
    void loadAudit();
  });
  auditCaption = ctx(h('caption'), 'c.a.caption', { page: 1 });
  const t = table('audit-events', auditCaption, ['c.a.seq', 'c.a.time', 'c.a.principalCol', 'c.a.actionCol', 'c.a.resource',
                                                 'c.a.outcomeCol', 'c.a.sourceIp', 'c.a.details', 'c.a.hash']);
  auditRows = t.rows;
  auditFirst = ctx(h('button', { type: 'button', id: 'audit-first', disabled: true }), 'c.a.first');
  auditNext = ctx(h('button', { type: 'button', id: 'audit-next', disabled: true }), 'c.a.next');
  auditFirst.addEventListener('click', () => {
    auditPage = 0;
    void loadAudit();
  });
  auditNext.addEventListener('click', () => {
    if (auditNextCursor === null) return;
    auditCursors[auditPage + 1] = auditNextCursor;
    auditPage++;
    void loadAudit();
  });
  auditVerifyButton = ctx(h('button', { type: 'button', id: 'audit-verify', class: 'primary' }), 'c.a.verify');
  auditVerifyButton.addEventListener('click', () => void verifyAudit());
  auditVerdict = h('div', { id: 'audit-verification', 'aria-live': 'polite' });
  panel.append(h('div', { class: 'card' }, ctx(h('h2'), 'c.a.title'), form, t.wrap,
                 h('div', { class: 'actions pager' }, auditFirst, auditNext)),
               h('div', { class: 'card' }, ctx(h('h2'), 'c.a.verifyTitle'), ctx(h('p', { class: 'hint' }), 'c.a.verifyIntro'),
                 h('div', { class: 'actions' }, auditVerifyButton), auditVerdict));
}

async function loadAudit(): Promise<void> {
  if (client === null) return;
  clearError();
  ctx(auditCaption, 'c.a.loading');
  try {
    const cursor = auditCursors[auditPage];
    const data = await client.get<AuditPage>('/v1/audit/events', { ...auditParams, cursor });
    const events: AuditEvent[] = [];
    for (const raw of data.events) {
      const e = parseEvent(raw);
      if (typeof e === 'string') throw new Error(`malformed audit record: ${e}`);
      events.push(e);
    }
    auditShown = events;
    auditNextCursor = data.nextCursor;
    clear(auditRows);
    clear(auditVerdict);
    ctx(auditCaption, 'c.a.caption', { page: auditPage + 1 });
    if (events.length === 0) auditRows.appendChild(h('tr', {}, ctx(h('td', { colspan: 9, class: 'empty' }), 'c.a.none')));
    for (const e of events) {
      auditRows.appendChild(h('tr', { 'data-seq': e.seq, 'data-action': e.action, 'data-outcome': e.outcome },
        h('th', { scope: 'row', class: 'num' }, String(e.seq)), h('td', {}, formatTime(e.time)),
        h('td', { class: 'mono' }, e.principal), h('td', { class: 'mono' }, e.action), h('td', { class: 'mono' }, e.resource),
        h('td', {}, e.outcome), h('td', { class: 'mono' }, e.sourceIp), h('td', { class: 'mono details' }, e.details),
        h('td', { class: 'mono hash', title: e.hash }, `${e.hash.slice(0, 16)}…`)));
    }
    auditFirst.disabled = auditPage === 0;
    auditNext.disabled = auditNextCursor === null;
  } catch (e) {
    ctx(auditCaption, 'c.a.caption', { page: auditPage + 1 });
    failed(e);
  }
}

function findingText(f: VerifyResult['findings'][number]): string {
  switch (f.kind) {
    case 'gap': return ct('c.a.finding.gap', { seq: f.seq, expected: f.expected ?? 0 });
    case 'hash': return ct('c.a.finding.hash', { seq: f.seq });
    case 'shown': return ct('c.a.finding.shown', { seq: f.seq });
    case 'absent': return ct('c.a.finding.absent', { seq: f.seq });
    case 'malformed': return ct('c.a.finding.malformed', { seq: f.seq, why: f.why ?? '' });
  }
}

async function verifyAudit(): Promise<void> {
  const c = client;
  if (c === null) return;
  clear(auditVerdict);
  clearError();
  if (auditShown.length === 0) {
    auditVerdict.appendChild(ctx(h('p', { class: 'hint' }), 'c.a.verifyNothing'));
    return;
  }
  auditVerifyButton.disabled = true;
  const progress = ctx(h('p', { class: 'verdict busy', id: 'audit-verdict' }), 'c.a.verifying', { n: 0 });
  auditVerdict.appendChild(progress);
  let r: VerifyResult;
  try {
    r = await verifyShown(auditShown,
      (cursor, limit) => c.get<AuditPage>('/v1/audit/events', { cursor, limit, order: 'asc' }),
      (n) => ctx(progress, 'c.a.verifying', { n }));
  } catch (e) {
    auditVerifyButton.disabled = false;
    clear(auditVerdict);
    failed(e);
    return;
  }
  auditVerifyButton.disabled = false;
  clear(auditVerdict);
  const verdict = h('p', { class: `verdict ${r.state === 'ok' ? 'ok' : 'bad'}`, id: 'audit-verdict', 'data-state': r.state });
  let said: { key: CKey; vars: Record<string, string | number> };
  if (r.state === 'ok' && r.anchor === 0) {
    said = { key: 'c.a.verifyOk', vars: { n: r.walked, last: r.last, shown: r.shown } };
  } else if (r.state === 'ok') {
    said = { key: 'c.a.verifyOkAnchored', vars: { n: r.walked, first: r.first, last: r.last, anchor: r.anchor, shown: r.shown, cap: CAP } };
  } else if (r.state === 'bad') {
    said = { key: 'c.a.verifyBad', vars: { n: r.findings.length, first: findingText(r.findings[0]) } };
  } else {
    // A broken verifier here, or a range beyond the cap: nothing was checked, and the page says so.
    said = { key: r.state === 'self-test' ? 'c.a.selfTest' : 'c.a.tooLarge', vars: { cap: CAP } };
  }
  ctx(verdict, said.key, said.vars);
  auditVerdict.appendChild(verdict);
  if (r.findings.length > 0) {
    const ol = h('ol', { id: 'audit-findings' });
    for (const f of r.findings.slice(0, 100)) ol.appendChild(h('li', { 'data-kind': f.kind }, findingText(f)));
    auditVerdict.appendChild(ol);
  }
  if (r.state === 'ok') {
    auditVerdict.append(ctx(h('h3'), 'c.a.checked'), h('ul', { id: 'audit-checked' },
      ctx(h('li'), 'c.a.checked.chain'), ctx(h('li'), 'c.a.checked.seq', { first: r.first, last: r.last }),
      ctx(h('li'), 'c.a.checked.shown')));
  }
  auditVerdict.append(ctx(h('h3'), 'c.a.notChecked'), h('ul', { id: 'audit-not-checked' },
    ctx(h('li'), 'c.a.not.digests'), ctx(h('li'), 'c.a.not.head', { last: r.last }), ctx(h('li'), 'c.a.not.server')));
  lastVerify = said;
  renderPanel();
}

// The panel's times follow the language too.
onLangChange(() => renderPanel());
renderSignIn();
