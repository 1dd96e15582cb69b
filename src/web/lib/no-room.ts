import { PeercamError } from '../../protocol/index.js';
import { showStatus } from './connection.js';
import { byId, h, notice } from './dom.js';
import { adoptLink } from './room-link.js';

/** What a page without a room shows: how to get one, and a field to paste a link. */
export function showNoRoom(kind: 'none' | 'bad-link'): void {
  const input = h('input', { type: 'text', placeholder: 'https://…/#k=…', 'aria-label': 'pairing link', class: 'link' });
  const join = async () => {
    try {
      await adoptLink(input.value);
      location.reload();
    } catch (err) {
      notice('error', 'That link does not work', err instanceof PeercamError ? err.message : String(err));
    }
  };
  for (const id of ['share', 'pair']) document.getElementById(id)?.setAttribute('hidden', '');
  showStatus('offline', kind === 'none' ? 'No room yet' : 'Link not usable');
  byId('main').replaceChildren(
    h(
      'section',
      { class: 'no-room', 'data-kind': kind },
      h('h2', {}, kind === 'none' ? 'This browser is not in a room yet' : 'Join a room'),
      h(
        'ol',
        {},
        h('li', {}, 'On a computer, run ', h('code', {}, 'npx peercam up'), ' (or ', h('code', {}, 'npm start'), ' in the peercam folder).'),
        h('li', {}, 'Scan the QR code it prints with this phone, or open the link it prints on that computer.'),
        h('li', {}, 'Or paste a pairing link from a device already in the room (“Add a device” shows it):'),
      ),
      h('form', { class: 'paste', onsubmit: (e: Event) => {
          e.preventDefault();
          void join();
        }, }, input, h('button', { type: 'submit' }, 'Join')),
      h('p', { class: 'hint' }, 'The link’s key stays in this browser: it is never sent to the server.'),
    ),
  );
}

/** Never a blank page: anything unexpected ends up as a notice. */
export function catchEverything(): void {
  window.addEventListener('error', (e) => notice('error', 'Something went wrong', `${e.message}. Reload the page; if it keeps happening, please report it.`));
  window.addEventListener('unhandledrejection', (e) => {
    const r: unknown = e.reason;
    notice('error', 'Something went wrong', `${r instanceof Error ? r.message : String(r)}. Reload the page; if it keeps happening, please report it.`);
  });
}
