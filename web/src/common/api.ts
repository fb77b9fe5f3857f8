// Fetch helpers for the gateway's JSON envelope (docs/api.md, "Envelope"): {"data": ...} on
// success, {"error", "message", "statusCode", "requestId"} otherwise, raised as ApiError.
// Same origin only: the pages are served by the gateway they talk to.
//
//   const { data } = await apiJson<Progress>('GET', '/api/progress', { headers: sessionHeaders() });

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string = '',
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

async function send(method: string, path: string, opts: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  try {
    return await fetch(path, { method, headers, body, signal: opts.signal, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', `the gateway did not answer (${String(e)})`);
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const j: unknown = JSON.parse(text);
    if (typeof j === 'object' && j !== null) {
      const o = j as Record<string, unknown>;
      return new ApiError(res.status, typeof o.error === 'string' ? o.error : `HTTP_${res.status}`,
                          typeof o.message === 'string' ? o.message : res.statusText,
                          typeof o.requestId === 'string' ? o.requestId : res.headers.get('X-Request-ID') ?? '');
    }
  } catch {
    // not JSON: fall through
  }
  return new ApiError(res.status, `HTTP_${res.status}`, text.slice(0, 200) || res.statusText,
                      res.headers.get('X-Request-ID') ?? '');
}

// The `data` of a JSON envelope and the HTTP status (201, 202 ...).
export async function apiJson<T>(method: string, path: string, opts: RequestOptions = {}): Promise<{ status: number; data: T }> {
  const res = await send(method, path, opts);
  if (!res.ok) throw await errorOf(res);
  let j: unknown;
  try {
    j = await res.json();
  } catch {
    throw new ApiError(res.status, 'BAD_RESPONSE', 'the gateway answered something other than JSON');
  }
  if (typeof j !== 'object' || j === null || !('data' in j)) {
    throw new ApiError(res.status, 'BAD_RESPONSE', 'the gateway answered without a data envelope');
  }
  return { status: res.status, data: (j as { data: T }).data };
}

// A binary body (bundle.zip), at most maxBytes.
export async function apiBytes(path: string, maxBytes: number, opts: RequestOptions = {}): Promise<Uint8Array> {
  const res = await send('GET', path, opts);
  if (!res.ok) throw await errorOf(res);
  const declared = Number(res.headers.get('Content-Length') ?? '0');
  if (declared > maxBytes) throw new ApiError(res.status, 'TOO_LARGE', `the body is ${declared} bytes, over ${maxBytes}`);
  const buf = new Uint8Array(await res.arrayBuffer());
  if (buf.length > maxBytes) throw new ApiError(res.status, 'TOO_LARGE', `the body is ${buf.length} bytes, over ${maxBytes}`);
  return buf;
}
