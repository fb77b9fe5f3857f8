// The pages in headless Chromium (docs/web.md, "Benchmark"): bytes transferred to load each
// page with a cold cache (and what /verify fetches when it runs: the WebAssembly verifier and
// bundle.zip), and the time to verify a 64-vote and a 2^16-vote tally proof in the browser
// through /verify's "verify a bundle file" input (the STARK verification in WebAssembly, and
// the whole run of the 15 checks). The bundles come from `vaultproof ballot simulate`, made
// once and kept under /tmp/vp-web-bench. Results: bench/results/web.json.
//   node bench/web_bench.mjs [--bin-dir build/bin] [--web-root build/web] [--runs 7] [--out bench/results/web.json]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, startGateway, unzip } from '../web/tests/harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
};
const binDir = path.resolve(arg('--bin-dir', path.join(ROOT, 'build/bin')));
const webRoot = path.resolve(arg('--web-root', path.join(ROOT, 'build/web')));
const runs = Number(arg('--runs', '7'));
const out = path.resolve(arg('--out', path.join(HERE, 'results/web.json')));
const chromiumPath = process.env.VP_CHROMIUM || '/usr/bin/chromium';
const cache = '/tmp/vp-web-bench';
const { chromium } = createRequire(path.join(ROOT, 'web/package.json'))('playwright-core');

// ---- bundles ---------------------------------------------------------------------------------

function bundle(votes) {
  fs.mkdirSync(cache, { recursive: true });
  const zip = path.join(cache, `s0-${votes}.zip`), receipt = path.join(cache, `s0-${votes}-receipt.json`);
  if (!fs.existsSync(zip) || !fs.existsSync(receipt)) {
    console.error(`making a ${votes}-vote bundle with vaultproof ballot simulate (once, cached in ${cache})`);
    const t0 = Date.now();
    execFileSync(path.join(binDir, 'vaultproof'), ['ballot', 'simulate', '--bots', String(votes - 1), '--scenario', 'S0',
                                                    '--out', zip, '--receipt-out', receipt], { stdio: ['ignore', 'ignore', 'inherit'] });
    console.error(`  ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  return { zip, receipt };
}

// ---- page load size --------------------------------------------------------------------------

// Bytes on the wire (encodedDataLength: headers and body, no compression here) for one load of
// `pathname` with an empty cache, and the requests that made them.
async function loadSize(browser, base, pathname, after) {
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const urls = new Map();
  let bytes = 0, requests = 0;
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFinished', (e) => {
    bytes += e.encodedDataLength;
    requests += 1;
  });
  await page.goto(pathname, { waitUntil: 'networkidle' });
  const initial = { bytes, requests };
  let extra = null;
  if (after) {
    bytes = 0;
    requests = 0;
    await after(page);
    await page.waitForLoadState('networkidle');
    extra = { bytes, requests };
  }
  await context.close();
  return { initial, extra };
}

// ---- verification time -----------------------------------------------------------------------

async function verifyTimes(browser, base, votes) {
  const { zip, receipt } = bundle(votes);
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  page.setDefaultTimeout(120000);
  await page.goto('/verify');
  await page.setInputFiles('#bundle-file', zip);
  await page.setInputFiles('#receipt-file', receipt);
  const wasm = [], total = [];
  for (let i = 0; i < runs + 1; ++i) {
    await page.click('#run');
    await page.waitForSelector('#verdict[data-checks-ms]');
    const ok = (await page.getAttribute('#verdict', 'class')).includes('ok');
    if (!ok) throw new Error(`${votes} votes: verification failed: ${await page.textContent('#verdict')}`);
    wasm.push(Number(await page.getAttribute('#verdict', 'data-verify-ms')));
    total.push(Number(await page.getAttribute('#verdict', 'data-checks-ms')));
    await page.waitForSelector('#run:not([disabled])');
  }
  const panel = await page.textContent('aside');
  await context.close();
  const stats = (xs) => {
    const rest = xs.slice(1).sort((a, b) => a - b);
    return { firstMs: +xs[0].toFixed(2), minMs: +rest[0].toFixed(2), medianMs: +rest[rest.length >> 1].toFixed(2) };
  };
  return {
    votes,
    proofBytes: unzip(fs.readFileSync(zip)).get('proof.bin').length,
    bundleBytes: fs.statSync(zip).size,
    securityBits: (/([\d.]+) bits \(≥/.exec(panel) ?? [])[1] ? Number(/([\d.]+) bits \(≥/.exec(panel)[1]) : null,
    segments: Number((/Proof segments\s*(\d+)/.exec(panel) ?? [0, 0])[1]),
    wasmVerify: stats(wasm),
    allChecks: stats(total),
    runs,
  };
}

const gateway = await startGateway(binDir, webRoot);
const chrome = await launchChromium(chromium, chromiumPath);
try {
  const version = chrome.browser.version();
  const pages = [];
  for (const p of ['/', '/vote', '/aggregate', '/result', '/verify']) {
    const r = await loadSize(chrome.browser, gateway.base, p, p === '/verify'
      ? async (page) => {  // the verifier loads on the first run (no bundle yet: it stops after loading it)
        await page.click('#run');
        await page.waitForSelector('#verdict.bad');
      }
      : null);
    pages.push({ page: p, bytes: r.initial.bytes, requests: r.initial.requests,
                 ...(r.extra ? { verifierBytes: r.extra.bytes, verifierRequests: r.extra.requests } : {}) });
    console.error(`${p}: ${r.initial.bytes} bytes in ${r.initial.requests} requests` +
                  (r.extra ? `; the verifier: ${r.extra.bytes} bytes in ${r.extra.requests}` : ''));
  }
  const verify = [];
  for (const votes of [64, 65536]) {
    const v = await verifyTimes(chrome.browser, gateway.base, votes);
    verify.push(v);
    console.error(`${votes} votes: wasm verify min ${v.wasmVerify.minMs} ms (first ${v.wasmVerify.firstMs}), ` +
                  `all checks min ${v.allChecks.minMs} ms`);
  }
  const assets = fs.readdirSync(path.join(webRoot, 'assets')).map((f) => [f, fs.statSync(path.join(webRoot, 'assets', f)).size]);
  const result = {
    benchmark: 'bench/web_bench.mjs: the pages in headless Chromium (playwright-core) against `vaultproof serve`',
    machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} at the end; shared with other builds, so times are noisy (minima are the better estimate)`,
    date: new Date().toISOString().slice(0, 10),
    chromium: version,
    notes: [
      'bytes: encodedDataLength of every response (headers + body, no compression: the gateway sends none) for one load with the cache disabled',
      '/verify verifierBytes: what the first run fetches besides the page: the verifier chunk and its wasm (no bundle: the run stops there)',
      'wasmVerify: vp_ballot_verify_tally in WebAssembly (public-input.json parse, statement checks, STARK verification, security bits) as /verify times it; firstMs is the first call on a fresh page (V8 compiles lazily), min/median of the following runs',
      'allChecks: in the page, from the click to the verdict, for the 15 checks of an uploaded bundle.zip and receipt.json (read the files, SHA-256 of the bundle, unzip with CRC-32 and inflate, canonical JSON, WASM commitment and Merkle proofs, two Ed25519 verifications in WebCrypto, the STARK verification, DOM updates)',
    ],
    pages,
    assets: Object.fromEntries(assets),
    verify,
  };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
  console.error(`wrote ${out}`);
} finally {
  await chrome.close();
  await gateway.stop();
}
