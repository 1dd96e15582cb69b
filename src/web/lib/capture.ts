/** What the user picked on the camera page. */
export interface CaptureChoice {
  readonly videoDeviceId?: string | undefined;
  /** A microphone, or 'none' for video only. */
  readonly audioDeviceId?: string | undefined;
  /** Front ('user') or back ('environment') camera; ignored when a device is picked. */
  readonly facing?: 'user' | 'environment';
  /** Wanted height; the width follows 16:9. */
  readonly height: number;
}

/** A capture failure, worded for the person holding the device. */
export class CaptureError extends Error {
  constructor(
    readonly title: string,
    message: string,
    readonly kind: 'denied' | 'missing' | 'busy' | 'insecure' | 'other',
  ) {
    super(message);
  }
}

/** Opens the camera (and microphone unless 'none'); falls back to video only when there is no microphone. */
export async function capture(choice: CaptureChoice): Promise<MediaStream> {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    throw new CaptureError(
      'This page cannot use the camera here',
      `Browsers allow the camera only on secure pages (https:// or http://127.0.0.1). This page is ${location.origin}: open the https:// link the hub printed (or scan its QR code) instead.`,
      'insecure',
    );
  }
  const video: MediaTrackConstraints = {
    height: { ideal: choice.height },
    width: { ideal: Math.round((choice.height * 16) / 9) },
    frameRate: { ideal: 30 },
    ...(choice.videoDeviceId ? { deviceId: { exact: choice.videoDeviceId } } : choice.facing ? { facingMode: { ideal: choice.facing } } : {}),
  };
  const audio: MediaTrackConstraints | false =
    choice.audioDeviceId === 'none' ? false : { echoCancellation: true, noiseSuppression: true, ...(choice.audioDeviceId ? { deviceId: { exact: choice.audioDeviceId } } : {}) };
  try {
    return await navigator.mediaDevices.getUserMedia({ video, audio });
  } catch (err) {
    if (audio && err instanceof DOMException && err.name === 'NotFoundError') {
      try {
        return await navigator.mediaDevices.getUserMedia({ video, audio: false });
      } catch (again) {
        throw explain(again);
      }
    }
    throw explain(err);
  }
}

/** Just a microphone (push-to-talk). */
export async function captureMic(): Promise<MediaStreamTrack> {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) throw explain(new DOMException('insecure', 'SecurityError'));
  try {
    const s = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true }, video: false });
    const track = s.getAudioTracks()[0];
    if (!track) throw new DOMException('no audio track', 'NotFoundError');
    return track;
  } catch (err) {
    throw explain(err, 'microphone');
  }
}

export function explain(err: unknown, what: 'camera' | 'microphone' = 'camera'): CaptureError {
  if (err instanceof CaptureError) return err;
  const name = err instanceof DOMException || err instanceof Error ? err.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
      return new CaptureError(
        `${cap(what)} permission denied`,
        `This browser was told not to let the page use the ${what}. Allow it for this site (the ${what} or lock icon in the address bar, or the browser's site settings), then press Start again.`,
        'denied',
      );
    case 'NotFoundError':
    case 'OverconstrainedError':
      return new CaptureError(`No ${what} found`, `No ${what} matches the choice. Plug one in, or pick another one in the list.`, 'missing');
    case 'NotReadableError':
    case 'AbortError':
      return new CaptureError(`The ${what} is busy`, `Another app (a video call?) is using the ${what}. Close it, then press Start again.`, 'busy');
    case 'SecurityError':
      return new CaptureError(`This page cannot use the ${what} here`, 'Open the https:// link the hub printed (or scan its QR code).', 'insecure');
    default:
      return new CaptureError(`Could not open the ${what}`, `${err instanceof Error ? err.message : String(err)}. Try another device in the list, or reload.`, 'other');
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
