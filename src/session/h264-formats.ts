/**
 * Which H.264 formats of an offer peercam prefers: one order for the Node camera that chooses a format
 * (media/sdp.ts `chooseH264`) and for the camera page that puts H.264 first in the offer its browser answers
 * (camera-offer.ts `withH264First`).
 */

/** `a=b;c=d` -> { a: 'b', c: 'd' } with lower-cased keys (RFC 8866 6.15: format-specific, but all we read are k=v). */
export function parseFmtp(fmtp: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of fmtp.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    out[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1).trim();
  }
  return out;
}

/**
 * An H.264 format's place in our order (lower first), from its fmtp parameters, or undefined where our packetizer
 * cannot feed it: packetization-mode=1 (RFC 6184 6.3) is required; constrained baseline 42e01f then 42001f come first
 * because every browser decodes them, then the other constrained baseline and baseline profiles (profile_idc 0x42,
 * RFC 6184 8.1), then the rest.
 */
export function h264Rank(params: Readonly<Record<string, string>>): number | undefined {
  if (params['packetization-mode'] !== '1') return undefined;
  const plid = (params['profile-level-id'] ?? '').toLowerCase();
  if (plid === '42e01f') return 0;
  if (plid === '42001f') return 1;
  if (plid.startsWith('42e0')) return 2;
  if (plid.startsWith('42')) return 3;
  return 4;
}
