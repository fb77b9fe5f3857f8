// Shared by the browser tests (browser.mjs) and the benchmark (bench/web_bench.mjs): a real
// `vaultproof serve` on an ephemeral port with a temporary data dir serving the built pages,
// Debian's Chromium launched headless with exactly the flags of docs/web.md and a fresh
// profile, and a minimal zip reader/writer (independent of the page's) to make test bundles.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

export const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                      '--disable-sync', '--no-first-run'];

// ---- a browser test's command line, preconditions and results ---------------------------

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// --bin-dir and --web-root (defaults: build/bin, build/web); exits 77 (ctest: skipped) when
// Chromium, web/node_modules or the built `page` is missing, and 1 when one of `binaries`
// is. Answers the paths, playwright-core's chromium, and check()/summary() for the results.
export async function browserTest(name, page, binaries) {
  const arg = (flag, fallback) => {
    const i = process.argv.indexOf(flag);
    return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
  };
  const binDir = path.resolve(arg('--bin-dir', path.join(WEB, '../build/bin')));
  const webRoot = path.resolve(arg('--web-root', path.join(WEB, '../build/web')));
  const chromiumPath = process.env.VP_CHROMIUM || '/usr/bin/chromium';
  const resultsDir = path.join(WEB, 'test-results');
  const skip = (why) => {
    console.log(`${name}: skipped: ${why}`);
    process.exit(77);
  };
  if (!fs.existsSync(chromiumPath)) skip(`no Chromium at ${chromiumPath} (apt-get install chromium)`);
  if (!fs.existsSync(path.join(WEB, 'node_modules/playwright-core'))) skip('web/node_modules is missing (scripts/setup)');
  if (!fs.existsSync(path.join(webRoot, page))) skip(`${page} is not built in ${webRoot} (the web target)`);
  for (const b of binaries) {
    if (!fs.existsSync(path.join(binDir, b))) {
      console.log(`FAIL no ${b} in ${binDir} (build it)`);
      process.exit(1);
    }
  }
  fs.mkdirSync(resultsDir, { recursive: true });
  const { chromium } = await import('playwright-core');
  const t0 = Date.now();
  let failures = 0;
  return {
    binDir, webRoot, chromiumPath, resultsDir, chromium,
    check(cond, what, detail) {
      if (cond) {
        console.log(`ok   ${what}`);
      } else {
        failures++;
        console.log(`FAIL ${what}${detail === undefined ? '' : `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`}`);
      }
    },
    fail(what) {
      failures++;
      console.log(`FAIL ${what}`);
    },
    // Prints the summary line and exits 0 when every check passed, 1 otherwise.
    finish(extra = '') {
      console.log(`${name}: ${failures === 0 ? 'all passed' : `${failures} failed`} in ` +
                  `${((Date.now() - t0) / 1000).toFixed(1)} s${extra}`);
      process.exit(failures === 0 ? 0 : 1);
    },
  };
}

// ---- the gateway ---------------------------------------------------------------------------

