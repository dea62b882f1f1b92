import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsPort } from '../deploy/metrics-port.js';
import { requireTool, run } from '../deploy/tools.js';
import { scrape } from '../metrics/scrape.js';
import { makeCertificates, type TestCertificates } from '../support/certificates.js';
import { eventually } from '../support/eventually.js';
import { SERVER_CLI, startServerProcess, type ServerProcess } from '../support/server-process.js';

let certs: TestCertificates;
/** An RSA certificate beside the test CA's EC ones: the RSA suites (and static RSA) show only with one. */
let rsa: { certFile: string; keyFile: string };

beforeAll(async () => {
  requireTool('sslscan');
  certs = await makeCertificates();
  rsa = { certFile: join(certs.dir, 'rsa.pem'), keyFile: join(certs.dir, 'rsa.key') };
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', rsa.keyFile, '-out', rsa.certFile, '-subj', '/CN=localhost', '-days', '7']);
});
afterAll(() => certs.cleanup());

/** echo-server with a TLS listener on a free port, with `certificate` (the test CA's EC one by default) and `args`. */
async function tlsServer(args: string[] = [], certificate: { certFile: string; keyFile: string } = certs.server): Promise<ServerProcess & { tlsPort: number }> {
  const server = await startServerProcess(['--tls-port', '0', '--tls-cert', certificate.certFile, '--tls-key', certificate.keyFile, ...args]);
  return { ...server, tlsPort: server.logs.find((line) => line.msg === 'listening')!.tlsPort as number };
}

/** What sslscan found: each protocol on or off (`SSLv3`, `TLSv1.0`, ...), and each suite accepted, by version. */
interface Scan {
  protocols: Record<string, boolean>;
  suites: Record<string, string[]>;
}

/** Runs the real scanner against 127.0.0.1:`port` and reads its XML report. */
async function sslscan(port: number, args: string[] = []): Promise<Scan> {
  const { code, stdout, stderr } = await run('sslscan', ['--no-colour', '--xml=-', ...args, `127.0.0.1:${port}`], { timeoutMs: 60_000 });
  expect(code, stderr).toBe(0);
  const attributes = (tag: string) => Object.fromEntries([...tag.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
  const protocols: Record<string, boolean> = {};
  for (const [tag] of stdout.matchAll(/<protocol [^>]*>/g)) {
    const { type, version, enabled } = attributes(tag);
    protocols[`${type === 'ssl' ? 'SSLv' : 'TLSv'}${version}`] = enabled === '1';
  }
  const suites: Record<string, string[]> = {};
  for (const [tag] of stdout.matchAll(/<cipher [^>]*>/g)) {
    const { sslversion, cipher } = attributes(tag);
    (suites[sslversion!] ??= []).push(cipher!);
  }
  return { protocols, suites };
}

/** A TLS client's handshake with `port`: the version and suite agreed, or the error's code. */
function handshake(port: number, options: tls.ConnectionOptions = {}): Promise<{ protocol: string | null; cipher: string } | { error: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.ca.cert, servername: 'localhost', ...options }, () => {
      resolve({ protocol: socket.getProtocol(), cipher: socket.getCipher().name });
      socket.end();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
  });
}

/** One echo over TLS: what came back for `text`. */
function tlsEcho(port: number, text: string, options: tls.ConnectionOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.ca.cert, servername: 'localhost', ...options }, () => socket.write(text));
    let reply = '';
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.length >= text.length) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(reply));
  });
}

/** `openssl s_client` with `args`: its exit code once the handshake is over (its input is empty, so it ends there). */
function sClient(port: number, args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', certs.ca.certFile, ...args], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin.end();
    child.on('close', (code) => resolve(code));
  });
}

/** Waits for the server to log the SIGHUP reload it was just sent. */
async function reload(server: ServerProcess): Promise<void> {
  server.child.kill('SIGHUP');
  await eventually(() => server.logs.some((line) => line.msg === 'TLS certificate reloaded'), 'the reload');
}

