// Browser test of the operators' console (/console, docs/web.md "Console"), run by ctest as
// `web_console`: a real `vaultproof serve` with custody on (its kms and signer processes),
// keys made with the CLI, and Debian's Chromium, headless, driven by playwright-core. Setup
// goes through the API signed here with node:crypto (an independent VP1 implementation,
// checked against docs/api.md's worked example, and against the browser's own signatures).
// Checks:
//   - a wrong secret shows UNAUTHENTICATED and stays on the sign-in form;
//   - the approver signs in; the secret is nowhere in localStorage, sessionStorage,
//     document.cookie, the URL or the DOM; wallets page (with addresses); the transfer
//     created through the API is pending_approval; approving it in the browser ends signed,
//     and the API agrees (status, approval, hash);
//   - an admin's approval of its own transfer shows SELF_APPROVAL; the audit log lists the
//     approval, and its verification in the browser passes (and this test recomputes the same
//     chain with node:crypto); a record altered in transit makes it fail;
//   - a key disabled while signed in: the next call's 401 returns to the sign-in form;
//   - Japanese strings, keyboard tabs, a phone-width screen; leaving the page forgets the
//     key; CSP header, no CSP violation.
// Screenshots go to web/test-results/console-*.png. Exit 77 (ctest: skipped) without
// Chromium or node_modules.
//   node web/tests/console.mjs --bin-dir build/bin --web-root build/web
import crypto from 'node:crypto';
import path from 'node:path';
import { browserTest, launchChromium, startGateway } from './harness.mjs';

const { binDir, webRoot, chromiumPath, resultsDir, chromium, check, fail, finish } =
  await browserTest('web_console', 'console.html', ['vaultproof', 'vaultproof-signer', 'vaultproof-kms']);

// ---- VP1-HMAC-SHA256 in Node (docs/api.md, "Authentication") --------------------------------

function vp1(key, method, pathname, query, body, ts) {
  const sts = ['VP1', method, pathname, query, String(ts), crypto.createHash('sha256').update(body).digest('hex')].join('\n');
  const sig = crypto.createHmac('sha256', Buffer.from(key.secret, 'ascii')).update(sts).digest('hex');
  return `VP1-HMAC-SHA256 Credential=${key.keyId}, Timestamp=${ts}, Signature=${sig}`;
}

// docs/api.md, "Worked example (test vectors)".
{
  const key = { keyId: 'ak_test', secret: 'PQDUtrVtInWi0pqcZH7avNxSR7pV60njh5P3Cu9513g' };
  check(vp1(key, 'GET', '/v1/ping', 'n=1', '', 1700000000).endsWith(
    'Signature=4a512b70719527f327eec7b615352dc98b5c96865f93514b04d6f401962b93a6'), 'Node VP1 matches the worked example (GET)');
  check(vp1(key, 'POST', '/v1/echo', '', '{"hello":"world"}', 1700000000).endsWith(
    'Signature=339e7ce9dd40fb66a039ad18113c7b5db4d63730ce80331488a496ad65efdd3b'), 'Node VP1 matches the worked example (POST)');
}

