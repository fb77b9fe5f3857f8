// / — the four steps of a verifiable election (vote, aggregate, result, verify) and what each
// one proves, with the way in.
import { h } from '../common/dom';
import { tx } from '../common/i18n';
import { mountLayout } from '../common/layout';
import type { MsgKey } from '../common/strings';
import { renderPanel } from '../ballot/panel';

const { main, panel } = mountLayout('index', 'home.title');
renderPanel(panel);

main.appendChild(tx(h('p', { class: 'lead' }), 'home.lead'));

const steps: Array<[string, MsgKey, MsgKey, MsgKey]> = [
  ['/vote', 'home.vote.title', 'home.vote.body', 'home.vote.proves'],
  ['/aggregate', 'home.aggregate.title', 'home.aggregate.body', 'home.aggregate.proves'],
  ['/result', 'home.result.title', 'home.result.body', 'home.result.proves'],
  ['/verify', 'home.verify.title', 'home.verify.body', 'home.verify.proves'],
];
const ol = h('ol', { class: 'steps' });
for (const [href, title, body, proves] of steps) {
  ol.appendChild(h('li', { class: 'card' },
    h('h2', {}, tx(h('a', { href }), title)),
    tx(h('p'), body),
    h('p', { class: 'proves' }, tx(h('strong'), 'home.proves'), ' ', tx(h('span'), proves))));
}
main.appendChild(ol);
main.appendChild(h('p', {}, tx(h('a', { href: '/vote', class: 'button primary' }), 'home.start')));
main.appendChild(tx(h('p', { class: 'note' }), 'home.trust'));
