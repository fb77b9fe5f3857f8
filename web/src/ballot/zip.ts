// A strict reader of bundle.zip (docs/bundle_format.md section 3; PKWARE APPNOTE 6.3): the
// central directory is the index, every local header must agree with it, entries are stored
// or deflated (DecompressionStream('deflate-raw')), their CRC-32 is checked, and the rules of
// the bundle are enforced before a byte is inflated: exactly the five names, each once, no
// directory, no encryption, no ZIP64, declared sizes under the caps, no overlapping entries.
// Inflation stops at the declared size, so a zip bomb costs nothing.
//
//   const files = await readBundleZip(bytes);   // Map name -> bytes; throws ZipError

export class ZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipError';
  }
}

const MiB = 1024 * 1024;
export const BUNDLE_CAPS: Record<string, number> = {
  'proof.bin': 64 * MiB,
  'public-input.json': 16 * MiB,
  'election-manifest.json': 16 * MiB,
  'close-statement.json': 16 * MiB,
  'journal.json': 16 * MiB,
};
export const BUNDLE_MAX_BYTES = 96 * MiB;

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;

let crcTable: Uint32Array | null = null;
export function crc32(data: Uint8Array): number {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; ++n) {
      let c = n;
      for (let k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; ++i) crc = crcTable[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

interface Entry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

async function inflateRaw(data: Uint8Array, expected: number, name: string): Promise<Uint8Array> {
  const stream = new Blob([data.slice().buffer]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  const reader = stream.getReader();
  const out = new Uint8Array(expected);
  let at = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (at + value.length > expected) {
        throw new ZipError(`${name}: inflates to more than its declared ${expected} bytes`);
      }
      out.set(value, at);
      at += value.length;
    }
  } catch (e) {
    if (e instanceof ZipError) throw e;
    throw new ZipError(`${name}: corrupt deflate data (${String(e)})`);
  } finally {
    reader.cancel().catch(() => undefined);
  }
  if (at !== expected) throw new ZipError(`${name}: inflates to ${at} bytes, declared ${expected}`);
  return out;
}

export async function readBundleZip(zip: Uint8Array, caps: Record<string, number> = BUNDLE_CAPS): Promise<Map<string, Uint8Array>> {
  if (zip.length > BUNDLE_MAX_BYTES) throw new ZipError(`the archive is larger than ${BUNDLE_MAX_BYTES} bytes`);
  if (zip.length < 22) throw new ZipError('not a zip archive (too short)');
  const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const u16 = (at: number) => v.getUint16(at, true);
  const u32 = (at: number) => v.getUint32(at, true);

  // The end record: the last one whose comment runs exactly to the end of the file.
  let end = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); --at) {
    if (u32(at) === SIG_END && at + 22 + u16(at + 20) === zip.length) {
      end = at;
      break;
    }
  }
  if (end < 0) throw new ZipError('not a zip archive (no end of central directory record)');
  const disk = u16(end + 4), cdDisk = u16(end + 6), onDisk = u16(end + 8), total = u16(end + 10);
  const cdSize = u32(end + 12), cdOffset = u32(end + 16);
  if (disk !== 0 || cdDisk !== 0 || onDisk !== total) throw new ZipError('multi-disk archives are not supported');
  if (total === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) throw new ZipError('ZIP64 archives are not supported');
  if (cdOffset + cdSize !== end) throw new ZipError('the central directory does not end where the end record starts');

  const entries: Entry[] = [];
  const names = new Set<string>();
  let at = cdOffset;
  let declaredTotal = 0;
  for (let i = 0; i < total; ++i) {
    if (at + 46 > end || u32(at) !== SIG_CENTRAL) throw new ZipError(`central directory entry ${i}: malformed`);
    const flags = u16(at + 8), method = u16(at + 10);
    const crc = u32(at + 16), compressedSize = u32(at + 20), size = u32(at + 24);
    const nameLen = u16(at + 28), extraLen = u16(at + 30), commentLen = u16(at + 32);
    const startDisk = u16(at + 34), localOffset = u32(at + 42);
    if (at + 46 + nameLen + extraLen + commentLen > end) throw new ZipError(`central directory entry ${i}: truncated`);
    const name = String.fromCharCode(...zip.subarray(at + 46, at + 46 + nameLen));
    at += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith('/')) throw new ZipError(`"${name}": directories are not allowed`);
    if (!(name in caps)) throw new ZipError(`"${name}": not a bundle file`);
    if (names.has(name)) throw new ZipError(`"${name}": appears twice`);
    names.add(name);
    if (flags & 0x0001 || flags & 0x0040) throw new ZipError(`${name}: encrypted entries are not allowed`);
    if (method !== 0 && method !== 8) throw new ZipError(`${name}: compression method ${method} (only store and deflate)`);
    if (startDisk !== 0) throw new ZipError(`${name}: on another disk`);
    if (size === 0xffffffff || compressedSize === 0xffffffff || localOffset === 0xffffffff) {
      throw new ZipError(`${name}: ZIP64 sizes are not supported`);
    }
    if (size > caps[name]) throw new ZipError(`${name}: declared size ${size} is above its cap of ${caps[name]} bytes`);
    if (method === 0 && compressedSize !== size) throw new ZipError(`${name}: stored with two different sizes`);
    declaredTotal += size;
    entries.push({ name, method, flags, crc, compressedSize, size, localOffset });
  }
  if (at !== end) throw new ZipError('the central directory holds more than its entries');
  if (declaredTotal > BUNDLE_MAX_BYTES) throw new ZipError(`the entries add up to more than ${BUNDLE_MAX_BYTES} bytes`);
  for (const name of Object.keys(caps)) if (!names.has(name)) throw new ZipError(`"${name}" is missing`);

  // Each local header agrees with the directory; entries' bytes do not overlap.
  const spans: Array<[number, number, string]> = [];
  const out = new Map<string, Uint8Array>();
  for (const e of entries) {
    const lo = e.localOffset;
    if (lo + 30 > cdOffset || u32(lo) !== SIG_LOCAL) throw new ZipError(`${e.name}: no local header at ${lo}`);
    const lFlags = u16(lo + 6), lMethod = u16(lo + 8);
    const lNameLen = u16(lo + 26), lExtraLen = u16(lo + 28);
    const lName = String.fromCharCode(...zip.subarray(lo + 30, lo + 30 + lNameLen));
    if (lName !== e.name || lMethod !== e.method || (lFlags & 0x0001) !== 0) {
      throw new ZipError(`${e.name}: the local header disagrees with the central directory`);
    }
    const dataStart = lo + 30 + lNameLen + lExtraLen;
    const dataEnd = dataStart + e.compressedSize;
    if (dataEnd > cdOffset) throw new ZipError(`${e.name}: its data runs into the central directory`);
    spans.push([lo, dataEnd, e.name]);
    const raw = zip.subarray(dataStart, dataEnd);
    const data = e.method === 0 ? raw.slice() : await inflateRaw(raw, e.size, e.name);
    if (crc32(data) !== e.crc) throw new ZipError(`${e.name}: CRC-32 mismatch (the archive is corrupt)`);
    out.set(e.name, data);
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; ++i) {
    if (spans[i][0] < spans[i - 1][1]) throw new ZipError(`${spans[i - 1][2]} and ${spans[i][2]} overlap`);
  }
  return out;
}
