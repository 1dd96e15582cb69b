import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';

/** The content type of each kind of file the web app is built of. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

/** Types worth compressing (text), from this size up. */
const COMPRESSED = new Set(['.html', '.js', '.css', '.json', '.webmanifest', '.svg', '.map']);
const COMPRESS_FROM_BYTES = 1024;

/**
 * A file as it is sent: read once, its page facts put in, its policy hashed, its compressed forms made on first
 * demand; kept while the file keeps its size and modification time (a rebuild replaces it).
 */
interface Prepared {
  readonly mtimeMs: number;
  readonly size: number;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly cacheControl: string;
  /** Text large enough to be worth compressing. */
  readonly compress: boolean;
  readonly etag: string;
  readonly encoded: Map<'br' | 'gzip', Promise<Buffer>>;
}

const brotli = promisify(brotliCompress);
const gzipped = promisify(gzip);

/**
 * The web app's files as the hub serves them. Each page open asks for the page and its few assets; serving them from
 * memory keeps the hub's share of a page open small, and compression keeps a phone on a weak WiFi from waiting for
 * all of the viewer's first 126 KB (40 KB on the wire with Brotli). Pages are revalidated (`no-cache` with an ETag:
 * a returning browser gets 304), fingerprinted assets are cached for a year.
 */
export class StaticFiles {
  private readonly prepared = new Map<string, Prepared>();

  constructor(private readonly pageMeta: Readonly<Record<string, string>> | undefined) {}

  /** Sends `file` (a path under the app's root, `rel` its path there); false when there is no such file. */
  async send(req: IncomingMessage, res: ServerResponse, file: string, rel: string): Promise<boolean> {
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return false;
    let p = this.prepared.get(file);
    if (!p || p.mtimeMs !== info.mtimeMs || p.size !== info.size) {
      p = await this.prepare(file, rel, info.mtimeMs, info.size);
      this.prepared.set(file, p);
    }
    if (matches(req.headers['if-none-match'], p.etag)) {
      res.writeHead(304, { etag: p.etag, 'cache-control': p.cacheControl });
      res.end();
      return true;
    }
    const encoding = p.compress ? chooseEncoding(req.headers['accept-encoding']) : undefined;
    const body = encoding ? await this.encoded(p, encoding) : p.body;
    res.writeHead(200, {
      ...p.headers,
      etag: p.etag,
      ...(p.compress ? { vary: 'accept-encoding' } : {}),
      ...(encoding ? { 'content-encoding': encoding } : {}),
      'content-length': String(body.length),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }

  private async prepare(file: string, rel: string, mtimeMs: number, size: number): Promise<Prepared> {
    const ext = extname(file);
    const body = withMeta(await readFile(file), ext, this.pageMeta);
    // Vite fingerprints everything under assets/; pages and the manifest must be fetched fresh after an upgrade.
    const cacheControl = rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    const headers = {
      'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
      'cache-control': cacheControl,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'content-security-policy': contentSecurityPolicy(body, ext),
    };
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    const compress = COMPRESSED.has(ext) && body.length >= COMPRESS_FROM_BYTES;
    return { mtimeMs, size, body, headers, cacheControl, compress, etag, encoded: new Map() };
  }

  private encoded(p: Prepared, encoding: 'br' | 'gzip'): Promise<Buffer> {
    let out = p.encoded.get(encoding);
    if (!out) {
      // Brotli at quality 5 and gzip at 6: a few ms for the viewer's script, once per build, and nearly the size of
      // the slowest settings.
      out = encoding === 'br' ? brotli(p.body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 5 } }) : gzipped(p.body, { level: 6 });
      p.encoded.set(encoding, out);
    }
    return out;
  }
}

/** Whether an If-None-Match header names this ETag (a list, weak or not, or `*`). */
function matches(header: string | undefined, etag: string): boolean {
  return header?.split(',').some((tag) => ['*', etag].includes(tag.trim().replace(/^W\//, ''))) ?? false;
}

/** Brotli where the browser takes it (Chromium sends `br` over HTTPS only), else gzip, else none. */
function chooseEncoding(accept: string | undefined): 'br' | 'gzip' | undefined {
  const offered = new Set(
    (accept ?? '')
      .split(',')
      .map((part) => part.trim().split(';'))
      .filter(([, q]) => q === undefined || !/^\s*q\s*=\s*0(\.0*)?\s*$/.test(q))
      .map(([name]) => (name ?? '').trim().toLowerCase()),
  );
  return offered.has('br') ? 'br' : offered.has('gzip') ? 'gzip' : undefined;
}

/**
 * The room key lives in the fragment and localStorage: no third-party script or frame may ever run here. The one
 * inline script the build puts into the viewer page (src/web/lib/early-broker.ts) is allowed by its hash, so no
 * other inline script can run.
 */
function contentSecurityPolicy(body: Buffer, ext: string): string {
  const inline = ext === '.html' ? [...body.toString('utf8').matchAll(/<script>([\s\S]*?)<\/script>/g)] : [];
  const scripts = inline.map((m) => ` 'sha256-${createHash('sha256').update(m[1] ?? '', 'utf8').digest('base64')}'`).join('');
  return (
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; " +
    `${scripts ? `script-src 'self'${scripts}; ` : ''}frame-ancestors 'none'`
  );
}

/** Puts `meta` into an HTML page's head, right after its charset (escaped: the values are ours, but still text). */
function withMeta(body: Buffer, ext: string, meta: Readonly<Record<string, string>> | undefined): Buffer {
  if (ext !== '.html' || !meta || Object.keys(meta).length === 0) return body;
  const tags = Object.entries(meta)
    .map(([name, content]) => `<meta name="${escapeAttr(name)}" content="${escapeAttr(content)}" />`)
    .join('');
  const html = body.toString('utf8');
  const at = html.indexOf('<head>');
  return at < 0 ? body : Buffer.from(`${html.slice(0, at + 6)}${tags}${html.slice(at + 6)}`, 'utf8');
}

function escapeAttr(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
