#!/usr/bin/env node
// Differential test: `vaultproof eth ...` against ethers v6 (the reference implementation).
// Seeded random keys, transactions (types 0/1/2), EIP-191 messages, EIP-712 documents
// and BIP-32/39/44 derivations go through `vaultproof eth batch` and through ethers, and
// every output must agree byte for byte; a few dozen cases also go through the single
// commands (key files, stdin) and known-invalid inputs must exit 2 with a JSON error.
//
//   node tests/ethers/diff.mjs --bin build/bin/vaultproof [--seed N] [--count N]
//   VP_TEST_SEED=123 node tests/ethers/diff.mjs --bin ...     (the env var wins over --seed)
//
// On the first mismatch it prints the seed, the case and both outputs, and exits 1
// (--keep-going lists every batch mismatch instead, for triage).

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Rng, parseSeed } from "./rng.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));

// A missing install must fail loudly: a differential test that silently does nothing
// would let every regression through.
if (!fs.existsSync(path.join(HERE, "node_modules", "ethers"))) {
  console.error(`FAIL: ethers is not installed (${path.join(HERE, "node_modules")} is missing).\n` +
                "      Run: npm ci --prefix tests/ethers --no-audit --no-fund");
  process.exit(1);
}
const {
  Wallet, Transaction, TypedDataEncoder, HDNodeWallet, Mnemonic, SigningKey,
  getAddress, hexlify, keccak256, encodeRlp, toBeArray, concat, toUtf8Bytes,
} = await import("ethers");

// ---------------------------------------------------------------------------------------
// Arguments.

function parseArgs(argv) {
  const args = { bin: null, seed: "0x5eed2024", count: 4000, single: 30 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--bin") args.bin = value();
    else if (a === "--seed") args.seed = value();
    else if (a === "--count") args.count = Number(value());
    else if (a === "--single") args.single = Number(value());
    else if (a === "--keep-going") args.keepGoing = true;
    else usage(`unknown argument ${a}`);
  }
  if (!args.bin) usage("--bin is required");
  if (!Number.isInteger(args.count) || args.count < 10) usage("--count must be an integer >= 10");
  if (!Number.isInteger(args.single) || args.single < 0) usage("--single must be an integer >= 0");
  return args;
}

function usage(why) {
  console.error(`diff.mjs: ${why}\nusage: node diff.mjs --bin PATH [--seed N] [--count N] [--single N] [--keep-going]`);
  process.exit(1);
}

const args = parseArgs(process.argv.slice(2));
const seedText = process.env.VP_TEST_SEED ?? args.seed;
const SEED = parseSeed(seedText);
const BIN = path.resolve(args.bin);
console.log(`seed ${SEED} (replay: VP_TEST_SEED=${SEED} node ${path.relative(process.cwd(), fileURLToPath(import.meta.url))} ` +
            `--bin ${args.bin} --count ${args.count})`);
