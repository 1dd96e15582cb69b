import { cameraFolder, type DeviceId } from '../../protocol/index.js';
import { isRecorder } from '../../protocol/recordings-wire.js';
import type { Channel, PeerInfo } from '../../signaling/channel.js';
import { notice } from '../lib/dom.js';
import type { RecordingNow } from './tile.js';

/** What a recorder's presence says when it does not write: undefined while it records. */
function stoppedRecording(p: PeerInfo): string | undefined {
  const r = p.recording;
  if (!r || r.state === 'ok') return undefined;
  return r.error ?? `${p.name} does not write recordings now (${r.state}).`;
}

/**
 * Says at once, on the live page, when a recorder of the room stops writing (disk full, read-only, failing): its
 * presence tells it the moment it happens, and again when it writes again. One notice per recorder, gone when it
 * records again or leaves; `alert` reaches a person who is not looking (a system notification, if they allowed them).
 * A recorder seen leaving the room (its machine off, the process stopped) is said too, until it is back.
 * `onRecording` hears which cameras (recordings names) the room's recorders receive now, each time that changes.
 */
export function watchRecorders(
  channel: Channel,
  alert: (title: string, body: string) => void,
  onRecording: (now: ReadonlyMap<string, RecordingNow>) => void = () => {},
): void {
  const shown = new Map<DeviceId, { why: string; remove: () => void }>();
  /** The recorders present (by id, their names): one that leaves is said to be offline. */
  const recorders = new Map<DeviceId, string>();
  const clear = (id: DeviceId) => {
    shown.get(id)?.remove();
    shown.delete(id);
  };
  const update = (p: PeerInfo) => {
    if (isRecorder(p)) recorders.set(p.id, p.name);
    const why = stoppedRecording(p);
    const before = shown.get(p.id);
    if (before?.why === why) return;
    clear(p.id);
    if (!why) return;
    const open = [{ label: 'Recordings', run: () => location.assign(`recordings.html${location.hash}`) }];
    shown.set(p.id, { why, remove: notice('error', 'Recording is stopped', why, open) });
    if (!before) alert('Recording is stopped', why);
  };
  let told = '';
  const tell = () => {
    const now = new Map<string, RecordingNow>();
    for (const p of channel.peers.values()) {
      const state = p.recording && (p.recording.state === 'ok' ? 'rec' : 'stopped');
      if (state) for (const name of p.recording?.cameras ?? []) if (now.get(cameraFolder(name)) !== 'rec') now.set(cameraFolder(name), state);
    }
    const key = JSON.stringify([...now].sort());
    if (key === told) return;
    told = key;
    onRecording(now);
  };
  for (const p of channel.peers.values()) update(p);
  tell();
  channel.on('peer', (p) => {
    update(p);
    tell();
  });
  channel.on('gone', (id) => {
    clear(id);
    const name = recorders.get(id);
    recorders.delete(id);
    if (name !== undefined) {
      const why = `${name} left the room: nothing is recorded until it is back (is its machine on, is it still running?).`;
      shown.set(id, { why, remove: notice('warn', 'Recorder offline', why) });
    }
    tell();
  });
}
