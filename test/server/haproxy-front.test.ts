import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsPort } from '../deploy/metrics-port.js';
import { requireTool } from '../deploy/tools.js';
import { runLoadJson } from '../load/support/cli.js';
import { scrape } from '../metrics/scrape.js';
import { makeCertificates, type TestCertificates } from '../support/certificates.js';
import { converse } from '../support/conversation.js';
import { eventually } from '../support/eventually.js';
import { freePort, startHaproxy, type Haproxy } from '../support/haproxy.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

/**
 * echo-server behind a real HAProxy (Debian's): `send-proxy` to a server that takes v1,
 * `send-proxy-v2` to one that takes v2 (from 127.0.0.1 only), and TLS passed through in
 * `mode tcp` to the TLS listener, the header first. Clients bind their own loopback
 * addresses (127.0.0.2 ...), so that the server can only know them from the headers.
 */

const CLIENT_ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];

let certs: TestCertificates;
beforeAll(async () => {
  requireTool('haproxy');
  certs = await makeCertificates();
});
afterAll(() => certs.cleanup());

interface Front {
  v1: ServerProcess;
  v2: ServerProcess & { tlsPort: number };
  haproxy: Haproxy;
  ports: { v1: number; v2: number; tls: number };
}

/**
 * The two servers and HAProxy in front of them. HAProxy's health checks go to the v2
 * server's echo port itself: with send-proxy-v2 they carry a LOCAL header. (Servers are
 * started per test: the server helper ends them after each.)
 */
async function front(extra: { v2Args?: string[] } = {}): Promise<Front> {
  const v1 = await startServerProcess(['--proxy-protocol', 'v1', '--log-level', 'debug']);
  const v2Process = await startServerProcess([
    '--proxy-protocol', 'v2', '--proxy-protocol-from', '127.0.0.1/32', '--log-level', 'debug',
    '--tls-port', '0', '--tls-cert', certs.server.certFile, '--tls-key', certs.server.keyFile,
    ...(extra.v2Args ?? []),
  ]);
  const v2 = { ...v2Process, tlsPort: v2Process.logs.find((line) => line.msg === 'listening')!.tlsPort as number };
  const ports = { v1: await freePort(), v2: await freePort(), tls: await freePort() };
  const config = `
frontend v1
  bind 127.0.0.1:${ports.v1}
  default_backend to_v1
backend to_v1
  server s 127.0.0.1:${v1.port} send-proxy

frontend v2
  bind 127.0.0.1:${ports.v2}
  default_backend to_v2
backend to_v2
  server s 127.0.0.1:${v2.port} send-proxy-v2 check inter 100ms

frontend tls
  bind 127.0.0.1:${ports.tls}
  mode tcp
  default_backend to_tls
backend to_tls
  mode tcp
  server s 127.0.0.1:${v2.tlsPort} send-proxy-v2
`;
  const haproxy = await startHaproxy(config, [
    { host: '127.0.0.1', port: ports.v1 },
    { host: '127.0.0.1', port: ports.v2 },
    { host: '127.0.0.1', port: ports.tls },
  ]);
  return { v1, v2, haproxy, ports };
}

/** The 'connection open' line of the client at `address:port`, as the header named it. */
async function openedFor(server: ServerProcess, client: string): Promise<Record<string, unknown>> {
  const find = () => server.logs.find((line) => line.msg === 'connection open' && line.client === client);
  await eventually(() => find() !== undefined, `a 'connection open' line for ${client}`);
  return find()!;
}

const base = (server: ServerProcess) => `http://127.0.0.1:${metricsPort(server)}`;

/** The PROXY header failures the server counted, by reason (those above zero). */
async function headerFailures(server: ServerProcess): Promise<Record<string, number>> {
  const counted: Record<string, number> = {};
  for (const [key, value] of await scrape(base(server))) if (key.startsWith('echo_proxy_header_failures_total{') && value > 0) counted[key] = value;
  return counted;
}

