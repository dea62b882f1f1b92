import { closeSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * Why a saturated Node.js server stops accepting, and what echo-server does about it.
 *
 * libuv accepts one connection per readiness event of a listening socket (since libuv 1.45,
 * PR #3696; Node.js 20 and later). epoll reports the listener once per pass over everything
 * that is ready, so a loop busy with N clients that each send M messages a second accepts
 * about M new clients a second, however many are waiting. Measured here with 2,000 busy
 * clients: one accept4 per epoll batch of 1,024 ready sockets, the accept queue full (ss -ltn),
 * clients that connected waiting 10 s and more for their first echo.
 *
 * So after each connection libuv hands over, the server takes every other connection waiting
 * in the kernel's queue at once, with `accept4` in a loop (native/accept-queue.c, Node-API),
 * as a C epoll server does, and wraps each descriptor in a `net.Socket`. The helper is built
 * by `npm run build` with the system's C compiler; without it the server still runs, accepting
 * at libuv's pace, and says so at start-up.
 */

interface AcceptQueueAddon {
  acceptInto(listeningFd: number, fds: Int32Array): number;
}

// dist/native/ holds the build; from dist/src/server/ it is ../../native, from src/server/
// (vitest runs the sources) ../../dist/native.
const CANDIDATES = ['../../native/accept-queue.node', '../../dist/native/accept-queue.node'];

function load(): AcceptQueueAddon | undefined {
  const require = createRequire(import.meta.url);
  for (const candidate of CANDIDATES) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return require(path) as AcceptQueueAddon;
  }
  return undefined;
}

const addon = load();

/** Whether the accept-queue helper was built and loaded (logged at start-up). */
export const canTakeWholeAcceptQueue = addon !== undefined;

/** Descriptors taken per native call; a full batch means there may be more. */
const BATCH = 256;
/** A bound on one call, however fast clients arrive: Linux caps a listen backlog at 4096 by default. */
const MAX_PER_CALL = 4096;
const fds = new Int32Array(BATCH);

/**
 * Takes every connection waiting in `server`'s accept queue (up to 4,096) and gives each to
 * `take` as a socket set up like the ones `server` accepts itself (`allowHalfOpen`, no Nagle).
 * Returns how many it took; 0 without the helper or when nothing waits. Never throws for a
 * connection: one that cannot be wrapped is closed.
 */
export function acceptWaiting(server: net.Server, take: (socket: net.Socket) => void): number {
  const listeningFd = (server as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  if (addon === undefined || listeningFd === undefined || listeningFd < 0) return 0;
  let taken = 0;
  for (let count = BATCH; count === BATCH && taken < MAX_PER_CALL; ) {
    count = addon.acceptInto(listeningFd, fds);
    for (let i = 0; i < count; i++) {
      const socket = wrap(fds[i]!);
      if (socket !== undefined) take(socket);
    }
    taken += count;
  }
  return taken;
}

function wrap(fd: number): net.Socket | undefined {
  try {
    const socket = new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
    socket.setNoDelay(true);
    return socket;
  } catch {
    try {
      closeSync(fd);
    } catch {
      // Already gone: nothing is left to release.
    }
    return undefined;
  }
}
