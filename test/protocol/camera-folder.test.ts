import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cameraFolder } from '../../src/protocol/index.js';

test('cameraFolder: the recordings name of a camera, the same for the name it shows and for itself', () => {
  assert.equal(cameraFolder('Demo camera'), 'Demo_camera');
  assert.equal(cameraFolder('Kitchen (east)'), 'Kitchen_east_');
  assert.equal(cameraFolder('../../etc'), 'etc', 'no way out of the recordings folder');
  assert.equal(cameraFolder('Küche Ⅱ'), 'Küche_II', 'letters of every script kept, compatibility forms folded');
  assert.equal(cameraFolder('...'), 'camera');
  assert.equal(cameraFolder('x'.repeat(200)).length, 80);
  // A page may be handed either (?camera= from an event or a tile's Replay, or from the recordings list).
  for (const name of ['Demo camera', 'Kitchen (east)', 'Chrome on Linux camera', 'a/b\\c', ' front door ', 'Küche Ⅱ'])
    assert.equal(cameraFolder(cameraFolder(name)), cameraFolder(name), name);
});
