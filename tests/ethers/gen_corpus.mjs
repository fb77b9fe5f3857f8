#!/usr/bin/env node
// Writes the malformed-input corpus that tests/cli/malformed.mjs feeds to the CLI:
// tests/corpus/{rlp,raw_tx,hex,address}/, one input per file, named for what is wrong.
// Each malformed transaction starts from a real signed one (ethers, a fixed test key) and
// changes one thing, so a refusal can only come from that change. Deterministic: rerunning
// it rewrites the same bytes.
//
//   node tests/ethers/gen_corpus.mjs            (needs npm ci --prefix tests/ethers)
//
// Formats: rlp/*.hex hold the bytes as hex (no 0x, one line), given to `decode-tx` as
// 0x-hex; raw_tx/*.txt and hex/tx_*.txt are exactly what `decode-tx` reads on stdin;
// hex/key_*.txt are exactly the contents of an `--key-file`; address/*.txt are exactly
// the string given as a transaction's "to" (and as an EIP-712 address value).

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Wallet, Transaction, decodeRlp, getBytes, hexlify, getAddress, toBeArray, concat } from "ethers";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "corpus");
const KEY = "0x" + "46".repeat(32);  // the EIP-155 example key
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const P = 2n ** 256n - 2n ** 32n - 977n;
const TO = "0x3535353535353535353535353535353535353535";

// --- A small RLP encoder that can also write the non-canonical forms ---------------------

const bytesOf = (x) => (x instanceof Uint8Array ? x : getBytes(x));
const be = (n) => (n === 0 ? new Uint8Array(0) : getBytes(toBeArray(BigInt(n))));

// Length header for 'len' payload bytes at 'offset' (0x80 string / 0xc0 list). long: force
// the long form; zeros: leading zero bytes in the length of length.
function header(len, offset, { long = false, zeros = 0 } = {}) {
  if (len < 56 && !long) return new Uint8Array([offset + len]);
  const lb = concat([new Uint8Array(zeros), len === 0 ? new Uint8Array([0]) : be(len)]);
  const lbBytes = getBytes(lb);
  return concat([new Uint8Array([offset + 55 + lbBytes.length]), lbBytes]);
}

// item: hex string / Uint8Array (a string), array (a list), or { raw } (pre-encoded bytes).
function enc(item) {
  if (item && item.raw !== undefined) return getBytes(item.raw);
  if (Array.isArray(item)) {
    const payload = getBytes(concat(item.map(enc)));
    return getBytes(concat([header(payload.length, 0xc0), payload]));
  }
  const b = bytesOf(item);
  if (b.length === 1 && b[0] < 0x80) return b;
  return getBytes(concat([header(b.length, 0x80), b]));
}

const rawString = (bytes, opts) => ({ raw: concat([header(bytesOf(bytes).length, 0x80, opts), bytesOf(bytes)]) });
function rawList(items, opts) {
  const payload = getBytes(concat(items.map(enc)));
  return { raw: concat([header(payload.length, 0xc0, opts), payload]) };
}
const int = (n) => be(n);

// --- Valid signed bases ---------------------------------------------------------------

const wallet = new Wallet(KEY);
const bases = {};

async function makeBases() {
  const legacy = { type: 0, chainId: 1n, nonce: 9, gasPrice: 20000000000n, gasLimit: 21000n, to: TO,
                   value: 1000000000000000000n, data: "0x" };
  bases.legacy = await wallet.signTransaction(legacy);
  // Published in EIP-155 ("Example"): the same key and fields must give these bytes.
  const eip155 = "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83";
  if (bases.legacy !== eip155) throw new Error("ethers does not reproduce the EIP-155 example");
  bases.pre155 = await wallet.signTransaction({ ...legacy, chainId: 0n });
  bases.type1 = await wallet.signTransaction({
    type: 1, chainId: 1n, nonce: 0, gasPrice: 1000000000n, gasLimit: 30000n, to: TO, value: 1n, data: "0x1234",
    accessList: [{ address: TO, storageKeys: ["0x" + "00".repeat(31) + "01"] }],
  });
  bases.type2 = await wallet.signTransaction({
    type: 2, chainId: 1n, nonce: 1, maxPriorityFeePerGas: 1000000000n, maxFeePerGas: 2000000000n, gasLimit: 30000n,
    to: TO, value: 0n, data: hexlify(Uint8Array.from({ length: 100 }, (_, i) => i)),
    accessList: [{ address: TO, storageKeys: ["0x" + "00".repeat(32), "0x" + "ff".repeat(32)] }],
  });
  bases.type2NoList = await wallet.signTransaction({
    type: 2, chainId: 1n, nonce: 1, maxPriorityFeePerGas: 1n, maxFeePerGas: 2n, gasLimit: 21000n, to: TO, value: 5n,
  });
  for (const raw of Object.values(bases)) Transaction.from(raw);  // all parse
}

