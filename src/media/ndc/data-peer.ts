import type ndc from 'node-datachannel';
import { PeercamError } from '../../protocol/index.js';
import type { Peer, PeerConfig } from '../../session/peer.js';
import type { NdcOptions } from './config.js';
import { NdcConnection } from './connection.js';

export interface DataPeerOptions extends NdcOptions {
  /** Label of the channel the offerer creates. */
  readonly label?: string;
  /** A text message arrived on the channel. */
  readonly onMessage?: (text: string) => void;
  /** The channel is open (both sides). */
  readonly onOpen?: () => void;
  /**
   * The raw channel, as soon as this peer has it (offerer: at createOffer; answerer: when it arrives). A taker sets its
   * own callbacks on it at once (binary messages, backpressure); onOpen and onMessage above are then not used.
   */
  readonly onChannel?: (channel: ndc.DataChannel) => void;
  /** A binary message arrived on the channel. */
  readonly onBinary?: (data: Uint8Array) => void;
  /** What is queued to send fell to `lowWaterBytes` (or under): time to send more. */
  readonly onBufferedLow?: () => void;
  /** Threshold of onBufferedLow. Default 256 KiB. */
  readonly lowWaterBytes?: number;
}

export interface DataPeer extends Peer {
  /** Whether the channel is open. */
  readonly open: boolean;
  /** Sends a text message; false when the channel is not open. */
  send(text: string): boolean;
  /** Sends a binary message; false when the channel is not open. */
  sendBinary(data: Uint8Array): boolean;
  /** Bytes queued to send (backpressure: wait for onBufferedLow when it grows). */
  readonly bufferedAmount: number;
  /**
   * The largest message the other side takes (its a=max-message-size, RFC 8841 6; 64 KiB when it gave none); 64 KiB
   * before the channel is open.
   */
  readonly maxMessageSize: number;
}

/**
 * A data-channel-only peer (offerer or answerer) for session tests and diagnostics: same engine, no media. The offerer
 * creates one channel in createOffer; the answerer takes the channel the offer announces.
 */
export function createDataPeer(config: PeerConfig, options: DataPeerOptions = {}): DataPeer {
  return new NdcDataPeer(config, options);
}

class NdcDataPeer extends NdcConnection implements DataPeer {
  /** See camera-peer.ts: libdatachannel cannot restart ICE in place. */
  readonly canRestartIce = false;
  private channel: ndc.DataChannel | undefined;
  private described = false;

  constructor(
    config: PeerConfig,
    private readonly options: DataPeerOptions,
  ) {
    super('data', config, options);
    this.pc.onDataChannel((dc) => this.safely('data channel', () => this.adopt(dc)));
    // The connection closes the channel itself (it is retained).
    this.beforeClose(() => (this.channel = undefined));
  }

  get open(): boolean {
    return !this.closed && this.channel?.isOpen() === true;
  }

  async createOffer(options: { iceRestart: boolean }): Promise<string> {
    this.assertOpen('create an offer');
    if (options.iceRestart || this.described) {
      throw new PeercamError('internal', 'node-datachannel cannot restart ICE or re-offer in place: create a new peer.');
    }
    this.described = true;
    // With auto-negotiation on, creating the first channel sets the local offer synchronously.
    return this.setOffer(() => this.adopt(this.pc.createDataChannel(this.options.label ?? 'peercam')), 'creating the offer');
  }

  async answer(offer: string): Promise<string> {
    this.assertOpen('answer an offer');
    if (this.described) throw new PeercamError('internal', 'This peer has a description already: create a new peer.');
    this.described = true;
    this.applyOffer(offer, 'the other device');
    return this.localSdp('applying the offer');
  }

  async acceptAnswer(answer: string): Promise<void> {
    this.assertOpen('accept an answer');
    this.applyAnswer(answer, 'the other device');
  }

  send(text: string): boolean {
    if (!this.open || !this.channel) return false;
    try {
      return this.channel.sendMessage(text);
    } catch (err) {
      this.log.debug({ err }, 'a data channel message could not be sent');
      return false;
    }
  }

  sendBinary(data: Uint8Array): boolean {
    if (!this.open || !this.channel) return false;
    try {
      return this.channel.sendMessageBinary(data);
    } catch (err) {
      this.log.debug({ err }, 'a binary data channel message could not be sent');
      return false;
    }
  }

  get bufferedAmount(): number {
    try {
      return this.open && this.channel ? this.channel.bufferedAmount() : 0;
    } catch {
      return 0;
    }
  }

  get maxMessageSize(): number {
    try {
      return this.open && this.channel ? this.channel.maxMessageSize() : 64 * 1024;
    } catch {
      return 64 * 1024;
    }
  }

  private adopt(dc: ndc.DataChannel): void {
    this.retain(dc);
    if (this.closed) return;
    this.channel = dc;
    dc.onError((err) => this.safely('channel error', () => this.log.warn({ err }, 'data channel error')));
    // A taker's handlers go on first: messages already queued natively are delivered to whichever handler is set
    // first, and a placeholder replaced afterwards would lose them.
    if (this.options.onChannel) {
      this.options.onChannel(dc);
      return;
    }
    dc.onOpen(() => this.safely('channel open', () => !this.closed && this.options.onOpen?.()));
    dc.onMessage((msg) =>
      this.safely('channel message', () => {
        if (this.closed) return;
        if (typeof msg === 'string') this.options.onMessage?.(msg);
        else if (this.options.onBinary) this.options.onBinary(msg instanceof ArrayBuffer ? new Uint8Array(msg) : msg);
      }),
    );
    if (this.options.onBufferedLow) {
      dc.setBufferedAmountLowThreshold(this.options.lowWaterBytes ?? 256 * 1024);
      dc.onBufferedAmountLow(() => this.safely('buffered amount low', () => !this.closed && this.options.onBufferedLow?.()));
    }
    dc.onError((err) => this.safely('channel error', () => this.log.warn({ err }, 'data channel error')));
  }
}
