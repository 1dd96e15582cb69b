/**
 * The MQTT client in browsers (the web build puts this module in place of mqtt-connect.ts, see vite.config.ts): our
 * small client over the page's WebSocket, ws:// and wss:// only.
 */
import { PeercamError } from '../protocol/index.js';
import type { ConnectMqtt } from './mqtt-client.js';
import { WsMqttClient } from './mqtt-ws.js';

export const connectMqtt: ConnectMqtt = (url, options) => {
  if (!/^wss?:\/\//i.test(url))
    throw PeercamError.config(`A browser reaches an MQTT broker over WebSocket only: write the broker URL as ws://host/mqtt or wss://host/mqtt, not ${url.split(':')[0]}://.`);
  return new WsMqttClient(url, options, WebSocket);
};
