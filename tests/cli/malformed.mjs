#!/usr/bin/env node
// CLI malformed-input test: every file under tests/corpus/ is one bad input, and the
// command it is fed to must refuse it the way the contract says: exit status 2 (never a
// signal), nothing on stdout, and one JSON {"error", "message"} object on stderr. The same
// inputs then go through `eth batch`, where each must give an error line without stopping
// the lines after it. A valid control input per command runs first, so a refusal cannot
// come from a broken harness.
//
//   node tests/cli/malformed.mjs --bin build/bin/vaultproof
//
// Which command reads which folder (absent folders are skipped, with a note):
//   rlp/*.hex         decode-tx, stdin "0x" + the file's hex
//   raw_tx/*.txt      decode-tx, stdin = the file
//   hex/tx_*.txt      decode-tx, stdin = the file
//   hex/key_*.txt     address and sign-message, --key-file = the file
//   address/*.txt     sign-tx with "to" = the file's text; sign-typed-data with an address field
//   typed_data/*      sign-typed-data, stdin = the file
//   mnemonic/*.txt    derive --mnemonic-file = the file (a valid path)
//   bip32_path/*.txt  derive --path = the file's text less one trailing newline (a valid mnemonic)
// Only node's standard library is used, so this runs without npm packages.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const args = { bin: null, corpus: path.resolve(HERE, "..", "corpus") };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--bin" && i + 1 < argv.length) args.bin = argv[++i];
    else if (argv[i] === "--corpus" && i + 1 < argv.length) args.corpus = argv[++i];
    else {
      console.error(`malformed.mjs: unknown argument ${argv[i]}\nusage: node malformed.mjs --bin PATH [--corpus DIR]`);
      process.exit(1);
    }
  }
  if (!args.bin) {
    console.error("malformed.mjs: --bin is required");
    process.exit(1);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const BIN = path.resolve(args.bin);
if (!fs.existsSync(BIN)) {
  console.error(`FAIL: binary ${BIN} does not exist`);
  process.exit(1);
}

// The EIP-155 example key and the BIP-39 all-"abandon" mnemonic: public test values.
const GOOD_KEY = "0x" + "46".repeat(32);
const GOOD_MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
const GOOD_PATH = "m/44'/60'/0'/0/0";
const GOOD_RAW_TX = "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83";
const GOOD_TO = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const txWithTo = (to) => ({ type: 2, chainId: "1", nonce: "0", gasLimit: "21000", maxFeePerGas: "2", maxPriorityFeePerGas: "1", value: "0", to });
const typedWithAddress = (a) => ({ domain: { name: "vaultproof" }, types: { Mail: [{ name: "to", type: "address" }] }, primaryType: "Mail", message: { to: a } });

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "vp-malformed-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
let fileCounter = 0;
function tempFile(content) {
  const f = path.join(tmp, `f${fileCounter++}`);
  fs.writeFileSync(f, content, { mode: 0o600 });
  return f;
}
const goodKeyFile = tempFile(GOOD_KEY + "\n");
const goodMnemonicFile = tempFile(GOOD_MNEMONIC + "\n");

let passed = 0;
const failures = [];
const notes = [];

function run(argv, stdin) {
  const r = spawnSync(BIN, argv, { input: stdin, maxBuffer: 1 << 28, timeout: 60000 });
  // EPIPE: the command refused an oversized input before reading all of it, which is the
  // point; its exit status still tells what happened.
  const error = r.error?.code === "EPIPE" ? undefined : r.error;
  return { error, status: r.status, signal: r.signal, stdout: r.stdout?.toString("utf8") ?? "", stderr: r.stderr?.toString("utf8") ?? "" };
}

function isErrorObject(text) {
  let v;
  try {
    v = JSON.parse(text);
  } catch {
    return false;
  }
  return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 2 &&
         typeof v.error === "string" && v.error.length > 0 && typeof v.message === "string" && v.message.length > 0;
}

const show = (s) => JSON.stringify(s.length > 300 ? s.slice(0, 300) + "..." : s);

function expectRefusal(name, argv, stdin) {
  const r = run(argv, stdin);
  let why = null;
  if (r.error) why = `could not run: ${r.error.message}`;
  else if (r.signal !== null) why = `killed by ${r.signal}`;
  else if (r.status !== 2) why = `exit ${r.status}, expected 2`;
  else if (r.stdout !== "") why = `stdout not empty: ${show(r.stdout)}`;
  else if (!isErrorObject(r.stderr)) why = `stderr is not one JSON {"error","message"}`;
  if (why) failures.push(`${name}: ${why}\n    vaultproof ${argv.join(" ")}\n    stdout: ${show(r.stdout)}\n    stderr: ${show(r.stderr)}`);
  else passed++;
}

function expectSuccess(name, argv, stdin) {
  const r = run(argv, stdin);
  if (r.error || r.signal !== null || r.status !== 0) {
    failures.push(`control ${name}: a valid input failed (exit ${r.status ?? r.signal}): the harness or the CLI is broken\n    stderr: ${show(r.stderr)}`);
  } else {
    passed++;
  }
}

// [name, content Buffer] for each regular file of a corpus folder, sorted; null if absent.
function readFolder(folder, filter = () => true) {
  const dir = path.join(args.corpus, folder);
  if (!fs.existsSync(dir)) {
    notes.push(`tests/corpus/${folder}/ is absent: skipped`);
    return null;
  }
  return fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile() && filter(f)).sort()
    .map((f) => [`${folder}/${f}`, fs.readFileSync(path.join(dir, f))]);
}

