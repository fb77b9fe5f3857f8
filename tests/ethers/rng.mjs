// Seeded pseudo-random generator for the differential tests: a failing case replays
// from its seed alone, so nothing here may read a clock or the OS random source.
//
//   const rng = new Rng(42n);  rng.int(10);  rng.bytes(32);  rng.bigBits(256);

const MASK64 = (1n << 64n) - 1n;

// splitmix64 only expands the user's seed into the sfc32 state, so that nearby seeds
// (1, 2, 3) still give unrelated streams.
function splitmix64(state) {
  let z = (state + 0x9e3779b97f4a7c15n) & MASK64;
  const next = z;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [next, z ^ (z >> 31n)];
}

export class Rng {
  constructor(seed) {
    let s = BigInt.asUintN(64, BigInt(seed));
    const words = [];
    for (let i = 0; i < 2; i++) {
      let out;
      [s, out] = splitmix64(s);
      words.push(Number(out & 0xffffffffn), Number(out >> 32n));
    }
    [this.a, this.b, this.c, this.d] = words.map((w) => w >>> 0);
    for (let i = 0; i < 16; i++) this.u32();  // sfc32 wants a short warm-up
  }

  // sfc32 (Chris Doty-Humphrey's small fast counting generator).
  u32() {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  // Uniform integer in [0, n) for n <= 2^32, by rejection so small ranges are unbiased.
  int(n) {
    if (n <= 0) throw new Error(`Rng.int(${n})`);
    const limit = Math.floor(0x100000000 / n) * n;
    for (;;) {
      const x = this.u32();
      if (x < limit) return x % n;
    }
  }

  range(lo, hi) { return lo + this.int(hi - lo + 1); }  // inclusive
  chance(p) { return this.u32() / 0x100000000 < p; }
  pick(items) { return items[this.int(items.length)]; }

  // Picks from [[weight, value], ...].
  weighted(table) {
    const total = table.reduce((acc, [w]) => acc + w, 0);
    let x = this.int(total);
    for (const [w, v] of table) {
      if (x < w) return v;
      x -= w;
    }
    return table[table.length - 1][1];
  }

  bytes(n) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  // Uniform in [0, 2^bits).
  bigBits(bits) {
    let v = 0n;
    for (let got = 0; got < bits; got += 32) v = (v << 32n) | BigInt(this.u32());
    return BigInt.asUintN(bits, v);
  }

  // Uniform in [0, n) for a bigint n > 0.
  bigBelow(n) {
    const bits = n.toString(2).length;
    for (;;) {
      const v = this.bigBits(bits);
      if (v < n) return v;
    }
  }

  // A value below 2^bits that favours the edges where encoders go wrong: zero, one,
  // powers of two and their neighbours (RLP/ABI length boundaries), the maximum,
  // and numbers of random bit length.
  bigEdge(bits) {
    const max = (1n << BigInt(bits)) - 1n;
    const k = BigInt(this.int(bits));
    const candidates = [
      () => 0n, () => 1n, () => max, () => max - 1n,
      () => 1n << k, () => (1n << k) - 1n, () => (1n << k) + 1n,
      () => 0x7fn, () => 0x80n, () => 0xffn, () => 0x100n,
      () => this.bigBits(bits),
      () => this.bigBits(this.range(1, bits)),
      () => this.bigBits(this.range(1, bits)),
    ];
    const v = this.pick(candidates)();
    return v > max ? max : (v < 0n ? 0n : v);
  }
}

// Parses a seed given as decimal or 0x-hex; a bad one is an error, not a silent 0.
export function parseSeed(text) {
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(String(text).trim())) {
    throw new Error(`bad seed ${JSON.stringify(text)}: want a decimal or 0x-hex integer`);
  }
  return BigInt.asUintN(64, BigInt(String(text).trim()));
}
