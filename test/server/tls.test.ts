import { spawn } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsPort } from '../deploy/metrics-port.js';
import { runLoadJson } from '../load/support/cli.js';
import { scrape } from '../metrics/scrape.js';
import { CLIENT_SUBJECT, makeCertificates, type TestCertificates } from '../support/certificates.js';
import { eventually } from '../support/eventually.js';
import { SERVER_CLI, startServerProcess, type ServerProcess } from '../support/server-process.js';

let certs: TestCertificates;
beforeAll(async () => {
  certs = await makeCertificates();
});
afterAll(() => certs.cleanup());

/** echo-server with a TLS listener on a free port (and whatever else `args` say). */
async function tlsServer(args: string[] = []): Promise<ServerProcess & { tlsPort: number; base: string }> {
  const server = await startServerProcess(['--tls-port', '0', '--tls-cert', certs.server.certFile, '--tls-key', certs.server.keyFile, ...args]);
  const tlsPort = server.logs.find((line) => line.msg === 'listening')!.tlsPort as number;
  return { ...server, tlsPort, base: `http://127.0.0.1:${metricsPort(server)}` };
}

/** One TLS round trip: connect, send `text`, read its echo, close. */
function tlsEcho(port: number, text: string, options: tls.ConnectionOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.ca.cert, servername: 'localhost', ...options }, () => socket.write(text));
    let reply = '';
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.length >= text.length) {
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(reply));
  });
}

/** `openssl s_client` as the client: what it printed after sending `input` (bounded). */
function sClient(port: number, input: string, args: string[] = []): Promise<{ stdout: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-quiet', '-CAfile', certs.ca.certFile, ...args]);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stdin.write(input);
    // s_client keeps the connection after its input ends: stop it once the echo is in, or after 10 s.
    const timer = setTimeout(() => child.kill(), 10_000);
    const check = setInterval(() => {
      if (stdout.includes(input.toUpperCase().trim())) child.kill();
    }, 20);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearInterval(check);
      resolve({ stdout, code });
    });
  });
}

const failures = async (base: string) => {
  const samples = await scrape(base);
  return Object.fromEntries(
    ['timeout', 'protocol', 'certificate', 'reset', 'other'].map((reason) => [reason, samples.get(`echo_tls_handshake_failures_total{reason="${reason}"}`)]),
  );
};

