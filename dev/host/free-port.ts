import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Ports this process handed out already: two calls at once never get the same one. */
const handedOut = new Set<number>();

/** Where the ports are taken from when the system's ephemeral range is unknown: below Linux's and Windows' default. */
const FALLBACK = { low: 20_000, high: 32_767 } as const;
/** Well below the system's ephemeral range, above the defaults of `npm start` (7071, 7443, 10000–10002). */
const LOWEST = 20_000;

/**
 * A port that was free a moment ago: for a fixed port on a command line, or in settings made before a listen. Taken
 * below the system's ephemeral range, never from it: an ephemeral port (what listening on port 0 gives) may be taken
 * meanwhile as the local port of any outgoing connection on the machine, and a child that starts slowly (`npm start`
 * builds first) would then fail to listen with EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  const { low, high } = portRange();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`No free port between ${low} and ${high}.`);
}

function portRange(): { low: number; high: number } {
  try {
    const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const high = Number(ephemeralLow) - 1;
    return Number.isInteger(high) && high - LOWEST >= 1_000 ? { low: LOWEST, high } : FALLBACK;
  } catch {
    return FALLBACK;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
