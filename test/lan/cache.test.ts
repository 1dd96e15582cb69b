import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Answer } from 'dns-packet';
import { toService } from '../../src/signaling/lan/browser.js';
import { DnsSdCache, parseTxt } from '../../src/signaling/lan/cache.js';

const TYPE = '_peercam._tcp.local';
const INSTANCE = `cam one.${TYPE}`;
const ID = 'abcdefghijklmnop';
const ROOM = 'abcdefghijklmnopqrst';

function records(ttl = 120, port = 4000): Answer[] {
  return [
    { name: TYPE, type: 'PTR', ttl: 4500, data: INSTANCE },
    { name: INSTANCE, type: 'SRV', ttl, data: { target: 'peercam-x.local', port } },
    { name: INSTANCE, type: 'TXT', ttl: 4500, data: [Buffer.from('v=1'), Buffer.from(`id=${ID}`), Buffer.from(`R=${ROOM}`), Buffer.from('role=camera')] },
    { name: 'peercam-x.local', type: 'A', ttl, data: '10.77.0.1' },
  ];
}

describe('DNS-SD cache (RFC 6762/6763 rules, pure logic)', () => {
  it('resolves PTR + SRV + TXT + A into a service, whatever the order and case', () => {
    const cache = new DnsSdCache(TYPE);
    const [ptr, srv, txt, a] = records();
    cache.ingest([a!, txt!], 0);
    assert.deepEqual(cache.update(0).up, []);
    cache.ingest([{ ...ptr!, name: TYPE.toUpperCase() }, srv!], 10);
    const { up } = cache.update(10);
    assert.equal(up.length, 1);
    assert.deepEqual(toService(up[0]!), { instance: INSTANCE, id: ID, room: ROOM, role: 'camera', address: '10.77.0.1', port: 4000 });
  });

  it('a goodbye (TTL 0) removes the service one second later (RFC 6762 10.1)', () => {
    const cache = new DnsSdCache(TYPE);
    cache.ingest(records(), 0);
    cache.update(0);
    cache.ingest([{ name: TYPE, type: 'PTR', ttl: 0, data: INSTANCE }], 5000);
    assert.deepEqual(cache.update(5500).down, []);
    assert.equal(cache.update(6000).down.length, 1);
    assert.deepEqual(cache.instances(), []);
  });

  it('expires records at their TTL and asks to refresh them at 80/85/90/95 % first (RFC 6762 5.2)', () => {
    const cache = new DnsSdCache(TYPE);
    cache.ingest(records(10), 0);
    cache.update(0);
    assert.deepEqual(cache.questions(7000), []);
    const q80 = cache.questions(8000);
    assert.deepEqual(q80.map((q) => q.type).sort(), ['A', 'SRV']);
    assert.deepEqual(cache.questions(8100), [], 'asked once per step');
    assert.equal(cache.questions(8500).length, 2);
    assert.equal(cache.update(9999).down.length, 0);
    assert.equal(cache.update(10_000).down.length, 1);
  });

  it('a changed SRV port is reported as an update; known answers hold PTRs with over half their TTL left', () => {
    const cache = new DnsSdCache(TYPE);
    cache.ingest(records(), 0);
    cache.update(0);
    cache.ingest(records(120, 4001), 1000);
    assert.equal(cache.update(1000).up[0]?.port, 4001);
    assert.equal(cache.knownAnswers(1000).length, 1);
    assert.equal(cache.knownAnswers(2_300_000).length, 0);
  });

  it('asks for what a partial answer left out, at most once a second', () => {
    const cache = new DnsSdCache(TYPE);
    cache.ingest([records()[0]!], 0);
    assert.deepEqual(cache.questions(0).map((q) => `${q.type} ${q.name}`), [`SRV ${INSTANCE}`, `TXT ${INSTANCE}`]);
    assert.deepEqual(cache.questions(500), []);
    assert.equal(cache.questions(1000).length, 2);
  });

  it('parses TXT per RFC 6763 6.4 and rejects services that are not peercam v1', () => {
    assert.deepEqual(parseTxt(['A=1', 'a=2', 'flag', '=x', 'k=v=w']), { a: '1', flag: '', k: 'v=w' });
    const base = { instance: INSTANCE, host: 'h.local', address: '10.0.0.1', port: 1 };
    assert.equal(toService({ ...base, txt: { v: '2', id: ID, r: ROOM, role: 'camera' } }), undefined);
    assert.equal(toService({ ...base, txt: { v: '1', id: 'short', r: ROOM, role: 'camera' } }), undefined);
    assert.equal(toService({ ...base, txt: { v: '1', id: ID, r: ROOM, role: 'toaster' } }), undefined);
    assert.equal(toService({ ...base, txt: { v: '1', id: ID, r: ROOM, role: 'hub' } })?.role, 'hub');
  });
});
