import { spawn } from 'node:child_process';

/**
 * tcpdump in our own namespace (empty prefix) or inside a host (`ip netns exec <ns>`), counting packets that match
 * `filter` (default: mDNS). `stop()` resolves to the count once tcpdump has drained.
 */
export function startCapture(prefix: readonly string[], iface = 'any', filter = 'udp port 5353') {
  const argv = [...prefix, 'tcpdump', '-i', iface, '-n', '-l', '-p', filter];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let packets = 0;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    packets += chunk.split('\n').filter((l) => l.trim() !== '').length;
  });
  const listening = new Promise<void>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${stderr}`)));
  });
  listening.catch(() => {});
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve())); // 'close': after stdout drained
  return {
    listening,
    /** Packets counted so far (tcpdump -l prints each as it comes). */
    count: () => packets,
    async stop(): Promise<number> {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGINT');
      await exited;
      return packets;
    },
  };
}