describe('the TLS listener', () => {
  it('echoes upper-cased text to openssl s_client, beside the plain listener', async () => {
    const server = await tlsServer();
    const { stdout } = await sClient(server.tlsPort, 'hello over tls\n');
    expect(stdout).toContain('HELLO OVER TLS\n');
    expect(await tlsEcho(server.tlsPort, 'abc')).toBe('ABC');
    const samples = await scrape(server.base);
    expect(samples.get('echo_connections_accepted_total{listener="tls"}')).toBe(2);
    expect(samples.get('echo_connections_accepted_total{listener="plain"}')).toBe(0);
  });

  it('holds 500 echo-load --tls clients with zero errors', async () => {
    const server = await tlsServer();
    const { result, code } = await runLoadJson(
      ['--port', String(server.tlsPort), '--tls', '--tls-ca', certs.ca.certFile, '--servername', 'localhost', '--clients', '500', '--duration', '2s'],
      120_000,
    );
    expect(result).toMatchObject({ held: 500, errors: 0, handshakeFailures: 0 });
    expect(result.requests.total).toBeGreaterThan(500);
    expect(code).toBe(0);
  }, 120_000);

  it('serves TLS only with --no-plain: the plain port is not listened on', async () => {
    const server = await tlsServer(['--no-plain']);
    const listening = server.logs.find((line) => line.msg === 'listening')!;
    expect(listening.port).toBeNull();
    expect(await tlsEcho(server.tlsPort, 'only tls')).toBe('ONLY TLS');
  });

  it('with --tls-client-auth require: a client certificate from the CA is accepted and named, none or a foreign one is refused', async () => {
    const server = await tlsServer(['--tls-ca', certs.ca.certFile, '--tls-client-auth', 'require', '--log-level', 'debug']);
    expect(await tlsEcho(server.tlsPort, 'with cert', { cert: certs.client.cert, key: certs.client.key })).toBe('WITH CERT');
    // Without a certificate, and with one the CA did not sign: no echo, and counted.
    expect(await tlsEcho(server.tlsPort, 'no cert').catch(() => '')).toBe('');
    expect(await tlsEcho(server.tlsPort, 'foreign', { cert: certs.selfSigned.cert, key: certs.selfSigned.key }).catch(() => '')).toBe('');
    await eventually(async () => (await failures(server.base)).certificate === 2, 'two certificate failures counted');
    const opened = server.logs.filter((line) => line.msg === 'connection open');
    expect(opened.map((line) => line.client)).toEqual([expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:\\d+ \\(${CLIENT_SUBJECT}\\)$`))]);
    const { stdout } = await sClient(server.tlsPort, 'openssl refused\n');
    expect(stdout).not.toContain('OPENSSL REFUSED');
  });

  it('counts each handshake fault by its reason and goes on serving', async () => {
    const server = await tlsServer(['--tls-handshake-timeout', '500ms']);
    // Plaintext to the TLS port.
    const plain = net.connect(server.tlsPort, '127.0.0.1', () => plain.write('GET / HTTP/1.0\r\n\r\n'));
    plain.on('error', () => {});
    // A client that never starts its handshake.
    const silent = net.connect(server.tlsPort, '127.0.0.1');
    silent.on('error', () => {});
    // A reset in the middle of the handshake.
    const reset = net.connect(server.tlsPort, '127.0.0.1', () => {
      reset.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa0, 0x01])); // the start of a ClientHello
      setTimeout(() => reset.resetAndDestroy(), 50);
    });
    reset.on('error', () => {});
    await eventually(async () => {
      const counted = await failures(server.base);
      return counted.protocol === 1 && counted.timeout === 1 && counted.reset === 1;
    }, 'the three faults counted');
    expect(await failures(server.base)).toEqual({ timeout: 1, protocol: 1, certificate: 0, reset: 1, other: 0 });
    expect((await scrape(server.base)).get('echo_connections_closed_total{reason="setup"}')).toBe(3);
    expect(await tlsEcho(server.tlsPort, 'still here')).toBe('STILL HERE');
    plain.destroy();
    silent.destroy();
  });

  it('reloads its certificate on SIGHUP: new handshakes see the new one, an open connection goes on, a bad file keeps the old', async () => {
    const certFile = `${certs.dir}/live-cert.pem`;
    const keyFile = `${certs.dir}/live-key.pem`;
    copyFileSync(certs.server.certFile, certFile);
    copyFileSync(certs.server.keyFile, keyFile);
    const server = await startServerProcess(['--tls-port', '0', '--tls-cert', certFile, '--tls-key', keyFile]);
    const tlsPort = server.logs.find((line) => line.msg === 'listening')!.tlsPort as number;
    const peerSerial = () =>
      new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port: tlsPort, rejectUnauthorized: false }, () => {
          resolve(socket.getPeerCertificate().serialNumber);
          socket.end();
        });
        socket.on('error', reject);
      });
    const before = await peerSerial();
    const open = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: certs.ca.cert, servername: 'localhost' });
    await new Promise((resolve) => open.once('secureConnect', resolve));

    copyFileSync(certs.expired.certFile, certFile); // another certificate with the same key kind
    copyFileSync(certs.expired.keyFile, keyFile);
    server.child.kill('SIGHUP');
    await eventually(() => server.logs.some((line) => line.msg === 'TLS certificate reloaded'), 'the reload');
    const after = await peerSerial();
    expect(after).not.toBe(before);

    writeFileSync(certFile, 'not a certificate\n');
    server.child.kill('SIGHUP');
    await eventually(() => server.logs.some((line) => line.msg === 'TLS certificate not reloaded: keeping the old one'), 'the refusal');
    expect(await peerSerial()).toBe(after);

    // The connection opened before both reloads still echoes.
    const reply = new Promise<string>((resolve) => open.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    open.write('still open');
    expect(await reply).toBe('STILL OPEN');
    open.end();
    const samples = await scrape(`http://127.0.0.1:${metricsPort(server)}`);
    expect([samples.get('echo_tls_reloads_total{result="ok"}'), samples.get('echo_tls_reloads_total{result="failed"}')]).toEqual([1, 1]);
  });

  it('refuses to start with one line: an unreadable certificate (exit 1), half a key pair or client auth without a CA (exit 2)', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [SERVER_CLI, '--port', '0', '--no-metrics', ...args]);
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('close', (code) => resolve({ code, stderr }));
      });
    const missing = await run(['--tls-cert', '/nonexistent.pem', '--tls-key', certs.server.keyFile]);
    expect(missing).toEqual({ code: 1, stderr: 'echo-server: cannot read the TLS certificate /nonexistent.pem: ENOENT\n' });
    const half = await run(['--tls-cert', certs.server.certFile]);
    expect(half).toEqual({ code: 2, stderr: 'echo-server: --tls-cert and --tls-key go together: give both for the TLS listener\n' });
    const noCa = await run(['--tls-cert', certs.server.certFile, '--tls-key', certs.server.keyFile, '--tls-client-auth', 'require']);
    expect(noCa.code).toBe(2);
    expect(noCa.stderr).toBe('echo-server: --tls-client-auth require needs --tls-ca: the CA that client certificates must chain to\n');
  });
});
