import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { suspend, withTimeout, type Operation } from '../tasks/index.js';
import type { TlsHandshakeFailure } from './stats.js';

/** Whether the TLS listener asks clients for a certificate, and whether it insists. */
export const TLS_CLIENT_AUTH = ['none', 'request', 'require'] as const;
export type TlsClientAuth = (typeof TLS_CLIENT_AUTH)[number];

/** What the TLS listener is told: PEM files, read at start and again on every reload. */
export interface TlsSettings {
  certFile: string;
  keyFile: string;
  /** CA certificates that client certificates must chain to (mutual TLS). */
  caFile?: string;
  clientAuth: TlsClientAuth;
  /** A client that has not finished its handshake by then is dropped (counted as `timeout`). */
  handshakeTimeoutMs: number;
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
 * The server's side of TLS: the certificate, the key and the client-certificate policy as one
 * secure context, and the handshake as a switch point. `reload()` reads the files again; a
 * connection gets the context current when its handshake begins, so open connections are
 * untouched, and a bad file keeps the old context (`reload` throws and changes nothing).
 *
 * @example
 *   const endpoint = new TlsEndpoint(settings);
 *   const secure = yield* endpoint.handshake(socket);   // throws TlsHandshakeError
 */
export class TlsEndpoint {
  private context: tls.SecureContext;

  constructor(readonly settings: TlsSettings) {
    this.context = TlsEndpoint.load(settings);
  }

  /** Reads the files again; on any error the old certificate stays and this throws. */
  reload(): void {
    this.context = TlsEndpoint.load(this.settings);
  }

  /**
   * Runs the server side of a TLS handshake on `raw` (whose unread bytes, put back with
   * `unshift`, are the start of it) and returns the TLS socket once it is secure. `attach` is
   * called with the TLS socket at once, before the handshake, so that its owner listens for
   * errors from the first moment. Fails with a TlsHandshakeError: `timeout` after
   * `handshakeTimeoutMs`, `reset` if the client went away, `certificate` if its certificate
   * was missing or not trusted where one is required, `protocol` for anything that is not a
   * TLS handshake the server can speak.
   */
  *handshake(raw: Socket, attach: (socket: tls.TLSSocket) => void): Operation<tls.TLSSocket> {
    const { clientAuth, handshakeTimeoutMs } = this.settings;
    const socket = new tls.TLSSocket(raw, {
      isServer: true,
      secureContext: this.context,
      requestCert: clientAuth !== 'none',
      rejectUnauthorized: clientAuth === 'require',
    });
    attach(socket);
    let outcome: void | typeof TIMED_OUT;
    try {
      outcome = yield* withTimeout(handshakeTimeoutMs > 0 ? handshakeTimeoutMs : Infinity, secured(socket), TIMED_OUT);
    } catch (error) {
      socket.destroy();
      throw error;
    }
    if (outcome === TIMED_OUT) {
      socket.destroy();
      throw new TlsHandshakeError('timeout', `no TLS handshake within ${handshakeTimeoutMs} ms`);
    }
    // OpenSSL refuses a missing certificate itself; one that does not chain to the CA passes
    // the handshake and is refused here, as Node's own TLS server does after 'secure'.
    if (clientAuth === 'require' && !socket.authorized) {
      socket.destroy();
      throw new TlsHandshakeError('certificate', `client certificate refused: ${String(socket.authorizationError)}`);
    }
    return socket;
  }

  private static load(settings: TlsSettings): tls.SecureContext {
    const read = (file: string, what: string) => {
      try {
        return readFileSync(file);
      } catch (error) {
        throw new TlsConfigError(`cannot read the TLS ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      }
    };
    const cert = read(settings.certFile, 'certificate');
    const key = read(settings.keyFile, 'key');
    const ca = settings.caFile === undefined ? undefined : read(settings.caFile, 'CA file');
    try {
      return tls.createSecureContext({ cert, key, ...(ca === undefined ? {} : { ca }) });
    } catch (error) {
      throw new TlsConfigError(`TLS certificate ${settings.certFile} and key ${settings.keyFile} are not usable: ${(error as Error).message}`);
    }
  }
}

const TIMED_OUT = Symbol('timed out');

/** Waits for the handshake of `socket` to complete; fails, classified, if it does not. */
function secured(socket: tls.TLSSocket): Operation<void> {
  return suspend<void>((resume, fail) => {
    const onSecure = () => resume();
    const onError = (error: NodeJS.ErrnoException) => fail(classify(error));
    const onClose = () => fail(new TlsHandshakeError('reset', 'the client closed the connection during the TLS handshake'));
    socket.once('secure', onSecure);
    socket.once('error', onError);
    socket.once('close', onClose);
    return () => {
      socket.removeListener('secure', onSecure);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
    };
  });
}

const RESETS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** Sorts an error from a server-side handshake into its reason (OpenSSL's reason codes). */
export function classify(error: NodeJS.ErrnoException): TlsHandshakeError {
  const code = error.code ?? '';
  const text = `${code} ${error.message}`.toUpperCase();
  let reason: TlsHandshakeFailure = 'other';
  if (RESETS.has(code)) reason = 'reset';
  else if (/CERTIFICATE|CERT_|UNKNOWN_CA|BAD_CERT|UNAUTHORIZED/.test(text)) reason = 'certificate';
  else if (/VERSION|PROTOCOL|HTTP_REQUEST|CIPHER|RECORD|PACKET|HANDSHAKE_FAILURE|SSL/.test(text)) reason = 'protocol';
  return new TlsHandshakeError(reason, `TLS handshake failed: ${error.message}`);
}
