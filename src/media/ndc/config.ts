import type { IceServer as NdcIceServer, RtcConfig } from 'node-datachannel';
import { type Logger, PeercamError } from '../../protocol/index.js';
import { urlsOf } from '../../session/ice.js';
import type { IceServer, PeerConfig } from '../../session/peer.js';
import type { TurnBridge } from './turn-bridge.js';

/** Engine options that are not part of the portable PeerConfig. */
export interface NdcOptions {
  /** Gather host candidates on this local address only ('127.0.0.1' in loopback tests). */
  readonly bindAddress?: string;
  /** Local UDP port range for ICE. */
  readonly portRange?: { readonly begin: number; readonly end: number };
  readonly log?: Logger;
  /** Carries TURN over TCP/TLS for libjuice (see TurnBridge); without it such servers are skipped. */
  readonly turnBridge?: TurnBridge;
}

/**
 * The prebuilt node-datachannel uses libjuice for ICE, which speaks TURN over UDP only: libdatachannel skips TCP and
 * TLS relays with a warning. A TurnBridge stands in for them on a local UDP port; without one we drop them here with
 * our own warning so that a relay-only peer with no usable server fails with a clear message.
 */
const UNSUPPORTED_RELAYS = new Set(['TurnTcp', 'TurnTls']);

/** Converts one RTCIceServer-style URL to node-datachannel's object form (which never mis-parses `@` or `:`). */
export function toNdcIceServer(url: string, server: IceServer): NdcIceServer {
  const m = /^(stuns?|turns?):(\[[0-9a-fA-F:.]+\]|[^:?[\]]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/.exec(url.trim());
  if (!m) {
    throw PeercamError.config(`"${url}" is not an ICE server URL. Use stun:host:port or turn:host:port[?transport=tcp].`);
  }
  const [, scheme = '', rawHost = '', rawPort, transport] = m;
  const hostname = rawHost.replace(/^\[|\]$/g, '');
  const tls = scheme.endsWith('s');
  const port = rawPort ? Number(rawPort) : tls ? 5349 : 3478;
  if (port < 1 || port > 65535) throw PeercamError.config(`ICE server "${url}" has an impossible port ${port}.`);
  if (scheme.startsWith('stun')) return { hostname, port };
  if (server.username === undefined || server.credential === undefined) {
    throw PeercamError.config(`TURN server "${url}" needs a username and credential.`);
  }
  const relayType = tls ? 'TurnTls' : transport === 'tcp' ? 'TurnTcp' : 'TurnUdp';
  return { hostname, port, username: server.username, password: server.credential, relayType };
}

/** Builds node-datachannel's RtcConfig from the portable PeerConfig plus engine options. */
export function toRtcConfig(config: PeerConfig, options: NdcOptions): RtcConfig {
  const iceServers: NdcIceServer[] = [];
  for (const server of config.iceServers) {
    for (const url of urlsOf(server)) {
      const converted = toNdcIceServer(url, server);
      if (converted.relayType && UNSUPPORTED_RELAYS.has(converted.relayType)) {
        const local = options.turnBridge?.local(url);
        if (local) {
          iceServers.push({ ...converted, ...local, relayType: 'TurnUdp' });
          continue;
        }
        options.log?.warn({ url }, 'node-datachannel (libjuice) needs a TurnBridge for TURN over TCP/TLS; this server is skipped');
        continue;
      }
      iceServers.push(converted);
    }
  }
  if (config.iceTransportPolicy === 'relay' && !iceServers.some((s) => s.relayType !== undefined)) {
    throw PeercamError.config(
      'Relay-only ICE needs a TURN server (turn:user:password@host:3478[?transport=tcp]); none was given that this engine can use.',
    );
  }
  const rtc: RtcConfig = { iceServers, iceTransportPolicy: config.iceTransportPolicy };
  if (options.bindAddress !== undefined) rtc.bindAddress = options.bindAddress;
  if (options.portRange) {
    const { begin, end } = options.portRange;
    if (!(begin >= 1024 && end <= 65535 && begin <= end)) {
      throw PeercamError.config(`The ICE port range ${begin}-${end} is not usable: pick 1024 <= begin <= end <= 65535.`);
    }
    rtc.portRangeBegin = begin;
    rtc.portRangeEnd = end;
  }
  return rtc;
}
