import tls from 'node:tls';
import { OptionError } from './parse-option.js';

/**
 * The TLS protocol profile both programs use, echo-server's listener and echo-load's
 * connections alike, so that echo-load by default offers exactly what echo-server accepts:
 * the lowest TLS version and the cipher suites, and the checks of `--tls-min-version` and
 * `--tls-ciphers`.
 */

/** The versions `--tls-min-version` takes, oldest first (Node's names for them). */
export const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

/** TLS 1.2 and 1.3, as Mozilla's intermediate profile. */
export const DEFAULT_TLS_MIN_VERSION: TlsVersion = 'TLSv1.2';

/**
 * The default cipher list: Mozilla's "intermediate" server-side TLS profile (version 5.7), for
 * ECDSA and RSA certificates alike. TLS 1.3's three suites, then for TLS 1.2 only forward-secret
 * key exchange (ECDHE) with AEAD ciphers (AES-GCM, ChaCha20-Poly1305): no static-RSA key
 * exchange, no CBC, no SHA-1 MACs, which Node's own default (OpenSSL's `HIGH`) still lets in
 * and a scanner flags. Every client of the last ten years speaks one of these.
 *
 * Mozilla's DHE suites are left out: Node offers DHE only with finite-field parameters
 * (`dhparam`) that this server does not load, so they would be names that never take effect,
 * and every client that has AEAD suites for TLS 1.2 has ECDHE too (DHE only costs more CPU per
 * handshake).
 *
 * OpenSSL's format: names beginning `TLS_` are TLS 1.3 suites (Node hands those to
 * SSL_CTX_set_ciphersuites), the others TLS 1.2 suites.
 */
export const DEFAULT_TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** How `--help` and docs/server.md name the default cipher list (the list itself is long). */
export const DEFAULT_TLS_CIPHERS_NAME = 'intermediate';

/**
 * What OpenSSL 3 needs to speak TLS 1.0 or 1.1 at all: security level 0 (at level 1 and above
 * it refuses their SHA-1 handshake signatures), set in the cipher string.
 */
const SECLEVEL_0 = /@SECLEVEL=0\b/;

/** The cipher list that lets TLS 1.0 and 1.1 clients in, for users who must test them. */
export const OLD_CLIENTS_TLS_CIPHERS = 'DEFAULT:@SECLEVEL=0';

/** The lowest version and the cipher suites of a TLS endpoint, as tls.createSecureContext takes them. */
export interface TlsProtocol {
  minVersion: TlsVersion;
  ciphers: string;
}

/** The default profile. */
export const DEFAULT_TLS_PROTOCOL: Readonly<TlsProtocol> = { minVersion: DEFAULT_TLS_MIN_VERSION, ciphers: DEFAULT_TLS_CIPHERS };

/**
 * Parses `--tls-min-version`.
 *
 * @example
 *   parseTlsVersion('TLSv1.3') // 'TLSv1.3'
 */
export function parseTlsVersion(text: string, optionName = 'tls-min-version'): TlsVersion {
  const version = TLS_VERSIONS.find((name) => name === text.trim());
  if (version === undefined) throw new OptionError(`invalid ${optionName} '${text}': use ${TLS_VERSIONS.slice(0, -1).join(', ')} or ${TLS_VERSIONS.at(-1)}`);
  return version;
}

/**
 * Checks `--tls-ciphers` with OpenSSL itself: a list in which it matches no suite is an
 * OptionError (not a listener that accepts nobody). Within a list that matches, OpenSSL skips
 * names it does not know, as it does for every program: lists written for other builds (such
 * as Node's own default, or Mozilla's) name suites this one lacks.
 *
 * @example
 *   parseTlsCiphers('ECDHE-RSA-AES128-GCM-SHA256') // the same string
 *   parseTlsCiphers('FAST') // throws OptionError
 */
export function parseTlsCiphers(text: string, optionName = 'tls-ciphers'): string {
  const ciphers = text.trim();
  if (ciphers === '') throw new OptionError(`invalid ${optionName}: empty (an OpenSSL cipher list, e.g. ECDHE-RSA-AES128-GCM-SHA256)`);
  try {
    tls.createSecureContext({ ciphers });
  } catch (error) {
    throw new OptionError(`OpenSSL refuses ${optionName} '${ciphers}' (${(error as Error).message.replace(/^error:[0-9A-F]+:SSL routines::/, '')})`);
  }
  return ciphers;
}

/**
 * Checks the two together: TLS 1.0 and 1.1 work only with a cipher list that lowers OpenSSL's
 * security level to 0 and has suites for them (the default has neither), so asking for them
 * without one is an OptionError that names the list to give.
 */
export function checkTlsProtocol(protocol: TlsProtocol): TlsProtocol {
  const old = TLS_VERSIONS.indexOf(protocol.minVersion) < TLS_VERSIONS.indexOf('TLSv1.2');
  if (old && !SECLEVEL_0.test(protocol.ciphers)) {
    throw new OptionError(
      `--tls-min-version ${protocol.minVersion} needs --tls-ciphers with @SECLEVEL=0 and suites for it (OpenSSL 3 refuses TLS 1.0 and 1.1 otherwise), e.g. --tls-ciphers '${OLD_CLIENTS_TLS_CIPHERS}'`,
    );
  }
  return protocol;
}