// Fields of a base as decodeRlp gives them (hex strings and arrays), and its type prefix.
function fieldsOf(raw) {
  const b = getBytes(raw);
  if (b[0] >= 0xc0) return { prefix: new Uint8Array(0), fields: decodeRlp(b) };
  return { prefix: b.slice(0, 1), fields: decodeRlp(b.slice(1)) };
}

function build(baseName, mutate, { prefix: forcedPrefix, trailing } = {}) {
  const { prefix, fields } = fieldsOf(bases[baseName]);
  const f = structuredClone(fields);
  const out = mutate(f) ?? f;
  const body = out.raw !== undefined ? getBytes(out.raw) : enc(out);
  return getBytes(concat([forcedPrefix ?? prefix, body, trailing ?? new Uint8Array(0)]));
}

// Smallest x in [1, n) with no curve point (x^3 + 7 a non-residue mod p): an r that cannot
// be recovered from.
function rNotOnCurve() {
  const pow = (b, e, m) => { let r = 1n; b %= m; while (e > 0n) { if (e & 1n) r = r * b % m; b = b * b % m; e >>= 1n; } return r; };
  for (let x = 1n; ; x++) if (pow((x * x * x + 7n) % P, (P - 1n) / 2n, P) === P - 1n) return x;
}

// Index of v/yParity, r, s in each base's field list.
const SIG = { legacy: 6, pre155: 6, type1: 8, type2: 9, type2NoList: 9 };

// --- The corpus -----------------------------------------------------------------------

function rlpCorpus() {
  const c = {};
  // Lengths: non-canonical forms.
  c.list_length_leading_zero = build("legacy", (f) => rawList(f, { zeros: 1 }));
  c.list_long_form_under_56 = build("type2NoList", (f) => { f[8] = rawList([], { long: true }); });
  c.string_long_form_under_56 = build("legacy", (f) => { f[3] = rawString(f[3], { long: true }); });
  c.string_length_leading_zero = build("type2", (f) => { f[7] = rawString(f[7], { zeros: 1 }); });
  c.single_byte_below_0x80_wrapped = build("legacy", (f) => { f[0] = rawString("0x09"); });
  c.single_byte_0x00_wrapped = build("pre155", (f) => { f[0] = rawString("0x00"); });
  c.empty_string_long_form = build("legacy", (f) => { f[5] = rawString("0x", { long: true }); });
  // Lengths that do not fit the input.
  c.truncated_last_byte = build("legacy", (f) => f).slice(0, -1);
  c.truncated_inside_header = build("type2", (f) => f).slice(0, 3);
  c.only_list_header = new Uint8Array([0xf8, 0x6c]);
  c.list_length_exceeds_input = (() => { const b = build("legacy", (f) => f); b[1] += 1; return b; })();
  c.item_overruns_enclosing_list = (() => {
    // The last item claims one byte more than its list holds; the byte after the list is
    // there, so only a decoder that ignores list bounds would accept it.
    const b = build("legacy", (f) => f, { trailing: new Uint8Array([0x00]) });
    const last = b.length - 1 - 33;  // the 0xa0 header of s
    b[last] = 0xa1;
    return b;
  })();
  c.string_length_2_pow_64_minus_1 = build("legacy", (f) => { f[5] = { raw: "0xbfffffffffffffffff" + "00" }; });
  c.list_length_2_pow_64_minus_1 = getBytes("0xffffffffffffffffff" + "c0c0c0");
  c.string_length_of_length_8_bytes_small = build("legacy", (f) => { f[5] = { raw: "0xbf" + "00".repeat(7) + "01" + "aa" }; });
  // Bytes after the one item.
  c.trailing_zero_byte = build("legacy", (f) => f, { trailing: new Uint8Array([0x00]) });
  c.trailing_empty_list = build("pre155", (f) => f, { trailing: new Uint8Array([0xc0]) });
  c.typed_trailing_bytes = build("type2", (f) => f, { trailing: getBytes("0xdeadbeef") });
  c.two_transactions_back_to_back = getBytes(concat([bases.legacy, bases.legacy]));
  // Nesting: far past what a transaction needs (3 levels) and past kRlpMaxDepth.
  // 'depth' empty lists, each inside the next, built iteratively (a recursive encoder would
  // meet the very stack limit these files probe).
  const nest = (depth) => {
    let cur = new Uint8Array(0);
    for (let i = 0; i < depth; i++) cur = getBytes(concat([header(cur.length, 0xc0), cur]));
    return { raw: cur };
  };
  c.deep_nesting_65_in_data = build("legacy", (f) => { f[5] = nest(65); });
  c.deep_nesting_10000_in_data = build("legacy", (f) => { f[5] = nest(10000); });
  c.deep_nesting_10000_whole_input = getBytes(nest(10000).raw);
  c.deep_nesting_typed_access_list = build("type2", (f) => { f[8] = nest(200); });
  return c;
}

