import { W3cPeer, type PeerConfig, type RTCPeerConnectionCtor } from '../session/index.js';
import type { ChannelMessage, RawChannel, RawChannelHandlers } from './peer-channel.js';

/** An RTCDataChannel as a RawChannel (binary arrives as Uint8Array). */
export class W3cRawChannel implements RawChannel {
  constructor(private readonly dc: RTCDataChannel) {
    dc.binaryType = 'arraybuffer';
  }
  get isOpen(): boolean {
    return this.dc.readyState === 'open';
  }
  get bufferedAmount(): number {
    return this.dc.bufferedAmount;
  }
  send(data: ChannelMessage): void {
    if (typeof data === 'string') this.dc.send(data);
    else this.dc.send(data as Uint8Array<ArrayBuffer>);
  }
  setLowThreshold(bytes: number): void {
    this.dc.bufferedAmountLowThreshold = bytes;
  }
  bind(h: RawChannelHandlers): void {
    this.dc.addEventListener('open', () => h.open());
    this.dc.addEventListener('message', (e: MessageEvent<string | ArrayBuffer>) => h.message(typeof e.data === 'string' ? e.data : new Uint8Array(e.data)));
    this.dc.addEventListener('bufferedamountlow', () => h.low());
    this.dc.addEventListener('close', () => h.closed());
  }
  close(): void {
    this.dc.close();
  }
}

/**
 * A data-only W3C peer: a W3cPeer that adds no media (the camera role with an empty stream, so it neither offers nor
 * answers tracks), with one data channel that the offerer creates before its offer.
 */
export function w3cDataPeer(
  ctor: RTCPeerConnectionCtor,
  config: PeerConfig,
  label: string | undefined,
  onChannel: (raw: RawChannel) => void,
): W3cPeer {
  const peer = new W3cPeer({ RTCPeerConnection: ctor, config, media: { role: 'camera', stream: () => new MediaStream() } });
  if (label !== undefined) onChannel(new W3cRawChannel(peer.pc.createDataChannel(label)));
  else peer.pc.addEventListener('datachannel', (e) => onChannel(new W3cRawChannel(e.channel)), { once: true });
  return peer;
}
