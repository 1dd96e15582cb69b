import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const web = (path: string) => fileURLToPath(new URL(`./src/web/${path}`, import.meta.url));

/**
 * The MQTT client for browsers: src/signaling/mqtt-connect.ts (MQTT.js, ~340 KB of Node polyfills in a page) is
 * replaced by mqtt-connect.browser.ts (our small client over the page's WebSocket), so the web app's first chunk stays
 * small (issue 15, docs/WEB.md). Only that one module; nothing else of the signaling layer differs.
 */
export const browserMqtt = {
  find: /^\.\/mqtt-connect\.js$/,
  replacement: fileURLToPath(new URL('./src/signaling/mqtt-connect.browser.ts', import.meta.url)),
};

/** The web app (src/web) builds into dist/web, which `peercam up` serves: / (viewer), /camera and /recordings. */
export default defineConfig({
  root: web(''),
  plugins: [renderAfterEntry()],
  publicDir: web('public'),
  // Relative: the same build works from the hub and from any static host, at its root or in a sub-folder.
  base: './',
  resolve: { alias: [browserMqtt] },
  build: {
    outDir: fileURLToPath(new URL('./dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rollupOptions: { input: { index: web('index.html'), camera: web('camera.html'), recordings: web('recordings.html') } },
  },
  logLevel: 'warn',
});

/**
 * Marks each page's entry module render-blocking (`blocking="render"`, a hint: browsers without it ignore it): the
 * browser runs the page's script, which opens the broker's WebSocket, before its first layout and paint instead of
 * after them, so the network round trips overlap the first paint. Measured (`npm run bench:web`, docs/BENCHMARKS.md):
 * the first render of a fresh page came before the script and delayed it by its whole cost. Vite drops unknown
 * attributes of the entry script, so they are put back into the built HTML.
 */
function renderAfterEntry(): Plugin {
  return {
    name: 'peercam-render-blocking-entry',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler: (html) => html.replace(/<script type="module" crossorigin src="([^"]+)"><\/script>/, '<script type="module" crossorigin src="$1" blocking="render"></script>'),
    },
  };
}
