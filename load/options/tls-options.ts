import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { OptionError } from '../../src/parse-option.js';
import { checkTlsProtocol, DEFAULT_TLS_PROTOCOL, parseTlsCiphers, parseTlsVersion, type TlsVersion } from '../../src/tls-profile.js';
import type { LoadTlsPlan } from '../worker/connection-plan.js';

/**
 * echo-load's TLS client settings. The files are read once, by the main thread, and kept as
 * PEM text, which crosses to the workers as it is.
 */
export interface LoadTlsOptions {
  /** CA certificates to verify the server with; undefined: Node's built-in list. */
  ca: string | undefined;
  /** A client certificate and its key (mutual TLS): both or neither. */
  cert: string | undefined;
  key: string | undefined;
  /** Do not verify the server's certificate. */
  insecure: boolean;
  /** SNI, and the name the server's certificate must match; undefined: the address itself. */
  servername: string | undefined;
  /** The lowest TLS version offered; by default echo-server's (src/tls-profile.ts). */
  minVersion: TlsVersion;
  /** The OpenSSL cipher list offered, TLS 1.3 suites (`TLS_*`) included; by default echo-server's. */
  ciphers: string;
}

/** The TLS options as commander hands them over. */
export interface RawTlsOptions {
  tls?: boolean;
  tlsCa?: string;
  insecure?: boolean;
  servername?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsMinVersion?: string;
  tlsCiphers?: string;
}

/**
 * Validates the TLS options: undefined without `--tls`, and an `OptionError` (exit 2) for a
 * TLS option without it, `--tls-ca` with `--insecure`, half a client certificate, or a file
 * that cannot be read or is no PEM the TLS library takes. The server name defaults to
 * `--host` when that is a name (an address is checked against the certificate's IP entries).
 *
 * @example
 *   parseTlsOptions({ tls: true, tlsCa: 'ca.pem' }, 'localhost') // { ca: '-----BEGIN ...', servername: 'localhost', ... }
 */
export function parseTlsOptions(raw: RawTlsOptions, host: string): LoadTlsOptions | undefined {
  if (raw.tls !== true) {
    const given = (['tlsCa', 'insecure', 'servername', 'tlsCert', 'tlsKey', 'tlsMinVersion', 'tlsCiphers'] as const).find((key) => raw[key] !== undefined);
    if (given !== undefined) throw new OptionError(`--${kebab(given)} needs --tls`);
    return undefined;
  }
  if (raw.tlsCa !== undefined && raw.insecure === true) throw new OptionError('use either --tls-ca or --insecure, not both');
  if ((raw.tlsCert === undefined) !== (raw.tlsKey === undefined)) throw new OptionError('--tls-cert and --tls-key go together');
  const servername = raw.servername?.trim();
  if (servername === '') throw new OptionError('invalid servername: empty');
  // The same profile as echo-server's listener by default: offered is what it accepts.
  const protocol = checkTlsProtocol({
    minVersion: raw.tlsMinVersion === undefined ? DEFAULT_TLS_PROTOCOL.minVersion : parseTlsVersion(raw.tlsMinVersion),
    ciphers: raw.tlsCiphers === undefined ? DEFAULT_TLS_PROTOCOL.ciphers : parseTlsCiphers(raw.tlsCiphers),
  });
  const options: LoadTlsOptions = {
    ca: readPem(raw.tlsCa, 'tls-ca'),
    cert: readPem(raw.tlsCert, 'tls-cert'),
    key: readPem(raw.tlsKey, 'tls-key'),
    insecure: raw.insecure === true,
    servername: servername ?? (isIP(host) === 0 ? host : undefined),
    ...protocol,
  };
  // What the workers will do with them, once here: a bad file is a bad option, not 500 failures.
  // (The TLS library skips a CA file without certificates in silence.)
  if (options.ca !== undefined && !isCertificate(options.ca)) throw new OptionError(`--tls-ca '${raw.tlsCa}' holds no PEM certificate`);
  try {
    createTlsPlan(options);
  } catch (error) {
    throw new OptionError(`--tls-cert '${raw.tlsCert}' and --tls-key '${raw.tlsKey}': ${(error as Error).message}`);
  }
  return options;
}

/** The secure context a worker's connections share, built once per worker: the CA, the client certificate, the version and the ciphers. */
export function createTlsPlan(options: LoadTlsOptions): LoadTlsPlan {
  return {
    context: tls.createSecureContext({ ca: options.ca, cert: options.cert, key: options.key, minVersion: options.minVersion, ciphers: options.ciphers }),
    servername: options.servername,
    rejectUnauthorized: !options.insecure,
  };
}

function readPem(file: string | undefined, option: string): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new OptionError(`cannot read --${option} '${file}' (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function isCertificate(pem: string): boolean {
  try {
    new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
