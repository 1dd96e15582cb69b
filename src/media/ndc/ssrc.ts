/** A random non-zero SSRC (RFC 3550 8.1: chosen at random so two sources are unlikely to collide), not `avoid`. */
export function randomSsrc(avoid?: number): number {
  const buf = new Uint32Array(1);
  do crypto.getRandomValues(buf);
  while (buf[0] === 0 || buf[0] === avoid);
  return buf[0] ?? 1;
}
