import { type DeviceId, randomBytes, toBase32 } from '../protocol/index.js';

/**
 * The client id of a device's connection: `pc` + device id (16) + 5 random characters = 23, the longest a 3.1.1
 * broker must accept (MQTT 3.1.1 section 3.1.3.1). Unique per connection, so a restarted device does not take over
 * (and fire the LWT of) the session it replaces; a hub's broker reads the device id back to bind presence to it.
 */
export function mqttClientId(self: DeviceId): string {
  return `pc${self}${toBase32(randomBytes(4)).slice(0, 5)}`;
}

/** The device id in a client id made by `mqttClientId`, or undefined for any other client id. */
export function deviceOfClientId(clientId: string): DeviceId | undefined {
  return /^pc([a-z2-7]{16})[a-z2-7]{5}$/.exec(clientId)?.[1];
}
