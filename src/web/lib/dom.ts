type Attrs = Record<string, string | boolean | number | undefined | ((e: Event) => void)>;
type Child = Node | string | null | undefined | false;

/** Builds an element: `h('button', { class: 'x', onclick: f }, 'Label')`. Attributes starting with `on` are listeners. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** The element with this id, which the page's HTML must have. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

/**
 * Scrolls the page back up to `el` when the page is scrolled past it (its top hidden above, under the sticky header):
 * `el` then starts just below the header. Nothing moves when `el` is in sight or further down.
 */
export function scrollBackTo(el: Element): void {
  const top = document.querySelector('header')?.getBoundingClientRect().bottom ?? 0;
  const r = el.getBoundingClientRect();
  if (r.top >= top) return;
  window.scrollBy({ top: r.top - top - 8, behavior: 'smooth' });
}

export type NoticeKind = 'error' | 'warn' | 'info';

/**
 * The page's one notice area: what went wrong and what to do, never a blank screen. `actions` become buttons.
 * Returns a function that removes this notice.
 */
export function notice(kind: NoticeKind, title: string, detail: string, actions: { label: string; run: () => void }[] = []): () => void {
  const area = byId('notices');
  const box = h(
    'div',
    { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-kind': kind },
    h('strong', {}, title),
    h('p', {}, detail),
    ...actions.map((a) => h('button', { type: 'button', onclick: a.run }, a.label)),
  );
  area.append(box);
  return () => box.remove();
}

export function clearNotices(): void {
  byId('notices').replaceChildren();
}