function rawTxCorpus() {
  const c = {};
  const hex = (n) => getBytes(toBeArray(n));
  // Field counts.
  c.legacy_8_fields = build("legacy", (f) => f.slice(0, 8));
  c.legacy_10_fields = build("legacy", (f) => [...f, "0x"]);
  c.legacy_6_fields_unsigned = build("legacy", (f) => f.slice(0, 6));
  c.legacy_eip155_unsigned_form = build("legacy", (f) => [...f.slice(0, 6), "0x01", "0x", "0x"]);
  c.type1_10_fields = build("type1", (f) => f.slice(0, 10));
  c.type1_12_fields = build("type1", (f) => [...f, "0x"]);
  c.type1_8_fields_unsigned = build("type1", (f) => f.slice(0, 8));
  c.type2_11_fields = build("type2", (f) => f.slice(0, 11));
  c.type2_13_fields = build("type2", (f) => [...f, "0x"]);
  c.type2_9_fields_unsigned = build("type2", (f) => f.slice(0, 9));
  c.empty_list = getBytes("0xc0");
  c.typed_empty_list = getBytes("0x02c0");
  c.typed_payload_is_a_string = getBytes("0x02" + "83616263");
  c.type_byte_only = getBytes("0x02");
  c.empty = new Uint8Array(0);
  // Type bytes.
  for (const t of [0x00, 0x03, 0x04, 0x05, 0x7f]) {
    c[`unknown_type_0x${t.toString(16).padStart(2, "0")}`] = build("type2", (f) => f, { prefix: new Uint8Array([t]) });
  }
  c.first_byte_is_rlp_string = getBytes("0x83" + "616263");
  c.first_byte_0x80_empty_string = getBytes("0x80");
  c.legacy_with_type_prefix_0x02 = build("legacy", (f) => f, { prefix: new Uint8Array([0x02]) });
  c.type2_body_with_prefix_0x01 = build("type2", (f) => f, { prefix: new Uint8Array([0x01]) });
  // Signatures.
  const highS = (base) => build(base, (f) => {
    const i = SIG[base];
    const s = BigInt(f[i + 2]);
    f[i + 2] = hex(N - s);
    // Flip the parity too, so this is the same signature in its high-s twin form: only the
    // EIP-2 rule can refuse it. (27 <-> 28, 37 <-> 38, yParity 0 <-> 1.)
    const v = f[i] === "0x" ? 0n : BigInt(f[i]);
    if (base.startsWith("type")) f[i] = v === 0n ? "0x01" : "0x";
    else f[i] = hex(v % 2n === 1n ? v + 1n : v - 1n);
  });
  c.high_s_legacy = highS("legacy");
  c.high_s_pre155 = highS("pre155");
  c.high_s_type1 = highS("type1");
  c.high_s_type2 = highS("type2");
  c.s_zero = build("type2", (f) => { f[11] = "0x"; });
  c.r_zero = build("legacy", (f) => { f[7] = "0x"; });
  c.r_equals_n = build("type2", (f) => { f[10] = hex(N); });
  c.s_equals_n = build("legacy", (f) => { f[8] = hex(N); });
  c.r_not_on_curve = build("type2", (f) => { f[10] = hex(rNotOnCurve()); });
  c.r_33_bytes = build("legacy", (f) => { f[7] = concat(["0x00", f[7]]); });
  c.r_with_leading_zero = build("type1", (f) => { f[9] = concat(["0x00", f[9]]); });
  c.legacy_v_0 = build("pre155", (f) => { f[6] = "0x"; });
  c.legacy_v_1 = build("pre155", (f) => { f[6] = "0x01"; });
  c.legacy_v_26 = build("pre155", (f) => { f[6] = "0x1a"; });
  c.legacy_v_29 = build("pre155", (f) => { f[6] = "0x1d"; });
  c.legacy_v_34 = build("pre155", (f) => { f[6] = "0x22"; });
  c.legacy_v_35_chain_id_0 = build("pre155", (f) => { f[6] = "0x23"; });
  c.legacy_v_33_bytes = build("legacy", (f) => { f[6] = concat(["0x01", "0x" + "00".repeat(32)]); });
  c.legacy_v_leading_zero = build("legacy", (f) => { f[6] = concat(["0x00", f[6]]); });
  c.typed_y_parity_2 = build("type2", (f) => { f[9] = "0x02"; });
  c.typed_y_parity_27 = build("type2", (f) => { f[9] = "0x1b"; });
  c.typed_y_parity_0_as_0x00 = build("type1", (f) => { f[8] = "0x00"; });
  c.typed_y_parity_as_list = build("type2", (f) => { f[9] = []; });
  // Field contents.
  c.to_19_bytes = build("legacy", (f) => { f[3] = "0x" + "35".repeat(19); });
  c.to_21_bytes = build("type2", (f) => { f[5] = "0x" + "35".repeat(21); });
  c.to_is_a_list = build("type1", (f) => { f[4] = []; });
  c.nonce_leading_zero = build("legacy", (f) => { f[0] = "0x0009"; });
  c.nonce_2_pow_64 = build("type2", (f) => { f[1] = "0x010000000000000000"; });
  c.chain_id_leading_zero = build("type2", (f) => { f[0] = "0x0001"; });
  c.gas_limit_leading_zero = build("type1", (f) => { f[3] = concat(["0x00", f[3]]); });
  c.value_33_bytes = build("legacy", (f) => { f[4] = "0x01" + "00".repeat(32); });
  c.max_fee_33_bytes = build("type2", (f) => { f[3] = "0x01" + "00".repeat(32); });
  c.nonce_is_a_list = build("legacy", (f) => { f[0] = ["0x09"]; });
  c.data_is_a_list = build("type2", (f) => { f[7] = ["0x01", "0x02"]; });
  c.access_list_is_a_string = build("type2", (f) => { f[8] = "0x1234"; });
  c.access_list_entry_is_a_string = build("type2", (f) => { f[8] = ["0x" + "35".repeat(20)]; });
  c.access_list_entry_without_keys = build("type2", (f) => { f[8] = [[f[8][0][0]]]; });
  c.access_list_entry_3_items = build("type1", (f) => { f[7] = [[f[7][0][0], f[7][0][1], []]]; });
  c.access_list_keys_not_a_list = build("type2", (f) => { f[8] = [[f[8][0][0], "0x" + "00".repeat(32)]]; });
  c.access_list_address_19_bytes = build("type1", (f) => { f[7] = [["0x" + "35".repeat(19), f[7][0][1]]]; });
  c.access_list_storage_key_31_bytes = build("type2", (f) => { f[8] = [[f[8][0][0], ["0x" + "11".repeat(31)]]]; });
  c.access_list_storage_key_33_bytes = build("type1", (f) => { f[7] = [[f[7][0][0], ["0x" + "11".repeat(33)]]]; });
  c.priority_fee_above_max_fee = build("type2NoList", (f) => { f[2] = "0x03"; });
  return c;
}

