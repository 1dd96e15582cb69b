import { PeercamError } from '../protocol/index.js';

/**
 * A sound card or sound server endpoint as ffmpeg opens it: a microphone (`--mic`) or a speaker (`--speaker`).
 * `alsa` names an ALSA PCM (`default`, `hw:1,0`, `plughw:CARD=Device,DEV=0`); `pulse` names a PulseAudio (or
 * PipeWire-pulse) sink or source, `undefined` for the server's default.
 */
export type AudioDevice = { readonly backend: 'alsa'; readonly name: string } | { readonly backend: 'pulse'; readonly name: string | undefined };

const USAGE =
  'Use default (ALSA default), hw:CARD,DEV or plughw:CARD,DEV (an ALSA card; plughw converts formats), alsa:NAME (any ALSA PCM), ' +
  'pulse (the PulseAudio/PipeWire default) or pulse:NAME (a sink or source, see `pactl list short sinks` / `sources`).';

/** Parses `--mic` / `--speaker` values; throws PeercamError('bad-config') saying what is accepted. */
export function parseAudioDevice(spec: string, what: 'microphone' | 'speaker'): AudioDevice {
  const s = spec.trim();
  if (s === 'pulse' || s === 'pulse:') return { backend: 'pulse', name: undefined };
  if (s.startsWith('pulse:')) return checked({ backend: 'pulse', name: s.slice('pulse:'.length) }, spec, what);
  if (s.startsWith('alsa:')) return checked({ backend: 'alsa', name: s.slice('alsa:'.length) }, spec, what);
  // Bare ALSA PCM names: default, hw:.., plughw:.., sysdefault:.., dmix/dsnoop:.., front:..
  if (/^(default|sysdefault|hw|plughw|dmix|dsnoop|front)(:|$)/.test(s)) return checked({ backend: 'alsa', name: s }, spec, what);
  throw PeercamError.config(`The ${what} "${spec}" is not a sound device peercam knows. ${USAGE}`);
}

function checked(device: AudioDevice, spec: string, what: string): AudioDevice {
  // ffmpeg gets the name as one argument (no shell), but a name with blanks or control characters is a typo.
  if (device.name !== undefined && (device.name === '' || /\s/.test(device.name) || [...device.name].some((c) => c.charCodeAt(0) < 0x20))) {
    throw PeercamError.config(`The ${what} "${spec}" has an empty or unusable device name. ${USAGE}`);
  }
  return device;
}

/** The device as text again, for logs and messages. */
export function describeAudioDevice(device: AudioDevice): string {
  return device.backend === 'pulse' ? (device.name ? `pulse:${device.name}` : 'pulse (default)') : `alsa:${device.name}`;
}

/** ffmpeg input arguments that capture from the device (the demuxer picks 48 kHz stereo by default). */
export function audioInputArgs(device: AudioDevice): string[] {
  return device.backend === 'pulse'
    ? ['-f', 'pulse', '-fragment_size', '1920', '-i', device.name ?? 'default']
    : ['-f', 'alsa', '-i', device.name];
}

/**
 * ffmpeg output arguments that play to the device. PulseAudio's default buffer holds about 2 s and starts playing
 * only once it is full, so a short talk burst would never be heard: 60 ms keeps it short.
 */
export function audioOutputArgs(device: AudioDevice): string[] {
  return device.backend === 'pulse'
    ? ['-f', 'pulse', '-buffer_duration', '60', ...(device.name ? ['-device', device.name] : []), 'peercam talk-back']
    : ['-f', 'alsa', device.name];
}
