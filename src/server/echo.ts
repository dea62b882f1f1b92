import type { Operation } from '../tasks/index.js';
import type { Connection } from './connection.js';
import { upperInPlace } from './upper.js';

/**
 * The loop of docs/lesson.md, as it is written there: receive, stop at the end, upper-case, send.
 * `recv` and `send` are the switch points; between them this task runs alone, and while it
 * waits every other client is served. (The task around it, in client.ts, owns the connection:
 * set-up before, close and accounting after.)
 */
export function* echo(connection: Connection): Operation<void> {
  for (;;) {
    const data = yield* connection.recv();
    if (data === null) return;
    yield* connection.send(upperInPlace(data));
  }
}
