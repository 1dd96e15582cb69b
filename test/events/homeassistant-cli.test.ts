import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { HomeAssistantBridge } from '../../src/events/homeassistant.js';
import { type MosquittoBroker, startMosquitto } from '../helpers/brokers.js';
import { cliHome, runCli } from '../helpers/cli.js';

/** Every retained message under homeassistant/ on the broker now, by topic (empty ones are deletions: left out). */
async function retainedConfigs(url: string): Promise<string[]> {
  const client = await mqtt.connectAsync(url, { clientId: `ha-check-${Math.random().toString(16).slice(2)}` });
  const topics = new Set<string>();
  client.on('message', (topic, payload, packet) => {
    if (packet.retain && payload.length > 0) topics.add(topic);
  });
  await client.subscribeAsync('homeassistant/#', { qos: 1 });
  await new Promise((resolve) => setTimeout(resolve, 500));
  await client.endAsync();
  return [...topics].sort();
}

describe('peercam homeassistant list / forget (a real Mosquitto as the HA broker)', () => {
  let mosquitto: MosquittoBroker;
  let home: Awaited<ReturnType<typeof cliHome>>;

  before(async () => {
    mosquitto = await startMosquitto();
    home = await cliHome();
    const bridge = await HomeAssistantBridge.connect(mosquitto.url);
    bridge.camera({ id: 'cam1porch', name: 'Porch' });
    bridge.camera({ id: 'cam2garden', name: 'Garden' });
    await bridge.close(); // the configs stay, retained, as after a hub that stopped
  });
  after(async () => {
    await home?.remove();
    await mosquitto?.stop();
  });

  it('lists the announced cameras, forgets one (its device goes), and says which names exist when one is unknown', async () => {
    const listed = await runCli(['homeassistant', 'list', '--json', '--homeassistant', mosquitto.url], home.env);
    assert.equal(listed.code, 0, listed.stderr);
    const cameras = (JSON.parse(listed.stdout) as { id: string; name: string }[]).sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(cameras, [
      { id: 'cam2garden', name: 'Garden' },
      { id: 'cam1porch', name: 'Porch' },
    ]);
    assert.ok((await retainedConfigs(mosquitto.url)).some((t) => t.includes('peercam_cam1porch')), 'Porch announced before');

    const forgot = await runCli(['homeassistant', 'forget', 'Porch', '--homeassistant', mosquitto.url], home.env);
    assert.equal(forgot.code, 0, forgot.stderr);
    assert.match(forgot.stderr, /Removed "Porch" \(cam1porch\)/);
    const left = await retainedConfigs(mosquitto.url);
    assert.ok(!left.some((t) => t.includes('peercam_cam1porch')), `Porch's configs are gone: ${left.join(', ')}`);
    assert.equal(left.filter((t) => t.includes('peercam_cam2garden')).length, 3, 'Garden keeps its three entities');

    const unknown = await runCli(['homeassistant', 'forget', 'Attic', '--homeassistant', mosquitto.url], home.env);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /No camera "Attic" is announced to Home Assistant there \(there are: Garden\)/);
  });
});
