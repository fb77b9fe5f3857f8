// The console's own strings, English and Japanese, kept beside the page rather than in the
// shared table (common/strings.ts) so the two can change independently. The language is the
// shared one (common/i18n: the switch in the header); elements set with ctx() re-translate
// themselves when it changes. The Japanese table has the English one's type, so a missing
// translation is a type error.
import { lang, onLangChange, parseVars, type Vars } from '../common/i18n';

const en = {
  'c.lead': 'Sign in with an API key to list wallets and transactions, approve or reject pending transfers, and browse and verify the audit log. Every request is signed in this browser with the VP1-HMAC-SHA256 scheme.',
  'c.noCrypto': 'This browser offers no WebCrypto here (it needs HTTPS or localhost), so requests cannot be signed. Open the console over HTTPS or from 127.0.0.1.',

  // sign-in
  'c.signin.title': 'Sign in',
  'c.signin.keyId': 'API key id',
  'c.signin.keyIdHint': 'ak_ followed by 20 hex digits, as `vaultproof api-key create` printed it.',
  'c.signin.secret': 'Secret',
  'c.signin.secretHint': 'Kept in this page’s memory only, as a non-extractable WebCrypto key: never stored, never sent. Signing out or leaving the page forgets it.',
  'c.signin.submit': 'Sign in',
  'c.signin.busy': 'Checking the key…',
  'c.signin.missing': 'Enter the key id and the secret.',
  'c.signin.badKeyId': 'A key id is 1 to 64 letters, digits, “_” or “-”.',
  'c.signin.expired': 'You were signed out: {why}',
  'c.signin.signedOut': 'Signed out. The key was forgotten.',
  'c.session.as': 'Signed in as {keyId} ({role}).',
  'c.session.signOut': 'Sign out',

  // tabs
  'c.tabs.label': 'Console sections',
  'c.tab.wallets': 'Wallets',
  'c.tab.transactions': 'Transactions',
  'c.tab.audit': 'Audit log',

  // wallets
  'c.w.title': 'Wallets',
  'c.w.caption': 'Wallets, page {page}',
  'c.w.name': 'Name',
  'c.w.kind': 'Kind',
  'c.w.address': 'Address',
  'c.w.addressCount': '{n} deposit addresses handed out (the first is shown; the API lists no others)',
  'c.w.created': 'Created',
  'c.w.actions': 'Actions',
  'c.w.showTx': 'Transactions',
  'c.w.showTxOf': 'Transactions of {name}',
  'c.w.none': 'No wallets.',
  'c.w.loading': 'Loading wallets…',
  'c.w.prev': 'Previous page',
  'c.w.next': 'Next page',
  'c.w.pageSize': 'Per page',
  'c.w.refresh': 'Refresh',

  // transactions
  'c.t.title': 'Transactions',
  'c.t.filters': 'Filters',
  'c.t.wallet': 'Wallet',
  'c.t.allWallets': 'All wallets',
  'c.t.status': 'Status',
  'c.t.anyStatus': 'Any status',
  'c.t.limit': 'Show at most',
  'c.t.apply': 'Show',
  'c.t.caption': 'Transactions, newest first',
  'c.t.id': 'Id',
  'c.t.to': 'To',
  'c.t.value': 'Value (wei)',
  'c.t.created': 'Created',
  'c.t.none': 'No transactions match.',
  'c.t.loading': 'Loading transactions…',
  'c.t.open': 'Details of {id}',
  'c.t.detail': 'Transaction {id}',
  'c.t.detailNone': 'Pick a transaction to see its details.',
  'c.t.f.status': 'Status',
  'c.t.f.wallet': 'Wallet',
  'c.t.f.value': 'Value',
  'c.t.f.required': 'Required approvals',
  'c.t.f.createdBy': 'Created by',
  'c.t.f.createdAt': 'Created at',
  'c.t.f.updatedAt': 'Updated at',
  'c.t.f.from': 'From',
  'c.t.f.hash': 'Transaction hash',
  'c.t.f.raw': 'Signed raw transaction',
  'c.t.f.error': 'Error',
  'c.t.f.broadcast': 'Broadcast',
  'c.t.f.nonce': 'Nonce',
  'c.t.f.hashes': 'Hashes sent',
  'c.t.request': 'Request',
  'c.t.approvals': 'Decisions ({n} of {required} approvals)',
  'c.t.noApprovals': 'No decisions yet.',
  'c.t.approvalRow': '{decision} by {approver} at {at}',
  'c.t.decision.approve': 'approved',
  'c.t.decision.reject': 'rejected',
  'c.t.approve': 'Approve',
  'c.t.reject': 'Reject',
  'c.t.confirmReject': 'Reject transaction {id}? This cannot be undone.',
  'c.t.deciding': 'Sending your decision…',
  'c.t.decided': 'Your decision was recorded: the transaction is now {status}.',
  'c.t.waiting': 'Approved; waiting for the signer (status {status})…',
  'c.t.onlyApprovers': 'Only an approver or admin key can approve or reject; this key is {role}.',
  'c.t.refresh': 'Refresh',
  'c.t.yes': 'yes',
  'c.t.no': 'no',

  // audit
  'c.a.title': 'Audit log',
  'c.a.filters': 'Filters',
  'c.a.principal': 'Principal (key id)',
  'c.a.action': 'Action',
  'c.a.actionHint': 'Exactly as recorded, e.g. POST /v1/transactions/{id}/approve or auth.failure.',
  'c.a.outcome': 'Outcome',
  'c.a.anyOutcome': 'Any outcome',
  'c.a.since': 'From (your local time)',
  'c.a.until': 'Until, excluded (your local time)',
  'c.a.order': 'Order',
  'c.a.asc': 'Oldest first',
  'c.a.desc': 'Newest first',
  'c.a.limit': 'Per page',
  'c.a.search': 'Search',
  'c.a.caption': 'Audit records, page {page}',
  'c.a.seq': 'Seq',
  'c.a.time': 'Time',
  'c.a.principalCol': 'Principal',
  'c.a.actionCol': 'Action',
  'c.a.resource': 'Resource',
  'c.a.outcomeCol': 'Outcome',
  'c.a.sourceIp': 'Source IP',
  'c.a.details': 'Details',
  'c.a.hash': 'Hash',
  'c.a.none': 'No records match.',
  'c.a.loading': 'Loading records…',
  'c.a.first': 'First page',
  'c.a.next': 'Next page',
  'c.a.badTime': '“{field}” is not a valid date and time.',
  'c.a.verify': 'Verify these records',
  'c.a.verifyTitle': 'Verification in your browser',
  'c.a.verifyIntro': 'Recomputes, with WebCrypto SHA-256, the hash of every record from seq 1 to the last one shown, each from the one before (docs/audit_log.md §1.2 and §4.1 step 2), and checks that the records shown are those records.',
  'c.a.verifyNothing': 'Search first: there are no records to verify.',
  'c.a.verifying': 'Fetching and hashing records… {n} so far.',
  'c.a.verifyOk': 'Verified: the {n} records from seq 1 to {last} form an unbroken hash chain, and the {shown} records shown are among them, unchanged.',
  'c.a.verifyOkAnchored': 'Verified: the {n} records from seq {first} to {last} chain correctly from record {anchor}’s stored hash, and the {shown} records shown are among them, unchanged. (Over {cap} records: the chain before seq {first} was not walked.)',
  'c.a.verifyBad': 'Verification failed: {n} finding(s). The first: {first}',
  'c.a.selfTest': 'Not verified: this page’s hash-chain code does not reproduce the worked example of docs/audit_log.md §1.2, so it checked nothing.',
  'c.a.tooLarge': 'Not verified: the records shown span more than {cap} records; narrow the search (time range, principal) and verify again.',
  'c.a.checked': 'Checked here',
  'c.a.notChecked': 'Not checked here',
  'c.a.checked.chain': 'Each record’s stored hash equals SHA-256("vp-audit-v1" ‖ previous hash ‖ canonical record), so no record in the range was changed, removed, inserted or reordered without rewriting every later hash.',
  'c.a.checked.seq': 'Sequence numbers run without gaps from {first} to {last}.',
  'c.a.checked.shown': 'Every record on this page is the chain’s record with the same seq (all fields and the hash).',
  'c.a.not.digests': 'The Ed25519-signed digests: the API does not serve them (no route reads audit_digests) nor the signing public key, so their signatures cannot be checked from the browser. Without them, someone able to write the database could rewrite the whole chain from seq 1 consistently and this check would still pass.',
  'c.a.not.head': 'The chain head (audit_head) and records after seq {last}: not served by the API, so truncation at the end cannot be seen here.',
  'c.a.not.server': 'Run `vaultproof audit verify --data-dir …` on the server for the full §4 verification with the signatures.',
  'c.a.finding.gap': 'seq {seq}: expected seq {expected} (records missing or out of order)',
  'c.a.finding.hash': 'seq {seq}: the stored hash is not the hash of the record chained to the previous one (modified)',
  'c.a.finding.shown': 'seq {seq}: the record shown differs from the chain’s record with that seq',
  'c.a.finding.absent': 'seq {seq}: the record shown is not in the chain that was walked',
  'c.a.finding.malformed': 'seq {seq}: the record is malformed ({why})',

  // errors
  'c.err.api': '{code} ({status}): {message}',
  'c.err.request': 'request {id}',
  'c.err.network': 'NETWORK: the gateway did not answer ({message})',
  'c.err.other': 'Error: {message}',

  // side panel
  'c.p.session': 'Session',
  'c.p.keyId': 'Key id',
  'c.p.role': 'Role',
  'c.p.since': 'Signed in at',
  'c.p.signedOut': 'Not signed in',
  'c.p.selection': 'Selection',
  'c.p.wallet': 'Wallet',
  'c.p.transaction': 'Transaction',
  'c.p.audit': 'Audit verification',
  'c.p.auditNone': 'not run',
  'c.p.none': 'none',
  'c.p.secret': 'Secret',
  'c.p.secretValue': 'in memory only, as a non-extractable key',
};

