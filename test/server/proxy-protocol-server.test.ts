import net from 'node:net';
import tls from 'node:tls';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeProxyHeader } from '../../load/worker/proxy-header.js';
import { INCOMPLETE, parseProxyHeader, PROXY_HEADER_FAILURES, ProxyHeaderError, type ProxyHeaderFailure } from '../../src/server/proxy-protocol/index.js';
import { metricsPort } from '../deploy/metrics-port.js';
import { scrape } from '../metrics/scrape.js';
import { makeCertificates, type TestCertificates } from '../support/certificates.js';
import { expectedEcho } from '../support/clients.js';
import { converse } from '../support/conversation.js';
import { eventually } from '../support/eventually.js';
import { anyHeader, buildV2, V2_SIGNATURE } from '../support/proxy-headers.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

/**
 * The PROXY protocol in echo-server itself, a real process: what the header says reaches the
 * logs, what follows it is echoed, every refusal costs one connection and is counted by its
 * reason, and the server goes on serving. The parser's own tests are in proxy-protocol/.
 */

const SERVER_END = { address: '127.0.0.1', port: 8090 };

/** echo-server with `--proxy-protocol <mode>` and debug logs (the 'connection open' lines). */
async function proxied(mode: 'v1' | 'v2' | 'any', args: string[] = []): Promise<ServerProcess & { base: string }> {
  const server = await startServerProcess(['--proxy-protocol', mode, '--log-level', 'debug', ...args]);
  return { ...server, base: `http://127.0.0.1:${metricsPort(server)}` };
}

/** The debug line a connection logged when its echo began, found by the client's own port (the server's peer). */
async function openLine(server: ServerProcess, localPort: number, host = '127.0.0.1'): Promise<Record<string, unknown>> {
  const find = () => server.logs.find((line) => line.msg === 'connection open' && line.peer === `${host}:${localPort}`);
  await eventually(() => find() !== undefined, `the 'connection open' line of port ${localPort}`);
  return find()!;
}

async function failures(base: string): Promise<Record<ProxyHeaderFailure, number | undefined> & { setup: number | undefined }> {
  const samples = await scrape(base);
  const counts = Object.fromEntries(PROXY_HEADER_FAILURES.map((reason) => [reason, samples.get(`echo_proxy_header_failures_total{reason="${reason}"}`)]));
  return { ...(counts as Record<ProxyHeaderFailure, number>), setup: samples.get('echo_connections_closed_total{reason="setup"}') };
}

const text = (s: string) => Buffer.from(s, 'latin1');

/** Connects, sends `bytes` (if any), and resets the connection once the kernel has taken them. */
function resetAfterSending(port: number, bytes: Buffer): Promise<void> {
  return new Promise<void>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      if (bytes.length === 0) socket.resetAndDestroy();
      else socket.write(bytes, () => socket.resetAndDestroy());
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve());
  });
}
/** A v2 LOCAL header whose address block names 10.0.0.1:1111, which LOCAL says to ignore. */
const v2Local = () => buildV2(0, 0x11, Buffer.from([10, 0, 0, 1, 10, 0, 0, 2, 0x04, 0x57, 0x1f, 0x9a]), []);

