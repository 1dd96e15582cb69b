import type ndc from 'node-datachannel';
import type { ChannelMessage, RawChannel, RawChannelHandlers } from './peer-channel.js';

/** A node-datachannel DataChannel as a RawChannel (binary arrives as Uint8Array). */
export class NdcRawChannel implements RawChannel {
  private closedByUs = false;
  constructor(private readonly dc: ndc.DataChannel) {}
  get isOpen(): boolean {
    try {
      return this.dc.isOpen();
    } catch {
      return false;
    }
  }
  get bufferedAmount(): number {
    try {
      return this.dc.bufferedAmount();
    } catch {
      return 0;
    }
  }
  send(data: ChannelMessage): void {
    if (typeof data === 'string') this.dc.sendMessage(data);
    else this.dc.sendMessageBinary(data);
  }
  setLowThreshold(bytes: number): void {
    this.dc.setBufferedAmountLowThreshold(bytes);
  }
  bind(h: RawChannelHandlers): void {
    this.dc.onOpen(() => h.open());
    this.dc.onMessage((msg) => h.message(typeof msg === 'string' ? msg : new Uint8Array(msg)));
    this.dc.onBufferedAmountLow(() => h.low());
    this.dc.onClosed(() => {
      if (!this.closedByUs) h.closed();
    });
  }
  close(): void {
    this.closedByUs = true;
    try {
      this.dc.close();
    } catch {
      // closed with its connection already
    }
  }
}