describe('echo-server behind HAProxy', () => {
  it('send-proxy (v1) and send-proxy-v2: the server logs each client’s own address, 127.0.0.2 to .5, with HAProxy as the peer', async () => {
    const { v1, v2, haproxy, ports } = await front();
    try {
      for (const [server, port, name] of [[v1, ports.v1, 'v1'], [v2, ports.v2, 'v2']] as const) {
        const seen = new Set<string>();
        for (const localAddress of CLIENT_ADDRESSES) {
          const message = `from ${localAddress} over ${name}`;
          const { reply, localPort, error } = await converse(port, Buffer.from(message), { localAddress });
          expect({ reply: reply.toString(), error }).toEqual({ reply: message.toUpperCase(), error: undefined });
          const line = await openedFor(server, `${localAddress}:${localPort}`);
          expect(line.peer).toMatch(/^127\.0\.0\.1:\d+$/);
          seen.add(String(line.client).replace(/:\d+$/, ''));
        }
        expect([...seen].sort(), name).toEqual(CLIENT_ADDRESSES);
        expect(await headerFailures(server)).toEqual({});
      }
    } finally {
      await haproxy.stop();
    }
  });

  it('counts no header failure for HAProxy’s health checks, which it ends with a reset, often before the server asks who sent them', async () => {
    const { v2, haproxy } = await front();
    try {
      // Checks every 100 ms on the echo port, each a connection with a LOCAL header that
      // HAProxy resets at once (SO_LINGER 0): the kernel may no longer name the peer when the
      // server checks it against --proxy-protocol-from (this was counted as untrusted).
      const accepted = async () => (await scrape(base(v2))).get('echo_connections_accepted_total{listener="plain"}') ?? 0;
      await eventually(async () => (await accepted()) >= 10, 'ten health checks', 20_000, 50);
      expect(await headerFailures(v2)).toEqual({});
      expect((await scrape(base(v2))).get('echo_connections_closed_total{reason="setup"}')).toBe(0);
    } finally {
      await haproxy.stop();
    }
  });

  it('passes TLS through (mode tcp, send-proxy-v2) to the TLS listener: the client’s own handshake, HAProxy’s header', async () => {
    const { v2, haproxy, ports } = await front();
    try {
      for (const localAddress of ['127.0.0.2', '127.0.0.3']) {
        const { reply, localPort } = await new Promise<{ reply: string; localPort: number }>((resolve, reject) => {
          // The TCP connection bound to its own address, TLS over it.
          const raw = net.connect({ host: '127.0.0.1', port: ports.tls, localAddress });
          const socket = tls.connect({ socket: raw, ca: certs.ca.cert, servername: 'localhost' }, () => socket.write('through haproxy'));
          let text = '';
          let localPort = 0;
          raw.once('connect', () => (localPort = raw.localPort!));
          socket.on('data', (chunk: Buffer) => {
            text += chunk.toString();
            if (text.length >= 'through haproxy'.length) socket.end();
          });
          socket.on('error', reject);
          socket.on('close', () => resolve({ reply: text, localPort }));
        });
        expect(reply).toBe('THROUGH HAPROXY');
        expect(await openedFor(v2, `${localAddress}:${localPort}`)).toMatchObject({ listener: 'tls', peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
      }
      const samples = await scrape(base(v2));
      expect(samples.get('echo_connections_accepted_total{listener="tls"}')).toBeGreaterThanOrEqual(2);
      expect([...samples].filter(([key, value]) => key.startsWith('echo_tls_handshake_failures_total{') && value > 0)).toEqual([]);
      expect(await headerFailures(v2)).toEqual({});
    } finally {
      await haproxy.stop();
    }
  });

  it('carries echo-load through HAProxy: 200 clients over send-proxy-v2 and 50 over TLS passthrough, zero errors, every byte checked', async () => {
    // No health checks in the byte count: a check sends nothing after its header.
    const { v2, haproxy, ports } = await front();
    try {
      const plain = await runLoadJson(['--port', String(ports.v2), '--clients', '200', '--messages', '20000', '--size', '64', '--pipeline', '2'], 60_000);
      expect(plain.code, plain.stderr).toBe(0);
      expect(plain.result).toMatchObject({ connected: 200, errors: 0, mismatches: 0 });
      expect([plain.result.requests.total, plain.result.throughput.total]).toEqual([20_000, 20_000 * 64]);

      const secure = await runLoadJson(
        ['--port', String(ports.tls), '--tls', '--tls-ca', certs.ca.certFile, '--servername', 'localhost', '--clients', '50', '--messages', '5000', '--size', '100'],
        60_000,
      );
      expect(secure.code, secure.stderr).toBe(0);
      expect(secure.result).toMatchObject({ connected: 50, errors: 0, mismatches: 0, handshakeFailures: 0 });
      expect([secure.result.requests.total, secure.result.throughput.total]).toEqual([5000, 5000 * 100]);

      // The server echoed exactly those bytes, over both listeners, and refused no header.
      const samples = await scrape(base(v2));
      expect(samples.get('echo_sent_bytes_total')).toBe(20_000 * 64 + 5000 * 100);
      expect(await headerFailures(v2)).toEqual({});
    } finally {
      await haproxy.stop();
    }
  }, 120_000);
});
