// `npx vite examples/browser` serves it; `npx vite build examples/browser` bundles it (top-level await: ES2022).
export default { build: { target: 'es2022' } };
