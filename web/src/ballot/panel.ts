// The side panel of the ballot pages: what this browser knows about the voter's election —
// ids and hashes from the session, the receipt's fields, the inclusion path, and once a
// bundle was checked, the proof's size and security level.
import type { Panel, PanelGroup } from '../common/layout';
import { formatBytes } from '../common/dom';
import { formatTime } from '../common/i18n';
import type { Facts } from './checks';
import { loadExecution, loadReceipt, loadSession, loadVerified } from './state';

export function renderPanel(panel: Panel, given: Facts = {}): void {
  const s = loadSession();
  const r = given.receipt ?? loadReceipt();
  const e = loadExecution();
  // Without a run on this page, what the last verification of this execution measured.
  const v = loadVerified();
  const facts: Facts = v !== null && e?.executionId === v.executionId && given.verifyMs === undefined
    ? { ...given, segments: v.segments, securityBits: v.securityBits, minSecurityBits: v.minSecurityBits,
        verifyMs: v.verifyMs }
    : given;
  const groups: PanelGroup[] = [
    {
      title: 'panel.election',
      rows: [
        ['panel.sessionId', s?.sessionId ?? null, 'mono'],
        ['panel.electionId', s?.electionId ?? facts.manifest?.config.electionId ?? null, 'mono'],
        ['panel.configHash', s?.electionConfigHash ?? facts.manifest?.configHash ?? null, 'mono'],
        ['panel.logId', s?.logId ?? facts.manifest?.config.logId ?? null, 'mono'],
        ['panel.logKey', s?.logPublicKey ?? facts.manifest?.logPublicKey ?? null, 'mono'],
        ['panel.choices', s ? s.choices.join(', ') : null],
        ['panel.voters', s ? `1 + ${s.botCount}` : null],
      ],
    },
    {
      title: 'panel.receipt',
      rows: [
        ['panel.voteId', r?.voteId ?? null, 'mono'],
        ['panel.yourChoice', r && s ? `${r.vote} (${s.choices[r.vote] ?? '?'})` : r ? String(r.vote) : null],
        ['panel.rand', r?.rand ?? null, 'mono'],
        ['panel.commitment', r?.commitment ?? null, 'mono'],
        ['panel.index', r ? String(r.bulletinIndex) : null],
        ['panel.rootAtCast', r?.bulletinRootAtCast ?? null, 'mono'],
        ['panel.sizeAtCast', r ? String(r.treeSizeAtCast) : null],
        ['panel.castAt', r ? formatTime(r.timestamp) : null],
        ['panel.sthSignature', r?.sth.signature ?? null, 'mono'],
        ['panel.inclusionPath', r?.inclusion ? r.inclusion.path.join('\n') : null, 'list'],
      ],
    },
    {
      title: 'panel.tally',
      rows: [
        ['panel.executionId', e?.executionId ?? null, 'mono'],
        ['panel.scenario', e?.scenario ?? null],
        ['panel.closeRoot', facts.close?.root ?? e?.result?.root ?? null, 'mono'],
        ['panel.treeSize', facts.close ? String(facts.close.treeSize) : e?.result ? String(e.result.treeSize) : null],
        ['panel.proofSize', facts.proofBytes !== undefined ? formatBytes(facts.proofBytes) :
                            e?.result?.proofBytes !== undefined ? formatBytes(e.result.proofBytes) : null],
        ['panel.segments', facts.segments !== undefined ? String(facts.segments) : null],
        ['panel.security', facts.securityBits !== undefined
          ? `${facts.securityBits.toFixed(1)} bits (≥ ${facts.minSecurityBits ?? 100})` : null],
        ['panel.verifyTime', facts.verifyMs !== undefined ? `${facts.verifyMs.toFixed(1)} ms` : null],
      ],
    },
  ];
  panel.set(groups);
}
