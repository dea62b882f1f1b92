import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { suspend, withTimeout, type Operation } from '../tasks/index.js';
import { DEFAULT_TLS_PROTOCOL, type TlsVersion } from '../tls-profile.js';
import type { Connection } from './connection.js';
import type { TlsHandshakeFailure } from './stats.js';
import { STREAM_READS } from './stream-reads.js';

/** Whether the TLS listener asks clients for a certificate, and whether it insists. */
export const TLS_CLIENT_AUTH = ['none', 'request', 'require'] as const;
export type TlsClientAuth = (typeof TLS_CLIENT_AUTH)[number];

/** What the TLS listener is told: PEM files, read at start and again on every reload, and the protocol profile. */
export interface TlsSettings {
  certFile: string;
  keyFile: string;
  /** CA certificates that client certificates must chain to (mutual TLS). */
  caFile?: string;
  clientAuth: TlsClientAuth;
  /** A client that has not finished its handshake by then is dropped (counted as `timeout`). */
  handshakeTimeoutMs: number;
  /** The lowest TLS version accepted; undefined: the default profile's (src/tls-profile.ts). */
  minVersion?: TlsVersion;
  /** OpenSSL cipher list, TLS 1.3 suites (`TLS_*`) included; undefined: the default profile's. */
  ciphers?: string;
}

/** A TLS handshake that did not complete; `reason` is its metric label. */
export class TlsHandshakeError extends Error {
  readonly code = 'ETLSHANDSHAKE';
  constructor(
    readonly reason: TlsHandshakeFailure,
    message: string,
  ) {
    super(message);
  }
}

/** The files could not be read or do not make a certificate and key that belong together. */
export class TlsConfigError extends Error {
  readonly code = 'ETLSCONFIG';
}

/**
 * The server's side of TLS: the certificate, the key and the client-certificate policy, and
 * the handshake as a switch point. `reload()` reads the files again; a handshake uses the
 * certificate current when it begins, so open connections are untouched, and a bad file keeps
 * the old one (`reload` throws and changes nothing).
 *
 * The handshakes run in a `tls.Server` that never listens: the server hands it each socket
 * (its 'connection' event), and it does what Node's own TLS servers do, above all checking a
 * client certificate against the CA, which a bare server-side `TLSSocket` leaves undone
 * (Node does that in the server's 'secure' handler). Its 'secureConnection' and
 * 'tlsClientError' events then say how each handshake ended; the waiting task is found by the
 * connection's address and port.
 *
 * @example
 *   const endpoint = new TlsEndpoint(settings);
 *   const secure = yield* endpoint.handshake(socket);   // throws TlsHandshakeError
 */
export class TlsEndpoint {
  private readonly engine: tls.Server;
  private readonly waiting = new Map<string, { resume: (socket: tls.TLSSocket) => void; fail: (error: unknown) => void }>();

  constructor(readonly settings: TlsSettings) {
    const { clientAuth } = settings;
    this.engine = tls.createServer({
      ...TlsEndpoint.load(settings),
      requestCert: clientAuth !== 'none',
      // The engine never refuses a certificate itself: it would destroy the socket without a
      // word that names the connection (Node notes why only on that socket). It verifies the
      // chain and says so in `authorized`; `settle` refuses, and the refusal is counted. (The
      // price: a client without a certificate is closed after the handshake instead of
      // getting OpenSSL's 'certificate required' alert in it.)
      rejectUnauthorized: false,
      // The deadline is the handshake's own (withTimeout below), not the engine's.
      handshakeTimeout: 0,
    });
    this.engine.on('secureConnection', (socket: tls.TLSSocket) => this.settle(socket));
    this.engine.on('tlsClientError', (error: NodeJS.ErrnoException, socket: tls.TLSSocket) => this.waiting.get(keyOf(socket))?.fail(classify(error)));
  }

  /** A handshake completed: the connection goes on if its client certificate is as required. */
  private settle(socket: tls.TLSSocket): void {
    const waiter = this.waiting.get(keyOf(socket));
    if (this.settings.clientAuth === 'require' && !socket.authorized) {
      const presented = Object.keys(socket.getPeerCertificate()).length > 0;
      const why = presented ? `TLS client certificate not trusted: ${String(socket.authorizationError)}` : 'no TLS client certificate';
      socket.destroy();
      waiter?.fail(new TlsHandshakeError('certificate', why));
    } else if (waiter === undefined) {
      socket.destroy(); // its client reset it already (its peer has no name any more)
    } else {
      waiter.resume(socket);
    }
  }

  /** Reads the files again; on any error the old certificate stays and this throws. */
  reload(): void {
    this.engine.setSecureContext(TlsEndpoint.load(this.settings));
  }

