import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { guardErrors, listenTo, stopListening, type SocketOwner } from '../../src/server/socket-events.js';

/** A real accepted socket over loopback (paused, as the server's listener takes them) and its client. */
async function acceptedSocket(): Promise<net.Socket> {
  const listener = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => listener.close());
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  client.on('error', () => {});
  cleanups.push(() => client.destroy());
  const socket = await accepted;
  cleanups.push(() => socket.destroy());
  return socket;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** An owner that only counts the errors it is told of. */
function countingOwner(): SocketOwner & { failures: number } {
  const nothing = () => {};
  const owner = { failures: 0, received: nothing, ended: nothing, drainedOrGone: nothing, closed: nothing, stopReading: nothing, failed: () => owner.failures++ };
  return owner;
}

describe('socket events', () => {
  it('a socket has exactly one error listener from accept to release: the guard, then its owner, then the guard', async () => {
    const socket = await acceptedSocket();
    const owner = countingOwner();
    const nodes = { end: socket.listenerCount('end'), close: socket.listenerCount('close') }; // Node's own
    guardErrors(socket);
    expect(socket.listenerCount('error')).toBe(1);
    expect(() => socket.emit('error', new Error('reset while waiting'))).not.toThrow();
    expect(owner.failures).toBe(0);

    listenTo(socket, owner);
    expect(socket.listenerCount('error')).toBe(1); // the owner's replaced the guard: no listener array
    socket.emit('error', new Error('reset while served'));
    expect(owner.failures).toBe(1);

    stopListening(socket);
    expect(socket.listenerCount('error')).toBe(1);
    expect(() => socket.emit('error', new Error('reset after release'))).not.toThrow();
    expect(owner.failures).toBe(1);
    expect({ end: socket.listenerCount('end'), close: socket.listenerCount('close') }).toEqual(nodes);
  });

  it('a socket taken back after a release is its owner\'s again, with one error listener', async () => {
    const socket = await acceptedSocket();
    const owner = countingOwner();
    guardErrors(socket);
    listenTo(socket, owner);
    stopListening(socket);
    listenTo(socket, owner);
    expect(socket.listenerCount('error')).toBe(1);
    socket.emit('error', new Error('reset'));
    expect(owner.failures).toBe(1);
  });
});
