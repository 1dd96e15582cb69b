import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { hubCertificate } from '../../src/hub/cert.js';
import { startWebServer, type WebServer } from '../../src/hub/web-server.js';

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** A raw GET (no client decoding, so what the hub put on the wire is what we see). */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the hub serves the web app from memory, compressed, with ETags', () => {
  let root = '';
  let web: WebServer;
  /** A script like the viewer's: text that compresses. */
  const SCRIPT = Array.from({ length: 3000 }, (_, i) => `export const tile${i} = { name: 'camera ${i}', ready: ${i % 2 === 0} };`).join('\n');

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'peercam-static-'));
    await mkdir(join(root, 'assets'));
    await writeFile(join(root, 'index.html'), '<!doctype html><html><head><meta charset="utf-8"><title>peercam</title><script>1+1</script></head><body></body></html>');
    await writeFile(join(root, 'assets', 'viewer-abc.js'), SCRIPT);
    await writeFile(join(root, 'icon.png'), Buffer.alloc(4096, 7));
    const tls = await hubCertificate(root, ['127.0.0.1'], (file, body, mode) => writeFile(file, body, { mode }));
    web = await startWebServer({ root, port: 0, host: '127.0.0.1', tls, pageMeta: { 'peercam-mqtt': '4' } });
  });
  after(async () => {
    await web.close();
    await rm(root, { recursive: true, force: true });
  });

  it('sends brotli or gzip where the browser accepts it, the same bytes once decoded, and plain text to the rest', async () => {
    const plain = await get(web.port, '/assets/viewer-abc.js');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.toString(), SCRIPT);
    assert.equal(plain.headers.vary, 'accept-encoding');
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');

    const br = await get(web.port, '/assets/viewer-abc.js', { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(brotliDecompressSync(br.body).toString(), SCRIPT);
    assert.ok(br.body.length < SCRIPT.length / 4, `${br.body.length} bytes on the wire for ${SCRIPT.length}`);

    const gz = await get(web.port, '/assets/viewer-abc.js', { 'accept-encoding': 'gzip, deflate, br;q=0' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.body).toString(), SCRIPT);
    assert.equal(Number(gz.headers['content-length']), gz.body.length);

    const png = await get(web.port, '/icon.png', { 'accept-encoding': 'gzip, br' });
    assert.equal(png.headers['content-encoding'], undefined, 'images are sent as they are');
    assert.equal(png.body.length, 4096);
  });

  it('pages carry the hub facts and the inline script hash; a returning browser gets 304 until the page changes', async () => {
    const page = await get(web.port, '/');
    assert.equal(page.status, 200);
    assert.match(page.body.toString(), /<head><meta name="peercam-mqtt" content="4" \/>/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    assert.equal(page.headers['cache-control'], 'no-cache');
    const etag = String(page.headers.etag);
    assert.match(etag, /^"[\w-]{22}"$/);

    const again = await get(web.port, '/', { 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);

    // A rebuild: new content (and modification time) is served at once, under a new ETag.
    await writeFile(join(root, 'index.html'), '<!doctype html><html><head><title>peercam 2</title></head><body></body></html>');
    const later = new Date(Date.now() + 5000);
    await utimes(join(root, 'index.html'), later, later);
    const rebuilt = await get(web.port, '/', { 'if-none-match': etag });
    assert.equal(rebuilt.status, 200);
    assert.match(rebuilt.body.toString(), /peercam 2/);
    assert.notEqual(rebuilt.headers.etag, etag);
  });

  it('a missing file or a path out of the root is 404, a missing page says the app is not built', async () => {
    assert.equal((await get(web.port, '/assets/nothing.js')).status, 404);
    assert.equal((await get(web.port, '/..%2f..%2fetc%2fpasswd')).status, 404);
    const camera = await get(web.port, '/camera');
    assert.equal(camera.status, 503);
    assert.match(camera.body.toString(), /not built.*npm run build/);
  });
});
