import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { PeercamMetrics, serveMetrics } from '../../src/metrics/index.js';

const opened = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });

test('`--metrics-port` closes at once, with a client connected that has sent nothing and one halfway through its request', async () => {
  const served = await serveMetrics(new PeercamMetrics(), 0);
  const silent = await opened(served.port);
  const halfway = await opened(served.port);
  halfway.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
  const ended = (socket: Socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const clientsEnded = Promise.all([ended(silent), ended(halfway)]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    served.close().then(() => 'closed'),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('still open after 3 s'), 3000);
    }),
  ]);
  clearTimeout(timer);
  silent.destroy();
  halfway.destroy();
  assert.equal(outcome, 'closed');
  await clientsEnded;
});
