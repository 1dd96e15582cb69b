import QRCode from 'qrcode';
import type { Room } from '../../protocol/index.js';
import { h } from './dom.js';
import type { HubInfo } from './join.js';

/**
 * Where other devices should open the app: this page's folder (a static host may serve it from a sub-folder), unless
 * it is loopback (then the hub's LAN address).
 */
export function shareBase(hub: HubInfo | undefined): { base: string; reachable: boolean } {
  const loopback = /^(127\.|localhost$|\[::1\]$)/.test(location.hostname);
  const here = new URL('./', location.href).href;
  if (!loopback) return { base: here, reachable: true };
  const lan = hub?.lanUrls[0];
  return lan ? { base: lan, reachable: true } : { base: here, reachable: false };
}

/** The "add a device" panel: a QR code and the link, for the viewer and for the camera page. */
export async function openPairing(room: Room, hub: HubInfo | undefined): Promise<void> {
  const { base, reachable } = shareBase(hub);
  const viewerLink = await room.link(base);
  const cameraLink = await room.link(`${base}camera.html`);
  const qr = h('div', { class: 'qr', 'aria-label': 'QR code of the pairing link' });
  const linkText = h('input', { class: 'link', readonly: true, 'aria-label': 'pairing link' });
  const show = async (link: string) => {
    qr.innerHTML = await QRCode.toString(link, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' });
    linkText.value = link;
  };
  const dialog = h(
    'dialog',
    { class: 'pairing' },
    h('h2', {}, 'Add a device to this room'),
    h('p', {}, 'Scan with a phone on the same WiFi, or send the link. It opens the app in this room; from there, “Use this device as a camera” makes it a camera.'),
    reachable
      ? null
      : h('p', { class: 'warn' }, 'This hub found no LAN address: other devices cannot reach it until this computer is on a network (then restart `npx peercam up`).'),
    h(
      'div',
      { class: 'choice' },
      h('button', { type: 'button', onclick: () => void show(viewerLink) }, 'Viewer link'),
      h('button', { type: 'button', onclick: () => void show(cameraLink) }, 'Camera link'),
    ),
    qr,
    linkText,
    h('p', { class: 'hint' }, 'The hub’s certificate is self-signed: the phone warns once; accept it to continue. Keep the link private: whoever has it can watch.'),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', onclick: () => void navigator.clipboard?.writeText(linkText.value).catch(() => linkText.select()) }, 'Copy link'),
      h('button', { type: 'button', onclick: () => dialog.close() }, 'Close'),
    ),
  );
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  await show(viewerLink);
  dialog.showModal();
}
