import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its key: the PEM files, and their contents. */
export interface CertificateFiles {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/**
 * Everything a TLS test needs, made by the `openssl` command in a temporary directory:
 * - `ca`: the test CA (its `certFile` is what `--tls-ca` and `ca:` take);
 * - `server`: signed by it, for `localhost`, 127.0.0.1 and ::1, valid from yesterday for a week;
 * - `client`: signed by it, for client authentication, subject `CN=echo test client`;
 * - `expired`: like `server`, but valid only in January 2020;
 * - `selfSigned`: a server certificate for the same names that no CA signed.
 */
export interface TestCertificates {
  dir: string;
  ca: CertificateFiles;
  server: CertificateFiles;
  client: CertificateFiles;
  expired: CertificateFiles;
  selfSigned: CertificateFiles;
  /** Removes the directory. */
  cleanup(): Promise<void>;
}

/** The client certificate's subject (what a server logs for a mutual-TLS client). */
export const CLIENT_SUBJECT = 'CN=echo test client';

const NAMES = 'DNS:localhost,IP:127.0.0.1,IP:::1';

/**
 * Makes a CA and certificates with `openssl` (EC P-256 keys: quick to make and to handshake
 * with). Call `cleanup` when done (in `afterAll`).
 *
 * @example
 *   const certs = await makeCertificates();
 *   afterAll(() => certs.cleanup());
 *   tls.createServer({ cert: certs.server.cert, key: certs.server.key });
 *   runLoad(['--tls', '--tls-ca', certs.ca.certFile, '--servername', 'localhost', ...]);
 */
export async function makeCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'echo-certs-'));
  try {
    // `openssl ca` is the one openssl 3.0 command that sets any validity period (an expired one too).
    await mkdir(join(dir, 'issued'));
    await writeFile(join(dir, 'index.txt'), '');
    await writeFile(join(dir, 'serial'), '1000\n');
    await writeFile(join(dir, 'ca.cnf'), caConfig(dir));
    const ca = await selfSigned(dir, 'ca', '/CN=echo test CA', ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']);
    const now = Date.now();
    const day = 24 * 60 * 60 * 1000;
    const server = await signed(dir, 'server', '/CN=localhost', 'server_ext', new Date(now - day), new Date(now + 7 * day));
    const client = await signed(dir, 'client', `/${CLIENT_SUBJECT}`, 'client_ext', new Date(now - day), new Date(now + 7 * day));
    const expired = await signed(dir, 'expired', '/CN=localhost', 'server_ext', new Date('2020-01-01T00:00:00Z'), new Date('2020-01-31T00:00:00Z'));
    const self = await selfSigned(dir, 'self-signed', '/CN=localhost', [`subjectAltName=${NAMES}`, 'basicConstraints=CA:FALSE']);
    return { dir, ca, server, client, expired, selfSigned: self, cleanup: () => rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function newKey(dir: string, name: string): Promise<string> {
  const keyFile = join(dir, `${name}.key`);
  await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
  return keyFile;
}

async function selfSigned(dir: string, name: string, subject: string, extensions: string[]): Promise<CertificateFiles> {
  const keyFile = await newKey(dir, name);
  const certFile = join(dir, `${name}.pem`);
  const addext = extensions.flatMap((extension) => ['-addext', extension]);
  await run('openssl', ['req', '-x509', '-new', '-key', keyFile, '-subj', subject, '-days', '7', '-out', certFile, ...addext]);
  return files(certFile, keyFile);
}

async function signed(dir: string, name: string, subject: string, extensions: string, from: Date, until: Date): Promise<CertificateFiles> {
  const keyFile = await newKey(dir, name);
  const request = join(dir, `${name}.csr`);
  const certFile = join(dir, `${name}.pem`);
  await run('openssl', ['req', '-new', '-key', keyFile, '-subj', subject, '-out', request]);
  await run('openssl', [
    'ca', '-batch', '-notext', '-config', join(dir, 'ca.cnf'), '-extensions', extensions,
    '-startdate', asn1Time(from), '-enddate', asn1Time(until), '-in', request, '-out', certFile,
  ]); // prettier-ignore
  return files(certFile, keyFile);
}

async function files(certFile: string, keyFile: string): Promise<CertificateFiles> {
  return { certFile, keyFile, cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
}

/** YYYYMMDDHHMMSSZ, as `openssl ca -startdate` takes it. */
function asn1Time(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

function caConfig(dir: string): string {
  return `[ ca ]
default_ca = test_ca

[ test_ca ]
database = ${join(dir, 'index.txt')}
serial = ${join(dir, 'serial')}
new_certs_dir = ${join(dir, 'issued')}
certificate = ${join(dir, 'ca.pem')}
private_key = ${join(dir, 'ca.key')}
default_md = sha256
policy = any_name
unique_subject = no

[ any_name ]
commonName = supplied

[ server_ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = ${NAMES}

[ client_ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
`;
}
