import { cameraFolder, PeercamError, Room } from '../../protocol/index.js';
import { ROOM_STORE_KEY as STORE_KEY } from './early-broker.js';

/**
 * The Recordings page at `at` (ms since the epoch) for the camera that shows `cameraName`, carrying the page's own
 * fragment (where it still has the room key) like every link between the app's pages.
 */
export function recordingsHref(cameraName: string, at: number): string {
  return `recordings.html?camera=${encodeURIComponent(cameraFolder(cameraName))}&t=${at}${location.hash}`;
}

export type RoomResult =
  | { readonly ok: true; readonly room: Room; readonly link: string }
  | { readonly ok: false; readonly why: 'none' }
  | { readonly ok: false; readonly why: 'bad-link'; readonly message: string; readonly stored: boolean };

/**
 * The room this page joins: from the link's fragment (`#k=...`, which never reaches a server), kept in localStorage so
 * later visits need no link; else the one stored before. A damaged link is reported, never silently replaced.
 */
export async function loadPageRoom(): Promise<RoomResult> {
  const hash = location.hash.slice(1);
  const params = new URLSearchParams(hash);
  if (params.has('k') || hash.includes('k=')) {
    try {
      const room = await Room.fromLink(`#${hash}`);
      const link = `#${hash}`;
      localStorage.setItem(STORE_KEY, link);
      // The key stays out of the address bar (screen shares, shoulder surfing); the pairing panel shows it on demand.
      history.replaceState(null, '', location.pathname + location.search);
      return { ok: true, room, link };
    } catch (err) {
      const message = err instanceof PeercamError ? err.message : `The pairing link could not be read: ${String(err)}`;
      return { ok: false, why: 'bad-link', message, stored: localStorage.getItem(STORE_KEY) !== null };
    }
  }
  return storedRoom();
}

export async function storedRoom(): Promise<RoomResult> {
  const stored = localStorage.getItem(STORE_KEY);
  if (!stored) return { ok: false, why: 'none' };
  try {
    return { ok: true, room: await Room.fromLink(stored), link: stored };
  } catch (err) {
    localStorage.removeItem(STORE_KEY);
    return { ok: false, why: 'bad-link', message: err instanceof PeercamError ? err.message : String(err), stored: false };
  }
}

/** Replaces the stored room with a pasted link (from the "no room" panel). */
export async function adoptLink(text: string): Promise<Room> {
  const room = await Room.fromLink(text);
  const i = text.indexOf('#');
  localStorage.setItem(STORE_KEY, `#${i >= 0 ? text.slice(i + 1).trim() : text.trim()}`);
  return room;
}

export function forgetRoom(): void {
  localStorage.removeItem(STORE_KEY);
}
