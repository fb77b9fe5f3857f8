// Browser tests of the pages (docs/web.md), run by ctest as `web_browser`: a real gateway
// (`vaultproof serve` on an ephemeral port, temporary data dir, the built pages) and Debian's
// Chromium, headless, driven by playwright-core. Checks:
//   - S0: vote, aggregate, result ("not verified yet"), verify: all 15 checks pass in the
//     browser and the verdict says so; the server's second opinion agrees; the result is then
//     marked verified;
//   - the browser's STARK verification refuses a bundle with one flipped byte in proof.bin
//     (fed through the "verify a bundle file" input), and a corrupt archive is unreadable;
//   - S1 and S3: the verdict names the failing checks;
//   - the Japanese strings render and the choice is remembered;
//   - every page: the CSP header is there and no CSP violation or page error happens, and
//     the verify page fits a phone-width screen.
// Screenshots of each page go to web/test-results/. Exit 77 (ctest: skipped) without
// Chromium, node_modules or the built pages.
//   node web/tests/browser.mjs --bin-dir build/bin --web-root build/web
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { browserTest, launchChromium, startGateway, unzip, zip } from './harness.mjs';

const { binDir, webRoot, chromiumPath, resultsDir, chromium, check, fail, finish } =
  await browserTest('web_browser', 'index.html', ['vaultproof']);

// ---- the browser ---------------------------------------------------------------------------

