// Signed calls to the wallet API from the console: each request gets a VP1 Authorization
// header made in the browser (vp1.ts) and a unique `n` query parameter, because the gateway
// refuses a signature it has already seen (docs/api.md, "Replay") and two identical reads in
// one second would otherwise sign alike. The query is built here, percent-encoded so that the
// browser sends it byte for byte as signed.
//
//   const { wallets } = await client.get<WalletPage>('/v1/wallets', { limit: 20 });
import { apiJson } from '../common/api';
import type { Vp1Key } from './vp1';

export type Params = Record<string, string | number | undefined | null>;

// encodeURIComponent leaves !'()* alone, and the URL parser of a browser may escape ' in a
// query: escape them here so the signed query is the sent one.
export function encodeComponent(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function queryString(params: Params): string {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeComponent(k)}=${encodeComponent(String(v))}`)
    .join('&');
}

let counter = 0;
const salt = Math.random().toString(36).slice(2, 8);

export class Client {
  constructor(private readonly key: Vp1Key) {}

  get keyId(): string {
    return this.key.keyId;
  }

  async call<T>(method: 'GET' | 'POST', path: string, params: Params = {}, body?: unknown): Promise<T> {
    const query = queryString({ ...params, n: `${salt}${++counter}` });
    const text = body === undefined ? '' : JSON.stringify(body);
    const auth = await this.key.authorization(method, path, query, text, Math.floor(Date.now() / 1000));
    const { data } = await apiJson<T>(method, `${path}?${query}`, { headers: { Authorization: auth }, body });
    return data;
  }

  get<T>(path: string, params: Params = {}): Promise<T> {
    return this.call<T>('GET', path, params);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, {}, body);
  }

  forget(): void {
    this.key.forget();
  }
}
