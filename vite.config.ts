import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, minify, type Plugin, transformWithOxc } from 'vite';

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
  plugins: [renderAfterEntry(), earlyBroker()],
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

/**
 * The viewer page's first lines: src/web/lib/early-broker.ts as a classic inline script at the top of its <head>, so
 * the broker's WebSocket opens while the page's module is still fetched and compiled (issue 15). That file has no
 * imports; its `export`s are dropped, `openBrokerEarly()` is called, and the whole is minified. The hub allows the script by its hash
 * (src/hub/web-server.ts), so it must not change after the build.
 */
function earlyBroker(): Plugin {
  return {
    name: 'peercam-early-broker',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      async handler(html, ctx) {
        if (!ctx.filename.endsWith('index.html')) return html;
        const file = web('lib/early-broker.ts');
        const { code } = await transformWithOxc(readFileSync(file, 'utf8'), file, { lang: 'ts', target: 'es2022' });
        const script = await minify('early-broker.js', `(() => {\n${code.replace(/^export /gm, '')}\nopenBrokerEarly();\n})();`, { compress: true, mangle: true });
        if (script.errors.length > 0) throw new Error(`early-broker.ts: ${script.errors.map((e) => e.message).join('; ')}`);
        return html.replace(/(<meta charset="utf-8" \/>)/, `$1\n    <script>${script.code.trim()}</script>`);
      },
    },
  };
}
