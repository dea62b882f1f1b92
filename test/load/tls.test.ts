import net from 'node:net';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_SUBJECT, makeCertificates, type TestCertificates } from '../support/certificates.js';
import { runLoad, runLoadJson } from './support/cli.js';
import { startServer } from '../support/server.js';
import { startFakeServer, startTlsEchoServer } from './support/servers.js';

let certs: TestCertificates;

beforeAll(async () => {
  certs = await makeCertificates();
});

afterAll(async () => {
  await certs.cleanup();
});

const serverOptions = () => ({ cert: certs.server.cert, key: certs.server.key });
const trusting = () => ['--tls', '--tls-ca', certs.ca.certFile, '--servername', 'localhost'];

describe('echo-load --tls against a real Node tls echo server', () => {
  it('checks every echo and times the handshakes apart from connect, first echo and latency', async () => {
    const { port } = await startTlsEchoServer(serverOptions());
    const { code, result, stderr } = await runLoadJson([...trusting(), '--port', String(port), '--clients', '20', '--messages', '2000', '--pipeline', '4']);
    expect(code, stderr).toBe(0);
    expect(result).toMatchObject({ tls: true, proxyProtocol: 'off', held: 20, errors: 0, handshakeFailures: 0 });
    expect(result.requests.total).toBe(2000);
    expect(result.handshake).toBeDefined();
    // Same keys as latency, one handshake per connection.
    expect(Object.keys(result.handshake!).sort()).toEqual(Object.keys(result.latency).sort());
    expect([result.connect.totalCount, result.handshake!.totalCount, result.firstEcho.totalCount]).toEqual([20, 20, 20]);
    expect(result.handshake!.min).toBeGreaterThan(0);
  });

  it('shows the handshake as its own row of the report, between Connect and First echo', async () => {
    const { port } = await startTlsEchoServer(serverOptions());
    const { code, stdout } = await runLoad([...trusting(), '--port', String(port), '--clients', '4', '--messages', '40']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^echo-load: 4 connections to 127\.0\.0\.1:\d+ over \d workers?, 64 B messages, pipeline 1, TLS$/m);
    const rows = stdout.split('\n').filter((line) => /^│ (Connect|TLS handshake|First echo|Echo latency) /.test(line));
    expect(rows.map((row) => row.split('│')[1]!.trim())).toEqual(['Connect', 'TLS handshake', 'First echo', 'Echo latency']);
    expect(rows[1]).toMatch(/│ 4 +│$/);
  });

  it('with a plain server, has no handshake figures and lists no handshake failures', async () => {
    const { port } = await startServer();
    const { code, result } = await runLoadJson(['--port', String(port), '--clients', '2', '--messages', '20']);
    expect(code).toBe(0);
    expect(result).not.toHaveProperty('handshake');
    expect(result).toMatchObject({ tls: false, handshakeFailures: 0 });
    const { stdout } = await runLoad(['--port', String(port), '--clients', '2', '--messages', '20']);
    expect(stdout).not.toMatch(/handshake/i);
  });

  it('skips verification with --insecure (a self-signed certificate)', async () => {
    const { port } = await startTlsEchoServer({ cert: certs.selfSigned.cert, key: certs.selfSigned.key });
    const { code, result } = await runLoadJson(['--tls', '--insecure', '--port', String(port), '--clients', '3', '--messages', '30']);
    expect(code).toBe(0);
    expect(result.held).toBe(3);
  });

  it('presents a client certificate for mutual TLS, and the server sees its subject', async () => {
    const server = await startTlsEchoServer({ ...serverOptions(), ca: certs.ca.cert, requestCert: true, rejectUnauthorized: true });
    const mutual = ['--tls-cert', certs.client.certFile, '--tls-key', certs.client.keyFile];
    const { code, result } = await runLoadJson([...trusting(), ...mutual, '--port', String(server.port), '--clients', '3', '--messages', '30']);
    expect(code).toBe(0);
    expect(result.held).toBe(3);
    expect(server.secured).toEqual(Array(3).fill(CLIENT_SUBJECT.replace('CN=', '')));
  });
});