/** A TLS 1.2 suite with forward secrecy (ECDHE) and an AEAD cipher (AES-GCM or ChaCha20-Poly1305). */
const MODERN_TLS12_SUITE = /^ECDHE-(ECDSA|RSA)-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)$/;

describe('the TLS listener by default, as sslscan sees it', () => {
  it.each([
    ['an ECDSA', () => certs.server, 'ECDSA'],
    ['an RSA', () => rsa, 'RSA'],
  ])('with %s certificate: TLS 1.2 and 1.3 only, and on 1.2 only ECDHE with AES-GCM or ChaCha20', async (_, certificate, kind) => {
    const server = await tlsServer([], certificate());
    const scan = await sslscan(server.tlsPort);
    expect(scan.protocols).toEqual({ SSLv2: false, SSLv3: false, 'TLSv1.0': false, 'TLSv1.1': false, 'TLSv1.2': true, 'TLSv1.3': true });
    expect(Object.keys(scan.suites).sort()).toEqual(['TLSv1.2', 'TLSv1.3']);
    expect(scan.suites['TLSv1.3']!.sort()).toEqual(['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']);
    const tls12 = scan.suites['TLSv1.2']!;
    expect(tls12.filter((suite) => !MODERN_TLS12_SUITE.test(suite))).toEqual([]);
    expect(tls12.sort()).toEqual([`ECDHE-${kind}-AES128-GCM-SHA256`, `ECDHE-${kind}-AES256-GCM-SHA384`, `ECDHE-${kind}-CHACHA20-POLY1305`]);
  }, 60_000);

  it('sees TLS 1.0 and 1.1 once --tls-min-version TLSv1 and the documented cipher list open them, and a TLS 1.0 client is echoed', async () => {
    const server = await tlsServer(['--tls-min-version', 'TLSv1', '--tls-ciphers', 'DEFAULT:@SECLEVEL=0'], rsa);
    const scan = await sslscan(server.tlsPort);
    expect(scan.protocols).toMatchObject({ SSLv3: false, 'TLSv1.0': true, 'TLSv1.1': true, 'TLSv1.2': true, 'TLSv1.3': true });
    expect(scan.suites['TLSv1.2']!.filter((suite) => !MODERN_TLS12_SUITE.test(suite)).length).toBeGreaterThan(0);
    const old = { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0', rejectUnauthorized: false } as const;
    expect(await tlsEcho(server.tlsPort, 'tls one', old)).toBe('TLS ONE');
  }, 60_000);
});

describe('--tls-min-version and --tls-ciphers', () => {
  it('--tls-min-version TLSv1.3 refuses a TLS 1.2 client and serves a 1.3 one, also after a SIGHUP reload', async () => {
    const server = await tlsServer(['--tls-min-version', 'TLSv1.3']);
    const check = async () => {
      expect(await handshake(server.tlsPort, { maxVersion: 'TLSv1.2' })).toEqual({ error: expect.stringMatching(/PROTOCOL_VERSION/) });
      expect(await sClient(server.tlsPort, ['-tls1_2'])).not.toBe(0);
      expect(await sClient(server.tlsPort, ['-tls1_3'])).toBe(0);
      expect(await tlsEcho(server.tlsPort, 'one three')).toBe('ONE THREE');
    };
    await check();
    await reload(server);
    await check();
    const samples = await scrape(`http://127.0.0.1:${metricsPort(server)}`);
    expect(samples.get('echo_tls_handshake_failures_total{reason="protocol"}')).toBe(4);
  }, 60_000);

  it('--tls-ciphers leaves TLS 1.2 exactly the suites given, also after a SIGHUP reload', async () => {
    const server = await tlsServer(['--tls-ciphers', 'ECDHE-ECDSA-CHACHA20-POLY1305']);
    const check = async () => {
      expect((await sslscan(server.tlsPort, ['--tls12'])).suites).toEqual({ 'TLSv1.2': ['ECDHE-ECDSA-CHACHA20-POLY1305'] });
      expect(await handshake(server.tlsPort, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })).toEqual({ error: expect.stringMatching(/HANDSHAKE_FAILURE/) });
      expect(await handshake(server.tlsPort, { maxVersion: 'TLSv1.2' })).toEqual({ protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-CHACHA20-POLY1305' });
    };
    await check();
    await reload(server);
    await check();
  }, 60_000);

  it('read ECHO_TLS_MIN_VERSION and ECHO_TLS_CIPHERS', async () => {
    const server = await startServerProcess(['--tls-port', '0', '--tls-cert', certs.server.certFile, '--tls-key', certs.server.keyFile], {
      env: { ECHO_TLS_MIN_VERSION: 'TLSv1.3', ECHO_TLS_CIPHERS: 'TLS_CHACHA20_POLY1305_SHA256' },
    });
    const tlsPort = server.logs.find((line) => line.msg === 'listening')!.tlsPort as number;
    expect(await handshake(tlsPort)).toEqual({ protocol: 'TLSv1.3', cipher: 'TLS_CHACHA20_POLY1305_SHA256' });
    expect(await handshake(tlsPort, { maxVersion: 'TLSv1.2' })).toEqual({ error: expect.stringMatching(/PROTOCOL_VERSION/) });
  });

  it.each([
    [['--tls-min-version', 'TLSv1.4'], {}, /argument 'TLSv1\.4' is invalid\. Allowed choices are TLSv1, TLSv1\.1, TLSv1\.2, TLSv1\.3\.$/],
    [['--tls-min-version', 'SSLv3'], {}, /argument 'SSLv3' is invalid/],
    [['--tls-ciphers', 'ECDHE-RSA-AES999-GCM'], {}, /OpenSSL refuses tls-ciphers 'ECDHE-RSA-AES999-GCM' \(no cipher match\)$/],
    [['--tls-ciphers', 'TLS_AES_128_GCM_SHA256:RC4-MD5'], {}, /OpenSSL refuses tls-ciphers 'TLS_AES_128_GCM_SHA256:RC4-MD5' \(no cipher match\)$/],
    [['--tls-ciphers', ''], {}, /tls-ciphers: empty/],
    [[], { ECHO_TLS_CIPHERS: 'FAST' }, /value 'FAST' from env 'ECHO_TLS_CIPHERS' is invalid/],
    [[], { ECHO_TLS_MIN_VERSION: '1.2' }, /value '1\.2' from env 'ECHO_TLS_MIN_VERSION' is invalid/],
    [['--tls-min-version', 'TLSv1'], {}, /--tls-min-version TLSv1 needs --tls-ciphers with @SECLEVEL=0 .*e\.g\. --tls-ciphers 'DEFAULT:@SECLEVEL=0'$/],
    [['--tls-min-version', 'TLSv1.1', '--tls-ciphers', 'ECDHE-RSA-AES128-SHA'], {}, /--tls-min-version TLSv1\.1 needs --tls-ciphers with @SECLEVEL=0/],
  ])('refuse %j %j at start-up with one line and exit 2', async (args, env, pattern) => {
    const tlsListener = ['--tls-port', '0', '--tls-cert', certs.server.certFile, '--tls-key', certs.server.keyFile];
    const { code, stderr } = await run(process.execPath, [SERVER_CLI, '--port', '0', '--no-metrics', ...tlsListener, ...args], { env: { ...process.env, ...env } });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^echo-server: [^\n]+\n$/);
    expect(stderr.trimEnd()).toMatch(pattern);
  });

  it('need the TLS listener', async () => {
    const { code, stderr } = await run(process.execPath, [SERVER_CLI, '--port', '0', '--no-metrics', '--tls-min-version', 'TLSv1.3']);
    expect({ code, stderr }).toEqual({ code: 2, stderr: 'echo-server: --tls-min-version and --tls-ciphers need the TLS listener: give --tls-cert and --tls-key\n' });
  });
});
