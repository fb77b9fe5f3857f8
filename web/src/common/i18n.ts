// English and Japanese for every page: one table per language (strings.ts), a language switch
// remembered in localStorage, and elements that re-translate themselves when it changes.
//
//   tx(h('p'), 'vote.cast', { index: 3 });   // text set now and again on a language switch
//   onLangChange(() => render());           // for content built from state
import { STRINGS, type Lang, type MsgKey } from './strings';

export type { Lang, MsgKey };
export type Vars = Record<string, string | number>;

const STORAGE_KEY = 'vp.lang';
const listeners: Array<() => void> = [];

function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === 'en' || saved === 'ja') return saved;
  } catch {
    // storage refused (private mode): fall back to the browser's language
  }
  return navigator.language.toLowerCase().startsWith('ja') ? 'ja' : 'en';
}

let current: Lang = initialLang();

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang): void {
  if (l === current) return;
  current = l;
  try {
    localStorage.setItem(STORAGE_KEY, l);
  } catch {
    // not remembered; the switch still applies to this page
  }
  document.documentElement.lang = l;
  retranslate(document.body);
  for (const fn of listeners) fn();
}

export function onLangChange(fn: () => void): void {
  listeners.push(fn);
}

// A variable that is itself a message, translated with the sentence around it. The marker is
// a control character, which no bundle or server text can carry into a variable.
const REF = '\u0001';
export function msgRef(key: MsgKey): string {
  return REF + key;
}

// The message in the current language with {name} placeholders filled (msgRef values are
// translated too).
export function t(key: MsgKey, vars: Vars = {}): string {
  const table = STRINGS[current];
  const text = table[key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (!(name in vars)) return `{${name}}`;
    const v = String(vars[name]);
    // msgRef(key): a message of its own (a phrase inside a sentence), translated too.
    return v.startsWith(REF) && isKey(v.slice(REF.length)) ? t(v.slice(REF.length) as MsgKey) : v;
  });
}

export function isKey(key: string): key is MsgKey {
  return key in STRINGS.en;
}

// Sets el's text to the message and remembers key and vars so a language switch redoes it.
export function tx<T extends HTMLElement>(el: T, key: MsgKey, vars: Vars = {}): T {
  el.dataset.i18n = key;
  if (Object.keys(vars).length > 0) el.dataset.i18nVars = JSON.stringify(vars);
  else delete el.dataset.i18nVars;
  el.textContent = t(key, vars);
  return el;
}

// The same for an attribute (aria-label, title, placeholder).
export function txAttr<T extends HTMLElement>(el: T, attr: string, key: MsgKey, vars: Vars = {}): T {
  el.dataset.i18nAttr = `${attr}:${key}`;
  if (Object.keys(vars).length > 0) el.dataset.i18nAttrVars = JSON.stringify(vars);
  el.setAttribute(attr, t(key, vars));
  return el;
}

// The vars a binding stored in a data attribute (tx, txAttr, and the console's ctx).
export function parseVars(text: string | undefined): Vars {
  if (!text) return {};
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? (v as Vars) : {};
  } catch {
    return {};
  }
}

export function retranslate(root: ParentNode): void {
  root.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => {
    const key = el.dataset.i18n ?? '';
    if (isKey(key)) el.textContent = t(key, parseVars(el.dataset.i18nVars));
  });
  root.querySelectorAll<HTMLElement>('[data-i18n-attr]').forEach((el) => {
    const spec = el.dataset.i18nAttr ?? '';
    const colon = spec.indexOf(':');
    const key = spec.slice(colon + 1);
    if (colon > 0 && isKey(key)) el.setAttribute(spec.slice(0, colon), t(key, parseVars(el.dataset.i18nAttrVars)));
  });
}

// Numbers and times in the current language's format.
export function formatNumber(n: number): string {
  return n.toLocaleString(current === 'ja' ? 'ja-JP' : 'en-US');
}
export function formatTime(ms: number): string {
  return new Date(ms).toLocaleString(current === 'ja' ? 'ja-JP' : 'en-US');
}