function hexCorpus() {
  const tx = bases.legacy;  // "0x" + 216 hex digits
  const key = "0x" + "4c".repeat(32);
  return {
    // decode-tx stdin
    tx_odd_length: tx.slice(0, -1),
    tx_bad_char_g: tx.slice(0, 10) + "g" + tx.slice(11),
    tx_bad_char_at_end: tx.slice(0, -1) + "z",
    tx_space_inside: tx.slice(0, 20) + " " + tx.slice(20),
    tx_newline_inside: tx.slice(0, 20) + "\n" + tx.slice(20),
    tx_missing_0x_prefix: tx.slice(2),
    tx_double_prefix: "0x" + tx,
    tx_upper_case_0X_prefix: "0X" + tx.slice(2),
    tx_prefix_only: "0x",
    tx_empty: "",
    tx_whitespace_only: " \n\t\n",
    tx_nul_inside: tx.slice(0, 30) + "\u0000" + tx.slice(30),
    tx_fullwidth_digit: tx.slice(0, 12) + "\uff10" + tx.slice(13),
    tx_two_lines: tx + "\n" + tx + "\n",
    tx_trailing_garbage: tx + "\nxyz",
    tx_minus_sign: "-" + tx,
    tx_0x_then_space: "0x " + tx.slice(2),
    tx_quoted: JSON.stringify(tx),
    // --key-file contents
    key_odd_length: key.slice(0, -1),
    key_31_bytes: key.slice(0, -2),
    key_33_bytes: key + "4c",
    key_bad_char: key.slice(0, 20) + "x" + key.slice(21),
    key_space_inside: key.slice(0, 34) + " " + key.slice(34),
    key_prefix_only: "0x",
    key_empty: "",
    key_double_prefix: "0x" + key,
    key_fullwidth_digit: key.slice(0, 5) + "\uff14" + key.slice(6),
    key_zero: "0x" + "00".repeat(32),
    key_equals_order_n: "0x" + N.toString(16),
    key_above_order_n: "0x" + "ff".repeat(32),
    key_two_keys_two_lines: key + "\n" + key + "\n",
    key_quoted: JSON.stringify(key),
  };
}

