import type { DeviceId } from './ids.js';
import type { RoomId } from './room.js';

/**
 * Logical addresses, used as MQTT topics and as the AAD of every sealed message on every channel, so a message
 * sealed for one slot cannot be replayed into another. A broker ACL can confine a device to exactly:
 * publish its own presence and others' inboxes; subscribe presence/+ and its own inbox.
 */
export const topics = {
  root: (room: RoomId) => `peercam/v1/${room}`,
  presence: (room: RoomId, device: DeviceId) => `peercam/v1/${room}/presence/${device}`,
  presenceAll: (room: RoomId) => `peercam/v1/${room}/presence/+`,
  inbox: (room: RoomId, device: DeviceId) => `peercam/v1/${room}/to/${device}`,
  /** Parses `peercam/v1/<room>/presence/<device>`; undefined for any other topic. */
  presenceDevice(room: RoomId, topic: string): DeviceId | undefined {
    const prefix = `peercam/v1/${room}/presence/`;
    return topic.startsWith(prefix) ? topic.slice(prefix.length) : undefined;
  },
};
