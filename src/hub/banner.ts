import QRCode from 'qrcode';
import type { HubInfo } from './hub.js';

export interface BannerOptions {
  readonly qr: boolean;
  readonly fingerprint: string;
  readonly demo: boolean;
}

/**
 * What `peercam up` prints: the URLs (each with the room in its fragment, which never reaches a server) and a QR code
 * of the LAN pairing link for phones.
 */
export async function banner(hub: HubInfo, options: BannerOptions): Promise<string> {
  const local = await hub.room.link(hub.localUrl);
  const lan = hub.lanUrls[0];
  const phone = lan ? await hub.room.link(lan) : undefined;
  const phoneCamera = lan ? await hub.room.link(`${lan}camera`) : undefined;
  const lines = [
    '',
    `peercam hub is up: room ${hub.room.id}${hub.room.options.name ? ` (${hub.room.options.name})` : ''}${options.demo ? ', with a demo camera' : ''}`,
    '',
    `  Watch on this computer:   ${local}`,
  ];
  if (phone && phoneCamera) {
    lines.push(
      `  Phones on the same WiFi:  ${phone}`,
      `  Phone as a camera:        ${phoneCamera}`,
      `  (the certificate is self-signed: accept the warning once; SHA-256 ${options.fingerprint})`,
    );
    for (const other of hub.lanUrls.slice(1)) lines.push(`  Also reachable at:        ${other}`);
  } else {
    lines.push('  No LAN address found: only this computer can reach the hub. Connect to a network and restart.');
  }
  lines.push(
    `  MQTT broker:              mqtt://<this machine>:${hub.mqttPort} (and ws at /mqtt on port ${hub.webPort})`,
    `  Camera from a terminal:   npx peercam camera --broker ${hub.brokerUrl}   (in the peercam folder)`,
    '',
  );
  if (options.qr && phone) {
    lines.push('Scan with a phone to join the room:', await QRCode.toString(phone, { type: 'terminal', small: true }));
  }
  lines.push('Keep these links private: whoever has one can watch. Ctrl-C stops the hub.', '');
  return `${lines.join('\n')}\n`;
}