// A Buffer as a JS string only when that is lossless (JSON lines and argv need text).
function asText(buf) {
  const s = buf.toString("utf8");
  return Buffer.from(s, "utf8").equals(buf) ? s : null;
}

const stripOneNewline = (s) => (s.endsWith("\r\n") ? s.slice(0, -2) : s.endsWith("\n") ? s.slice(0, -1) : s);

// ---------------------------------------------------------------------------------------

expectSuccess("decode-tx", ["eth", "decode-tx"], GOOD_RAW_TX);
expectSuccess("address", ["eth", "address", "--key-file", goodKeyFile], "");
expectSuccess("sign-message", ["eth", "sign-message", "--key-file", goodKeyFile], "hi");
expectSuccess("sign-tx", ["eth", "sign-tx", "--key-file", goodKeyFile], JSON.stringify(txWithTo(GOOD_TO)));
expectSuccess("sign-typed-data", ["eth", "sign-typed-data", "--key-file", goodKeyFile], JSON.stringify(typedWithAddress(GOOD_TO)));
expectSuccess("derive", ["eth", "derive", "--mnemonic-file", goodMnemonicFile, "--path", GOOD_PATH], "");

const batch = [];  // [name, JSON line] — each must come back as an error line
const counts = {};
const count = (folder) => { counts[folder] = (counts[folder] ?? 0) + 1; };

for (const [name, buf] of readFolder("rlp", (f) => f.endsWith(".hex")) ?? []) {
  const raw = "0x" + buf.toString("latin1").trim();
  expectRefusal(name, ["eth", "decode-tx"], raw);
  batch.push([name, { op: "decode-tx", input: raw }]);
  count("rlp");
}

for (const [name, buf] of readFolder("raw_tx") ?? []) {
  expectRefusal(name, ["eth", "decode-tx"], buf);
  const text = asText(buf);
  if (text !== null) batch.push([name, { op: "decode-tx", input: text }]);
  count("raw_tx");
}

