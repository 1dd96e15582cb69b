import type { DeviceId } from '../../protocol/index.js';
import type { Channel, PeerInfo } from '../../signaling/channel.js';
import { notice } from '../lib/dom.js';

/** What a recorder's presence says when it does not write: undefined while it records. */
export function stoppedRecording(p: PeerInfo): string | undefined {
  const r = p.recording;
  if (!r || r.state === 'ok') return undefined;
  return r.error ?? `${p.name} does not write recordings now (${r.state}).`;
}

/**
 * Says at once, on the live page, when a recorder of the room stops writing (disk full, read-only, failing): its
 * presence tells it the moment it happens, and again when it writes again. One notice per recorder, gone when it
 * records again or leaves; `alert` reaches a person who is not looking (a system notification, if they allowed them).
 */
export function watchRecorders(channel: Channel, alert: (title: string, body: string) => void): void {
  const shown = new Map<DeviceId, { why: string; remove: () => void }>();
  const clear = (id: DeviceId) => {
    shown.get(id)?.remove();
    shown.delete(id);
  };
  const update = (p: PeerInfo) => {
    const why = stoppedRecording(p);
    const before = shown.get(p.id);
    if (before?.why === why) return;
    clear(p.id);
    if (!why) return;
    const open = [{ label: 'Recordings', run: () => location.assign(`recordings.html${location.hash}`) }];
    shown.set(p.id, { why, remove: notice('error', 'Recording is stopped', why, open) });
    if (!before) alert('Recording is stopped', why);
  };
  for (const p of channel.peers.values()) update(p);
  channel.on('peer', update);
  channel.on('gone', clear);
}