function addressCorpus() {
  const a = getAddress("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");  // EIP-55 example
  const flip = (s, i) => s.slice(0, i) + (s[i] === s[i].toLowerCase() ? s[i].toUpperCase() : s[i].toLowerCase()) + s.slice(i + 1);
  const firstLetter = a.slice(2).search(/[a-fA-F]/) + 2;
  const lastLetter = a.length - 1 - [...a].reverse().join("").search(/[a-fA-F]/);
  return {
    bad_checksum_first_letter: flip(a, firstLetter),
    bad_checksum_last_letter: flip(a, lastLetter),
    checksum_of_another_address: "0x" + getAddress("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaee").slice(2, -1) + a.slice(-1),
    too_short_19_bytes: a.slice(0, -2),
    too_long_21_bytes: a + "aa",
    odd_39_digits: a.slice(0, -1),
    odd_41_digits: a + "a",
    non_hex_char: a.slice(0, 10) + "g" + a.slice(11),
    upper_case_0X_prefix: "0X" + a.slice(2).toLowerCase(),
    double_prefix: "0x" + a,
    empty: "",
    prefix_only: "0x",
    leading_space: " " + a,
    trailing_space: a + " ",
    trailing_newline: a + "\n",
    ens_name: "vitalik.eth",
    icap: "XE7338O073KYGTWWZN0F2WZ0R8PX5ZPPZS",
    nul_inside: a.slice(0, 8) + "\u0000" + a.slice(9),
    fullwidth_digit: a.slice(0, 4) + "\uff10" + a.slice(5),
    minus_sign: "-" + a,
    thirty_two_bytes: "0x" + "00".repeat(12) + a.slice(2).toLowerCase(),
  };
}

// --- Writing ---------------------------------------------------------------------------

function writeFolder(folder, entries, toText, ext) {
  const dir = path.join(ROOT, folder);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) if (f.endsWith(ext)) fs.rmSync(path.join(dir, f));
  for (const [name, value] of Object.entries(entries)) fs.writeFileSync(path.join(dir, name + ext), toText(value));
  console.log(`${Object.keys(entries).length} files in tests/corpus/${folder}/`);
}

// Every malformed address must be one ethers refuses too, except the few where we are
// deliberately stricter (ethers' getAddress also takes ICAP "XE.." account numbers).
const STRICTER_THAN_ETHERS = new Set(["icap"]);
function checkAddressesAgainstEthers(entries) {
  for (const [name, value] of Object.entries(entries)) {
    let accepted = true;
    try { getAddress(value); } catch { accepted = false; }
    if (accepted !== STRICTER_THAN_ETHERS.has(name)) {
      throw new Error(`address/${name}: ethers ${accepted ? "accepts" : "refuses"} ${JSON.stringify(value)}`);
    }
  }
}

await makeBases();
checkAddressesAgainstEthers(addressCorpus());
writeFolder("rlp", rlpCorpus(), (b) => hexlify(b).slice(2) + "\n", ".hex");
writeFolder("raw_tx", rawTxCorpus(), (b) => hexlify(b), ".txt");
writeFolder("hex", hexCorpus(), (s) => s, ".txt");
writeFolder("address", addressCorpus(), (s) => s, ".txt");
