import type { Operation } from '../tasks/index.js';
import type { Connection } from './connection.js';
import type { ServerStats } from './stats.js';
import { upper } from './upper.js';

/**
 * One client's whole life, written as the lesson writes it: receive, stop at the end,
 * upper-case, send. `recv`, `send` and `close` are the switch points; between them this task
 * runs alone, and while it waits every other client is served.
 *
 * The task owns its connection from accept to close: whatever ends it (the client leaving,
 * an error, a kill at shutdown), `finally` closes the socket and waits until it is closed,
 * and the connection is counted once, with why it ended and how long it lived.
 */
export function* echo(connection: Connection, stats: ServerStats): Operation<void> {
  const openedAt = performance.now();
  stats.connectionsActive++;
  try {
    for (;;) {
      const data = yield* connection.recv();
      if (data === null) break;
      yield* connection.send(upper(data));
    }
  } finally {
    try {
      yield* connection.close();
    } finally {
      // Counted even if the task is killed while it waits for the close.
      stats.connectionClosed(connection.closeReason, (performance.now() - openedAt) / 1000);
    }
  }
}
