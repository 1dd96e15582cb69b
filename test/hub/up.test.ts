import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort, untilListening } from '../helpers/brokers.js';
import { cliHome, runCli } from '../helpers/cli.js';
import { startHubProcess } from '../web/hub-process.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  cert?: X509Certificate;
}

function get(url: string, options: { ca?: string; localAddress?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const done = (res: import('node:http').IncomingMessage) => {
      let body = '';
      const socket = res.socket as import('node:tls').TLSSocket | null;
      const raw = typeof socket?.getPeerX509Certificate === 'function' ? socket.getPeerX509Certificate() : undefined;
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ...(raw ? { cert: raw } : {}) });
      });
    };
    const opts = { host: u.hostname, port: u.port, path: u.pathname + u.search, ...(options.localAddress ? { localAddress: options.localAddress } : {}) };
    const req = u.protocol === 'https:' ? httpsRequest({ ...opts, ...(options.ca ? { ca: options.ca } : { rejectUnauthorized: false }) }, done) : httpRequest(opts, done);
    req.on('error', reject);
    req.end();
  });
}

describe('peercam up', () => {
  it('serves HTTPS (LAN) and HTTP (loopback) on one port with a certificate for its addresses, and keeps room and certificate', async (t) => {
    // A LAN address inside this test's own network namespace, so the hub has one to print, certify and serve.
    // (A veth: addresses on lo count as internal, which a hub rightly does not offer to phones.)
    execFileSync('ip', ['link', 'add', 'pclan0', 'type', 'veth', 'peer', 'name', 'pclan1']);
    t.after(() => execFileSync('ip', ['link', 'del', 'pclan0']));
    execFileSync('ip', ['addr', 'add', '10.77.0.1/32', 'dev', 'pclan0']);
    execFileSync('ip', ['link', 'set', 'pclan0', 'up']);
    execFileSync('ip', ['link', 'set', 'pclan1', 'up']);
    const hub = await startHubProcess({ demo: false });
    t.after(() => hub.close());
    const out = hub.output();
    const key = /#k=([A-Za-z0-9_-]+)/.exec(hub.link)?.[1];
    assert.ok(key);
    assert.match(out, new RegExp(`Phones on the same WiFi:\\s+https://10\\.77\\.0\\.1:${hub.port}/#k=${key}`));
    assert.match(out, new RegExp(`Phone as a camera:\\s+https://10\\.77\\.0\\.1:${hub.port}/camera#k=${key}`));
    const qr = out.split('Scan with a phone')[1] ?? '';
    assert.ok((qr.match(/[\u2580\u2584\u2588]/g) ?? []).length > 200, 'a terminal QR code follows');
    const room = await readFile(join(hub.env.PEERCAM_HOME ?? '', 'room'), 'utf8');
    assert.ok(room.includes(`#k=${key}`), 'the room was created and saved on first run');

    const page = await get(`http://127.0.0.1:${hub.port}/`);
    assert.equal(page.status, 200);
    assert.match(page.body, /<title>peercam<\/title>/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    assert.equal((await get(`http://127.0.0.1:${hub.port}/camera`)).status, 200);
    assert.equal((await get(`http://127.0.0.1:${hub.port}/manifest.webmanifest`)).headers['content-type'], 'application/manifest+json');
    assert.equal((await get(`http://127.0.0.1:${hub.port}/..%2f..%2fpackage.json`)).status, 404);
    const info = JSON.parse((await get(`http://127.0.0.1:${hub.port}/hub.json`)).body) as { lanUrls: string[] };
    assert.deepEqual(info.lanUrls, [`https://10.77.0.1:${hub.port}/`]);

    // The stored certificate validates the LAN address (SAN IP), so a phone that accepts it once keeps accepting it.
    const stored = JSON.parse(await readFile(join(hub.env.PEERCAM_HOME ?? '', 'hub-cert.json'), 'utf8')) as { cert: string; fingerprint: string };
    const secure = await get(`https://10.77.0.1:${hub.port}/camera`, { ca: stored.cert });
    assert.equal(secure.status, 200);
    assert.match(secure.body, /peercam camera/);
    assert.match(secure.cert?.subjectAltName ?? '', /IP Address:10\.77\.0\.1.*IP Address:127\.0\.0\.1/);
    assert.ok(out.includes(stored.fingerprint), 'the banner prints the certificate fingerprint');

    const plain = await get(`http://10.77.0.1:${hub.port}/camera?x=1`, { localAddress: '10.77.0.1' });
    assert.equal(plain.status, 301, 'plain HTTP from another machine goes to HTTPS');
    assert.equal(plain.headers.location, `https://10.77.0.1:${hub.port}/camera?x=1`);

    await hub.restart();
    assert.ok(hub.link.endsWith(`#k=${key}`), 'same room after a restart');
    const again = JSON.parse(await readFile(join(hub.env.PEERCAM_HOME ?? '', 'hub-cert.json'), 'utf8')) as { fingerprint: string };
    assert.equal(again.fingerprint, stored.fingerprint, 'same certificate after a restart');
  });

  it('a busy web port or MQTT port is a clear error naming the port and the fix', async (t) => {
    const home = await cliHome();
    t.after(() => home.remove());
    const blocker = createServer();
    const busy = await freePort();
    await new Promise<void>((resolve) => blocker.listen(busy, '0.0.0.0', resolve));
    t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

    const web = await runCli(['up', '--no-mdns', '--port', String(busy), '--mqtt-port', '0'], home.env);
    assert.equal(web.code, 2);
    assert.match(web.stderr, new RegExp(`Port ${busy} is already in use.*peercam up --port ${busy + 1}`));

    const mqtt = await runCli(['up', '--no-mdns', '--port', String(await freePort()), '--mqtt-port', String(busy)], home.env);
    assert.equal(mqtt.code, 2);
    assert.match(mqtt.stderr, new RegExp(`Port ${busy} \\(MQTT\\) is already in use.*--mqtt-port ${busy + 1}`));

    const bad = await runCli(['up', '--no-mdns', '--port', 'eighty'], home.env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--port must be a port number/);
  });

  it('npm start runs the hub with a demo camera on the default ports', async (t) => {
    const home = await cliHome();
    t.after(() => home.remove());
    const child = spawn('npm', ['start', '--silent'], { env: home.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    t.after(async () => {
      // npm runs node as its child: signal the group this test started.
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
      await exited;
    });
    await untilListening(8443, 30_000, () => (child.exitCode !== null ? `npm start exited: ${out}` : undefined));
    const deadline = Date.now() + 15_000;
    while (!/with a demo camera/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /Watch on this computer:\s+http:\/\/127\.0\.0\.1:8443\/#k=/);
    assert.match(out, /mqtt:\/\/<this machine>:1883/);
    assert.equal((await get('http://127.0.0.1:8443/')).status, 200);
  });
});
