import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProxyTlvs, INCOMPLETE, parseProxyHeader, PP2_CLIENT, PP2_TYPE, type ProxyHeader } from '../../../src/server/proxy-protocol/index.js';
import { CLIENT_SUBJECT, makeCertificates, type TestCertificates } from '../../support/certificates.js';
import { freePort, startHaproxy, type Haproxy } from '../../support/haproxy.js';

/**
 * Headers from a real sender: HAProxy's `send-proxy` (v1), `send-proxy-v2` with its TLV options,
 * and `send-proxy-v2-ssl-cn` behind a TLS frontend, captured by a server behind it and read
 * with the parser.
 */

interface Captured {
  bytes: Buffer;
}

/** A server that keeps all each connection sent until it ended. */
async function startCapture(): Promise<{ port: number; connections: Captured[]; close(): Promise<void> }> {
  const connections: Captured[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const chunks: Buffer[] = [];
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      connections.push({ bytes: Buffer.concat(chunks) });
      socket.end();
    });
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let certs: TestCertificates;
let capture: Awaited<ReturnType<typeof startCapture>>;
let haproxy: Haproxy;
const ports = { v1: 0, v2: 0, v6: 0, tls: 0 };

beforeAll(async () => {
  certs = await makeCertificates();
  capture = await startCapture();
  ports.v1 = await freePort();
  ports.v2 = await freePort();
  ports.v6 = await freePort('::1');
  ports.tls = await freePort();
  const backend = `127.0.0.1:${capture.port}`;
  const config = `
frontend v1
  bind 127.0.0.1:${ports.v1}
  default_backend send_v1
backend send_v1
  server s ${backend} send-proxy

frontend v2
  bind 127.0.0.1:${ports.v2}
  bind [::1]:${ports.v6}
  unique-id-format %ci:%cp
  default_backend send_v2
backend send_v2
  server s ${backend} send-proxy-v2 proxy-v2-options crc32c,unique-id

frontend tls
  bind 127.0.0.1:${ports.tls} ssl crt {dir}/server.pem ca-file {dir}/ca.pem verify optional alpn h2,http/1.1
  unique-id-format %ci:%cp
  default_backend send_v2_ssl
backend send_v2_ssl
  server s ${backend} send-proxy-v2-ssl-cn proxy-v2-options ssl,cert-cn,ssl-cipher,cert-sig,cert-key,authority,crc32c,unique-id
`;
  const listening = [
    { host: '127.0.0.1', port: ports.v1 },
    { host: '127.0.0.1', port: ports.v2 },
    { host: '::1', port: ports.v6 },
    { host: '127.0.0.1', port: ports.tls },
  ];
  haproxy = await startHaproxy(config, listening, { 'server.pem': certs.server.cert + certs.server.key, 'ca.pem': certs.ca.cert });
});

afterAll(async () => {
  await haproxy?.stop();
  await capture?.close();
  await certs?.cleanup();
});

/** Sends `message` through HAProxy and returns what the server behind it got, header first. */
async function through(socket: net.Socket, message: string): Promise<Buffer> {
  socket.on('error', () => {});
  socket.end(message);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = capture.connections.find((c) => c.bytes.subarray(-message.length).toString() === message);
    if (found !== undefined) return found.bytes;
    if (Date.now() > deadline) throw new Error(`nothing came through; haproxy said:\n${haproxy.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Parses the header byte by byte, as the slowest client would deliver it, and checks the data after it. */
function header(bytes: Buffer, message: string): ProxyHeader {
  let k = 0;
  let result: ReturnType<typeof parseProxyHeader> = INCOMPLETE;
  while (result === INCOMPLETE && k < bytes.length) result = parseProxyHeader(bytes.subarray(0, ++k), 'any');
  if (result === INCOMPLETE) throw new Error('no complete header');
  expect(bytes.subarray(result.length).toString()).toBe(message);
  return result;
}

function connectPlain(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('the PROXY header parser reads what HAProxy sends', () => {
  it('send-proxy: a v1 line with the client’s address and port', async () => {
    const socket = await connectPlain(ports.v1);
    const port = socket.localPort;
    const bytes = await through(socket, 'v1 client');
    expect(bytes.subarray(0, 10).toString()).toBe('PROXY TCP4');
    expect(header(bytes, 'v1 client')).toEqual({
      version: 1,
      command: 'proxy',
      family: 'tcp4',
      source: { address: '127.0.0.1', port },
      destination: { address: '127.0.0.1', port: ports.v1 },
      tlvs: [],
      length: bytes.indexOf('\r\n') + 2,
    });
  });

  it('send-proxy-v2 with crc32c and unique-id: v2 TCP over IPv4 and IPv6, checksum verified', async () => {
    const socket = await connectPlain(ports.v2);
    const port = socket.localPort;
    const parsed = header(await through(socket, 'v2 client'), 'v2 client');
    expect(parsed).toMatchObject({ version: 2, command: 'proxy', family: 'tcp4', source: { address: '127.0.0.1', port }, destination: { address: '127.0.0.1', port: ports.v2 } });
    const info = decodeProxyTlvs(parsed.tlvs);
    expect(info.crc32c).toEqual(expect.any(Number));
    expect(info.uniqueId?.toString()).toBe(`127.0.0.1:${port}`);

    const six = await connectPlain(ports.v6, '::1');
    const port6 = six.localPort;
    const parsed6 = header(await through(six, 'v6 client'), 'v6 client');
    expect(parsed6).toMatchObject({ family: 'tcp6', source: { address: '::1', port: port6 }, destination: { address: '::1', port: ports.v6 } });
  });

  it('send-proxy-v2-ssl-cn behind a TLS frontend: ALPN, authority, and the SSL TLV with the client certificate’s CN', async () => {
    const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: ports.tls, servername: 'localhost', ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key, ALPNProtocols: ['h2'] }, () => resolve(s));
      s.once('error', reject);
    });
    const [port, protocol] = [socket.localPort, socket.getProtocol()];
    const parsed = header(await through(socket, 'tls client'), 'tls client');
    expect(parsed).toMatchObject({ version: 2, command: 'proxy', family: 'tcp4', source: { address: '127.0.0.1', port } });
    const info = decodeProxyTlvs(parsed.tlvs);
    expect(info.alpn?.toString()).toBe('h2');
    expect(info.authority).toBe('localhost');
    expect(info.crc32c).toEqual(expect.any(Number));
    expect(info.ssl).toMatchObject({ verify: 0, version: protocol, cn: CLIENT_SUBJECT.replace('CN=', ''), cipher: expect.any(String) });
    expect(info.ssl!.client & PP2_CLIENT.SSL).toBe(PP2_CLIENT.SSL);
    expect(info.ssl!.client & PP2_CLIENT.CERT_CONN).toBe(PP2_CLIENT.CERT_CONN);
    expect(parsed.tlvs.map((tlv) => tlv.type)).toEqual(expect.arrayContaining([PP2_TYPE.ALPN, PP2_TYPE.AUTHORITY, PP2_TYPE.SSL, PP2_TYPE.UNIQUE_ID, PP2_TYPE.CRC32C]));
  });
});
