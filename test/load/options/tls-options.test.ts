import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOptions } from '../../../load/options/options.js';
import { OptionError } from '../../../src/parse-option.js';
import { DEFAULT_TLS_CIPHERS } from '../../../src/tls-profile.js';
import { makeCertificates, type TestCertificates } from '../../support/certificates.js';
import { LOAD_CLI, runLoad } from '../support/cli.js';

let certs: TestCertificates;
let garbage: string;

beforeAll(async () => {
  certs = await makeCertificates();
  garbage = join(certs.dir, 'garbage.pem');
  await writeFile(garbage, 'not a certificate\n');
});

afterAll(async () => {
  await certs.cleanup();
});

describe('echo-load TLS and PROXY protocol options', () => {
  it('are off by default', () => {
    expect(parseOptions({}, 1)).toMatchObject({ tls: undefined, proxyProtocol: 0 });
  });

  it('read the CA and the client certificate once, and name the server after --host unless it is an address', () => {
    const options = parseOptions({ tls: true, tlsCa: certs.ca.certFile, tlsCert: certs.client.certFile, tlsKey: certs.client.keyFile, host: 'localhost' }, 1);
    expect(options.tls).toEqual({
      ca: certs.ca.cert,
      cert: certs.client.cert,
      key: certs.client.key,
      insecure: false,
      servername: 'localhost',
      minVersion: 'TLSv1.2',
      ciphers: DEFAULT_TLS_CIPHERS,
    });
    expect(parseOptions({ tls: true, host: '127.0.0.1' }, 1).tls).toMatchObject({ ca: undefined, servername: undefined });
    expect(parseOptions({ tls: true, host: '127.0.0.1', servername: 'echo.example' }, 1).tls!.servername).toBe('echo.example');
    expect(parseOptions({ tls: true, insecure: true }, 1).tls!.insecure).toBe(true);
  });

  it('offer what echo-server accepts by default, and take --tls-min-version and --tls-ciphers', () => {
    expect(parseOptions({ tls: true }, 1).tls).toMatchObject({ minVersion: 'TLSv1.2', ciphers: DEFAULT_TLS_CIPHERS });
    expect(parseOptions({ tls: true, tlsMinVersion: 'TLSv1.3', tlsCiphers: 'TLS_AES_128_GCM_SHA256' }, 1).tls).toMatchObject({
      minVersion: 'TLSv1.3',
      ciphers: 'TLS_AES_128_GCM_SHA256',
    });
    expect(parseOptions({ tls: true, tlsMinVersion: 'TLSv1', tlsCiphers: 'DEFAULT:@SECLEVEL=0' }, 1).tls).toMatchObject({ minVersion: 'TLSv1' });
  });

  it('take v1, v2 or off for --proxy-protocol', () => {
    expect([parseOptions({ proxyProtocol: 'v1' }, 1), parseOptions({ proxyProtocol: 'v2' }, 1), parseOptions({ proxyProtocol: 'off' }, 1)].map((o) => o.proxyProtocol)).toEqual([1, 2, 0]);
  });

  it.each([
    [{ tlsCa: 'ca.pem' }, /^--tls-ca needs --tls$/],
    [{ insecure: true }, /^--insecure needs --tls$/],
    [{ servername: 'x' }, /^--servername needs --tls$/],
    [{ tls: true, tlsCa: 'ca.pem', insecure: true }, /either --tls-ca or --insecure/],
    [{ tls: true, tlsCert: 'c.pem' }, /--tls-cert and --tls-key go together/],
    [{ tls: true, tlsKey: 'k.pem' }, /--tls-cert and --tls-key go together/],
    [{ tls: true, tlsCa: '/nonexistent/ca.pem' }, /cannot read --tls-ca '\/nonexistent\/ca.pem' \(ENOENT\)/],
    [{ tls: true, servername: ' ' }, /servername: empty/],
    [{ tlsMinVersion: 'TLSv1.3' }, /^--tls-min-version needs --tls$/],
    [{ tlsCiphers: 'ECDHE-RSA-AES128-GCM-SHA256' }, /^--tls-ciphers needs --tls$/],
    [{ tls: true, tlsMinVersion: 'TLSv1.4' }, /^invalid tls-min-version 'TLSv1.4': use TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3$/],
    [{ tls: true, tlsCiphers: 'nonsense' }, /^OpenSSL refuses tls-ciphers 'nonsense' \(no cipher match\)$/],
    [{ tls: true, tlsCiphers: ' ' }, /^invalid tls-ciphers: empty/],
    [{ tls: true, tlsMinVersion: 'TLSv1' }, /^--tls-min-version TLSv1 needs --tls-ciphers with @SECLEVEL=0/],
    [{ proxyProtocol: 'v3' }, /invalid proxy-protocol 'v3': use v1 or v2/],
    [{ proxyProtocol: 'constructor' }, /invalid proxy-protocol/],
  ])('reject %j with an OptionError', (raw, pattern) => {
    expect(() => parseOptions(raw, 1)).toThrow(OptionError);
    expect(() => parseOptions(raw, 1)).toThrow(pattern);
  });

  it('reject files that hold no certificate, or a key that is not the certificate’s', () => {
    expect(() => parseOptions({ tls: true, tlsCa: garbage }, 1)).toThrow(/--tls-ca '.*garbage.pem' holds no PEM certificate/);
    expect(() => parseOptions({ tls: true, tlsCert: garbage, tlsKey: certs.client.keyFile }, 1)).toThrow(OptionError);
    expect(() => parseOptions({ tls: true, tlsCert: certs.client.certFile, tlsKey: certs.server.keyFile }, 1)).toThrow(/--tls-cert .* and --tls-key .*: .*key values mismatch/);
  });

  it('exit 2 with one line, and read the environment as the other options do', async () => {
    const bad = await runLoad(['--tls', '--tls-ca', garbage]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^echo-load: --tls-ca '.*' holds no PEM certificate$/);
    const help = await runLoad(['--help']);
    const flags = ['--tls', '--tls-ca <file>', '--insecure', '--servername <name>', '--tls-cert <file>', '--tls-key <file>', '--tls-min-version <version>', '--tls-ciphers <list>'];
    for (const flag of [...flags, '--proxy-protocol <version>']) {
      expect(help.stdout).toContain(flag);
    }
    const withEnv = (env: Record<string, string>) => spawnSync(process.execPath, [LOAD_CLI], { env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(withEnv({ ECHO_LOAD_PROXY_PROTOCOL: 'v3' })).toMatchObject({ status: 2, stderr: expect.stringMatching(/^echo-load: invalid proxy-protocol 'v3'/) });
    expect(withEnv({ ECHO_LOAD_TLS_CA: certs.ca.certFile })).toMatchObject({ status: 2, stderr: 'echo-load: --tls-ca needs --tls\n' });
    expect(withEnv({ ECHO_LOAD_TLS: '1', ECHO_LOAD_TLS_CA: garbage })).toMatchObject({ status: 2, stderr: expect.stringContaining('holds no PEM certificate') });
    expect(withEnv({ ECHO_LOAD_TLS: '1', ECHO_LOAD_TLS_MIN_VERSION: '1.3' })).toMatchObject({ status: 2, stderr: "echo-load: invalid tls-min-version '1.3': use TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3\n" });
    expect(withEnv({ ECHO_LOAD_TLS: '1', ECHO_LOAD_TLS_CIPHERS: 'FAST' })).toMatchObject({ status: 2, stderr: "echo-load: OpenSSL refuses tls-ciphers 'FAST' (no cipher match)\n" });
    const badCiphers = await runLoad(['--tls', '--tls-ciphers', 'RC4-MD5']);
    expect([badCiphers.code, badCiphers.stderr]).toEqual([2, "echo-load: OpenSSL refuses tls-ciphers 'RC4-MD5' (no cipher match)\n"]);
  });
});