describe('echo-server --proxy-protocol: the header names the client', () => {
  it('v1: the client in the log is the header’s source, the peer the socket’s, and the bytes after the header are echoed', async () => {
    const server = await proxied('v1');
    const four = await converse(server.port, Buffer.concat([encodeProxyHeader(1, { address: '203.0.113.7', port: 5000 }, SERVER_END), text('hello v1')]));
    expect(four).toMatchObject({ reply: text('HELLO V1'), error: undefined });
    expect(await openLine(server, four.localPort)).toMatchObject({ client: '203.0.113.7:5000', peer: `127.0.0.1:${four.localPort}`, listener: 'plain' });

    const six = await converse(server.port, Buffer.concat([encodeProxyHeader(1, { address: '2001:db8::7', port: 6000 }, { address: '::1', port: 8090 }), text('six')]));
    expect(six.reply).toEqual(text('SIX'));
    expect((await openLine(server, six.localPort)).client).toBe('[2001:db8::7]:6000');
  });

  it('v2: likewise over IPv4 and IPv6', async () => {
    const server = await proxied('v2');
    const four = await converse(server.port, Buffer.concat([encodeProxyHeader(2, { address: '198.51.100.20', port: 40000 }, SERVER_END), text('hello v2')]));
    expect(four).toMatchObject({ reply: text('HELLO V2'), error: undefined });
    expect(await openLine(server, four.localPort)).toMatchObject({ client: '198.51.100.20:40000', peer: `127.0.0.1:${four.localPort}` });

    const six = await converse(server.port, Buffer.concat([encodeProxyHeader(2, { address: '2001:db8::1:2', port: 1 }, { address: '::1', port: 8090 }), text('six')]));
    expect(six.reply).toEqual(text('SIX'));
    expect((await openLine(server, six.localPort)).client).toBe('[2001:db8::1:2]:1');
  });

  it('v2 LOCAL (a load balancer’s health check) keeps the peer’s address and echoes what follows', async () => {
    const server = await proxied('v2');
    const local = await converse(server.port, Buffer.concat([v2Local(), text('health')]));
    expect(local).toMatchObject({ reply: text('HEALTH'), error: undefined });
    const line = await openLine(server, local.localPort);
    expect(line.client).toBe(line.peer);
  });

  it('echoes every byte that came with the header in the same packet, and waits for a header dribbled a byte at a time', async () => {
    const server = await proxied('any');
    // 64 KiB after the header, in one write: the first read holds the header and the start of the data.
    const payload = Buffer.alloc(65_536, 'abcdefghijklmnopqrstuvwxyz0123456789\n');
    const together = await converse(server.port, Buffer.concat([encodeProxyHeader(2, { address: '192.0.2.1', port: 1234 }, SERVER_END), payload]));
    expect(together.error).toBeUndefined();
    expect(together.reply.equals(expectedEcho(payload))).toBe(true);

    // A header in one-byte writes, then data: the server reads on until the header is whole.
    const header = encodeProxyHeader(1, { address: '192.0.2.2', port: 4321 }, SERVER_END);
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    const localPort = socket.localPort!;
    socket.setNoDelay(true);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    for (const byte of header) await new Promise<void>((resolve) => socket.write(Buffer.from([byte]), () => resolve()));
    socket.end('dribbled');
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Buffer.concat(chunks).toString()).toBe('DRIBBLED');
    expect((await openLine(server, localPort)).client).toBe('192.0.2.2:4321');
  });

  it('--proxy-protocol any takes both versions; v1 refuses v2 and v2 refuses v1, as missing', async () => {
    const any = await proxied('any');
    const v1 = encodeProxyHeader(1, { address: '10.0.0.1', port: 1 }, SERVER_END);
    const v2 = encodeProxyHeader(2, { address: '10.0.0.2', port: 2 }, SERVER_END);
    const one = await converse(any.port, Buffer.concat([v1, text('one')]));
    const two = await converse(any.port, Buffer.concat([v2, text('two')]));
    expect([one.reply.toString(), two.reply.toString()]).toEqual(['ONE', 'TWO']);
    expect((await openLine(any, one.localPort)).client).toBe('10.0.0.1:1');
    expect((await openLine(any, two.localPort)).client).toBe('10.0.0.2:2');

    for (const [mode, other] of [['v1', v2], ['v2', v1]] as const) {
      const server = await proxied(mode);
      const refused = await converse(server.port, Buffer.concat([other, text('nope')]));
      expect(refused.reply.length, `${mode} server`).toBe(0);
      expect((await failures(server.base)).missing).toBe(1);
    }
  });
});