const gateway = await startGateway(binDir, webRoot);
const chrome = await launchChromium(chromium, chromiumPath);
const context = await chrome.browser.newContext({ baseURL: gateway.base, viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(30000);
const problems = [];
page.on('console', (m) => {
  if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  else if (m.type() === 'error' && !/404/.test(m.text())) problems.push(`console error: ${m.text()}`);
});
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('dialog', (d) => d.accept());

async function open(pathname, shot) {
  const res = await page.goto(pathname);
  check(res.status() === 200, `GET ${pathname} is 200`, res.status());
  const csp = res.headers()['content-security-policy'] ?? '';
  check(csp.includes("script-src 'self' 'wasm-unsafe-eval'") && csp.includes("frame-ancestors 'none'"),
        `${pathname} carries the CSP`, csp);
  await page.waitForSelector('h1');
  if (shot) await page.screenshot({ path: path.join(resultsDir, `${shot}.png`), fullPage: true });
}

async function voteAndFinalize(scenario, choiceIndex) {
  await open('/vote');
  if (await page.locator('#new-election').count()) await page.click('#new-election');
  await page.click('#start-session');
  await page.check(`#choice-${choiceIndex}`);
  await page.click('#cast');
  await page.waitForSelector('#receipt');
  await page.waitForSelector('#to-aggregate:not([hidden])');
  await page.waitForSelector('#receipt-check.ok');
  await open('/aggregate');
  await page.check(`#scenario-${scenario}`);
  await page.click('#finalize');
  await page.waitForSelector('#to-verify', { timeout: 60000 });
}

async function verify() {
  await open('/verify');
  await page.click('#run');
  await page.waitForSelector('#verdict.ok, #verdict.bad', { timeout: 60000 });
  const verdict = await page.textContent('#verdict');
  const failed = (await page.getAttribute('#verdict', 'data-failed')) ?? '';
  const statuses = await page.$$eval('#browser-checks li.check',
                                     (lis) => lis.map((li) => [li.dataset.check, li.dataset.status]));
  return { verdict, failed: failed ? failed.split(',') : [], statuses };
}

try {
  // ---- S0: everything passes -------------------------------------------------------------
  await open('/', 'home');
  check((await page.textContent('nav')).includes('Operators’ console'), 'the nav has the console entry');
  await voteAndFinalize('S0', 2);
  const receipt = await page.evaluate(() => JSON.parse(localStorage.getItem('vp.ballot.receipt')));
  check(receipt && receipt.vote === 2 && /^[0-9a-f]{64}$/.test(receipt.rand), 'the receipt is kept in localStorage');
  await page.screenshot({ path: path.join(resultsDir, 'aggregate.png'), fullPage: true });
  await open('/vote', 'vote');
  check(await page.locator('#save-receipt').count() === 1, 'the receipt can be downloaded');
  await open('/result', 'result-unverified');
  check((await page.getAttribute('#verified-badge', 'class')).includes('pending'), 'the result is marked not verified yet');
  check(await page.locator('#tally tbody tr').count() === 5, 'the tally has a bar per choice');

  const s0 = await verify();
  check(s0.statuses.length === 15 && s0.statuses.every(([, st]) => st === 'pass'), 'S0: all 15 checks pass in the browser',
        s0.statuses.filter(([, st]) => st !== 'pass'));
  check(s0.verdict.includes('Your vote was counted and the tally is proven'), 'S0: the verdict is shown', s0.verdict);
  await page.waitForSelector('#server-verdict');
  check((await page.getAttribute('#server-opinion', 'data-valid')) === 'true', 'S0: the server agrees (second opinion)');
  check(await page.locator('#bundle-download').count() === 1, 'S0: bundle.zip is offered for download');
  const panelText = await page.textContent('aside');
  check(/bits \(≥ 100\)/.test(panelText) && /KiB/.test(panelText), 'the side panel shows proof size and security level');
  await page.screenshot({ path: path.join(resultsDir, 'verify.png'), fullPage: true });
  await open('/result', 'result-verified');
  check((await page.getAttribute('#verified-badge', 'class')).includes('ok'), 'the result is marked verified after /verify');

  // Phone width: nothing wider than the screen.
  await page.setViewportSize({ width: 375, height: 800 });
  await open('/verify');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, 'the verify page fits a 375 px screen', overflow);
  await page.screenshot({ path: path.join(resultsDir, 'verify-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });

  // ---- Japanese ----------------------------------------------------------------------------
  await open('/verify');
  await page.selectOption('#lang-select', 'ja');
  check((await page.textContent('h1')) === '検証', 'Japanese: the title is translated');
  await page.click('#run');
  await page.waitForSelector('#verdict.ok', { timeout: 60000 });
  check((await page.textContent('#verdict')).includes('あなたの票は集計され'), 'Japanese: the verdict is translated');
  await page.screenshot({ path: path.join(resultsDir, 'verify-ja.png'), fullPage: true });
  await open('/', 'home-ja');
  check((await page.textContent('nav')).includes('投票'), 'Japanese: the choice is remembered across pages');
  await page.selectOption('#lang-select', 'en');

  // ---- a flipped proof byte: the browser's STARK verification refuses it --------------------
  const execution = await page.evaluate(() => JSON.parse(localStorage.getItem('vp.ballot.execution')));
  const bundle = Buffer.from(await (await fetch(gateway.base + execution.result.bundleUrl)).arrayBuffer());
  const files = unzip(bundle);
  const proof = Buffer.from(files.get('proof.bin'));
  proof[16 + ((proof.length - 16) >> 1)] ^= 0x01;
  files.set('proof.bin', proof);
  const tampered = path.join(resultsDir, 'bundle-flipped-proof-byte.zip');
  fs.writeFileSync(tampered, zip(files));
  await open('/verify');
  await page.setInputFiles('#bundle-file', tampered);
  const flipped = await runOnOpenPage();
  check(flipped.failed.length === 1 && flipped.failed[0] === 'proofVerifies',
        'a flipped proof byte: only proofVerifies fails', flipped.failed);
  check(flipped.verdict.includes('proofVerifies'), 'a flipped proof byte: the verdict names the check', flipped.verdict);
  const detail = await page.textContent('li[data-check=proofVerifies] .detail');
  check(detail.includes('does not verify'), 'a flipped proof byte: the reason is shown', detail);
  await page.screenshot({ path: path.join(resultsDir, 'verify-flipped-byte.png'), fullPage: true });

  // A byte flipped in the archive itself: the CRC-32 check of the zip reader refuses it.
  const corrupt = Buffer.from(bundle);
  corrupt[100] ^= 0xff;
  const corruptPath = path.join(resultsDir, 'bundle-corrupt.zip');
  fs.writeFileSync(corruptPath, corrupt);
  await open('/verify');
  await page.setInputFiles('#bundle-file', corruptPath);
  const unreadable = await runOnOpenPage();
  check(unreadable.verdict.includes('unreadable'), 'a corrupt archive is unreadable', unreadable.verdict);

  // ---- a version 1 bundle (tests/ballot/fixtures, made by the last version 1 build) ---------
  const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'ballot', 'fixtures');
  await open('/verify');
  await page.setInputFiles('#receipt-file', path.join(fixtures, 'receipt-v1-S0.json'));
  await page.setInputFiles('#bundle-file', path.join(fixtures, 'bundle-v1-S0.zip'));
  const v1 = await runOnOpenPage();
  check(v1.failed.length === 0 && v1.verdict.includes('counted'), 'a version 1 bundle and its receipt verify',
        { failed: v1.failed, verdict: v1.verdict });

  // ---- S1 and S3: the failing checks are named ----------------------------------------------
  await voteAndFinalize('S1', 0);
  const s1 = await verify();
  check(s1.failed.join() === 'noExcludedSlots,myVoteCounted', 'S1: noExcludedSlots and myVoteCounted fail', s1.failed);
  check(s1.verdict.includes('Verification failed') && s1.verdict.includes('myVoteCounted'), 'S1: the verdict names them',
        s1.verdict);
  await page.waitForSelector('#server-verdict');
  check((await page.getAttribute('#server-opinion', 'data-valid')) === 'false', 'S1: the server finds it too');
  await page.screenshot({ path: path.join(resultsDir, 'verify-s1.png'), fullPage: true });

  await voteAndFinalize('S3', 4);
  const s3 = await verify();
  // Exactly the server's findings: the vote's evidence is taken against the tree the operator
  // closed (GET /api/verify), so the voter's own vote is still found on the board.
  check(s3.failed.join() === 'rootAtCastConsistent,treeSizeMatches', 'S3: rootAtCastConsistent and treeSizeMatches fail',
        s3.failed);
  check(!s3.failed.includes('proofVerifies') && !s3.failed.includes('claimedEqualsProven'),
        'S3: the proof itself and the published tally are fine', s3.failed);
  check(s3.verdict.includes('treeSizeMatches'), 'S3: the verdict names the check', s3.verdict);
  await page.screenshot({ path: path.join(resultsDir, 'verify-s3.png'), fullPage: true });

  check(problems.length === 0, 'no CSP violation, console error or page error', problems);
} catch (e) {
  fail(`the run stopped: ${e.stack ?? e}`);
  await page.screenshot({ path: path.join(resultsDir, 'failure.png'), fullPage: true }).catch(() => {});
  console.log(gateway.stderr().slice(-4000));
} finally {
  await chrome.close();
  await gateway.stop();
}

// /verify is open with inputs chosen: run and read the outcome.
async function runOnOpenPage() {
  await page.click('#run');
  await page.waitForSelector('#verdict.ok, #verdict.bad', { timeout: 60000 });
  const failed = (await page.getAttribute('#verdict', 'data-failed')) ?? '';
  return { verdict: await page.textContent('#verdict'), failed: failed ? failed.split(',') : [] };
}

finish(`; screenshots in ${resultsDir}`);
