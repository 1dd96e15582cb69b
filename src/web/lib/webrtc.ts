import { notice } from './dom.js';

/** What a page without WebRTC says (tests match "no WebRTC"). */
export const NO_WEBRTC = {
  title: 'This browser has no WebRTC',
  short: 'this browser has no WebRTC: open the page in Safari, Chrome, Edge or Firefox',
  detail:
    'It joined the room, but it cannot play or send live video: RTCPeerConnection is missing (a browser built ' +
    'without WebRTC, or with it turned off). Open this page in a current Safari, Chrome, Edge or Firefox.',
} as const;

let told = false;

/** Whether this browser can make peer connections at all (checked before any session starts). */
export function hasWebRtc(): boolean {
  return typeof globalThis.RTCPeerConnection === 'function';
}

/** Says so once per page when the browser has no WebRTC; returns whether it has. */
export function checkWebRtc(): boolean {
  if (hasWebRtc()) return true;
  if (!told) notice('error', NO_WEBRTC.title, NO_WEBRTC.detail);
  told = true;
  return false;
}