describe('echo-server --proxy-protocol: refusals', () => {
  it('closes and counts a missing, malformed, unsupported, late and untrusted header by its reason, and goes on serving', async () => {
    const server = await proxied('any', ['--proxy-protocol-from', '127.0.0.1/32', '--proxy-header-timeout', '300ms']);
    const before = await failures(server.base);
    expect(before).toEqual({ missing: 0, malformed: 0, unsupported: 0, timeout: 0, untrusted: 0, setup: 0 });

    const missing = await converse(server.port, text('GET / HTTP/1.0\r\n\r\n'));
    const malformed = await converse(server.port, text('PROXY TCP4 1.2.3.4 x\r\nhello'));
    const unsupported = await converse(server.port, Buffer.concat([V2_SIGNATURE, Buffer.from([0x31, 0x11, 0, 12]), Buffer.alloc(12), text('hello')]));
    // Half a header, then nothing: the server gives up at the header timeout (no FIN from here).
    const late = await converse(server.port, text('PROXY TCP4 '), { end: false });
    // A valid header, from a peer outside --proxy-protocol-from.
    const untrusted = await converse(server.port, Buffer.concat([encodeProxyHeader(1, { address: '10.9.9.9', port: 9 }, SERVER_END), text('hello')]), {
      localAddress: '127.0.0.2',
    });
    for (const refused of [missing, malformed, unsupported, late, untrusted]) expect(refused.reply.length).toBe(0);
    expect(await failures(server.base)).toEqual({ missing: 1, malformed: 1, unsupported: 1, timeout: 1, untrusted: 1, setup: 5 });

    // None of them reached its echo; each close says why.
    await eventually(() => server.logs.filter((line) => line.msg === 'connection close').length === 5, 'five close lines');
    expect(server.logs.filter((line) => line.msg === 'connection open')).toEqual([]);
    const closes = server.logs.filter((line) => line.msg === 'connection close');
    for (const line of closes) expect(line).toMatchObject({ reason: 'setup', failure: expect.any(String) });
    expect(closes.find((line) => line.peer === `127.0.0.2:${untrusted.localPort}`)?.failure).toMatch(/127\.0\.0\.2.*--proxy-protocol-from/);

    // And the next client, from a trusted peer, is served.
    const after = await converse(server.port, Buffer.concat([encodeProxyHeader(2, { address: '10.1.1.1', port: 11 }, SERVER_END), text('still here')]));
    expect(after.reply.toString()).toBe('STILL HERE');
    expect(server.child.exitCode).toBeNull();
  });

  it('counts a peer that resets before its header is whole as a reset, not a header failure, even when the kernel no longer names it', async () => {
    const server = await proxied('any', ['--proxy-protocol-from', '127.0.0.1/32']);
    const reset = (bytes: Buffer) => resetAfterSending(server.port, bytes);
    // At once (the server may take the connection when getpeername already fails, as with
    // HAProxy's health checks), and in the middle of a header.
    for (let i = 0; i < 5; i++) await reset(Buffer.alloc(0));
    await reset(text('PROXY TCP4 10.0.0.1 '));
    await reset(V2_SIGNATURE);
    const closedAsError = async () => (await scrape(server.base)).get('echo_connections_closed_total{reason="error"}');
    await eventually(async () => (await closedAsError()) === 7, 'seven connections closed as errors', 20_000, 50);
    expect(await failures(server.base)).toEqual({ missing: 0, malformed: 0, unsupported: 0, timeout: 0, untrusted: 0, setup: 0 });
    const after = await converse(server.port, Buffer.concat([encodeProxyHeader(1, { address: '10.3.3.3', port: 33 }, SERVER_END), text('next')]));
    expect(after.reply.toString()).toBe('NEXT');
  });

  it('counts a peer that sent part of a header and reset before the server read any of it as a reset', async () => {
    // The server is stopped while the peers connect, send and reset, so each connection waits
    // in the accept queue with its bytes and the reset behind them: the server's first read
    // then sees both at once (which a busy server does by chance), whatever the machine's load.
    const server = await proxied('any');
    const partials = [text('PROXY TCP4 10.0.0.1 '), V2_SIGNATURE, text('PROXY')];
    server.child.kill('SIGSTOP');
    try {
      await Promise.all(partials.map((bytes) => resetAfterSending(server.port, bytes)));
    } finally {
      server.child.kill('SIGCONT');
    }
    const closedBy = async () => {
      const samples = await scrape(server.base);
      return { error: samples.get('echo_connections_closed_total{reason="error"}'), setup: samples.get('echo_connections_closed_total{reason="setup"}') };
    };
    await eventually(async () => Object.values(await closedBy()).reduce((sum, n) => sum! + (n ?? 0), 0) === partials.length, `${partials.length} connections closed`, 20_000, 50);
    expect(await closedBy()).toEqual({ error: partials.length, setup: 0 });
    expect(await failures(server.base)).toEqual({ missing: 0, malformed: 0, unsupported: 0, timeout: 0, untrusted: 0, setup: 0 });
  });

  it('with --proxy-protocol-from, a peer in the subnet is trusted whatever its address', async () => {
    const server = await proxied('v1', ['--proxy-protocol-from', '127.0.0.0/30']);
    for (const localAddress of ['127.0.0.2', '127.0.0.3']) {
      const ok = await converse(server.port, Buffer.concat([encodeProxyHeader(1, { address: '10.2.2.2', port: 22 }, SERVER_END), text('in')]), { localAddress });
      expect(ok.reply.toString()).toBe('IN');
      expect((await openLine(server, ok.localPort, localAddress)).client).toBe('10.2.2.2:22');
    }
    const outside = await converse(server.port, Buffer.concat([encodeProxyHeader(1, { address: '10.2.2.2', port: 22 }, SERVER_END), text('out')]), { localAddress: '127.0.0.4' });
    expect(outside.reply.length).toBe(0);
    expect((await failures(server.base)).untrusted).toBe(1);
  });
});

