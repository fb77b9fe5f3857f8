// Shared by the browser tests (browser.mjs) and the benchmark (bench/web_bench.mjs): a real
// `vaultproof serve` on an ephemeral port with a temporary data dir serving the built pages,
// Debian's Chromium launched headless with exactly the flags of docs/web.md and a fresh
// profile, and a minimal zip reader/writer (independent of the page's) to make test bundles.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import zlib from 'node:zlib';

export const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                      '--disable-sync', '--no-first-run'];

// ---- the gateway ---------------------------------------------------------------------------

// extraToml: more settings (e.g. [ballot] bot_count).
export async function startGateway(binDir, webRoot, extraToml = '') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-web-test-'));
  const config = path.join(dir, 'gateway.toml');
  fs.writeFileSync(config, `
[custody]
enabled = false
[rate_limits]
per_ip_limit = 100000
[ballot]
vote_limit_per_ip = 0
session_limit_per_ip = 0
finalize_mode = "async"
${extraToml}
[web]
root = ${JSON.stringify(webRoot)}
`);
  const proc = spawn(path.join(binDir, 'vaultproof'),
                     ['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--config', config],
                     { env: { ...process.env, VAULTPROOF_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const line = await new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: proc.stdout });
    const timer = setTimeout(() => reject(new Error(`the gateway did not start: ${stderr}`)), 30000);
    rl.once('line', (l) => { clearTimeout(timer); resolve(l); });
    proc.once('exit', (code) => reject(new Error(`the gateway exited (${code}): ${stderr}`)));
  });
  const port = Number(JSON.parse(line).listening.split(':').pop());
  return {
    base: `http://127.0.0.1:${port}`,
    stderr: () => stderr,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((resolve) => proc.once('exit', resolve));
      fs.rmSync(dir, { recursive: true, force: true });
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
