import type { Socket } from 'node:net';
import { NOT_READY, ReusableOperation } from '../tasks/index.js';

/**
 * A task's "write buffer has room again" switch point, made once per connection that needs
 * one (most never do): ready once the socket no longer needs a drain, or is gone.
 */
export class Drained extends ReusableOperation<void> {
  constructor(private readonly owner: { readonly socket: Socket }) {
    super();
  }

  protected poll(): void | typeof NOT_READY {
    const socket = this.owner.socket;
    return socket.destroyed || !socket.writableNeedDrain ? undefined : NOT_READY;
  }

  /** Wakes the task waiting on it, if one is. */
  wakeIfWaiting(): void {
    this.wake(undefined);
  }
}
