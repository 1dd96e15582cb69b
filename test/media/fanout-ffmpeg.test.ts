import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectSource, Fanout } from '../../src/media/fanout.js';
import { type AccessUnit, H264Depacketizer, hasParameterSets, toAnnexB } from '../../src/media/h264.js';
import { parseRtp } from '../../src/media/rtp.js';
import { openSource, type Source } from '../../src/media/sources/index.js';

const dir = mkdtempSync(join(tmpdir(), 'peercam-fanout-ffmpeg-'));
let source: Source | undefined;
let fanout: Fanout | undefined;
after(async () => {
  fanout?.close();
  await source?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Fanout over a live ffmpeg source', () => {
  it('a viewer joining mid-GOP gets a stream ffmpeg decodes without a single error', async () => {
    source = await openSource('testsrc', { width: 320, height: 240, bitrate: 300_000, preset: 'ultrafast', gopSeconds: 2 });
    const f = new Fanout({ codec: source.codec, clockRate: source.clockRate, tickMs: 2 });
    fanout = f;
    connectSource(source, f);
    await new Promise<void>((resolve) => source?.on('state', (s) => s === 'live' && resolve()));
    await sleep(1300); // well inside the first 2-second GOP
    const d = new H264Depacketizer();
    const units: AccessUnit[] = [];
    const feed = f.addViewer({ payloadType: 100, sink: (b) => units.push(...d.push(parseRtp(b.slice()))) });
    await sleep(1200);
    feed.close();
    assert.ok(units.length >= 50, `${units.length} frames`);
    assert.ok(units[0]!.keyframe && hasParameterSets(units[0]!.nals), 'starts with SPS/PPS + IDR');
    assert.equal(d.stats.dropped + d.stats.lostPackets, 0);
    const file = join(dir, 'viewer.h264');
    writeFileSync(file, toAnnexB(units.flatMap((u) => u.nals)));
    const probe = execFileSync(
      'ffprobe',
      ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames,width,height', '-of', 'csv=p=0', file],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    assert.equal(probe.trim(), `320,240,${units.length}`);
    // -xerror: a decoding error ends the run with a non-zero status; -v error prints each one.
    const decode = spawnSync('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
    assert.equal(decode.stderr, '');
    assert.equal(decode.status, 0);
  });
});
