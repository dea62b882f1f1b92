import { closeSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * The sockets echo-server accepts and reads itself, and why.
 *
 * Accepting. libuv accepts one connection per readiness of a listening socket (since libuv
 * 1.45, PR #3696; Node.js 20 and later), and epoll reports the listener once per pass over
 * everything that is ready. A loop busy with N clients that each get M echoes a second thus
 * accepts about M new clients a second, however many wait: measured here with 2,000 busy
 * clients, one accept4 per epoll batch of 1,024 ready sockets, the kernel's accept queue full
 * (`ss -ltn`), clients that had connected waiting 10 s and more for a first echo. So after each
 * connection libuv hands over, echo-server takes everything else waiting in the queue at once,
 * with accept4 in a loop, as a C epoll server does (`acceptWaiting`).
 *
 * Reading. A socket that libuv accepted reads through Node's stream machinery: a fresh 64 KiB
 * allocation, an ArrayBuffer and a Buffer per read, then the Readable's bookkeeping (callgrind,
 * a bare `net` echo server, 64 B messages: about 13,800 instructions per echo; the same server
 * reading into one reusable buffer: about 8,200). Only a socket built from a descriptor can
 * read into a buffer of its own (`onread`, an option of `new net.Socket`), so echo-server takes
 * over each socket libuv accepts (`takeOver`: a second descriptor for it, then the first
 * closes) and builds its own for the ones it accepts.
 *
 * Both need two system calls Node.js does not offer (native/sockets.c, Node-API), built with
 * node-gyp at install and by `npm run build` (scripts/build-native.js). Without it, or with
 * `ECHO_NATIVE_SOCKETS=0`, the server still works: it accepts at libuv's pace and reads
 * through Node's streams, and says so at start-up.
 */

interface NativeSockets {
  acceptInto(listeningFd: number, fds: Int32Array): number;
  duplicate(fd: number): number;
  msSinceDataSent(fd: number): number;
}

// node-gyp writes build/Release/ in the package's root (scripts/build-native.js): from
// src/server/ (vitest runs the sources) that is ../../build, from dist/src/server/ ../../../build.
// The sources' path comes first: from dist/src/server/ it names dist/build/, which never exists.
const CANDIDATES = ['../../build/Release/sockets.node', '../../../build/Release/sockets.node'];

function load(): NativeSockets | undefined {
  if (process.env.ECHO_NATIVE_SOCKETS === '0') return undefined;
  const require = createRequire(import.meta.url);
  for (const candidate of CANDIDATES) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return require(path) as NativeSockets;
  }
  return undefined;
}

let native: NativeSockets | undefined;
let started = false;

/**
 * Whether the server accepts and reads its sockets itself: false until `startOwnSockets` has
 * found the native helper.
 */
export let haveOwnSockets = false;

/**
 * Loads the native helper (unless `ECHO_NATIVE_SOCKETS=0`) and installs the SIGURG handler
 * that `watchNewSocketsSoon` relies on; returns whether the helper is there. Called by
 * whoever starts a server (`EchoServer.start`), before its first accept; once per process,
 * later calls return the first answer. Nothing here happens at import.
 */
export function startOwnSockets(): boolean {
  if (started) return haveOwnSockets;
  started = true;
  native = load();
  haveOwnSockets = native !== undefined;
  if (haveOwnSockets) process.on('SIGURG', ignore);
  return haveOwnSockets;
}

/** How a socket built from a descriptor reads: see `new net.Socket({ onread })`. */
export interface OwnReads {
  buffer: Uint8Array;
  callback: (this: net.Socket, bytes: number, buffer: Uint8Array) => boolean;
}

/** Descriptors taken per native call; a full batch means there may be more. */
const BATCH = 256;
/** A bound on one call, however fast clients arrive: Linux caps a listen backlog at 4096 by default. */
const MAX_PER_CALL = 4096;
const fds = new Int32Array(BATCH);

/**
 * Accepts every connection waiting in `server`'s queue (up to 4,096) and gives each to `take`
 * as a descriptor. Returns how many; 0 without the helper or when nothing waits.
 */
export function acceptWaiting(server: net.Server, take: (fd: number) => void): number {
  const listeningFd = handleFd(server);
  if (native === undefined || listeningFd === undefined) return 0;
  let taken = 0;
  for (let count = BATCH; count === BATCH && taken < MAX_PER_CALL; ) {
    count = native.acceptInto(listeningFd, fds);
    for (let i = 0; i < count; i++) take(fds[i]!);
    taken += count;
  }
  return taken;
}

