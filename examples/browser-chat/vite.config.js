// `npx vite` in this folder serves it; `npx vite build` bundles it for any static host (relative asset paths;
// top-level await needs ES2022).
export default { base: './', build: { target: 'es2022' } };
