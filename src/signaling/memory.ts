import { type DeviceId, PeercamError, type RoomId } from '../protocol/index.js';
import type { Transport, TransportHandlers } from './transport.js';

interface Member {
  readonly room: RoomId;
  readonly handlers: TransportHandlers;
}

/**
 * An in-process stand-in for a broker, for unit tests of the layers above signaling: retained presence, inboxes,
 * and `kill()` to simulate a device vanishing (its "LWT" clears its presence).
 */
export class MemoryBroker {
  private readonly members = new Map<DeviceId, Member>();
  private readonly retained = new Map<string, string>();
  /** Every payload that crossed the broker, as an eavesdropper sees it. */
  readonly wire: { address: string; payload: string }[] = [];
  /** Return true to lose a message in transit (tests of recovery). */
  lose: ((address: string, payload: string) => boolean) | undefined;

  transport(): Transport {
    let self: { room: RoomId; id: DeviceId } | undefined;
    const broker = this;
    return {
      kind: 'memory',
      async open(room, id, handlers) {
        self = { room, id };
        broker.members.set(id, { room, handlers });
        handlers.state('online');
        for (const [key, payload] of broker.retained) {
          const [r, device] = key.split('/');
          if (r === room && device !== undefined) handlers.presence(device, payload);
        }
      },
      async setPresence(payload) {
        if (!self) throw new PeercamError('closed', 'memory transport is not open');
        broker.publishPresence(self.room, self.id, payload);
      },
      async send(to, payload) {
        if (!self) throw new PeercamError('closed', 'memory transport is not open');
        const address = `${self.room}/to/${to}`;
        broker.wire.push({ address, payload });
        if (broker.lose?.(address, payload)) return;
        const member = broker.members.get(to);
        if (member?.room === self.room) queueMicrotask(() => member.handlers.inbox(payload));
      },
      async close() {
        if (!self) return;
        broker.publishPresence(self.room, self.id, null);
        broker.members.delete(self.id);
        self = undefined;
      },
    };
  }

  /** The device disappears without a goodbye; its presence is cleared as a broker's LWT would. */
  kill(id: DeviceId): void {
    const member = this.members.get(id);
    if (!member) return;
    this.members.delete(id);
    this.publishPresence(member.room, id, null);
  }

  /** Injects a raw payload into a device's inbox, as an attacker on the broker could. */
  inject(to: DeviceId, payload: string): void {
    this.members.get(to)?.handlers.inbox(payload);
  }

  private publishPresence(room: RoomId, id: DeviceId, payload: string | null): void {
    const key = `${room}/${id}`;
    if (payload === null) this.retained.delete(key);
    else this.retained.set(key, payload);
    this.wire.push({ address: `${room}/presence/${id}`, payload: payload ?? '' });
    for (const m of this.members.values()) if (m.room === room) queueMicrotask(() => m.handlers.presence(id, payload));
  }
}