describe("echo-load's TLS version and cipher suites reach its connections", () => {
  /** A Node tls echo server that speaks at most TLS 1.2 (with `ciphers`), and the suites its clients agreed to. */
  async function tls12Server(ciphers?: string): Promise<{ port: number; agreed: string[] }> {
    const { port, server } = await startTlsEchoServer({ ...serverOptions(), maxVersion: 'TLSv1.2', ...(ciphers === undefined ? {} : { ciphers }) });
    const agreed: string[] = [];
    server.on('secureConnection', (socket: tls.TLSSocket) => agreed.push(`${socket.getProtocol()} ${socket.getCipher().name}`));
    return { port, agreed };
  }
  const runArgs = (port: number, args: string[]) => [...trusting(), '--port', String(port), '--clients', '2', '--workers', '1', '--messages', '20', ...args];
  /** A run in which every handshake failed: echo-load's one line instead of a report, exit 1. */
  async function refusedRun(port: number, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
    const { code, stdout, stderr } = await runLoad(runArgs(port, args), undefined, env);
    expect([code, stdout]).toEqual([1, '']);
    return stderr.trim();
  }

  it('--tls-min-version TLSv1.3 fails against a server of at most TLS 1.2, as a protocol mismatch; the default gets through', async () => {
    const { port, agreed } = await tls12Server();
    expect(await refusedRun(port, ['--tls-min-version', 'TLSv1.3'])).toMatch(/^echo-load: TLS handshake with 127\.0\.0\.1:\d+ failed: protocol mismatch: .*protocol version/);
    expect(agreed).toEqual([]);
    const { code, result } = await runLoadJson(runArgs(port, []));
    expect([code, result.held]).toEqual([0, 2]);
    expect(agreed).toEqual(['TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256', 'TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256']);
  });

  it('offers only the default profile: a server that takes only a CBC suite fails, unless --tls-ciphers widens it', async () => {
    const { port, agreed } = await tls12Server('ECDHE-ECDSA-AES128-SHA');
    expect(await refusedRun(port, [])).toMatch(/failed: protocol mismatch: .*handshake failure/i);
    expect(agreed).toEqual([]);
    const { code, result } = await runLoadJson(runArgs(port, ['--tls-ciphers', 'ECDHE-ECDSA-AES128-SHA']));
    expect([code, result.held]).toEqual([0, 2]);
    expect(agreed).toEqual(['TLSv1.2 ECDHE-ECDSA-AES128-SHA', 'TLSv1.2 ECDHE-ECDSA-AES128-SHA']);
  });

  it('reads ECHO_LOAD_TLS_MIN_VERSION and ECHO_LOAD_TLS_CIPHERS', async () => {
    const { port, agreed } = await tls12Server();
    const { code, result } = await runLoadJson(runArgs(port, []), undefined, { ECHO_LOAD_TLS_CIPHERS: 'ECDHE-ECDSA-CHACHA20-POLY1305' });
    expect([code, result.held]).toEqual([0, 2]);
    expect(agreed).toEqual(['TLSv1.2 ECDHE-ECDSA-CHACHA20-POLY1305', 'TLSv1.2 ECDHE-ECDSA-CHACHA20-POLY1305']);
    expect(await refusedRun(port, [], { ECHO_LOAD_TLS_MIN_VERSION: 'TLSv1.3' })).toMatch(/failed: protocol mismatch: /);
  });
});