if (!fs.existsSync(BIN)) {
  console.error(`FAIL: binary ${BIN} does not exist`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------
// Failure reporting.

class Mismatch extends Error {}

function fail(what, details) {
  let text = `MISMATCH (seed ${SEED}): ${what}\n`;
  for (const [k, v] of Object.entries(details)) {
    text += `  ${k}: ${typeof v === "string" ? v : JSON.stringify(v, bigintReplacer)}\n`;
  }
  throw new Mismatch(text);
}

function bigintReplacer(_key, value) {
  return typeof value === "bigint" ? value.toString() : value;
}

// First difference between two JSON-like values, or null. Key sets must match exactly:
// an extra or missing field is as much a contract break as a wrong value.
function firstDifference(expected, actual, where = "$") {
  if (expected === null || typeof expected !== "object") {
    return Object.is(expected, actual) ? null
      : `${where}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${where}: expected an array, got ${JSON.stringify(actual)}`;
    if (expected.length !== actual.length) {
      return `${where}: expected ${expected.length} elements, got ${actual.length}`;
    }
    for (let i = 0; i < expected.length; i++) {
      const d = firstDifference(expected[i], actual[i], `${where}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (actual === null || typeof actual !== "object" || Array.isArray(actual)) {
    return `${where}: expected an object, got ${JSON.stringify(actual)}`;
  }
  const ek = Object.keys(expected).sort();
  const ak = Object.keys(actual).sort();
  for (const k of ek) if (!ak.includes(k)) return `${where}: missing field "${k}"`;
  for (const k of ak) if (!ek.includes(k)) return `${where}: unexpected field "${k}"`;
  for (const k of ek) {
    const d = firstDifference(expected[k], actual[k], `${where}.${k}`);
    if (d) return d;
  }
  return null;
}

// A hint for a known cause, so a red run explains itself.
function noteFor(line) {
  const p = line?.op === "derive" ? line.input?.passphrase : undefined;
  if (typeof p === "string" && p !== p.normalize("NFKD")) {
    return { note: "the passphrase is not in NFKD form: BIP-39 (and ethers) hash its NFKD normalisation, " +
                   "so a seed from the bytes as given silently differs (see src/vp/eth/bip39.cc)" };
  }
  return {};
}

function isErrorObject(obj) {
  return obj !== null && typeof obj === "object" && !Array.isArray(obj) &&
         typeof obj.error === "string" && obj.error.length > 0 &&
         typeof obj.message === "string" && obj.message.length > 0 &&
         Object.keys(obj).length === 2;
}

// ---------------------------------------------------------------------------------------
// Random inputs.

const rng = new Rng(SEED);
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const U256_MAX = (1n << 256n) - 1n;

const hex32 = (v) => "0x" + v.toString(16).padStart(64, "0");

function genPrivateKey() {
  const edge = [1n, 2n, 3n, SECP256K1_N - 1n, SECP256K1_N - 2n, (SECP256K1_N - 1n) / 2n,
                (SECP256K1_N + 1n) / 2n, 1n << 128n, (1n << 255n), (1n << 255n) - 1n];
  if (rng.chance(0.15)) return hex32(rng.pick(edge));
  for (;;) {
    const k = rng.bigBits(256);
    if (k >= 1n && k < SECP256K1_N) return hex32(k);
  }
}

// A pool of keys keeps ethers' wallet set-up (one point multiplication) off the hot path.
const keyPool = Array.from({ length: 48 }, genPrivateKey);
const wallets = new Map();
function walletFor(key) {
  let w = wallets.get(key);
  if (!w) {
    w = new Wallet(key);
    wallets.set(key, w);
  }
  return w;
}

// Quantities go to the CLI as decimal or 0x-hex strings, as the contract allows.
function encodeQuantity(v) {
  return rng.chance(0.5) ? v.toString(10) : "0x" + v.toString(16);
}

function genAddress() {
  const bytes = rng.weighted([
    [12, () => rng.bytes(20)],
    [1, () => new Uint8Array(20)],                                      // the zero address is not "no address"
    [1, () => { const b = rng.bytes(20); b.fill(0, 0, rng.range(1, 19)); return b; }],  // leading zero bytes
    [1, () => new Uint8Array(20).fill(0xff)],
  ])();
  const lower = hexlify(bytes);
  return rng.chance(0.5) ? getAddress(lower) : lower;
}

function genData() {
  const length = rng.weighted([
    [6, () => 0], [4, () => 1], [8, () => rng.range(2, 54)], [2, () => 55], [2, () => 56],
    [1, () => 255], [1, () => 256], [4, () => rng.range(57, 600)], [1, () => rng.range(600, 4000)],
  ])();
  if (length === 1) return hexlify(new Uint8Array([rng.pick([0x00, 0x01, 0x7f, 0x80, 0xff, rng.int(256)])]));
  return hexlify(rng.bytes(length));
}

function genAccessList() {
  const entries = rng.int(4);
  const list = [];
  for (let i = 0; i < entries; i++) {
    const address = (i > 0 && rng.chance(0.15)) ? list[i - 1].address : genAddress();  // duplicates are legal
    const keys = [];
    const nkeys = rng.int(4);
    for (let j = 0; j < nkeys; j++) {
      keys.push(rng.chance(0.1) ? hex32(0n) : hexlify(rng.bytes(32)));
    }
    list.push({ address, storageKeys: keys });
  }
  return list;
}

function genChainId(type) {
  // Legacy v = 2*chainId + 35 + yParity must still fit in 256 bits.
  const max = type === 0 ? (U256_MAX - 36n) / 2n : U256_MAX;
  const v = rng.weighted([
    [10, () => 1n], [6, () => 1337n], [2, () => 0n], [2, () => 5n], [2, () => 11155111n],
    [2, () => 0x7fffffffn], [1, () => 0x100000000n],
    [2, () => MAX_SAFE], [1, () => MAX_SAFE + 1n], [1, () => MAX_SAFE + 2n],
    [1, () => (1n << 63n) - 1n], [1, () => (1n << 64n) - 1n], [1, () => 1n << 64n],
    [6, () => rng.bigBits(rng.range(1, 53))], [3, () => rng.bigBits(rng.range(54, 64))],
    [2, () => rng.bigBits(rng.range(65, 255))], [1, () => max],
  ])();
  return v > max ? max : v;
}

function genGas(bits) {
  return rng.weighted([[3, () => 21000n], [2, () => 0n], [2, () => 1n], [6, () => rng.bigBits(rng.range(1, 64))],
                       [4, () => rng.bigEdge(bits)], [1, () => (1n << BigInt(bits)) - 1n]])();
}

// One random transaction: `fields` holds bigints (the truth), `json` what the CLI reads.
function genTransaction() {
  const type = rng.pick([0, 1, 2]);
  const f = { type };
  f.chainId = genChainId(type);
  f.nonce = rng.weighted([[6, () => BigInt(rng.int(1000))], [6, () => rng.bigEdge(64)],
                          [1, () => MAX_SAFE], [1, () => MAX_SAFE + 1n], [1, () => (1n << 64n) - 1n]])();
  f.gasLimit = genGas(rng.chance(0.8) ? 64 : 256);
  if (type === 2) {
    f.maxFeePerGas = genGas(rng.chance(0.7) ? 64 : 256);
    f.maxPriorityFeePerGas = rng.chance(0.2) ? f.maxFeePerGas : rng.bigBelow(f.maxFeePerGas + 1n);
  } else {
    f.gasPrice = genGas(rng.chance(0.7) ? 64 : 256);
  }
  f.to = rng.chance(0.2) ? null : genAddress();
  f.value = rng.weighted([[3, () => 0n], [6, () => rng.bigEdge(256)], [1, () => U256_MAX],
                          [3, () => rng.bigBits(rng.range(1, 80))]])();
  f.data = genData();
  if (type !== 0) f.accessList = genAccessList();

  const json = { type };
  for (const k of ["chainId", "nonce", "gasLimit", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "value"]) {
    if (f[k] !== undefined) json[k] = encodeQuantity(f[k]);
  }
  // Absent, null and "0x" all mean the same to ethers; the CLI must accept each.
  if (f.to !== null) json.to = f.to;
  else if (rng.chance(0.5)) json.to = null;
  if (f.data !== "0x" || rng.chance(0.5)) json.data = f.data;
  if (type !== 0 && (f.accessList.length > 0 || rng.chance(0.5))) json.accessList = f.accessList;
  return { fields: f, json: shuffleKeys(json) };
}

function shuffleKeys(obj) {
  const keys = Object.keys(obj);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [keys[i], keys[j]] = [keys[j], keys[i]];
  }
  const out = {};
  for (const k of keys) out[k] = obj[k];
  return out;
}

// ---------------------------------------------------------------------------------------
// Reference signing. ethers keeps `nonce` as a JS number, so it cannot build nonces above
// 2^53-1 (EIP-2681 allows up to 2^64-1). Those go through `signManually`, which assembles
// the same RLP from ethers' own primitives; it is checked against ethers on ordinary
// nonces below so that the two paths cannot silently drift apart.

function ethersTx(f) {
  const tx = { type: f.type, chainId: f.chainId, nonce: Number(f.nonce), gasLimit: f.gasLimit,
               to: f.to, value: f.value, data: f.data };
  if (f.type === 2) {
    tx.maxFeePerGas = f.maxFeePerGas;
    tx.maxPriorityFeePerGas = f.maxPriorityFeePerGas;
  } else {
    tx.gasPrice = f.gasPrice;
  }
  if (f.type !== 0) tx.accessList = f.accessList;
  return tx;
}

function signManually(key, f) {
  const q = (v) => toBeArray(v);
  const to = f.to === null ? "0x" : f.to.toLowerCase();
  const al = (f.accessList ?? []).map((e) => [e.address.toLowerCase(), e.storageKeys]);
  const sk = new SigningKey(key);
  if (f.type === 0) {
    const base = [q(f.nonce), q(f.gasPrice), q(f.gasLimit), to, q(f.value), f.data];
    const unsigned = encodeRlp(f.chainId !== 0n ? [...base, q(f.chainId), "0x", "0x"] : base);
    const sig = sk.sign(keccak256(unsigned));
    const v = f.chainId !== 0n ? f.chainId * 2n + 35n + BigInt(sig.yParity) : 27n + BigInt(sig.yParity);
    return { raw: encodeRlp([...base, q(v), q(BigInt(sig.r)), q(BigInt(sig.s))]), sig, v };
  }
  const base = f.type === 1
    ? [q(f.chainId), q(f.nonce), q(f.gasPrice), q(f.gasLimit), to, q(f.value), f.data, al]
    : [q(f.chainId), q(f.nonce), q(f.maxPriorityFeePerGas), q(f.maxFeePerGas), q(f.gasLimit), to, q(f.value), f.data, al];
  const prefix = f.type === 1 ? "0x01" : "0x02";
  const sig = sk.sign(keccak256(concat([prefix, encodeRlp(base)])));
  const raw = hexlify(concat([prefix, encodeRlp([...base, q(BigInt(sig.yParity)), q(BigInt(sig.r)), q(BigInt(sig.s))])]));
  return { raw, sig, v: BigInt(sig.yParity) };
}

// What `decode-tx` must print for a signed transaction, built by ethers' own parser where
// it can (Transaction.from), else from the known fields and signature.
function expectedDecode(raw, f, manual) {
  let t;
  if (f.nonce <= MAX_SAFE) {
    const tx = Transaction.from(raw);
    t = {
      type: tx.type, chainId: tx.chainId, nonce: BigInt(tx.nonce), to: tx.to, value: tx.value, data: tx.data,
      gasLimit: tx.gasLimit, gasPrice: tx.gasPrice, maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
      maxFeePerGas: tx.maxFeePerGas, accessList: tx.accessList,
      r: tx.signature.r, s: tx.signature.s, yParity: tx.signature.yParity,
      v: tx.type === 0 ? BigInt(tx.signature.networkV ?? tx.signature.v) : BigInt(tx.signature.yParity),
      hash: tx.hash, from: tx.from, raw: tx.serialized,
    };
  } else {
    t = {
      type: f.type, chainId: f.chainId, nonce: f.nonce, to: f.to === null ? null : getAddress(f.to),
      value: f.value, data: f.data, gasLimit: f.gasLimit, gasPrice: f.gasPrice ?? null,
      maxPriorityFeePerGas: f.maxPriorityFeePerGas ?? null, maxFeePerGas: f.maxFeePerGas ?? null,
      accessList: (f.accessList ?? []).map((e) => ({ address: getAddress(e.address), storageKeys: e.storageKeys })),
      r: manual.sig.r, s: manual.sig.s, yParity: manual.sig.yParity, v: manual.v,
      hash: keccak256(raw), from: manual.from, raw,
    };
  }
  const out = {
    type: t.type, chainId: t.chainId.toString(), nonce: t.nonce.toString(), to: t.to,
    value: t.value.toString(), data: t.data, gasLimit: t.gasLimit.toString(),
  };
  if (t.type === 2) {
    out.maxPriorityFeePerGas = t.maxPriorityFeePerGas.toString();
    out.maxFeePerGas = t.maxFeePerGas.toString();
  } else {
    out.gasPrice = t.gasPrice.toString();
  }
  if (t.type !== 0) {
    out.accessList = t.accessList.map((e) => ({ address: e.address, storageKeys: e.storageKeys }));
  }
  out.signature = { r: t.r, s: t.s, yParity: t.yParity, v: signatureV(t.v) };
  out.hash = t.hash;
  out.from = t.from;
  out.raw = t.raw;
  return out;
}

// The signature's v as the wire carries it: 27/28 or EIP-155 2*chainId+35+yParity for
// legacy transactions, yParity for typed ones. A JSON number cannot hold every EIP-155 v
// exactly, so the CLI prints it as a JSON number when it is a safe integer and as a
// decimal string otherwise.
function signatureV(v) {
  return v <= MAX_SAFE ? Number(v) : v.toString();
}

// ---------------------------------------------------------------------------------------
// EIP-191 messages.

const TEXT_SAMPLES = ["hello", "Hello, world!", "", " ", "\n", "héllo wörld", "日本語のテキスト", "😀🚀 emoji",
                      "Ω≈ç√∫", "line1\nline2\r\n", "tab\there", "\u0000nul inside", "0x1234", "12345678901234567890"];

function genMessage() {
  return rng.weighted([
    [3, () => new Uint8Array(0)],
    [6, () => rng.bytes(rng.range(1, 120))],
    [2, () => rng.bytes(rng.pick([9, 10, 99, 100, 999, 1000, 32, 31, 33]))],  // the decimal length prefix changes width
    [5, () => toUtf8Bytes(Array.from({ length: rng.range(1, 4) }, () => rng.pick(TEXT_SAMPLES)).join(""))],
    [1, () => rng.bytes(rng.range(1000, 6000))],
  ])();
}

// ---------------------------------------------------------------------------------------
// EIP-712 documents.

const NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
const STRING_SAMPLES = ["", "a", "Alice", "Bob", "héllo", "中文字符", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "🦊", "with \"quotes\" and \\",
                        "nul\u0000byte", "x".repeat(100), "Ünïcödé 🎉 text", "\u00e9 vs e\u0301"];

function genIdentifier(first) {
  let s = rng.pick(first);
  const n = rng.range(0, 8);
  for (let i = 0; i < n; i++) s += NAME_CHARS[rng.int(NAME_CHARS.length)];
  return s;
}

function genAtomicType() {
  return rng.weighted([
    [4, () => `uint${8 * rng.range(1, 32)}`], [2, () => "uint256"], [3, () => `int${8 * rng.range(1, 32)}`],
    [3, () => `bytes${rng.range(1, 32)}`], [2, () => "bytes"], [3, () => "string"], [2, () => "bool"],
    [3, () => "address"],
  ])();
}

function withArrays(base) {
  let t = base;
  const dims = rng.weighted([[12, 0], [5, 1], [2, 2], [1, 3]]);
  // Fixed sizes start at 1: T[0] is one of the documented refusals (see STRICTER_TYPED_DATA).
  for (let i = 0; i < dims; i++) t += rng.chance(0.5) ? "[]" : `[${rng.range(1, 3)}]`;
  return t;
}

// Struct 0 is the primary type; struct i may only refer to structs j > i, so there are no
// cycles, and every struct j > 0 is referred to by some struct before it, so that ethers
// (which infers the primary type) and the document's primaryType agree.
function genTypes() {
  const nstructs = rng.weighted([[3, 1], [4, 2], [3, 3], [2, 4], [1, 5]]);
  const names = [];
  while (names.length < nstructs) {
    const n = genIdentifier("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    if (!names.includes(n) && n !== "EIP712Domain") names.push(n);
  }
  const types = {};
  names.forEach((name) => { types[name] = []; });
  for (let i = 0; i < nstructs; i++) {
    const fields = [];
    const used = new Set();
    const addField = (type) => {
      let fname;
      do { fname = genIdentifier("abcdefghijklmnopqrstuvwxyz_"); } while (used.has(fname));
      used.add(fname);
      fields.push({ name: fname, type });
    };
    const nfields = rng.range(1, 6);
    for (let k = 0; k < nfields; k++) {
      if (i + 1 < nstructs && rng.chance(0.25)) addField(withArrays(names[rng.range(i + 1, nstructs - 1)]));
      else addField(withArrays(genAtomicType()));
    }
    types[names[i]] = fields;
  }
  for (let j = 1; j < nstructs; j++) {
    const referenced = names.slice(0, j).some((n) => types[n].some((fld) => fld.type.replace(/\[.*$/, "") === names[j]));
    if (!referenced) {
      const parent = names[rng.int(j)];
      let fname;
      do { fname = genIdentifier("abcdefghijklmnopqrstuvwxyz_"); } while (types[parent].some((fld) => fld.name === fname));
      types[parent].splice(rng.int(types[parent].length + 1), 0, { name: fname, type: withArrays(names[j]) });
    }
  }
  return { types, primaryType: names[0] };
}

function genIntValue(type) {
  const m = type.match(/^(u?)int(\d+)$/);
  const bits = Number(m[2]);
  let v;
  if (m[1] === "u") {
    v = rng.weighted([[1, () => 0n], [1, () => (1n << BigInt(bits)) - 1n], [4, () => rng.bigEdge(bits)]])();
  } else {
    const lo = -(1n << BigInt(bits - 1));
    const hi = (1n << BigInt(bits - 1)) - 1n;
    v = rng.weighted([[1, () => lo], [1, () => hi], [1, () => -1n], [1, () => 0n],
                      [4, () => rng.bigBits(bits) + lo]])();
  }
  // JSON numbers for small values (as wallets send them), strings otherwise.
  if (v >= -MAX_SAFE && v <= MAX_SAFE && rng.chance(0.3)) return Number(v);
  if (v >= 0n && rng.chance(0.4)) return "0x" + v.toString(16);
  return v.toString(10);
}

function genValue(type, types, depth) {
  const arr = type.match(/^(.*)\[(\d*)\]$/);
  if (arr) {
    const len = arr[2] === "" ? rng.int(depth > 2 ? 2 : 4) : Number(arr[2]);
    return Array.from({ length: len }, () => genValue(arr[1], types, depth + 1));
  }
  if (types[type]) {
    const obj = {};
    for (const fld of types[type]) obj[fld.name] = genValue(fld.type, types, depth + 1);
    return obj;
  }
  if (/^u?int\d+$/.test(type)) return genIntValue(type);
  const bn = type.match(/^bytes(\d+)$/);
  if (bn) return hexlify(rng.bytes(Number(bn[1])));
  switch (type) {
    case "bytes": return hexlify(rng.bytes(rng.weighted([[2, 0], [6, rng.range(1, 64)], [1, rng.range(65, 300)]])));
    case "string": return rng.chance(0.7) ? rng.pick(STRING_SAMPLES) : genIdentifier(NAME_CHARS);
    case "bool": return rng.chance(0.5);
    case "address": return genAddress();
  }
  throw new Error(`genValue: unhandled type ${type}`);
}

const DOMAIN_ORDER = ["name", "version", "chainId", "verifyingContract", "salt"];
const DOMAIN_TYPES = { name: "string", version: "string", chainId: "uint256", verifyingContract: "address", salt: "bytes32" };

function genDomain() {
  const domain = {};
  for (const k of DOMAIN_ORDER) {
    if (!rng.chance(0.6)) continue;
    if (k === "name") domain.name = rng.pick(["Ether Mail", "vaultproof", "", "Dömain ✓", genIdentifier(NAME_CHARS)]);
    if (k === "version") domain.version = rng.pick(["1", "2", "1.0.0", ""]);
    if (k === "chainId") {
      const c = genChainId(1);
      domain.chainId = c <= MAX_SAFE && rng.chance(0.5) ? Number(c) : encodeQuantity(c);
    }
    if (k === "verifyingContract") domain.verifyingContract = genAddress();
    if (k === "salt") domain.salt = hexlify(rng.bytes(32));
  }
  return domain;
}

function genTypedData() {
  const { types, primaryType } = genTypes();
  const domain = genDomain();
  const message = genValue(primaryType, types, 0);
  const docTypes = { ...types };
  // eip712.h allows structs unreachable from primaryType (they do not change the digest);
  // ethers refuses them, so it only ever sees the reachable ones.
  if (rng.chance(0.1)) {
    let name;
    do { name = genIdentifier("ABCDEFGHIJKLMNOPQRSTUVWXYZ"); } while (docTypes[name] || name === "EIP712Domain");
    docTypes[name] = [{ name: "unused", type: withArrays(genAtomicType()) }];
  }
  // The CLI derives EIP712Domain from the domain when it is absent; sometimes spell it out
  // (in ethers' canonical field order) so both paths are exercised.
  if (rng.chance(0.4)) {
    docTypes.EIP712Domain = DOMAIN_ORDER.filter((k) => domain[k] !== undefined).map((k) => ({ name: k, type: DOMAIN_TYPES[k] }));
  }
  return { doc: shuffleKeys({ domain, types: shuffleKeys(docTypes), primaryType, message }), types, domain, message };
}

// Documents that ethers hashes but eip712.h deliberately refuses ("where ethers is looser we
// are stricter"). Each is checked both ways: ethers must still accept it (else the case
// proves nothing) and vaultproof must answer with an error, never a digest.
const STRICTER_TYPED_DATA = [
  ["zero-length fixed array", { a: "uint8[0]", b: "bool" }, { a: [], b: true }],
  ["nested zero-length fixed array", { a: "string[][0]", b: "bool" }, { a: [], b: false }],
  ["uint alias", { a: "uint", b: "bool" }, { a: "1", b: true }],
  ["int alias", { a: "int", b: "bool" }, { a: "-1", b: true }],
  ["missing bool field", { a: "uint8", b: "bool" }, { a: 1 }],
  ["extra field", { a: "uint8", b: "bool" }, { a: 1, b: true, c: "not signed" }],
  ["bool given as 1", { a: "uint8", b: "bool" }, { a: 1, b: 1 }],
  ["bool given as \"false\"", { a: "uint8", b: "bool" }, { a: 1, b: "false" }],
  ["domain with a null field", { a: "uint8", b: "bool" }, { a: 1, b: true }, { name: "x", version: null }],
];

function stricterTypedDataCases() {
  return STRICTER_TYPED_DATA.map(([why, fields, message, domain = { name: "vaultproof", chainId: 1 }]) => {
    const types = { Mail: Object.entries(fields).map(([name, type]) => ({ name, type })) };
    try {
      TypedDataEncoder.hash(domain, types, message);
    } catch (e) {
      throw new Error(`harness bug: ethers refuses the stricter-than-ethers case "${why}": ${e.message}`);
    }
    return [`typed data stricter than ethers: ${why}`, { domain, types, primaryType: "Mail", message }];
  });
}

// ---------------------------------------------------------------------------------------
// BIP-32/39/44 derivation.

// Non-ASCII ones probe BIP-39's NFKD step: precomposed (é) and decomposed (e + U+0301)
// forms, compatibility forms (ﬁ ligature, full-width letters, Ångström sign).
const PASSPHRASES = ["", "TREZOR", "correct horse battery staple", "pässwörd", "e\u0301te\u0301", "\ufb01nance",
                     "\uff46\uff55\uff4c\uff4c", "\u212b", "日本語", "🔑", " spaced ", "a".repeat(200)];

function genDerivation() {
  const entropyBytes = rng.weighted([[6, 16], [4, 32], [1, 20], [1, 24], [1, 28]]);
  const phrase = Mnemonic.fromEntropy(hexlify(rng.bytes(entropyBytes))).phrase;
  const passphrase = rng.weighted([[4, () => undefined], [5, () => rng.pick(PASSPHRASES)], [2, () => genIdentifier(NAME_CHARS)]])();
  const index = () => rng.weighted([[5, () => 0], [3, () => rng.int(10)], [2, () => 0x7fffffff], [4, () => rng.int(0x80000000)]])();
  const level = (hardened) => `${index()}${hardened ? "'" : ""}`;
  const p = rng.weighted([
    [8, () => `m/44'/60'/${level(true)}/${level(rng.chance(0.2))}/${level(rng.chance(0.3))}`],
    [2, () => `m/44'/60'/0'/0/${rng.int(100)}`],
    [1, () => `m/44'/60'/${level(true)}`],
    [1, () => `m/${level(rng.chance(0.5))}`],
    [1, () => "m/" + Array.from({ length: rng.range(1, 8) }, () => level(rng.chance(0.5))).join("/")],
  ])();
  return { phrase, passphrase, path: p };
}

// ---------------------------------------------------------------------------------------
// Running the binary.

// `lines` are the JSON texts to send, one per line.
function runBatch(lines) {
  const input = lines.join("\n") + "\n";
  const r = spawnSync(BIN, ["eth", "batch"], { input, maxBuffer: 1 << 30, timeout: 300000 });
  if (r.error) fail("could not run `eth batch`", { error: String(r.error) });
  if (r.signal !== null || r.status !== 0) {
    fail("`eth batch` did not exit 0", { status: r.status, signal: r.signal, stderr: r.stderr.toString().slice(0, 4000) });
  }
  const out = r.stdout.toString("utf8").split("\n");
  if (out[out.length - 1] === "") out.pop();
  if (out.length !== lines.length) {
    fail("`eth batch` wrote a different number of lines than it read",
         { sent: lines.length, received: out.length, stderr: r.stderr.toString().slice(0, 4000) });
  }
  return out;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "vp-diff-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
let fileCounter = 0;
function tempFile(content) {
  const f = path.join(tmp, `f${fileCounter++}`);
  fs.writeFileSync(f, content, { mode: 0o600 });
  return f;
}

function runCommand(argv, stdin) {
  const r = spawnSync(BIN, argv, { input: stdin, maxBuffer: 1 << 28, timeout: 60000 });
  if (r.error) fail(`could not run vaultproof ${argv.join(" ")}`, { error: String(r.error) });
  return { status: r.status, signal: r.signal, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

function parseOneObject(text) {
  try {
    const v = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------
// Main.

let passed = 0;
const failures = [];  // only with --keep-going (triage): the batch goes on after a mismatch

async function main() {
  const t0 = Date.now();
  const count = args.count;
  const nTx = Math.round(count * 0.45);
  const nMsg = Math.round(count * 0.15);
  const nTyped = Math.round(count * 0.3);
  const nDerive = Math.max(10, Math.round(count * 0.04));
  const nAddr = Math.max(10, count - nTx - nMsg - nTyped - nDerive);

  const cases = [];  // { what, line, expected } in batch order

  for (let i = 0; i < nAddr; i++) {
    const key = i < keyPool.length ? keyPool[i] : genPrivateKey();
    cases.push({ what: `address #${i}`, line: { op: "address", key }, expected: { address: walletFor(key).address } });
  }

  let crossChecked = 0;
  let viaEthers = 0;
  const txCases = [];
  for (let i = 0; i < nTx; i++) {
    const key = rng.pick(keyPool);
    const { fields, json } = genTransaction();
    let manual = null;
    let raw;
    if (fields.nonce <= MAX_SAFE) {
      try {
        raw = await walletFor(key).signTransaction(ethersTx(fields));
      } catch (e) {
        throw new Error(`harness bug: ethers refused generated tx #${i}: ${e.message}\n${JSON.stringify(json)}`);
      }
      viaEthers++;
      // Keep the fallback path honest (it costs a second signature, so not on every case).
      if (crossChecked < 300) {
        const m = signManually(key, fields);
        if (m.raw !== raw) {
          throw new Error(`harness bug: manual RLP differs from ethers for tx #${i}\n${JSON.stringify(json)}\n` +
                          `ethers ${raw}\nmanual ${m.raw}`);
        }
        crossChecked++;
      }
    } else {
      manual = signManually(key, fields);
      manual.from = walletFor(key).address;
      raw = manual.raw;
    }
    txCases.push({ key, fields, json, raw });
    cases.push({ what: `sign-tx #${i}`, line: { op: "sign-tx", key, input: json },
                 expected: { raw, hash: keccak256(raw), from: walletFor(key).address } });
    cases.push({ what: `decode-tx #${i}`, line: { op: "decode-tx", input: raw },
                 expected: expectedDecode(raw, fields, manual) });
  }

  const msgCases = [];
  for (let i = 0; i < nMsg; i++) {
    const key = rng.pick(keyPool);
    const bytes = genMessage();
    const expected = { signature: await walletFor(key).signMessage(bytes), address: walletFor(key).address };
    msgCases.push({ key, bytes, expected });
    cases.push({ what: `sign-message #${i}`, line: { op: "sign-message", key, input: hexlify(bytes) }, expected });
  }

  const typedCases = [];
  for (let i = 0; i < nTyped; i++) {
    const key = rng.pick(keyPool);
    const td = genTypedData();
    let expected;
    try {
      expected = {
        signature: await walletFor(key).signTypedData(td.domain, td.types, td.message),
        digest: TypedDataEncoder.hash(td.domain, td.types, td.message),
      };
    } catch (e) {
      throw new Error(`harness bug: ethers refused generated typed data #${i}: ${e.message}\n${JSON.stringify(td.doc)}`);
    }
    typedCases.push({ key, doc: td.doc, expected });
    cases.push({ what: `sign-typed-data #${i}`, line: { op: "sign-typed-data", key, input: td.doc }, expected });
  }

  const deriveCases = [];
  for (let i = 0; i < nDerive; i++) {
    const d = genDerivation();
    const w = HDNodeWallet.fromPhrase(d.phrase, d.passphrase ?? "", d.path);
    const input = { mnemonic: d.phrase, path: d.path };
    if (d.passphrase !== undefined) input.passphrase = d.passphrase;
    const expected = { address: w.address, publicKey: w.publicKey };
    deriveCases.push({ d, expected });
    cases.push({ what: `derive #${i}`, line: { op: "derive", input }, expected });
  }

  // Invalid lines inside the batch: each must give an error line and must not stop the
  // lines after it.
  const badTx = txCases[0].json;
  const invalidLines = [
    ["unknown op", { op: "no-such-op", key: keyPool[0], input: {} }],
    ["key zero", { op: "address", key: hex32(0n) }],
    ["key = n", { op: "address", key: hex32(SECP256K1_N) }],
    ["key too short", { op: "address", key: "0x1234" }],
    ["key not hex", { op: "sign-message", key: "0x" + "zz".repeat(32), input: "0x00" }],
    ["type 2 with gasPrice", { op: "sign-tx", key: keyPool[0], input: { type: 2, chainId: "1", nonce: "0", gasLimit: "21000", maxFeePerGas: "1", maxPriorityFeePerGas: "1", gasPrice: "1" } }],
    ["type 2 with maxPriorityFeePerGas > maxFeePerGas (ethers refuses too)", { op: "sign-tx", key: keyPool[0], input: { type: 2, chainId: "1", nonce: "0", gasLimit: "21000", maxFeePerGas: "1", maxPriorityFeePerGas: "2" } }],
    ["nonce 2^64 (EIP-2681)", { op: "sign-tx", key: keyPool[0], input: { ...badTx, nonce: (1n << 64n).toString() } }],
    ["type 0 with accessList", { op: "sign-tx", key: keyPool[0], input: { type: 0, chainId: "1", nonce: "0", gasLimit: "21000", gasPrice: "1", accessList: [] } }],
    ["type 0 with maxFeePerGas", { op: "sign-tx", key: keyPool[0], input: { type: 0, chainId: "1", nonce: "0", gasLimit: "21000", gasPrice: "1", maxFeePerGas: "1" } }],
    ["value 2^256", { op: "sign-tx", key: keyPool[0], input: { ...badTx, value: (1n << 256n).toString() } }],
    ["negative value", { op: "sign-tx", key: keyPool[0], input: { ...badTx, value: "-1" } }],
    ["bad to", { op: "sign-tx", key: keyPool[0], input: { ...badTx, to: "0x1234" } }],
    ["unknown tx field", { op: "sign-tx", key: keyPool[0], input: { ...badTx, bogus: "1" } }],
    ["unknown tx type", { op: "sign-tx", key: keyPool[0], input: { ...badTx, type: 7 } }],
    ["message not hex", { op: "sign-message", key: keyPool[0], input: "hello" }],
    ["typed data: uint8 out of range", { op: "sign-typed-data", key: keyPool[0], input: { domain: { name: "x" }, types: { M: [{ name: "a", type: "uint8" }] }, primaryType: "M", message: { a: "256" } } }],
    ["typed data: unknown primaryType", { op: "sign-typed-data", key: keyPool[0], input: { domain: { name: "x" }, types: { M: [{ name: "a", type: "uint8" }] }, primaryType: "N", message: { a: "1" } } }],
    ...stricterTypedDataCases().map(([why, doc]) => [why, { op: "sign-typed-data", key: keyPool[0], input: doc }]),
    ["decode: empty", { op: "decode-tx", input: "0x" }],
    ["decode: trailing byte", { op: "decode-tx", input: txCases[0].raw + "00" }],
    ["decode: truncated", { op: "decode-tx", input: txCases[0].raw.slice(0, -2) }],
    ["derive: bad checksum", { op: "derive", input: { mnemonic: "abandon ".repeat(12).trim(), path: "m/44'/60'/0'/0/0" } }],
    ["derive: bad path", { op: "derive", input: { mnemonic: deriveCases[0].d.phrase, path: "m/44'/60'/x" } }],
    ["derive: index 2^31 unhardened", { op: "derive", input: { mnemonic: deriveCases[0].d.phrase, path: "m/2147483648" } }],
  ];
  const withInvalid = [];
  const stride = Math.max(1, Math.floor(cases.length / invalidLines.length));
  let next = 0;
  cases.forEach((c, i) => {
    if (i % stride === 0 && next < invalidLines.length) {
      const [why, line] = invalidLines[next++];
      withInvalid.push({ what: `invalid: ${why}`, line, expectError: true });
    }
    withInvalid.push(c);
  });
  while (next < invalidLines.length) {
    const [why, line] = invalidLines[next++];
    withInvalid.push({ what: `invalid: ${why}`, line, expectError: true });
  }
  // A line that is not JSON at all.
  withInvalid.splice(1, 0, { what: "invalid: not JSON", line: null, rawLine: "{not json", expectError: true });

  const tGen = Date.now();
  const out = runBatch(withInvalid.map((c) => c.rawLine ?? JSON.stringify(c.line)));
  const tRun = Date.now();

  withInvalid.forEach((c, i) => {
    try {
      checkBatchLine(c, i);
    } catch (e) {
      if (!(e instanceof Mismatch) || !args.keepGoing) throw e;
      failures.push({ what: c.what.replace(/ #\d+$/, ""), text: e.message });
    }
  });
  function checkBatchLine(c, i) {
    const got = parseOneObject(out[i]);
    if (got === undefined) fail(`${c.what}: batch line ${i} is not a JSON object`, { input: c.line ?? c.rawLine, got: out[i] });
    if (c.expectError) {
      if (!isErrorObject(got)) fail(`${c.what}: expected {"error","message"}`, { input: c.line ?? c.rawLine, got: out[i] });
    } else {
      const d = firstDifference(c.expected, got);
      if (d) fail(`${c.what}: ${d}`, { input: c.line, ethers: c.expected, vaultproof: out[i], ...noteFor(c.line) });
    }
    passed++;
  }

  runSingleCommands(txCases, msgCases, typedCases, deriveCases);
  runInvalidCommands(txCases, deriveCases);

  console.log(`batch: ${nAddr} address, ${nTx} sign-tx + ${nTx} decode-tx (${viaEthers} via ethers' ` +
              `Wallet.signTransaction, ${nTx - viaEthers} nonces > 2^53 via ethers RLP), ${nMsg} sign-message, ` +
              `${nTyped} sign-typed-data, ${nDerive} derive, ${invalidLines.length + 1} invalid lines; ` +
              `ethers ${((tGen - t0) / 1000).toFixed(1)}s, vaultproof batch ${((tRun - tGen) / 1000).toFixed(1)}s, ` +
              `total ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}

function expectSuccess(what, argv, stdin, expected, files = {}) {
  const r = runCommand(argv, stdin);
  const shown = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, JSON.stringify(fs.readFileSync(f, "utf8"))]));
  if (r.signal !== null || r.status !== 0) {
    fail(`${what}: vaultproof ${argv.join(" ")} exited ${r.status ?? r.signal}`, { stdin: stdinText(stdin), ...shown, stderr: r.stderr });
  }
  const got = parseOneObject(r.stdout);
  if (got === undefined) fail(`${what}: stdout is not one JSON object`, { stdout: r.stdout });
  const d = firstDifference(expected, got);
  if (d) fail(`${what}: ${d}`, { command: argv.join(" "), stdin: stdinText(stdin), ...shown, ethers: expected, vaultproof: r.stdout,
                                 ...noteFor({ op: argv[1], input: { passphrase: files["passphrase file"] && fs.readFileSync(files["passphrase file"], "utf8") } }) });
  passed++;
}

function expectRefusal(what, argv, stdin) {
  const r = runCommand(argv, stdin);
  if (r.signal !== null) fail(`${what}: killed by ${r.signal}`, { command: argv.join(" "), stdin: stdinText(stdin), stderr: r.stderr });
  if (r.status !== 2) fail(`${what}: expected exit 2, got ${r.status}`, { command: argv.join(" "), stdin: stdinText(stdin), stdout: r.stdout, stderr: r.stderr });
  if (r.stdout !== "") fail(`${what}: stdout must be empty on error`, { stdout: r.stdout });
  if (!isErrorObject(parseOneObject(r.stderr))) fail(`${what}: stderr is not a JSON {"error","message"}`, { stderr: r.stderr });
  passed++;
}

function stdinText(stdin) {
  if (stdin === undefined) return "(none)";
  const s = Buffer.isBuffer(stdin) || stdin instanceof Uint8Array ? hexlify(stdin) + " (bytes)" : String(stdin);
  return s.length > 2000 ? s.slice(0, 2000) + "..." : s;
}

// The contract itself: key files (with and without a trailing newline), stdin, exit codes.
function runSingleCommands(txCases, msgCases, typedCases, deriveCases) {
  const n = args.single;
  const keyFile = (key) => tempFile(rng.chance(0.5) ? key + "\n" : key);
  const share = (k) => Math.max(1, Math.round(n * k));
  for (let i = 0; i < share(0.15); i++) {
    const key = keyPool[i % keyPool.length];
    expectSuccess(`single address #${i}`, ["eth", "address", "--key-file", keyFile(key)], "", { address: walletFor(key).address });
  }
  for (let i = 0; i < share(0.25) && i < txCases.length; i++) {
    const c = txCases[i];
    expectSuccess(`single sign-tx #${i}`, ["eth", "sign-tx", "--key-file", keyFile(c.key)], JSON.stringify(c.json),
                  { raw: c.raw, hash: keccak256(c.raw), from: walletFor(c.key).address });
  }
  for (let i = 0; i < share(0.15) && i < txCases.length; i++) {
    const c = txCases[txCases.length - 1 - i];
    const stdin = c.raw + (i % 2 === 0 ? "\n" : "");
    const expected = expectedDecode(c.raw, c.fields, { ...signManually(c.key, c.fields), from: walletFor(c.key).address });
    expectSuccess(`single decode-tx #${i}`, ["eth", "decode-tx"], stdin, expected);
  }
  for (let i = 0; i < share(0.2) && i < msgCases.length; i++) {
    const c = msgCases[i];
    expectSuccess(`single sign-message #${i}`, ["eth", "sign-message", "--key-file", keyFile(c.key)], Buffer.from(c.bytes), c.expected);
  }
  for (let i = 0; i < share(0.15) && i < typedCases.length; i++) {
    const c = typedCases[i];
    expectSuccess(`single sign-typed-data #${i}`, ["eth", "sign-typed-data", "--key-file", keyFile(c.key)],
                  JSON.stringify(c.doc, null, i % 2 ? 2 : undefined), c.expected);
  }
  for (let i = 0; i < share(0.1) && i < deriveCases.length; i++) {
    const c = deriveCases[i];
    const files = { "mnemonic file": tempFile(c.d.phrase + "\n") };
    const argv = ["eth", "derive", "--mnemonic-file", files["mnemonic file"], "--path", c.d.path];
    if (c.d.passphrase !== undefined) {
      files["passphrase file"] = tempFile(c.d.passphrase);
      argv.push("--passphrase-file", files["passphrase file"]);
    }
    expectSuccess(`single derive #${i}`, argv, "", c.expected, files);
  }
}

// An EIP-55 address with the case of its first letter flipped, so the checksum fails.
function badChecksum(address) {
  const a = getAddress(address);
  const i = a.slice(2).search(/[a-fA-F]/) + 2;
  const flipped = a[i] === a[i].toLowerCase() ? a[i].toUpperCase() : a[i].toLowerCase();
  return a.slice(0, i) + flipped + a.slice(i + 1);
}

// Known-invalid inputs through each single command: exit 2, JSON error on stderr.
function runInvalidCommands(txCases, deriveCases) {
  const goodKey = tempFile(keyPool[0] + "\n");
  const bad = (what, argv, stdin = "") => expectRefusal(`invalid ${what}`, argv, stdin);
  bad("address: key file missing", ["eth", "address", "--key-file", path.join(tmp, "does-not-exist")]);
  bad("address: zero key", ["eth", "address", "--key-file", tempFile(hex32(0n))]);
  bad("address: key >= n", ["eth", "address", "--key-file", tempFile(hex32(SECP256K1_N))]);
  bad("address: key odd length", ["eth", "address", "--key-file", tempFile("0x" + "1".repeat(63))]);
  bad("address: key not hex", ["eth", "address", "--key-file", tempFile("0x" + "g".repeat(64))]);
  bad("address: empty key file", ["eth", "address", "--key-file", tempFile("")]);
  bad("sign-tx: not JSON", ["eth", "sign-tx", "--key-file", goodKey], "{");
  bad("sign-tx: empty stdin", ["eth", "sign-tx", "--key-file", goodKey], "");
  bad("sign-tx: JSON array", ["eth", "sign-tx", "--key-file", goodKey], "[]");
  bad("sign-tx: type 2 with gasPrice", ["eth", "sign-tx", "--key-file", goodKey],
      JSON.stringify({ type: 2, chainId: "1", nonce: "0", gasLimit: "21000", maxFeePerGas: "2", maxPriorityFeePerGas: "1", gasPrice: "1" }));
  bad("sign-tx: value too large", ["eth", "sign-tx", "--key-file", goodKey], JSON.stringify({ ...txCases[0].json, value: (1n << 256n).toString() }));
  bad("sign-tx: bad checksum in to", ["eth", "sign-tx", "--key-file", goodKey],
      JSON.stringify({ ...txCases[0].json, to: badChecksum("0x52908400098527886E0F7030069857D2E4169EE7") }));
  bad("sign-tx: no key file", ["eth", "sign-tx"], JSON.stringify(txCases[0].json));
  bad("sign-typed-data: not JSON", ["eth", "sign-typed-data", "--key-file", goodKey], "not json");
  bad("sign-typed-data: cyclic types", ["eth", "sign-typed-data", "--key-file", goodKey],
      JSON.stringify({ domain: {}, types: { A: [{ name: "b", type: "B" }], B: [{ name: "a", type: "A" }] }, primaryType: "A", message: { b: { a: {} } } }));
  bad("decode-tx: empty", ["eth", "decode-tx"], "");
  bad("decode-tx: odd hex", ["eth", "decode-tx"], txCases[0].raw.slice(0, -1));
  bad("decode-tx: trailing bytes", ["eth", "decode-tx"], txCases[0].raw + "00");
  bad("decode-tx: unknown type", ["eth", "decode-tx"], "0x05" + txCases[0].raw.slice(4));
  bad("derive: bad mnemonic word", ["eth", "derive", "--mnemonic-file", tempFile("notaword ".repeat(12)), "--path", "m/44'/60'/0'/0/0"]);
  bad("derive: bad path", ["eth", "derive", "--mnemonic-file", tempFile(deriveCases[0].d.phrase), "--path", "44'/60'"]);
  bad("unknown command", ["eth", "no-such-command"]);
}

// --keep-going: the first few mismatches of each kind, then a count per kind.
function printFailures() {
  const byKind = new Map();
  for (const f of failures) byKind.set(f.what, [...(byKind.get(f.what) ?? []), f.text]);
  for (const texts of byKind.values()) for (const t of texts.slice(0, 3)) console.log(t);
  for (const [kind, texts] of byKind) {
    const noted = texts.filter((t) => t.includes("\n  note: ")).length;
    console.log(`  ${texts.length} mismatches: ${kind}${noted ? ` (${noted} with a known-cause note)` : ""}`);
  }
}

try {
  await main();
  if (failures.length > 0) {
    printFailures();
    console.log(`${passed} passed, ${failures.length} failed`);
    process.exit(1);
  }
  console.log(`${passed} passed, 0 failed`);
} catch (e) {
  printFailures();
  if (e instanceof Mismatch) {
    console.log(e.message);
    console.log(`${passed} passed, ${failures.length + 1} failed`);
  } else {
    console.error(`FAIL (seed ${SEED}): ${e.stack ?? e}`);
  }
  process.exit(1);
}
