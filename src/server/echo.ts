import type { Operation } from '../tasks/index.js';
import type { Connection } from './connection.js';
import { upperInPlace } from './upper.js';

/**
 * One client's whole life, written as the lesson writes it: receive, stop at the end,
 * upper-case, send. `recv` and `send` are the switch points; between them this task runs
 * alone, and while it waits every other client is served.
 *
 * Whatever ends the task (the client leaving, an error, a kill at shutdown), `finally`
 * closes the socket.
 */
export function* echo(connection: Connection): Operation<void> {
  try {
    for (;;) {
      const data = yield* connection.recv();
      if (data === null) break;
      yield* connection.send(upperInPlace(data) as Buffer);
    }
  } finally {
    connection.close();
  }
}
