import { newDeviceId, type Role, Room } from '../../src/protocol/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { MemoryBroker } from '../../src/signaling/memory.js';

/** Channels of one room on one in-process broker, started; `rateLimit: false` turns off each one's sender budget. */
export async function memoryRoom(roles: Role[], options: { rateLimit?: false } = {}): Promise<{ broker: MemoryBroker; room: Room; channels: SealedChannel[] }> {
  const broker = new MemoryBroker();
  const room = await Room.create();
  const channels = roles.map(
    (role, i) => new SealedChannel(room, broker.transport(), { self: newDeviceId(), presence: { name: `${role}-${i}`, role }, ...options }),
  );
  await Promise.all(channels.map((c) => c.start()));
  return { broker, room, channels };
}
