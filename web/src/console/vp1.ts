// VP1-HMAC-SHA256 request signing in the browser (docs/api.md, "Authentication"), with the
// API key's secret held only as a non-extractable WebCrypto HMAC key: the string is encoded,
// imported and the encoded copy zeroed at once, so after sign-in no readable copy of the
// secret is left in the page's own state (JavaScript cannot wipe the string the input held;
// it is dropped, and the input cleared).
//
//   const key = await Vp1Key.import('ak_…', secret);
//   const auth = await key.authorization('GET', '/v1/ping', 'n=1', '', Math.floor(Date.now() / 1000));

const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;
const enc = new TextEncoder();

export function hex(bytes: ArrayBuffer | Uint8Array): string {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', enc.encode(text)));
}

// WebCrypto exists only in a secure context (HTTPS, or http://127.0.0.1 / localhost).
export function webCryptoAvailable(): boolean {
  return typeof crypto !== 'undefined' && typeof crypto.subtle !== 'undefined' && window.isSecureContext;
}

export function validKeyId(keyId: string): boolean {
  return KEY_ID.test(keyId);
}

// "VP1\nMETHOD\nPATH\nQUERY\nTIMESTAMP\nhex(SHA-256(body))", exactly as docs/api.md defines it.
export async function stringToSign(method: string, path: string, query: string, timestamp: number,
                                   body: string): Promise<string> {
  return ['VP1', method, path, query, String(timestamp), await sha256Hex(body)].join('\n');
}

export class Vp1Key {
  private key: CryptoKey | null;

  private constructor(readonly keyId: string, key: CryptoKey) {
    this.key = key;
  }

  // The HMAC key is the secret's ASCII bytes as printed (not base64-decoded).
  static async import(keyId: string, secret: string): Promise<Vp1Key> {
    if (!validKeyId(keyId)) throw new Error('malformed key id');
    const raw = enc.encode(secret);
    try {
      const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      return new Vp1Key(keyId, key);
    } finally {
      raw.fill(0);
    }
  }

  get active(): boolean {
    return this.key !== null;
  }

  // The Authorization header for one request; body is the exact text sent ('' for none).
  async authorization(method: string, path: string, query: string, body: string, timestamp: number): Promise<string> {
    if (this.key === null) throw new Error('signed out');
    const sts = await stringToSign(method, path, query, timestamp, body);
    const sig = hex(await crypto.subtle.sign('HMAC', this.key, enc.encode(sts)));
    return `VP1-HMAC-SHA256 Credential=${this.keyId}, Timestamp=${timestamp}, Signature=${sig}`;
  }

  // Drops the CryptoKey; the garbage collector frees it once no request still holds it.
  forget(): void {
    this.key = null;
  }
}
