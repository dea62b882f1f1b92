import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { formatAddress } from '../address.js';

/** A client's own address, when a PROXY header said it (the socket's peer is then the proxy). */
export interface ClientAddress {
  address: string;
  port: number;
}

/** `address:port` of the socket's peer: the client, or the proxy in front of it. */
export function peerOf(socket: Socket): string {
  return formatAddress(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
}

/**
 * The client as logs and the blocked-loop report name it: its address (from the PROXY header
 * if there was one, else the socket's peer), and over mutual TLS its certificate's subject:
 * `203.0.113.7:5000 (CN=alice)`.
 */
export function clientName(socket: Socket, client: ClientAddress | undefined): string {
  const address = client === undefined ? peerOf(socket) : formatAddress(client.address, client.port);
  const subject = subjectOf(socket as Partial<TLSSocket>);
  return subject === undefined ? address : `${address} (${subject})`;
}

/** The client certificate's subject, if the client presented one over TLS that the CA signed. */
function subjectOf(socket: Partial<TLSSocket>): string | undefined {
  // With --tls-client-auth request an untrusted certificate is let through: its name is not the client's.
  if (typeof socket.getPeerCertificate !== 'function' || socket.authorized !== true) return undefined;
  const subject = socket.getPeerCertificate().subject as Record<string, string> | undefined;
  if (subject === undefined || Object.keys(subject).length === 0) return undefined;
  return Object.entries(subject).map(([key, value]) => `${key}=${value}`).join(',');
}
