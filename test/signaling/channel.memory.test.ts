import { newDeviceId } from '../../src/protocol/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { MemoryBroker } from '../../src/signaling/memory.js';
import { channelContract } from './contract.js';

const broker = new MemoryBroker();

channelContract('memory', {
  async setup() {},
  async teardown() {},
  async join(room, name) {
    const channel = new SealedChannel(room, broker.transport(), { self: newDeviceId(), presence: { name, role: 'camera' } });
    await channel.start();
    return channel;
  },
  async killable(room, name) {
    const channel = await this.join(room, name);
    return {
      id: channel.self,
      kill: async () => broker.kill(channel.self),
      dispose: () => channel.close(),
    };
  },
});
