import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { cliHome, runCli } from '../helpers/cli.js';

/** Runs `peercam <args>` with a module hook that notes every module it loads; returns their URLs. */
async function modulesLoaded(args: string[]): Promise<string[]> {
  const home = await cliHome();
  try {
    const log = join(home.dir, 'modules.log');
    writeFileSync(log, '');
    const hooks = join(home.dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}`,
    );
    const register = join(home.dir, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    const r = await runCli(args, { ...home.env, NODE_OPTIONS: `--import ${pathToFileURL(register).href}` });
    assert.equal(r.code, 0, r.stderr);
    return readFileSync(log, 'utf8').split('\n').filter(Boolean);
  } finally {
    await home.remove();
  }
}

const hubModules = (urls: string[]) => urls.filter((u) => u.includes('/dist/hub/') || u.includes('/node_modules/aedes/') || u.includes('/node_modules/selfsigned/'));
/** Loaded only when used: the LAN's mDNS (`--lan`) and Prometheus metrics (`--metrics-port`). */
const onDemand = (urls: string[]) => urls.filter((u) => u.includes('/node_modules/@homebridge/ciao/') || u.includes('/node_modules/prom-client/'));

test('a command loads only its own code: a camera starts without the hub (broker, web server, certificates), mDNS or metrics', async () => {
  const camera = await modulesLoaded(['camera', '--help']);
  assert.ok(camera.some((u) => u.endsWith('/dist/cli/camera.js')), 'the hook saw the camera command load');
  assert.deepEqual(hubModules(camera), []);
  assert.deepEqual(onDemand(camera), []);
  assert.deepEqual(onDemand(await modulesLoaded(['record', '--help'])), []);
  const up = await modulesLoaded(['up', '--help']);
  assert.ok(hubModules(up).length > 0, 'the hub command does load them');
  assert.ok(onDemand(up).length > 0, 'and the hub loads mDNS and metrics');
});
