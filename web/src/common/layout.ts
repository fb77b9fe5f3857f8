// The frame every page shares: a skip link, the header with the navigation and the language
// switch, the page's main column and a side panel ("what you know"), and the footer. The
// operators' console (/console) uses the same frame.
//
//   const { main, panel } = mountLayout('vote', 'vote.title');
//   panel.set([{ title: 'panel.session', rows: [['panel.sessionId', id]] }]);
import './style.css';
import { h, clear } from './dom';
import { lang, setLang, tx, txAttr, onLangChange, type MsgKey, type Lang } from './i18n';

export type PageId = 'index' | 'vote' | 'aggregate' | 'result' | 'verify' | 'console';

interface NavItem {
  id: PageId;
  href: string;
  label: MsgKey;
}

export const NAV: NavItem[] = [
  { id: 'index', href: '/', label: 'nav.home' },
  { id: 'vote', href: '/vote', label: 'nav.vote' },
  { id: 'aggregate', href: '/aggregate', label: 'nav.aggregate' },
  { id: 'result', href: '/result', label: 'nav.result' },
  { id: 'verify', href: '/verify', label: 'nav.verify' },
  { id: 'console', href: '/console', label: 'nav.console' },
];

// A row: a label and a value (null: "not yet"); mono values are hashes and ids, shown whole.
export type PanelRow = [MsgKey, string | null] | [MsgKey, string | null, 'mono' | 'list'];
export interface PanelGroup {
  title: MsgKey;
  rows: PanelRow[];
}

export class Panel {
  constructor(private readonly body: HTMLElement) {}

  set(groups: PanelGroup[]): void {
    clear(this.body);
    for (const g of groups) {
      const dl = h('dl');
      for (const [label, value, kind] of g.rows) {
        const dd = h('dd');
        if (value === null) {
          dd.classList.add('unknown');
          tx(dd, 'panel.notYet');
        } else if (kind === 'list') {
          const ol = h('ol', { class: 'mono', start: 0 });
          for (const item of value.split('\n').filter((s) => s !== '')) ol.appendChild(h('li', {}, item));
          dd.appendChild(ol);
        } else {
          if (kind === 'mono') dd.classList.add('mono');
          dd.textContent = value;
        }
        dl.append(tx(h('dt'), label), dd);
      }
      this.body.append(h('section', {}, tx(h('h3'), g.title), dl));
    }
  }
}

export interface Layout {
  main: HTMLElement;
  panel: Panel;
}

export function mountLayout(page: PageId, title: MsgKey): Layout {
  document.documentElement.lang = lang();
  const app = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
  clear(app);

  const skip = tx(h('a', { class: 'skip', href: '#main' }), 'layout.skip');
  const nav = h('nav', {});
  txAttr(nav, 'aria-label', 'layout.navLabel');
  const ul = h('ul');
  for (const item of NAV) {
    const a = tx(h('a', { href: item.href }), item.label);
    if (item.id === page) a.setAttribute('aria-current', 'page');
    if (item.id === 'console') a.classList.add('operators');
    ul.appendChild(h('li', {}, a));
  }
  nav.appendChild(ul);

  const select = h('select', { id: 'lang-select' });
  for (const [value, label] of [['en', 'English'], ['ja', '日本語']] as const) {
    const o = h('option', { value, lang: value }, label);
    if (value === lang()) o.selected = true;
    select.appendChild(o);
  }
  select.addEventListener('change', () => setLang(select.value as Lang));
  const langBox = h('div', { class: 'lang' }, tx(h('label', { for: 'lang-select' }), 'layout.language'), select);

  const brand = h('a', { class: 'brand', href: '/' }, 'vaultproof');
  const header = h('header', { class: 'site' }, h('div', { class: 'bar' }, brand, langBox), nav);

  const main = h('main', { id: 'main', tabindex: -1 });
  main.appendChild(tx(h('h1'), title));
  const panelBody = h('div', { class: 'panel-body' });
  const aside = h('aside', { class: 'panel' }, tx(h('h2'), 'panel.title'), panelBody);
  txAttr(aside, 'aria-label', 'panel.title');
  const footer = h('footer', { class: 'site' }, tx(h('p'), 'layout.footer'));

  app.append(skip, header, h('div', { class: 'page' }, main, aside), footer);
  document.title = `${document.querySelector('h1')?.textContent ?? ''} — vaultproof`;
  onLangChange(() => {
    document.title = `${document.querySelector('h1')?.textContent ?? ''} — vaultproof`;
  });
  return { main, panel: new Panel(panelBody) };
}

// A titled section of the main column.
export function section(title: MsgKey, ...children: Array<Node | null>): HTMLElement {
  const s = h('section', { class: 'card' }, tx(h('h2'), title));
  for (const c of children) if (c) s.appendChild(c);
  return s;
}

// A status line announced to screen readers (role=status, polite).
export function statusLine(): HTMLElement {
  return h('p', { role: 'status', 'aria-live': 'polite', class: 'status' });
}
