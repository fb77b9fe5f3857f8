// Session start and the small helpers the ballot pages share: hex text, and the message
// shown for an API error (the gateway's code and message, with the voter's next step for the
// codes a voter meets).
import { ApiError, apiJson } from '../common/api';
import { t } from '../common/i18n';
import { forgetAll, saveSession, type Session } from './state';

// POST /api/session: a new election for this voter; everything of the previous one is forgotten.
export async function startSession(): Promise<Session> {
  const { data } = await apiJson<Omit<Session, 'logPublicKey'>>('POST', '/api/session', { body: {} });
  forgetAll();
  const s: Session = {
    sessionId: data.sessionId, electionId: data.electionId, electionConfigHash: data.electionConfigHash,
    logId: data.logId, capabilityToken: data.capabilityToken, expiresAt: data.expiresAt,
    choices: data.choices, botCount: data.botCount,
  };
  saveSession(s);
  return s;
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function hexToBytes(s: string): Uint8Array<ArrayBuffer> {
  if (!/^([0-9a-f]{2})*$/.test(s)) throw new Error('not lower-case hex');
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; ++i) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    switch (e.code) {
      case 'SESSION_EXPIRED':
      case 'INVALID_CAPABILITY':
        return t('error.session', { code: e.code, message: e.message });
      case 'RESOURCE_EXHAUSTED':
        return t('error.rate', { message: e.message });
      case 'NETWORK':
        return t('error.network', { message: e.message });
      default:
        return t('error.api', { code: e.code, status: e.status, message: e.message });
    }
  }
  return t('error.other', { message: e instanceof Error ? e.message : String(e) });
}