  /**
   * Runs the server side of a TLS handshake on `raw` (whose unread bytes, put back with
   * `unshift`, are the start of it) and returns the TLS socket once it is secure and, where
   * required, its client certificate trusted. Fails with a TlsHandshakeError: `timeout` after
   * `handshakeTimeoutMs`, `reset` if the client went away, `certificate` if its certificate
   * was missing or not trusted where one is required, `protocol` for anything that is not a
   * TLS handshake the server can speak.
   */
  *handshake(raw: Socket): Operation<tls.TLSSocket> {
    const { handshakeTimeoutMs } = this.settings;
    const key = keyOf(raw);
    const outcome = yield* withTimeout(handshakeTimeoutMs > 0 ? handshakeTimeoutMs : Infinity, this.secured(key, raw), TIMED_OUT);
    if (outcome === TIMED_OUT) {
      raw.destroy();
      throw new TlsHandshakeError('timeout', `no TLS handshake within ${handshakeTimeoutMs} ms`);
    }
    return outcome;
  }

  /** Hands `raw` to the engine and waits for its handshake to end, one way or the other. */
  private secured(key: string, raw: Socket): Operation<tls.TLSSocket> {
    return suspend<tls.TLSSocket>((resume, fail) => {
      // The engine destroys the raw socket with every failed handshake, after telling why
      // ('tlsClientError'). It cannot tell which connection a reset one was (the kernel no
      // longer names its peer), so the close is what ends that wait.
      const closed = () => fail(new TlsHandshakeError('reset', 'the client went away during the TLS handshake'));
      raw.once('close', closed);
      this.waiting.set(key, { resume, fail });
      this.engine.emit('connection', raw);
      return () => {
        this.waiting.delete(key);
        raw.off('close', closed);
      };
    });
  }

  /**
   * The secure context's options: the files as they are now, and the protocol profile. A
   * reload builds the whole context again from these, so the version and the ciphers stay.
   */
  private static load(settings: TlsSettings): tls.SecureContextOptions {
    const read = (file: string, what: string) => {
      try {
        return readFileSync(file);
      } catch (error) {
        throw new TlsConfigError(`cannot read the TLS ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      }
    };
    const files = { cert: read(settings.certFile, 'certificate'), key: read(settings.keyFile, 'key') };
    const ca = settings.caFile === undefined ? {} : { ca: read(settings.caFile, 'CA file') };
    const protocol = { minVersion: settings.minVersion ?? DEFAULT_TLS_PROTOCOL.minVersion, ciphers: settings.ciphers ?? DEFAULT_TLS_PROTOCOL.ciphers };
    try {
      tls.createSecureContext({ ...files, ...ca, ...protocol }); // refused here rather than half-applied
    } catch (error) {
      throw new TlsConfigError(`TLS certificate ${settings.certFile} and key ${settings.keyFile} are not usable: ${(error as Error).message}`);
    }
    return { ...files, ...ca, ...protocol };
  }
}

/**
 * Runs a TLS handshake on `connection`'s socket (a switch point); from then on the connection
 * reads and writes through TLS, and a TLS socket reads through its stream. What the task had
 * received but not taken (the bytes after a PROXY header) is the start of the handshake: it
 * goes back into the socket first. Throws a TlsHandshakeError if the handshake fails; the
 * connection then holds its raw socket again, so that `close` sees it close (it may have
 * already). Until the handshake ends the TLS engine listens to the socket (it reports errors
 * as handshake failures); from the secure socket on, the connection does.
 */
export function* startTls(connection: Connection, endpoint: TlsEndpoint): Operation<void> {
  const raw = connection.release();
  let secure: tls.TLSSocket;
  try {
    secure = yield* endpoint.handshake(raw);
  } catch (error) {
    connection.rebind(raw, STREAM_READS);
    throw error;
  }
  connection.rebind(secure, STREAM_READS);
}

/** A connection's address and port: the same on the raw socket and on the TLS socket over it (while the peer is connected). */
function keyOf(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

const TIMED_OUT = Symbol('timed out');

const RESETS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** Sorts an error from a server-side handshake into its reason (OpenSSL's reason codes). */
function classify(error: NodeJS.ErrnoException): TlsHandshakeError {
  const code = error.code ?? '';
  const text = `${code} ${error.message}`.toUpperCase();
  let reason: TlsHandshakeFailure = 'other';
  if (RESETS.has(code)) reason = 'reset';
  else if (/CERTIFICATE|CERT_|UNKNOWN_CA|BAD_CERT|UNAUTHORIZED/.test(text)) reason = 'certificate';
  else if (/VERSION|PROTOCOL|HTTP_REQUEST|CIPHER|RECORD|PACKET|HANDSHAKE_FAILURE|SSL/.test(text)) reason = 'protocol';
  return new TlsHandshakeError(reason, `TLS handshake failed: ${error.message}`);
}