/**
 * Takes over a socket that libuv accepted (paused, not yet read from): returns a second
 * descriptor for it and destroys the original. Without the helper, or when no descriptor is
 * left (EMFILE), returns undefined and leaves the socket alone.
 */
export function takeOver(socket: net.Socket): number | undefined {
  const fd = handleFd(socket);
  if (native === undefined || fd === undefined) return undefined;
  const copy = native.duplicate(fd);
  if (copy < 0) return undefined;
  socket.destroy();
  return copy;
}

/**
 * A socket built from `fd`, set up as the echo server's own: half-open allowed, no Nagle,
 * reading into `reads` (or, without, through its stream). One that cannot be built is closed:
 * returns undefined.
 */
export function socketFromDescriptor(fd: number, reads: OwnReads | undefined): net.Socket | undefined {
  try {
    // `onread` is a documented option of the constructor that @types/node 20 leaves out. Its
    // callback is called with the socket as `this` on every supported line (20, 22, 26).
    const options = { fd, readable: true, writable: true, allowHalfOpen: true, ...(reads === undefined ? {} : { onread: reads }) };
    const socket = new net.Socket(options as net.SocketConstructorOpts);
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

/**
 * A listening server's 'connection' handler for the native path: each time libuv hands over a
 * connection, it is taken over (a socket of our own, reading into `reads`) and then the rest of
 * the kernel's queue is accepted here (`acceptWaiting`), each socket handed to `take`. When
 * `reads` is undefined (TLS, which reads through streams anyway), libuv's socket is kept as it
 * is, and only the rest of the queue is accepted here.
 */
export function ownAcceptor(server: net.Server, reads: OwnReads | undefined, take: (socket: net.Socket) => void): (socket: net.Socket) => void {
  const takeDescriptor = (fd: number): void => {
    const socket = socketFromDescriptor(fd, reads);
    if (socket !== undefined) take(socket);
  };
  return (socket) => {
    if (reads === undefined) {
      take(socket); // reading through its stream anyway (TLS): libuv's socket will do, no second descriptor
    } else {
      const fd = takeOver(socket);
      if (fd === undefined) socket.destroy(); // out of descriptors: this client cannot be served now
      else takeDescriptor(fd);
    }
    acceptWaiting(server, takeDescriptor);
    watchNewSocketsSoon();
  };
}

/**
 * How long ago the kernel last sent data on `socket` (Linux's TCP_INFO), in ms: Node sees
 * bytes leave only when the kernel takes them, and a slow reader may take seconds more to
 * receive them. Undefined without the helper, or where the kernel does not say.
 */
export function msSinceDataSent(socket: net.Socket): number | undefined {
  const fd = handleFd(socket);
  if (native === undefined || fd === undefined) return undefined;
  const ms = native.msSinceDataSent(fd);
  return ms >= 0 ? ms : undefined;
}

/**
 * Makes libuv watch sockets it was given during the current poll phase soon, rather than
 * after it. libuv adds new descriptors to epoll only when a poll phase begins (uv__io_poll in
 * src/unix/linux.c applies its watcher queue first), and a poll phase goes on for up to 48
 * batches of 1,024 events while every epoll_wait fills the batch: with thousands of busy
 * clients, about a second. A connection accepted early in it would wait that long for its
 * first read. The phase also ends at once when a signal arrives.
 *
 * So after an accept, the reads that follow in the same phase are counted (`countRead`), and
 * once a whole batch of them has come, the phase is known to be a long one: the process sends
 * itself a harmless signal (SIGURG, ignored by default and handled here), once per phase at
 * most. A phase that ends sooner (the check phase after it clears the mark) costs nothing:
 * with connections arriving one at a time, a signal on every accept cost about a tenth more
 * server CPU per connection (the two builds in turns, each under bench/loads/setup-client.ts's
 * plain connect-echo-close churn).
 */
function watchNewSocketsSoon(): void {
  if (acceptedThisPhase) return;
  acceptedThisPhase = true;
  readsSinceAccept = 0;
  setImmediate(pollPhaseEnded);
}

/** One read of an own socket: see `watchNewSocketsSoon`. */
export function countRead(): void {
  if (acceptedThisPhase && ++readsSinceAccept === EPOLL_BATCH) process.kill(process.pid, 'SIGURG');
}

/** libuv's epoll batch (uv__io_poll's `events` array). */
const EPOLL_BATCH = 1024;
let acceptedThisPhase = false;
let readsSinceAccept = 0;

function pollPhaseEnded(): void {
  acceptedThisPhase = false;
}

function ignore(): void {}

function handleFd(owner: net.Server | net.Socket): number | undefined {
  const fd = (owner as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  return fd !== undefined && fd >= 0 ? fd : undefined;
}
