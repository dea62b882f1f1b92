import net from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from '../../src/server/connection.js';
import { OWN_READS } from '../../src/server/own-reads.js';
import { socketFromDescriptor, startOwnSockets, takeOver } from '../../src/server/own-sockets.js';
import { ServerStats } from '../../src/server/stats.js';
import { sleep, spawn, type Operation } from '../../src/tasks/index.js';
import { readBytes } from '../support/clients.js';
import { eventually } from '../support/eventually.js';

/**
 * A real connected pair over loopback: the server's end built as the server builds its own
 * sockets (taken over from libuv, reading into the shared buffer) and wrapped in a Connection;
 * the client's end raw.
 */
async function socketPair(): Promise<{ connection: Connection; client: net.Socket; server: net.Socket; stats: ServerStats }> {
  const listener = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => listener.close());
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  client.on('error', () => {});
  cleanups.push(() => client.destroy());
  const server = socketFromDescriptor(takeOver(await accepted)!, OWN_READS.onread)!;
  cleanups.push(() => server.destroy());
  const stats = new ServerStats();
  return { connection: new Connection(server, stats, 'plain', OWN_READS), client, server, stats };
}

beforeAll(() => {
  startOwnSockets(); // what EchoServer.start does: the native helper, loaded
});

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Receives every chunk until the end, as the echo task does, without echoing. */
function* receiveAll(connection: Connection): Operation<string[]> {
  const chunks: string[] = [];
  for (let chunk; (chunk = yield* connection.recv()) !== null; ) chunks.push(chunk.toString());
  return chunks;
}

describe('Connection over a real socket', () => {
  it('hands the client bytes to recv in order, then null after its FIN, and counts them', async () => {
    const { connection, client, stats } = await socketPair();
    const task = spawn(receiveAll, connection);
    client.write('hello ');
    await sleep(20);
    client.end('world');
    expect((await task.get()).join('')).toBe('hello world');
    expect(stats.bytesReceived).toBe(11);
    expect(stats.reads).toBeGreaterThanOrEqual(1);
    expect(connection.closeReason).toBe('client');
  });

  it('sends at once, and close waits until the socket is really closed', async () => {
    const { connection, client, server } = await socketPair();
    const reply = readBytes(client, 5);
    const task = spawn(function* () {
      yield* connection.send(Buffer.from('HELLO'));
      yield* connection.close();
      return server.closed;
    });
    expect((await reply).toString()).toBe('HELLO');
    client.end(); // the client answers FIN with FIN: now the socket can close
    expect(await task.get()).toBe(true);
  });

  it('pauses the socket while a chunk waits for a busy task, and resumes once the task takes it', async () => {
    const { connection, client, server, stats } = await socketPair();
    client.write('first');
    await eventually(() => stats.reads === 1, 'the chunk to arrive'); // nobody reads: it waits in the inbox
    expect(server.isPaused()).toBe(true);
    const task = spawn(function* () {
      return (yield* connection.recv())!.toString();
    });
    expect(await task.get()).toBe('first');
    expect(server.isPaused()).toBe(false);
  });

  it('makes send wait while the client does not read, and go on once it reads', async () => {
    const { connection, client, stats } = await socketPair();
    client.pause();
    const chunk = Buffer.alloc(1 << 20, 0x41);
    let sends = 0;
    const task = spawn(function* () {
      for (; sends < 64; sends++) yield* connection.send(chunk); // far more than the buffers hold
    });
    await sleep(100);
    expect(task.ready()).toBe(false);
    expect(sends).toBeLessThan(64);
    expect(stats.backpressurePauses).toBeGreaterThanOrEqual(1);
    const all = readBytes(client, 64 << 20, 20_000);
    await task.join();
    expect((await all).length).toBe(64 << 20);
  });

  it('stopReading still hands over what was read, then null, and is counted as its reason', async () => {
    const { connection, client, stats } = await socketPair();
    client.write('read already');
    await eventually(() => stats.bytesReceived === 12, 'the bytes to arrive');
    connection.stopReading('shutdown');
    const chunks = await spawn(receiveAll, connection).get();
    expect(chunks.join('')).toBe('read already');
    expect(connection.closeReason).toBe('shutdown');
  });

  it('a reset ends recv with null and is counted as an error', async () => {
    const { connection, client } = await socketPair();
    const task = spawn(receiveAll, connection);
    await sleep(0); // the task now waits in recv
    client.resetAndDestroy();
    expect(await task.get()).toEqual([]);
    expect(connection.closeReason).toBe('error');
  });

  it('a task killed while close waits for a client that never reads destroys the socket at once', async () => {
    const { connection, client, server } = await socketPair();
    client.pause();
    const closer = spawn(function* () {
      yield* connection.close();
    });
    await sleep(0);
    expect(server.destroyed).toBe(false); // waiting for the client's FIN
    closer.kill();
    expect(server.destroyed).toBe(true);
  });
});