// options.custody: start the kms and signer too (the console; slower), off by default;
// options.extraToml: more settings (e.g. [ballot] bot_count); VP_WORKER_THREADS sets
// [worker] threads (default 2). The answer has the gateway's
// base URL, its data dir, createKey(role) (the CLI's `api-key create`), and stop(), which
// resolves to the gateway's exit code.
export async function startGateway(binDir, webRoot, options = {}) {
  const { custody = false, extraToml = '' } = typeof options === 'string' ? { extraToml: options } : options;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-web-test-'));
  const config = path.join(dir, 'gateway.toml');
  fs.writeFileSync(config, `
[custody]
enabled = ${custody}
[worker]
threads = ${Number(process.env.VP_WORKER_THREADS ?? 2)}
[rate_limits]
per_key_limit = 100000
per_ip_limit = 100000
[ballot]
vote_limit_per_ip = 0
session_limit_per_ip = 0
finalize_mode = "async"
${extraToml}
[web]
root = ${JSON.stringify(webRoot)}
`);
  const env = { ...process.env, VAULTPROOF_LOG_LEVEL: 'warn' };
  const proc = spawn(path.join(binDir, 'vaultproof'),
                     ['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--config', config],
                     { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const line = await new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: proc.stdout });
    const timer = setTimeout(() => reject(new Error(`the gateway did not start: ${stderr}`)), 60000);
    rl.once('line', (l) => { clearTimeout(timer); resolve(l); });
    proc.once('exit', (code) => reject(new Error(`the gateway exited (${code}): ${stderr}`)));
  });
  const base = `http://127.0.0.1:${Number(JSON.parse(line).listening.split(':').pop())}`;
  // /readyz is 200 once the store (and with custody, the signer) answers.
  for (let i = 0; i < 120; ++i) {
    const r = await fetch(`${base}/readyz`).catch(() => null);
    if (r && r.status === 200) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  return {
    base,
    dir,
    stderr: () => stderr,
    createKey(role) {
      const out = execFileSync(path.join(binDir, 'vaultproof'),
                               ['api-key', 'create', '--data-dir', dir, '--role', role, '--name', `web-${role}`],
                               { encoding: 'utf8', env });
      const j = JSON.parse(out.trim().split('\n').pop());
      return { keyId: j.keyId, secret: j.secret, role };
    },
    async stop() {
      proc.kill('SIGTERM');
      const code = await new Promise((resolve) => proc.once('exit', resolve));
      fs.rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

// ---- the browser ---------------------------------------------------------------------------

// Headless Chromium with FLAGS only (Playwright's own defaults are left out) and a fresh
// user-data-dir, removed by close().
export async function launchChromium(chromium, executablePath) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-web-chromium-'));
  const browser = await chromium.launch({
    executablePath,
    ignoreDefaultArgs: true,
    args: [...FLAGS, '--headless', `--user-data-dir=${profile}`, '--remote-debugging-pipe', '--no-startup-window'],
    timeout: 60000,
  });
  return {
    browser,
    async close() {
      await browser.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// ---- a minimal zip reader and writer (test side, independent of the page's) ----------------

export function unzip(buf) {
  let end = buf.length - 22;
  while (end >= 0 && buf.readUInt32LE(end) !== 0x06054b50) --end;
  const count = buf.readUInt16LE(end + 10);
  let at = buf.readUInt32LE(end + 16);
  const files = new Map();
  for (let i = 0; i < count; ++i) {
    const method = buf.readUInt16LE(at + 10), csize = buf.readUInt32LE(at + 20);
    const nameLen = buf.readUInt16LE(at + 28), extra = buf.readUInt16LE(at + 30), comment = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.subarray(at + 46, at + 46 + nameLen).toString();
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + csize);
    files.set(name, method === 8 ? zlib.inflateRawSync(data) : Buffer.from(data));
    at += 46 + nameLen + extra + comment;
  }
  return files;
}

function crc32(data) {
  let crc = 0xffffffff;
  for (const b of data) {
    crc ^= b;
    for (let k = 0; k < 8; ++k) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

// Stored entries, valid CRCs: only the content differs from the original.
export function zip(files) {
  const locals = [], centrals = [];
  let offset = 0;
  for (const [name, data] of files) {
    const n = Buffer.from(name), crc = crc32(data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(20, 4); lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(data.length, 18); lh.writeUInt32LE(data.length, 22); lh.writeUInt16LE(n.length, 26);
    lh.writeUInt16LE(0x21, 12);  // 1980-01-01
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE(20, 4); ch.writeUInt16LE(20, 6); ch.writeUInt16LE(0x21, 14);
    ch.writeUInt32LE(crc, 16); ch.writeUInt32LE(data.length, 20); ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(n.length, 28); ch.writeUInt32LE(offset, 42);
    locals.push(lh, n, data);
    centrals.push(ch, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0); eocd.writeUInt16LE(files.size, 8); eocd.writeUInt16LE(files.size, 10);
  eocd.writeUInt32LE(cd.length, 12); eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}