describe('echo-load --tls counts a failed handshake once per connection, by its cause', () => {
  /** A run in which no connection got through: one line on stderr, exit 1. */
  async function failedRun(args: string[]): Promise<string> {
    const { code, stdout, stderr } = await runLoad(args);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    return stderr.trim();
  }

  it('names an expired server certificate a certificate error', async () => {
    const { port } = await startTlsEchoServer({ cert: certs.expired.cert, key: certs.expired.key });
    const line = await failedRun([...trusting(), '--port', String(port), '--clients', '3', '--messages', '30']);
    expect(line).toMatch(/^echo-load: TLS handshake with 127\.0\.0\.1:\d+ failed: certificate error: certificate has expired \(CERT_HAS_EXPIRED\), connection \d$/);
  });

  it('names a certificate no trusted CA signed, or for another name, a certificate error', async () => {
    const selfSigned = await startTlsEchoServer({ cert: certs.selfSigned.cert, key: certs.selfSigned.key });
    expect(await failedRun([...trusting(), '--port', String(selfSigned.port), '--clients', '2', '--messages', '2'])).toMatch(
      /failed: certificate error: .*\(DEPTH_ZERO_SELF_SIGNED_CERT\)/,
    );
    const good = await startTlsEchoServer(serverOptions());
    const wrongName = ['--tls', '--tls-ca', certs.ca.certFile, '--servername', 'echo.example'];
    expect(await failedRun([...wrongName, '--port', String(good.port), '--clients', '2', '--messages', '2'])).toMatch(/failed: certificate error: .*\(ERR_TLS_CERT_ALTNAME_INVALID\)/);
  });

  it('names the server refusing a client without a certificate a certificate error', async () => {
    const { port } = await startTlsEchoServer({ ...serverOptions(), ca: certs.ca.cert, requestCert: true, rejectUnauthorized: true });
    // Under TLS 1.3 the client finishes its handshake first (it is timed, and counts as
    // connected); the refusal is an alert on the first read after it.
    const { code, result } = await runLoadJson([...trusting(), '--port', String(port), '--clients', '2', '--messages', '20']);
    expect(code).toBe(1);
    expect(result).toMatchObject({ held: 0, errors: 2, handshakeFailures: 2 });
    expect(result.failures.handshake).toMatch(/^certificate error: .*\(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED\), connection \d$/);
  });

  it('names a server that does not speak TLS, or no common version, a protocol mismatch', async () => {
    const plain = await startServer();
    expect(await failedRun([...trusting(), '--port', String(plain.port), '--clients', '2', '--messages', '2'])).toMatch(/failed: protocol mismatch: /);
    const old = await startTlsEchoServer({ ...serverOptions(), minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' });
    expect(await failedRun([...trusting(), '--port', String(old.port), '--clients', '2', '--messages', '2'])).toMatch(
      /failed: protocol mismatch: .*(unsupported protocol|protocol version)/,
    );
  });

  it('names a server that never answers the handshake a handshake timeout (within --connect-timeout)', async () => {
    const { port } = await startFakeServer(() => {});
    const line = await failedRun([...trusting(), '--port', String(port), '--clients', '2', '--messages', '2', '--connect-timeout', '300ms']);
    expect(line).toMatch(/failed: handshake timeout: no TLS handshake within 300 ms of connecting, connection \d$/);
  });

  it('counts only the connections whose handshake failed, in handshakeFailures and in the report', async () => {
    // Every other connection is closed as soon as its ClientHello arrives; the rest go to TLS.
    const { server } = await startTlsEchoServer(serverOptions());
    let accepted = 0;
    const front = net.createServer((socket) => {
      socket.on('error', () => {});
      if (accepted++ % 2 === 1) socket.once('data', () => socket.destroy());
      else server.emit('connection', socket);
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      const frontPort = (front.address() as net.AddressInfo).port;
      const args = [...trusting(), '--port', String(frontPort), '--clients', '10', '--workers', '1', '--messages', '100'];
      const { code, result } = await runLoadJson(args);
      expect(code).toBe(1);
      expect(result).toMatchObject({ handshakeFailures: 5, errors: 5, connected: 5, held: 5 });
      expect(result.handshake!.totalCount).toBe(5);
      expect(result.failures.handshake).toMatch(/^closed during the TLS handshake\b.*, connection \d$/);
      const report = await runLoad(args);
      expect(report.stdout).toMatch(/^5 errors: 0 refused, 5 handshake failures, 0 resets, 0 timeouts, 0 mismatches$/m);
      expect(report.stdout).toMatch(/^ {2}first handshake failure: closed during the TLS handshake\b/m);
    } finally {
      await new Promise((resolve) => front.close(resolve));
    }
  });
});
