import type { Body, DeviceId, Envelope, MessageType, PresenceBody, SessionId } from '../protocol/index.js';
import type { Channel, ChannelEvents } from '../signaling/channel.js';

/** The offer `source` that asks for a data channel instead of media: `@data:<label>`. */
export const DATA_SOURCE_PREFIX = '@data:';

/** Whether an envelope is an offer for a data channel. */
export function isDataOffer(e: Envelope): boolean {
  return e.type === 'offer' && (e.body.source ?? '').startsWith(DATA_SOURCE_PREFIX);
}

/**
 * One room channel seen by two answering endpoints (media and data): each view passes on only the offers its
 * endpoint answers, so one offer is never answered twice. Everything else passes through; endpoints ignore envelopes
 * of sessions they do not hold. Closing a view does nothing: the room owns the channel.
 */
export class ChannelView implements Channel {
  constructor(
    private readonly base: Channel,
    private readonly accepts: (offer: Envelope) => boolean,
  ) {}

  get self(): DeviceId {
    return this.base.self;
  }
  get room(): Channel['room'] {
    return this.base.room;
  }
  get kind(): Channel['kind'] {
    return this.base.kind;
  }
  get peers(): Channel['peers'] {
    return this.base.peers;
  }
  get state(): Channel['state'] {
    return this.base.state;
  }
  get presence(): Channel['presence'] {
    return this.base.presence;
  }
  start(): Promise<void> {
    return Promise.resolve();
  }
  send<T extends Exclude<MessageType, 'presence'>>(to: DeviceId, type: T, sid: SessionId, body: Body<T>): Promise<void> {
    return this.base.send(to, type, sid, body);
  }
  setPresence(presence: PresenceBody): Promise<void> {
    return this.base.setPresence(presence);
  }
  on<K extends keyof ChannelEvents>(event: K, listener: ChannelEvents[K]): () => void {
    if (event !== 'message') return this.base.on(event, listener);
    const pass = listener as ChannelEvents['message'];
    return this.base.on('message', (e) => {
      if (e.type !== 'offer' || this.accepts(e)) pass(e);
    });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
