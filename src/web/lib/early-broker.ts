/**
 * The broker's WebSocket, opened by the viewer page's first lines (issue 15). The build puts this file, as a classic
 * inline script, at the top of the page's <head> (vite.config.ts `earlyBroker`), so the WebSocket handshake starts
 * while the page's script is still being fetched and compiled, instead of after it; the hub allows that one script by
 * its hash (src/hub/web-server.ts). It must stay free of imports: it runs before the page's modules are there. The
 * page's script takes the socket (`takeEarlyBroker`) and sends its CONNECT on it; where the inline script did not run
 * (a static host whose Content-Security-Policy forbids it), the page's script opens the socket itself.
 */

/** Where the page keeps the room's link, so later visits need no link (src/web/lib/room-link.ts). */
export const ROOM_STORE_KEY = 'peercam.room';

/** How long a socket opened ahead waits for the page's script before it is closed. */
const UNTAKEN_MS = 10_000;

interface EarlyBroker {
  readonly url: string;
  readonly socket: WebSocket;
  readonly timer: ReturnType<typeof setTimeout>;
}

const HOLDER = '__peercamEarlyBroker';
type Holder = { [HOLDER]?: EarlyBroker | undefined };

/** The fragment of the link the page will join (the address's, else the stored one), without deriving anything. */
export function linkFragment(): string | undefined {
  const hash = location.hash.slice(1);
  if (new URLSearchParams(hash).has('k') || hash.includes('k=')) return hash;
  return localStorage.getItem(ROOM_STORE_KEY)?.replace(/^#/, '') || undefined;
}

/**
 * The broker the page is about to join: the link's `b=` when it is a WebSocket one, else the hub that served the page
 * (`/mqtt`). Undefined when there is no room yet, or the link's broker is one a page cannot open (joining says why).
 */
export function pageBrokerUrl(): string | undefined {
  const fragment = linkFragment();
  if (fragment === undefined) return undefined;
  const b = new URLSearchParams(fragment).get('b');
  if (b) return /^wss?:\/\//.test(b) ? b : undefined;
  return hubBroker();
}

/** The MQTT-over-WebSocket endpoint of the hub that served the page. */
export function hubBroker(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`;
}

/** Opens the WebSocket to the page's broker ahead of the page's script; closed if nobody takes it within 10 s. */
export function openBrokerEarly(): void {
  try {
    const holder = globalThis as Holder;
    const url = pageBrokerUrl();
    if (holder[HOLDER] || !url) return;
    const socket = new WebSocket(url, 'mqtt');
    holder[HOLDER] = { url, socket, timer: setTimeout(() => socket.close(), UNTAKEN_MS) };
  } catch {
    // joining reports whatever is wrong (a ws:// broker from an https:// page, a damaged link)
  }
}

/**
 * The socket openBrokerEarly() opened to `url`, for the first caller, who owns it from then on (`preconnect` in
 * signaling/mqtt-ws.ts, which also drops it if it closed meanwhile).
 */
export function takeEarlyBroker(url: string): WebSocket | undefined {
  const holder = globalThis as Holder;
  const early = holder[HOLDER];
  if (!early || early.url !== url) return undefined;
  holder[HOLDER] = undefined;
  clearTimeout(early.timer);
  return early.socket;
}
