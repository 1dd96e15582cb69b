import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { type Logger, PeercamError, type RoomCredentials } from '../protocol/index.js';
import { classify, hasUserInfo, hungUp, isLoginRefusal, redact } from '../signaling/mqtt-errors.js';

export interface CloudLinkOptions {
  /** The cloud broker (mqtt://, mqtts://, ws://, wss://; its own credentials in the URL win). */
  readonly url: string;
  readonly clientId: string;
  /** The room's login, presented when the broker refuses an anonymous client (as devices do, docs/PROTOCOL.md). */
  readonly credentials: RoomCredentials;
  readonly will?: IClientOptions['will'];
  readonly connectTimeoutMs?: number;
  readonly log: Logger;
}

/** How often a lost link is retried; the hub's bridge must come back soon after the broker does. */
const RECONNECT_MS = 2000;

/**
 * One connection of the hub's bridge to the cloud broker, connected: MQTT 5 when the broker speaks it (retain as
 * published, so a live presence is told from a who-is-here query), else 3.1.1; anonymous first, then the room's
 * login if refused. Once up, MQTT.js reconnects it by itself with what worked.
 */
export async function openCloudLink(options: CloudLinkOptions): Promise<MqttClient> {
  const url = redact(options.url);
  const own = hasUserInfo(options.url);
  const attempts: { version: 4 | 5; login: boolean }[] = [
    { version: 5, login: false },
    ...(own ? [] : [{ version: 5 as const, login: true }]),
    { version: 4, login: false },
    ...(own ? [] : [{ version: 4 as const, login: true }]),
  ];
  let last: unknown;
  let v5Refused = false;
  for (const attempt of attempts) {
    if (attempt.version === 5 && v5Refused) continue;
    const opts: IClientOptions = {
      protocolVersion: attempt.version,
      clean: true,
      clientId: options.clientId,
      keepalive: 20,
      reconnectPeriod: 0,
      writeCache: false, // see signaling/mqtt-connect.ts
      resubscribe: false,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      ...(options.will ? { will: options.will } : {}),
      ...(attempt.login ? { username: options.credentials.brokerUsername, password: options.credentials.brokerPassword } : {}),
    };
    const result = await connectOnce(options.url, opts);
    if (result.client) {
      result.client.options.reconnectPeriod = RECONNECT_MS;
      options.log.debug({ broker: url, mqtt: attempt.version === 5 ? '5' : '3.1.1', login: attempt.login }, 'bridge link up');
      return result.client;
    }
    last = result.error;
    const failure = classify(url, last, opts.connectTimeout ?? 10_000);
    // Only a refused protocol version or login is worth another combination; anything else will not get better.
    // (a 3.1.1-only broker may also just hang up on an MQTT 5 CONNECT).
    if (attempt.version === 5 && (failure === 'protocol' || hungUp(last))) v5Refused = true;
    else if (!isLoginRefusal(last)) break;
  }
  const failure = classify(url, last, options.connectTimeoutMs ?? 10_000);
  throw failure === 'protocol' ? new PeercamError('broker-unreachable', `The cloud broker at ${url} speaks neither MQTT 5 nor 3.1.1.`, { cause: last }) : failure;
}

function connectOnce(url: string, opts: IClientOptions): Promise<{ client?: MqttClient; error?: unknown }> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, opts);
    let error: unknown;
    const done = (result: { client?: MqttClient; error?: unknown }) => {
      client.removeListener('connect', onConnect);
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
      resolve(result);
    };
    const onConnect = () => done({ client });
    const onError = (err: unknown) => {
      error = err;
    };
    const onClose = () => {
      client.end(true);
      done({ error });
    };
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}