for (const [name, buf] of readFolder("hex") ?? []) {
  const base = path.basename(name);
  const text = asText(buf);
  if (base.startsWith("tx_")) {
    expectRefusal(name, ["eth", "decode-tx"], buf);
    if (text !== null) batch.push([name, { op: "decode-tx", input: text }]);
  } else if (base.startsWith("key_")) {
    const f = tempFile(buf);
    expectRefusal(`${name} (address)`, ["eth", "address", "--key-file", f], "");
    expectRefusal(`${name} (sign-message)`, ["eth", "sign-message", "--key-file", f], "hi");
    if (text !== null) batch.push([name, { op: "address", key: text }]);
  } else {
    failures.push(`${name}: hex/ files must be named tx_* (decode-tx) or key_* (key files)`);
  }
  count("hex");
}

for (const [name, buf] of readFolder("address") ?? []) {
  const text = asText(buf);
  if (text === null) {
    failures.push(`${name}: not valid UTF-8, so it cannot be a JSON string`);
    continue;
  }
  expectRefusal(`${name} (sign-tx to)`, ["eth", "sign-tx", "--key-file", goodKeyFile], JSON.stringify(txWithTo(text)));
  expectRefusal(`${name} (sign-typed-data address)`, ["eth", "sign-typed-data", "--key-file", goodKeyFile],
                JSON.stringify(typedWithAddress(text)));
  batch.push([name, { op: "sign-tx", key: GOOD_KEY, input: txWithTo(text) }]);
  count("address");
}

// Not batched: these documents are about the JSON text itself (duplicate keys, bad syntax),
// which a batch line would re-encode.
for (const [name, buf] of readFolder("typed_data") ?? []) {
  expectRefusal(name, ["eth", "sign-typed-data", "--key-file", goodKeyFile], buf);
  count("typed_data");
}

for (const [name, buf] of readFolder("mnemonic") ?? []) {
  expectRefusal(name, ["eth", "derive", "--mnemonic-file", tempFile(buf), "--path", GOOD_PATH], "");
  const text = asText(buf);
  // The command strips one final newline from the file; the batch gets the same text.
  if (text !== null) batch.push([name, { op: "derive", input: { mnemonic: stripOneNewline(text), path: GOOD_PATH } }]);
  count("mnemonic");
}

for (const [name, buf] of readFolder("bip32_path") ?? []) {
  const text = asText(buf);
  if (text === null || text.includes("\0")) {
    notes.push(`${name}: cannot be passed as an argument (NUL byte or invalid UTF-8): batch only`);
  } else {
    expectRefusal(name, ["eth", "derive", "--mnemonic-file", goodMnemonicFile, "--path", stripOneNewline(text)], "");
  }
  if (text !== null) batch.push([name, { op: "derive", input: { mnemonic: GOOD_MNEMONIC, path: stripOneNewline(text) } }]);
  count("bip32_path");
}

