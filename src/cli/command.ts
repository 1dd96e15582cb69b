/**
 * How a user runs the CLI, as README.md, the help and every hint print it: `npx peercam` works in the clone after
 * `npm ci` (npm runs the project's own bin) and anywhere once `npm link` or `npm install -g` put `peercam` on PATH.
 */
export const COMMAND = 'npx peercam';