export type CKey = keyof typeof en;

const ja: Record<CKey, string> = {
  'c.lead': 'API キーでサインインすると、ウォレットとトランザクションの一覧、保留中の送金の承認・却下、監査ログの閲覧と検証ができます。すべてのリクエストはこのブラウザ内で VP1-HMAC-SHA256 方式により署名されます。',
  'c.noCrypto': 'このブラウザではここで WebCrypto が使えないため (HTTPS か localhost が必要です)、リクエストに署名できません。HTTPS か 127.0.0.1 でコンソールを開いてください。',

  'c.signin.title': 'サインイン',
  'c.signin.keyId': 'API キー ID',
  'c.signin.keyIdHint': '`vaultproof api-key create` が表示した、ak_ に続く 16 進 20 桁です。',
  'c.signin.secret': 'シークレット',
  'c.signin.secretHint': 'このページのメモリ内にだけ、取り出せない WebCrypto 鍵として保持されます。保存も送信もされません。サインアウトするかページを離れると破棄されます。',
  'c.signin.submit': 'サインイン',
  'c.signin.busy': 'キーを確認しています…',
  'c.signin.missing': 'キー ID とシークレットを入力してください。',
  'c.signin.badKeyId': 'キー ID は 1〜64 文字の英数字、「_」、「-」です。',
  'c.signin.expired': 'サインアウトされました: {why}',
  'c.signin.signedOut': 'サインアウトしました。キーは破棄されました。',
  'c.session.as': '{keyId} ({role}) としてサインインしています。',
  'c.session.signOut': 'サインアウト',

  'c.tabs.label': 'コンソールの項目',
  'c.tab.wallets': 'ウォレット',
  'c.tab.transactions': 'トランザクション',
  'c.tab.audit': '監査ログ',

  'c.w.title': 'ウォレット',
  'c.w.caption': 'ウォレット ({page} ページ目)',
  'c.w.name': '名前',
  'c.w.kind': '種類',
  'c.w.address': 'アドレス',
  'c.w.addressCount': '入金アドレスを {n} 個発行済み (最初のものを表示。API は他を一覧しません)',
  'c.w.created': '作成日時',
  'c.w.actions': '操作',
  'c.w.showTx': 'トランザクション',
  'c.w.showTxOf': '{name} のトランザクション',
  'c.w.none': 'ウォレットはありません。',
  'c.w.loading': 'ウォレットを読み込んでいます…',
  'c.w.prev': '前のページ',
  'c.w.next': '次のページ',
  'c.w.pageSize': '1 ページの件数',
  'c.w.refresh': '再読み込み',

  'c.t.title': 'トランザクション',
  'c.t.filters': '絞り込み',
  'c.t.wallet': 'ウォレット',
  'c.t.allWallets': 'すべてのウォレット',
  'c.t.status': '状態',
  'c.t.anyStatus': 'すべての状態',
  'c.t.limit': '最大件数',
  'c.t.apply': '表示',
  'c.t.caption': 'トランザクション (新しい順)',
  'c.t.id': 'ID',
  'c.t.to': '宛先',
  'c.t.value': '金額 (wei)',
  'c.t.created': '作成日時',
  'c.t.none': '該当するトランザクションはありません。',
  'c.t.loading': 'トランザクションを読み込んでいます…',
  'c.t.open': '{id} の詳細',
  'c.t.detail': 'トランザクション {id}',
  'c.t.detailNone': 'トランザクションを選ぶと詳細が表示されます。',
  'c.t.f.status': '状態',
  'c.t.f.wallet': 'ウォレット',
  'c.t.f.value': '金額',
  'c.t.f.required': '必要な承認数',
  'c.t.f.createdBy': '作成者',
  'c.t.f.createdAt': '作成日時',
  'c.t.f.updatedAt': '更新日時',
  'c.t.f.from': '送信元',
  'c.t.f.hash': 'トランザクションハッシュ',
  'c.t.f.raw': '署名済み raw トランザクション',
  'c.t.f.error': 'エラー',
  'c.t.f.broadcast': 'ブロードキャスト',
  'c.t.f.nonce': 'ノンス',
  'c.t.f.hashes': '送信したハッシュ',
  'c.t.request': 'リクエスト',
  'c.t.approvals': '判断 (承認 {n} / {required})',
  'c.t.noApprovals': 'まだ判断はありません。',
  'c.t.approvalRow': '{at} に {approver} が{decision}',
  'c.t.decision.approve': '承認',
  'c.t.decision.reject': '却下',
  'c.t.approve': '承認する',
  'c.t.reject': '却下する',
  'c.t.confirmReject': 'トランザクション {id} を却下しますか? 元に戻せません。',
  'c.t.deciding': '判断を送信しています…',
  'c.t.decided': '判断が記録されました。トランザクションは現在 {status} です。',
  'c.t.waiting': '承認済みです。署名を待っています (状態 {status})…',
  'c.t.onlyApprovers': '承認・却下できるのは approver か admin のキーだけです。このキーは {role} です。',
  'c.t.refresh': '再読み込み',
  'c.t.yes': 'はい',
  'c.t.no': 'いいえ',

  'c.a.title': '監査ログ',
  'c.a.filters': '絞り込み',
  'c.a.principal': '主体 (キー ID)',
  'c.a.action': '操作',
  'c.a.actionHint': '記録どおりに入力します。例: POST /v1/transactions/{id}/approve、auth.failure。',
  'c.a.outcome': '結果',
  'c.a.anyOutcome': 'すべての結果',
  'c.a.since': '開始 (現地時刻)',
  'c.a.until': '終了 (この時刻を含まない、現地時刻)',
  'c.a.order': '順序',
  'c.a.asc': '古い順',
  'c.a.desc': '新しい順',
  'c.a.limit': '1 ページの件数',
  'c.a.search': '検索',
  'c.a.caption': '監査レコード ({page} ページ目)',
  'c.a.seq': '番号',
  'c.a.time': '日時',
  'c.a.principalCol': '主体',
  'c.a.actionCol': '操作',
  'c.a.resource': '対象',
  'c.a.outcomeCol': '結果',
  'c.a.sourceIp': '送信元 IP',
  'c.a.details': '詳細',
  'c.a.hash': 'ハッシュ',
  'c.a.none': '該当するレコードはありません。',
  'c.a.loading': 'レコードを読み込んでいます…',
  'c.a.first': '最初のページ',
  'c.a.next': '次のページ',
  'c.a.badTime': '「{field}」は有効な日時ではありません。',
  'c.a.verify': 'これらのレコードを検証',
  'c.a.verifyTitle': 'ブラウザ内での検証',
  'c.a.verifyIntro': '番号 1 から表示中の最後のレコードまで、各レコードのハッシュを直前のレコードから WebCrypto の SHA-256 で再計算し (docs/audit_log.md §1.2、§4.1 の手順 2)、表示中のレコードがそれらのレコードであることを確かめます。',
  'c.a.verifyNothing': '先に検索してください。検証するレコードがありません。',
  'c.a.verifying': 'レコードを取得してハッシュを計算しています… これまでに {n} 件。',
  'c.a.verifyOk': '検証済み: 番号 1 から {last} までの {n} 件のレコードは切れ目のないハッシュチェーンをなし、表示中の {shown} 件はその中に変更なく含まれています。',
  'c.a.verifyOkAnchored': '検証済み: 番号 {first} から {last} までの {n} 件のレコードは、レコード {anchor} の保存されたハッシュから正しく連鎖し、表示中の {shown} 件はその中に変更なく含まれています。({cap} 件を超えるため、番号 {first} より前のチェーンはたどっていません。)',
  'c.a.verifyBad': '検証に失敗しました: 指摘 {n} 件。最初の指摘: {first}',
  'c.a.selfTest': '検証していません: このページのハッシュチェーンのコードが docs/audit_log.md §1.2 の計算例を再現しないため、何も確かめていません。',
  'c.a.tooLarge': '検証していません: 表示中のレコードが {cap} 件を超える範囲にわたっています。検索を絞り込んで (期間、主体) から再度検証してください。',
  'c.a.checked': 'ここで確かめたこと',
  'c.a.notChecked': 'ここでは確かめていないこと',
  'c.a.checked.chain': '各レコードの保存されたハッシュが SHA-256("vp-audit-v1" ‖ 直前のハッシュ ‖ 正規化したレコード) に等しいこと。したがって、範囲内のレコードは、後続のハッシュをすべて書き換えない限り、変更・削除・挿入・並べ替えされていません。',
  'c.a.checked.seq': '番号が {first} から {last} まで欠けなく続いていること。',
  'c.a.checked.shown': 'このページの各レコードが、同じ番号のチェーン上のレコードと (全フィールドとハッシュが) 一致すること。',
  'c.a.not.digests': 'Ed25519 で署名されたダイジェスト: API はそれ (audit_digests を読むルートはありません) も署名の公開鍵も提供しないため、ブラウザからは署名を確かめられません。署名がなければ、データベースに書き込める者がチェーン全体を番号 1 から矛盾なく書き換えても、この検証は通ってしまいます。',
  'c.a.not.head': 'チェーンの先頭 (audit_head) と番号 {last} より後のレコード: API が提供しないため、末尾の切り詰めはここでは分かりません。',
  'c.a.not.server': '署名を含む §4 の完全な検証には、サーバーで `vaultproof audit verify --data-dir …` を実行してください。',
  'c.a.finding.gap': '番号 {seq}: 番号 {expected} のはずです (レコードの欠落か順序の乱れ)',
  'c.a.finding.hash': '番号 {seq}: 保存されたハッシュが、直前に連鎖したレコードのハッシュではありません (改ざん)',
  'c.a.finding.shown': '番号 {seq}: 表示中のレコードが、チェーン上の同じ番号のレコードと異なります',
  'c.a.finding.absent': '番号 {seq}: 表示中のレコードが、たどったチェーンにありません',
  'c.a.finding.malformed': '番号 {seq}: レコードの形式が不正です ({why})',

  'c.err.api': '{code} ({status}): {message}',
  'c.err.request': 'リクエスト {id}',
  'c.err.network': 'NETWORK: ゲートウェイが応答しませんでした ({message})',
  'c.err.other': 'エラー: {message}',

  'c.p.session': 'セッション',
  'c.p.keyId': 'キー ID',
  'c.p.role': 'ロール',
  'c.p.since': 'サインイン日時',
  'c.p.signedOut': 'サインインしていません',
  'c.p.selection': '選択中',
  'c.p.wallet': 'ウォレット',
  'c.p.transaction': 'トランザクション',
  'c.p.audit': '監査ログの検証',
  'c.p.auditNone': '未実行',
  'c.p.none': 'なし',
  'c.p.secret': 'シークレット',
  'c.p.secretValue': 'メモリ内のみ (取り出せない鍵として)',
};