// Inputs too large or too odd to keep as files.
{
  // 400,000 nested lists (~1.6 MB): a decoder without a depth bound overflows its stack.
  const depth = 400000;
  const parts = [];
  let len = 0;
  const headers = [];
  for (let i = 0; i < depth; i++) {
    const h = len < 56 ? [0xc0 + len] : (() => {
      const b = [];
      for (let x = len; x > 0; x = Math.floor(x / 256)) b.unshift(x % 256);
      return [0xf7 + b.length, ...b];
    })();
    headers.push(Buffer.from(h));
    len += h.length;
  }
  for (let i = headers.length - 1; i >= 0; i--) parts.push(headers[i]);
  const deep = "0x" + Buffer.concat(parts).toString("hex");
  expectRefusal("synthesized: 400000 nested lists", ["eth", "decode-tx"], deep);
  batch.push(["synthesized: 400000 nested lists", { op: "decode-tx", input: deep }]);

  expectRefusal("synthesized: 5 MiB of hex on stdin", ["eth", "decode-tx"], "0x" + "00".repeat(5 * 512 * 1024));
  expectRefusal("synthesized: 5 MiB message on stdin", ["eth", "sign-message", "--key-file", goodKeyFile], Buffer.alloc(5 << 20, 0x61));
  expectRefusal("synthesized: 1 MiB key file", ["eth", "address", "--key-file", tempFile("0x" + "11".repeat(512 * 1024))], "");
  expectRefusal("synthesized: invalid UTF-8 in typed data", ["eth", "sign-typed-data", "--key-file", goodKeyFile],
                Buffer.concat([Buffer.from('{"domain":{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"},"types":{"M":[]},"primaryType":"M","message":{}}')]));
  expectRefusal("synthesized: invalid UTF-8 in transaction", ["eth", "sign-tx", "--key-file", goodKeyFile],
                Buffer.concat([Buffer.from('{"type":2,"data":"0x'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]));
  expectRefusal("synthesized: invalid UTF-8 mnemonic", ["eth", "derive", "--mnemonic-file", tempFile(Buffer.from([0x61, 0x62, 0xff, 0x0a])), "--path", GOOD_PATH], "");
  expectRefusal("synthesized: invalid UTF-8 path", ["eth", "derive", "--mnemonic-file", goodMnemonicFile, "--path", Buffer.from([0x6d, 0x2f, 0xff]).toString("latin1")], "");
  expectRefusal("synthesized: passphrase file missing", ["eth", "derive", "--mnemonic-file", goodMnemonicFile, "--passphrase-file", path.join(tmp, "nope"), "--path", GOOD_PATH], "");
  expectRefusal("synthesized: key file is a directory", ["eth", "address", "--key-file", tmp], "");
  expectRefusal("synthesized: no arguments", [], "");
  expectRefusal("synthesized: eth without a command", ["eth"], "");
  expectRefusal("synthesized: unknown option", ["eth", "decode-tx", "--bogus"], GOOD_RAW_TX);
}

// The batch: one line each, errors expected everywhere; a valid line in the middle and at
// the end shows that errors do not stop or shift the lines after them.
{
  const lines = batch.map(([name, obj]) => [name, JSON.stringify(obj), true]);
  lines.splice(Math.floor(lines.length / 2), 0, ["control: valid decode-tx", JSON.stringify({ op: "decode-tx", input: GOOD_RAW_TX }), false]);
  lines.push(["batch: not JSON", "{\"op\":", true]);
  lines.push(["batch: invalid UTF-8 line", Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]), true]);
  lines.push(["batch: JSON array", "[1,2]", true]);
  lines.push(["control: valid address", JSON.stringify({ op: "address", key: GOOD_KEY }), false]);
  const input = Buffer.concat(lines.flatMap(([, text]) => [Buffer.isBuffer(text) ? text : Buffer.from(text, "utf8"), Buffer.from("\n")]));
  const r = spawnSync(BIN, ["eth", "batch"], { input, maxBuffer: 1 << 28, timeout: 120000 });
  if (r.error || r.signal !== null || r.status !== 0) {
    failures.push(`eth batch: exit ${r.status ?? r.signal} (${r.error?.message ?? ""}), expected 0\n    stderr: ${show(r.stderr?.toString() ?? "")}`);
  } else {
    const out = r.stdout.toString("utf8").split("\n");
    if (out[out.length - 1] === "") out.pop();
    if (out.length !== lines.length) {
      failures.push(`eth batch: ${out.length} lines out for ${lines.length} in`);
    } else {
      lines.forEach(([name, text, wantError], i) => {
        const isError = isErrorObject(out[i]);
        let ok = isError === wantError;
        if (!wantError) ok = ok && out[i].startsWith("{");
        if (ok) passed++;
        else failures.push(`batch ${name}: expected ${wantError ? "an error line" : "a result"}, got ${show(out[i])}\n    line: ${show(text.toString())}`);
      });
    }
  }
}

for (const n of notes) console.log(`note: ${n}`);
console.log(`corpus: ${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ")}; ${batch.length} batch lines`);
if (failures.length > 0) {
  for (const f of failures) console.log(`FAIL ${f}`);
  console.log(`${passed} passed, ${failures.length} failed`);
  process.exit(1);
}
console.log(`${passed} passed, 0 failed`);
