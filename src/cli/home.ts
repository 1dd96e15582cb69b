import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { COMMAND } from './command.js';
import { type DeviceId, isDeviceId, newDeviceId, PeercamError, Room } from '../protocol/index.js';

/** The data dir: PEERCAM_HOME, else ~/.config/peercam. Holds the room link, device ids, the hub's certificate. */
export function dataDir(): string {
  return process.env.PEERCAM_HOME || join(homedir(), '.config', 'peercam');
}

export const roomFile = (): string => join(dataDir(), 'room');

/** `--room` takes a pairing link or a file holding one; without it, the room stored in the data dir. */
export async function loadRoom(option?: string): Promise<Room> {
  if (option && /(^|#|&)k=/.test(option)) return Room.fromLink(option);
  const file = option ?? roomFile();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (option) throw PeercamError.config(`Cannot read the room file ${file}: ${(err as Error).message}.`, err);
    throw PeercamError.config(
      `No room yet in ${dataDir()}. Create one with \`${COMMAND} room new\`, or join one with --room <link|file>.`,
      err,
    );
  }
  const line = text.split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  return Room.fromLink(line ?? '');
}

/** Writes a room file: the link plus a comment saying what it is. Private to the user (it is the room key). */
export async function saveRoom(room: Room, file = roomFile()): Promise<void> {
  const body = `# peercam pairing link: whoever has it can watch and join this room. Keep it private.\n${await room.link()}\n`;
  await writeFileSafely(file, body, 0o600);
}

/** A stable device id per role and name in this data dir, so a camera keeps its identity across restarts. */
export async function deviceId(key: string): Promise<DeviceId> {
  const file = join(dataDir(), 'devices.json');
  let ids: Record<string, string> = {};
  try {
    ids = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
  } catch {
    // none yet, or unreadable: start afresh (the old ids only matter for presence continuity)
  }
  const known = ids[key];
  if (known && isDeviceId(known)) return known;
  const id = newDeviceId();
  ids[key] = id;
  await writeFileSafely(file, `${JSON.stringify(ids, null, 2)}\n`, 0o600);
  return id;
}

/** Writes atomically; a read-only or full disk becomes a PeercamError that says so. */
export async function writeFileSafely(file: string, body: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(tmp, body, { mode });
    await chmod(tmp, mode);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {}); // a full disk leaves a truncated temp file behind
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOSPC'
        ? 'the disk is full'
        : code === 'EROFS' || code === 'EACCES' || code === 'EPERM'
          ? 'the location is read-only or not ours'
          : (err as Error).message;
    throw PeercamError.config(`Cannot write ${file}: ${why}. Free space, fix permissions, or point PEERCAM_HOME elsewhere.`, err);
  }
}
