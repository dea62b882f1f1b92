import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificates, type TestCertificates } from '../support/certificates.js';
import { runLoad, runLoadJson } from './support/cli.js';
import { startProxyEchoServer, startTlsEchoServer, type SeenHeader } from './support/servers.js';

let certs: TestCertificates;

beforeAll(async () => {
  certs = await makeCertificates();
});

afterAll(async () => {
  await certs.cleanup();
});

/** Every connection's header named a client of its own and the real destination, and came from the real peer. */
function expectDistinctClients(seen: readonly SeenHeader[], clients: number, destination: { address: string; port: number }, family: 'tcp4' | 'tcp6'): void {
  expect(seen).toHaveLength(clients);
  for (const { header, peer } of seen) {
    expect(header).toMatchObject({ command: 'proxy', family, destination });
    expect(header.source!.address).toMatch(family === 'tcp4' ? /^10\.\d+\.\d+\.\d+$/ : /^2001:db8::/);
    expect(peer.address).toBe(destination.address);
  }
  expect(new Set(seen.map(({ header }) => header.source!.address)).size).toBe(clients);
}

describe('echo-load --proxy-protocol', () => {
  it.each([
    ['v1', 1],
    ['v2', 2],
  ] as const)('%s: each connection sends a header first, from a client of its own, then echoes are checked after it', async (flag, version) => {
    const server = await startProxyEchoServer(flag);
    const { code, result, stderr } = await runLoadJson(['--proxy-protocol', flag, '--port', String(server.port), '--clients', '30', '--messages', '3000', '--pipeline', '2']);
    expect(code, stderr).toBe(0);
    expect(result).toMatchObject({ proxyProtocol: flag, tls: false, held: 30, errors: 0 });
    expect(result.requests.total).toBe(3000);
    expectDistinctClients(server.seen, 30, { address: '127.0.0.1', port: server.port }, 'tcp4');
    expect(server.seen.every(({ header }) => header.version === version)).toBe(true);
  });

  it('over IPv6, sends TCP6 headers with clients in 2001:db8::/32', async () => {
    const server = await startProxyEchoServer('any', '::1');
    const { code, result } = await runLoadJson(['--host', '::1', '--proxy-protocol', 'v1', '--port', String(server.port), '--clients', '10', '--messages', '100']);
    expect(code).toBe(0);
    expect(result.held).toBe(10);
    expectDistinctClients(server.seen, 10, { address: '::1', port: server.port }, 'tcp6');
  });

  it('says so in the report', async () => {
    const server = await startProxyEchoServer('v2');
    const { code, stdout } = await runLoad(['--proxy-protocol', 'v2', '--port', String(server.port), '--clients', '2', '--messages', '20']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^echo-load: 2 connections to .*, pipeline 1, PROXY v2 header$/m);
  });

  it('with --tls, sends the header on the TCP connection before the handshake (TLS pass-through with send-proxy)', async () => {
    const server = await startTlsEchoServer({ cert: certs.server.cert, key: certs.server.key }, 'v2');
    const args = ['--tls', '--tls-ca', certs.ca.certFile, '--servername', 'localhost', '--proxy-protocol', 'v2'];
    const { code, result, stderr } = await runLoadJson([...args, '--port', String(server.port), '--clients', '20', '--messages', '2000', '--pipeline', '4']);
    expect(code, stderr).toBe(0);
    expect(result).toMatchObject({ proxyProtocol: 'v2', tls: true, held: 20, errors: 0, handshakeFailures: 0 });
    expect(result.requests.total).toBe(2000);
    expect(result.handshake!.totalCount).toBe(20);
    expectDistinctClients(server.seen, 20, { address: '127.0.0.1', port: server.port }, 'tcp4');
  });
});