let nonce = 0;
async function api(base, key, method, pathname, { query = '', body } = {}) {
  const q = (query ? `${query}&` : '') + `n=test${++nonce}`;
  const text = body === undefined ? '' : JSON.stringify(body);
  const res = await fetch(`${base}${pathname}?${q}`, {
    method,
    headers: { Authorization: vp1(key, method, pathname, q, text, Math.floor(Date.now() / 1000)),
               ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : text,
  });
  const json = await res.json().catch(() => null);
  return { status: res.status, json };
}

// ---- the audit chain in Node (docs/audit_log.md §1.1, §1.2) ---------------------------------

function canonical(e) {
  const parts = [Buffer.from([1]), Buffer.alloc(8), Buffer.alloc(8)];
  parts[1].writeBigUInt64BE(BigInt(e.seq));
  parts[2].writeBigInt64BE(BigInt(e.time));
  for (const f of [e.requestId, e.principal, e.action, e.resource, e.outcome, e.sourceIp, e.details]) {
    const b = Buffer.from(f, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}
function chainHash(prev, e) {
  return crypto.createHash('sha256').update(Buffer.from('vp-audit-v1')).update(prev).update(canonical(e)).digest();
}
check(chainHash(Buffer.alloc(32), {
  seq: 1, time: 1700000000000, requestId: 'req-1', principal: 'key-1', action: 'POST /v1/echo', resource: '/v1/echo',
  outcome: 'success', sourceIp: '127.0.0.1', details: '{}',
}).toString('hex') === '1fe2b239b4379fd0fd4bfb4ab1c19002b60c7ec6eeee137694e4f35f1181fa60',
'Node audit chain hash matches docs/audit_log.md §1.2');

// ---- a gateway with custody on --------------------------------------------------------------

const gateway = await startGateway(binDir, webRoot, { custody: true });
const base = gateway.base;
const admin = gateway.createKey('admin');
const operator = gateway.createKey('operator');
const approver = gateway.createKey('approver');
const spare = gateway.createKey('operator');  // disabled while signed in
check([admin, operator, approver, spare].every((k) => /^ak_/.test(k.keyId) && k.secret.length === 43), 'the CLI made four keys');

// ---- setup through the API -------------------------------------------------------------------

const TO = '0x' + '5a'.repeat(20);
function transfer(value) {
  return { to: TO, value, chainId: 1337, nonce: 0, gasLimit: 21000, maxFeePerGas: '2000000000',
           maxPriorityFeePerGas: '1000000000', broadcast: false };
}
const created = await api(base, operator, 'POST', '/v1/wallets', { body: { name: 'treasury', kind: 'single' } });
check(created.status === 201 && /^0x[0-9a-fA-F]{40}$/.test(created.json?.data?.address ?? ''), 'the operator created a wallet', created);
const wallet = created.json?.data ?? {};
const hd = await api(base, operator, 'POST', '/v1/wallets', { body: { name: 'deposits', kind: 'hd' } });
check(hd.status === 201, 'the operator created an HD wallet', hd);
for (let i = 0; i < 10; ++i) {
  const r = await api(base, operator, 'POST', '/v1/wallets', { body: { name: `filler-${i}`, kind: 'single' } });
  if (r.status !== 201) check(false, `filler wallet ${i}`, r);
}
const policy = await api(base, admin, 'PUT', `/v1/wallets/${wallet.id}/policy`, { body: { requiredApprovals: 1 } });
check(policy.status === 200, 'the admin put a policy with one required approval', policy);
const tx = await api(base, operator, 'POST', `/v1/wallets/${wallet.id}/transactions`, { body: transfer('1000000000000000') });
check(tx.status === 201 && tx.json?.data?.status === 'pending_approval', 'the transfer waits for an approval', tx);
const txId = tx.json?.data?.id ?? '';
const own = await api(base, admin, 'POST', `/v1/wallets/${wallet.id}/transactions`, { body: transfer('2000000000000000') });
check(own.status === 201 && own.json?.data?.status === 'pending_approval', 'a transfer by the admin waits too', own);
const ownId = own.json?.data?.id ?? '';

// ---- the browser -----------------------------------------------------------------------------

const chrome = await launchChromium(chromium, chromiumPath);
const context = await chrome.browser.newContext({ baseURL: base, viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(30000);
const problems = [];
page.on('console', (m) => {
  if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  else if (m.type() === 'error' && !/status of (401|403|409)/.test(m.text())) problems.push(`console error: ${m.text()}`);
});
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('dialog', (d) => d.accept());
const signed = [];  // the browser's signed requests, to re-check here
page.on('request', (r) => {
  const auth = r.headers().authorization;
  if (auth) signed.push({ method: r.method(), url: r.url(), auth, body: r.postData() ?? '' });
});
const shot = (name) => page.screenshot({ path: path.join(resultsDir, `console-${name}.png`), fullPage: true });

async function signIn(key, secret = key.secret) {
  await page.fill('#key-id', key.keyId);
  await page.fill('#key-secret', secret);
  await page.click('#sign-in');
}

async function secretLeaks(secret) {
  return page.evaluate((s) => {
    const where = [];
    for (let i = 0; i < localStorage.length; ++i) {
      const k = localStorage.key(i);
      if (k.includes(s) || (localStorage.getItem(k) ?? '').includes(s)) where.push('localStorage');
    }
    for (let i = 0; i < sessionStorage.length; ++i) {
      const k = sessionStorage.key(i);
      if (k.includes(s) || (sessionStorage.getItem(k) ?? '').includes(s)) where.push('sessionStorage');
    }
    if (document.cookie.includes(s)) where.push('cookie');
    if (location.href.includes(s) || decodeURIComponent(location.href).includes(s)) where.push('URL');
    if (document.documentElement.outerHTML.includes(s)) where.push('DOM');
    for (const el of document.querySelectorAll('input')) if (el.value.includes(s)) where.push(`input#${el.id}`);
    return where;
  }, secret);
}

try {
  const res = await page.goto('/console');
  check(res.status() === 200, 'GET /console is 200', res.status());
  const csp = res.headers()['content-security-policy'] ?? '';
  check(csp.includes("connect-src 'self'") && csp.includes("frame-ancestors 'none'"), '/console carries the CSP', csp);
  await page.waitForSelector('#signin-form');
  check(await page.getAttribute('nav a[href="/console"]', 'aria-current') === 'page', 'the nav marks the console page');
  await shot('signin');

  // A wrong secret: the envelope's code, still on the sign-in form.
  await signIn(approver, approver.secret.slice(0, -1) + (approver.secret.endsWith('A') ? 'B' : 'A'));
  await page.waitForSelector('#console-error[data-code]');
  const authError = await page.textContent('#console-error');
  check(authError.includes('UNAUTHENTICATED') && authError.includes('401'), 'a wrong secret shows the auth error', authError);
  check(await page.locator('#signin-form').count() === 1 && await page.locator('#signed-in-as').count() === 0,
        'a wrong secret does not sign in');
  check(await page.inputValue('#key-secret') === '', 'the secret field is cleared after a try');
  await shot('auth-error');

  // The approver.
  await signIn(approver);
  await page.waitForSelector('#signed-in-as');
  const who = await page.textContent('#signed-in-as');
  check(who.includes(approver.keyId) && who.includes('approver'), 'the page shows who is signed in, with the role', who);
  check(await page.textContent('#console-error') === '', 'the earlier error is cleared');
  const leaks = await secretLeaks(approver.secret);
  check(leaks.length === 0, 'the secret is not in storage, cookies, the URL or the DOM', leaks);
  check(!page.url().includes('secret') && !page.url().includes('?'), 'the URL carries nothing', page.url());

  // Wallets, paged: 12 wallets, 10 per page.
  await page.waitForSelector(`#wallets tr[data-wallet="${wallet.id}"]`);
  check((await page.textContent(`#wallets tr[data-wallet="${wallet.id}"]`)).toLowerCase().includes(wallet.address.toLowerCase()),
        'the wallet is listed with its address');
  await page.selectOption('#wallets-size', '10');
  await page.waitForFunction(() => document.querySelectorAll('#wallets tbody tr').length === 10);
  check(await page.isEnabled('#wallets-next'), 'a next page of wallets is offered');
  await page.click('#wallets-next');
  await page.waitForFunction(() => document.querySelectorAll('#wallets tbody tr').length === 2);
  check(await page.isDisabled('#wallets-next') && await page.isEnabled('#wallets-prev'), 'the second page is the last');
  await page.click('#wallets-prev');
  await page.waitForFunction(() => document.querySelectorAll('#wallets tbody tr').length === 10);
  await page.selectOption('#wallets-size', '20');
  await page.waitForFunction(() => document.querySelectorAll('#wallets tbody tr').length === 12);
  await shot('wallets');

  // Its transactions, filtered by status; the transfer is pending.
  await page.click(`button[data-wallet="${wallet.id}"]`);
  await page.waitForSelector(`#transactions tr[data-tx="${txId}"]`);
  check(await page.getAttribute('#tab-transactions', 'aria-selected') === 'true', 'the wallet opens its transactions');
  await page.selectOption('#tx-status', 'pending_approval');
  await page.click('#tx-apply');
  await page.waitForSelector(`#transactions tr[data-tx="${txId}"][data-status="pending_approval"]`);
  await page.click(`button[data-tx="${txId}"]`);
  await page.waitForSelector(`#tx-detail[data-tx="${txId}"] #approve`);
  check(await page.locator('#tx-detail #reject').count() === 1, 'the approver is offered approve and reject');
  await shot('pending');

  await page.click('#approve');
  await page.waitForSelector(`#tx-detail[data-tx="${txId}"][data-status="signed"]`);
  const shownHash = (await page.textContent('#tx-hash')).trim();
  check(/^0x[0-9a-f]{64}$/.test(shownHash), 'the signed transaction shows its hash', shownHash);
  check((await page.textContent('#tx-approvals')).includes(approver.keyId), 'the approval is listed');
  await shot('signed');
  const after = await api(base, operator, 'GET', `/v1/transactions/${txId}`);
  const rec = after.json?.data ?? {};
  check(after.status === 200 && rec.status === 'signed' && rec.hash === shownHash && /^0x/.test(rec.raw ?? ''),
        'the API says the transfer is signed, with the hash shown', rec);
  check(rec.approvals?.length === 1 && rec.approvals[0].approver === approver.keyId && rec.approvals[0].decision === 'approve',
        'the API records the approver', rec.approvals);

  // The browser's signatures, recomputed here from the secret.
  const approveReq = signed.find((s) => s.method === 'POST' && s.url.includes(`/v1/transactions/${txId}/approve`));
  if (approveReq) {
    const u = new URL(approveReq.url);
    const ts = Number(/Timestamp=(\d+)/.exec(approveReq.auth)[1]);
    check(vp1(approver, 'POST', u.pathname, u.search.slice(1), approveReq.body, ts) === approveReq.auth,
          'the browser\'s VP1 signature equals this test\'s', approveReq);
  } else {
    check(false, 'the approve request was seen');
  }
  check(signed.every((s) => !s.url.includes(approver.secret) && !s.auth.includes(approver.secret)),
        'no request carries the secret');

  // Keyboard: arrows move between tabs.
  await page.focus('#tab-transactions');
  await page.keyboard.press('ArrowRight');
  check(await page.getAttribute('#tab-audit', 'aria-selected') === 'true' &&
        await page.evaluate(() => document.activeElement?.id) === 'tab-audit', 'ArrowRight moves to the next tab');
  await page.keyboard.press('Home');
  check(await page.getAttribute('#tab-wallets', 'aria-selected') === 'true', 'Home moves to the first tab');

  await page.click('#sign-out');
  await page.waitForSelector('#signin-form');
  check(await page.locator('#signed-in-as').count() === 0, 'signing out returns to the sign-in form');

  // The admin: self-approval is refused with its code; the audit log and its verification.
  await signIn(admin);
  await page.waitForSelector('#signed-in-as');
  await page.click('#tab-transactions');
  await page.waitForSelector(`button[data-tx="${ownId}"]`);
  await page.click(`button[data-tx="${ownId}"]`);
  await page.waitForSelector(`#tx-detail[data-tx="${ownId}"] #approve`);
  await page.click('#approve');
  await page.waitForSelector('#tx-decision-error[data-code]');
  const refusal = await page.textContent('#tx-decision-error');
  check(refusal.includes('SELF_APPROVAL') && refusal.includes('403'), 'approving one\'s own transfer shows SELF_APPROVAL', refusal);
  await shot('self-approval');

  await page.click('#tab-audit');
  await page.fill('#audit-principal', approver.keyId);
  await page.click('#audit-search');
  await page.waitForSelector('#audit-events tbody tr[data-seq]');
  const approvals = await page.$$eval('#audit-events tbody tr[data-seq]', (rows) =>
    rows.filter((r) => r.dataset.action.includes('approve') && r.dataset.outcome === 'success').length);
  check(approvals === 1, 'the audit log lists the approval', approvals);
  await page.click('#audit-verify');
  await page.waitForSelector('#audit-verdict[data-state]');
  const state = await page.getAttribute('#audit-verdict', 'data-state');
  check(state === 'ok', 'the audit verification passes in the browser', await page.textContent('#audit-verification'));
  check((await page.textContent('#audit-not-checked')).includes('digests'), 'the page says what it could not check');
  await shot('audit');

  // The same chain recomputed here.
  let prev = Buffer.alloc(32), expected = 1, cursor = 0, bad = [];
  for (;;) {
    const r = await api(base, admin, 'GET', '/v1/audit/events', { query: `cursor=${cursor}&limit=1000&order=asc` });
    for (const e of r.json?.data?.events ?? []) {
      const h = chainHash(prev, e);
      if (e.seq !== expected || h.toString('hex') !== e.hash) bad.push(e.seq);
      prev = h;
      expected = e.seq + 1;
    }
    if (r.json?.data?.nextCursor == null) break;
    cursor = r.json.data.nextCursor;
  }
  check(bad.length === 0 && expected > 1, `node:crypto recomputes the same chain (${expected - 1} records)`, bad);

  // A record altered on its way to the browser: the verification must name it.
  const target = await page.$$eval('#audit-events tbody tr[data-seq]', (rows) => Number(rows[0].dataset.seq));
  await page.route('**/v1/audit/events?*', async (route) => {
    const response = await route.fetch();
    const j = await response.json();
    for (const e of j.data?.events ?? []) if (e.seq === target) e.details = e.details.replace('}', ',"x":1}');
    await route.fulfill({ response, json: j });
  });
  await page.click('#audit-verify');
  await page.waitForSelector('#audit-verdict[data-state]');
  check(await page.getAttribute('#audit-verdict', 'data-state') === 'bad' &&
        await page.locator(`#audit-findings li[data-kind="hash"]`).count() >= 1,
        `a record altered in transit (seq ${target}) fails the verification`, await page.textContent('#audit-verification'));
  await shot('audit-tampered');
  await page.unroute('**/v1/audit/events?*');
  await page.click('#sign-out');

  // A key disabled while signed in: the next call's 401 returns to sign-in.
  await signIn(spare);
  await page.waitForSelector('#signed-in-as');
  const disabled = await api(base, admin, 'POST', `/v1/api-keys/${spare.keyId}/disable`, { body: {} });
  check(disabled.status === 200, 'the admin disabled the key', disabled);
  await page.click('#wallets-refresh');
  await page.waitForSelector('#signin-form');
  const expired = await page.textContent('#console-error');
  check(expired.includes('UNAUTHENTICATED'), 'a 401 returns to sign-in with the error', expired);

  // Japanese, and a phone-width screen.
  await signIn(approver);
  await page.waitForSelector('#signed-in-as');
  await page.selectOption('#lang-select', 'ja');
  check((await page.textContent('#tab-wallets')) === 'ウォレット' && (await page.textContent('#sign-out')) === 'サインアウト',
        'the Japanese strings render');
  await page.waitForSelector(`#wallets tr[data-wallet="${wallet.id}"]`);
  await shot('ja');
  await page.selectOption('#lang-select', 'en');
  await page.setViewportSize({ width: 375, height: 800 });
  await page.click('#tab-transactions');
  await page.waitForSelector(`button[data-tx="${txId}"]`);
  await page.click(`button[data-tx="${txId}"]`);
  await page.waitForSelector(`#tx-detail[data-tx="${txId}"]`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 1, 'the console fits a phone-width screen', overflow);
  await shot('phone');

  // Leaving the page forgets the key: coming back (from the back-forward cache or not) asks again.
  await page.goto('/');
  await page.goBack({ waitUntil: 'commit' });
  await page.waitForSelector('#signin-form');
  check(await page.locator('#signed-in-as').count() === 0, 'leaving and coming back asks for the key again');

  check(problems.length === 0, 'no CSP violation or page error', problems);
} catch (e) {
  fail(`${e.stack ?? e}`);
  await page.screenshot({ path: path.join(resultsDir, 'console-failure.png'), fullPage: true }).catch(() => {});
} finally {
  await chrome.close();
  const code = await gateway.stop();
  check(code === 0, 'the gateway stopped cleanly', `${code}\n${gateway.stderr().slice(-2000)}`);
}

finish(`; screenshots in ${resultsDir}`);
