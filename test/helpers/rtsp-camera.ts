import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stopChild } from './procs.js';

const SCRIPT = fileURLToPath(new URL('../fixtures/rtsp/ip-camera.py', import.meta.url));
/** Debian's interpreter: python3-gi is installed for it, not for another python3 that may come first on PATH. */
const PYTHON = '/usr/bin/python3';

/** A running test IP camera (test/fixtures/rtsp/ip-camera.py): RTSP over TCP on 127.0.0.1, mounts /h264 and /h265. */
export interface RtspCamera {
  readonly port: number;
  readonly pid: number;
  url(mount: 'h264' | 'h265'): string;
  /** SIGTERM by PID (SIGKILL after 5 s) and wait for the exit. */
  stop(): Promise<void>;
}

export async function startRtspCamera(port: number): Promise<RtspCamera> {
  const child: ChildProcess = spawn(PYTHON, [SCRIPT, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the RTSP test camera did not start in 20 s:\n${out}`)), 20_000);
    const check = () => {
      if (out.includes(`ready ${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      check();
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the RTSP test camera exited (${code}):\n${out}`));
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('the RTSP test camera has no PID');
  return {
    port,
    pid,
    url: (mount) => `rtsp://127.0.0.1:${port}/${mount}`,
    stop: () => stopChild(child),
  };
}
