import type { PeercamRoom } from '../../api/room.js';
import { RecordingsApi } from './api.js';
import { DataChannelIndex } from './data-index.js';
import { RemoteRecorder } from './remote.js';
import type { RecordingsIndex } from './source.js';

/**
 * How this page reaches the room's recorder: the recordings API of the hub that served it, when that hub records this
 * room; otherwise (a static host away from home, a hub that does not record) the recorder's data channel through the
 * room, once a recorder is present. Undefined when the hub that served the page keeps another room's recordings.
 */
export async function findRecordings(token: string, room: PeercamRoom): Promise<RecordingsIndex | undefined> {
  const api = new RecordingsApi(token);
  const overview = await api.overview().catch(() => 'not-recording' as const);
  if (overview === 'unauthorized') return undefined;
  if (overview !== 'not-recording') return new RecordingsApi(token, undefined, overview);
  return new DataChannelIndex(new RemoteRecorder(room));
}