describe('echo-server --proxy-protocol with TLS: the header, then the handshake', () => {
  let certs: TestCertificates;
  beforeAll(async () => {
    certs = await makeCertificates();
  });
  afterAll(() => certs.cleanup());

  /**
   * A relay like a TCP load balancer: for each client it connects to `target` and sends the
   * header and the client's first bytes (the ClientHello) in one write, then relays both ways.
   */
  async function relay(target: number, header: Buffer): Promise<{ port: number; close(): Promise<void> }> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((client) => {
      sockets.add(client);
      client.on('error', () => {});
      client.once('data', (first: Buffer) => {
        client.pause();
        const upstream = net.connect(target, '127.0.0.1', () => {
          upstream.setNoDelay(true);
          upstream.write(Buffer.concat([header, first]));
          client.pipe(upstream);
          upstream.pipe(client);
        });
        sockets.add(upstream);
        upstream.on('error', () => client.destroy());
        upstream.on('close', () => client.destroy());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      port: (server.address() as net.AddressInfo).port,
      close: async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  }

  function tlsEcho(options: tls.ConnectionOptions, message: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ ca: certs.ca.cert, servername: 'localhost', ...options }, () => socket.write(message));
      let reply = '';
      socket.on('data', (chunk: Buffer) => {
        reply += chunk.toString();
        if (reply.length >= message.length) socket.end();
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(reply));
    });
  }

  it('takes a v2 header and the ClientHello in one packet on the TLS listener, and names the header’s client', async () => {
    const server = await proxied('v2', ['--tls-port', '0', '--tls-cert', certs.server.certFile, '--tls-key', certs.server.keyFile]);
    const tlsPort = server.logs.find((line) => line.msg === 'listening')!.tlsPort as number;
    const front = await relay(tlsPort, encodeProxyHeader(2, { address: '198.51.100.9', port: 4242 }, SERVER_END));
    try {
      expect(await tlsEcho({ host: '127.0.0.1', port: front.port }, 'secret words')).toBe('SECRET WORDS');
      await eventually(() => server.logs.some((line) => line.msg === 'connection open'), 'the open line');
      expect(server.logs.find((line) => line.msg === 'connection open')).toMatchObject({ client: '198.51.100.9:4242', listener: 'tls' });
    } finally {
      await front.close();
    }
  });

  it('takes a v1 header written on its own before the handshake; a handshake without a header is refused and counted', async () => {
    const server = await proxied('v1', ['--tls-port', '0', '--tls-cert', certs.server.certFile, '--tls-key', certs.server.keyFile]);
    const tlsPort = server.logs.find((line) => line.msg === 'listening')!.tlsPort as number;
    const raw = net.connect(tlsPort, '127.0.0.1');
    await new Promise((resolve) => raw.once('connect', resolve));
    const localPort = raw.localPort!;
    await new Promise<void>((resolve) => raw.write(encodeProxyHeader(1, { address: '203.0.113.50', port: 5050 }, SERVER_END), () => resolve()));
    expect(await tlsEcho({ socket: raw }, 'after the header')).toBe('AFTER THE HEADER');
    expect(await openLine(server, localPort)).toMatchObject({ client: '203.0.113.50:5050', listener: 'tls' });

    // A TLS client straight to the listener: its ClientHello is no PROXY header.
    await expect(tlsEcho({ host: '127.0.0.1', port: tlsPort }, 'no header')).rejects.toThrow();
    expect(await failures(server.base)).toMatchObject({ missing: 1, setup: 1 });
    const samples = await scrape(server.base);
    expect(samples.get('echo_tls_handshake_failures_total{reason="protocol"}')).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzzing the real process.

type Mutation = { kind: 'flip'; at: number; bits: number } | { kind: 'cut'; at: number } | { kind: 'insert'; at: number; byte: number } | { kind: 'delete'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
);

function mutate(bytes: Buffer, mutations: readonly Mutation[]): Buffer {
  let result = Buffer.from(bytes);
  for (const m of mutations) {
    if (result.length === 0) break;
    const at = m.at % result.length;
    if (m.kind === 'flip') result[at] = result[at]! ^ m.bits;
    else if (m.kind === 'cut') result = result.subarray(0, at);
    else if (m.kind === 'insert') result = Buffer.concat([result.subarray(0, at), Buffer.from([m.byte]), result.subarray(at)]);
    else result = Buffer.concat([result.subarray(0, at), result.subarray(at + 1)]);
  }
  return result;
}

/**
 * What comes before the payload: a valid header (intact: `valid`), a mutated one, or noise,
 * some of it starting like a header. The intact header weighs 2 of 6, so that both sides of
 * the property come up often in every run: at 1 of 5, about 60 of 300 runs echoed, and a CI
 * run once drew 49.
 */
const prefix: fc.Arbitrary<{ bytes: Buffer; valid: boolean }> = fc.oneof(
  { arbitrary: anyHeader.map((header) => ({ bytes: header.bytes, valid: true })), weight: 2 },
  fc.tuple(anyHeader, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([header, mutations]) => ({ bytes: mutate(header.bytes, mutations), valid: false })),
  fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => ({ bytes: Buffer.from(bytes), valid: false })),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => ({ bytes: Buffer.concat([V2_SIGNATURE, bytes]), valid: false })),
  fc.uint8Array({ maxLength: 60 }).map((bytes) => ({ bytes: Buffer.concat([text('PROXY '), bytes]), valid: false })),
);

/** What the server must do with `bytes` then a FIN, judged by the parser on the whole input (it judges the same however the bytes are split). */
function verdict(bytes: Buffer): { echo: Buffer } | { failure: ProxyHeaderFailure } {
  try {
    const header = parseProxyHeader(bytes, 'any');
    if (header === INCOMPLETE) return { failure: 'malformed' };
    return { echo: expectedEcho(bytes.subarray(header.length)) };
  } catch (error) {
    if (error instanceof ProxyHeaderError) return { failure: error.reason };
    throw error;
  }
}

describe('echo-server --proxy-protocol any, fuzzed', () => {
  it('never echoes a header byte: it echoes exactly what follows a header, or closes and counts one failure, and never dies', async () => {
    const server = await startServerProcess(['--proxy-protocol', 'any', '--proxy-header-timeout', '20s']);
    const base = `http://127.0.0.1:${metricsPort(server)}`;
    const expected: Record<string, number> = Object.fromEntries(PROXY_HEADER_FAILURES.map((reason) => [reason, 0]));
    let echoed = 0;
    await fc.assert(
      fc.asyncProperty(prefix, fc.uint8Array({ minLength: 1, maxLength: 3000 }), async ({ bytes, valid }, payload) => {
        const input = Buffer.concat([bytes, payload]);
        const { reply } = await converse(server.port, input);
        const should = verdict(input);
        if ('echo' in should) {
          echoed++;
          expect(reply.equals(should.echo), `echo of ${input.length} bytes`).toBe(true);
          // Not the parser's word alone: after an intact header, the echo is the payload's.
          if (valid) expect(reply.equals(expectedEcho(payload))).toBe(true);
        } else {
          expect(valid).toBe(false);
          expect(reply.length).toBe(0);
          expected[should.failure]!++;
          // Counted before the server let the connection go.
          const counted = await failures(base);
          expect(PROXY_HEADER_FAILURES.map((reason) => counted[reason])).toEqual(PROXY_HEADER_FAILURES.map((reason) => expected[reason]));
        }
        expect(server.child.exitCode).toBeNull();
      }),
      { numRuns: 300 },
    );
    const refused = Object.values(expected).reduce((a, b) => a + b, 0);
    // Both sides of the property came up often.
    expect(echoed).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(50);
    await eventually(async () => (await failures(base)).setup === refused, 'every refusal closed as setup', 20_000, 50);
    const after = await converse(server.port, Buffer.concat([v2Local(), text('alive')]));
    expect(after.reply.toString()).toBe('ALIVE');
    expect(server.stderr()).toBe('');
  }, 120_000);
});
