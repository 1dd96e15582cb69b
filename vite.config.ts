import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const web = (path: string) => fileURLToPath(new URL(`./src/web/${path}`, import.meta.url));

/** The web app (src/web) builds into dist/web, which `peercam up` serves: / (viewer), /camera and /recordings. */
export default defineConfig({
  root: web(''),
  publicDir: web('public'),
  // Relative: the same build works from the hub and from any static host, at its root or in a sub-folder.
  base: './',
  build: {
    outDir: fileURLToPath(new URL('./dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rollupOptions: { input: { index: web('index.html'), camera: web('camera.html'), recordings: web('recordings.html') } },
  },
  logLevel: 'warn',
});