const TABLES: Record<'en' | 'ja', Record<CKey, string>> = { en, ja };

function isCKey(key: string): key is CKey {
  return key in en;
}

// The message in the current language with {name} placeholders filled; a variable that is
// itself a console key (ckeyRef) is translated too.
export function ct(key: CKey, vars: Vars = {}): string {
  const text = TABLES[lang()][key] ?? en[key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
    if (!(name in vars)) return whole;
    const v = String(vars[name]);
    return v.startsWith(REF) && isCKey(v.slice(REF.length)) ? ct(v.slice(REF.length) as CKey) : v;
  });
}

const REF = '\u0002';
export function ckeyRef(key: CKey): string {
  return REF + key;
}

// Sets el's text now and again on a language switch.
export function ctx<T extends HTMLElement>(el: T, key: CKey, vars: Vars = {}): T {
  el.dataset.ci18n = key;
  el.dataset.ci18nVars = JSON.stringify(vars);
  el.textContent = ct(key, vars);
  return el;
}

// The same for an attribute (aria-label, title).
export function ctxAttr<T extends HTMLElement>(el: T, attr: string, key: CKey, vars: Vars = {}): T {
  el.dataset.ci18nAttr = `${attr}:${key}`;
  el.dataset.ci18nAttrVars = JSON.stringify(vars);
  el.setAttribute(attr, ct(key, vars));
  return el;
}

onLangChange(() => {
  document.querySelectorAll<HTMLElement>('[data-ci18n]').forEach((el) => {
    const key = el.dataset.ci18n ?? '';
    if (isCKey(key)) el.textContent = ct(key, parseVars(el.dataset.ci18nVars));
  });
  document.querySelectorAll<HTMLElement>('[data-ci18n-attr]').forEach((el) => {
    const spec = el.dataset.ci18nAttr ?? '';
    const colon = spec.indexOf(':');
    const key = spec.slice(colon + 1);
    if (colon > 0 && isCKey(key)) el.setAttribute(spec.slice(0, colon), ct(key, parseVars(el.dataset.ci18nAttrVars)));
  });
});
