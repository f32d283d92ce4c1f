/**
 * The client's liveness timer: a path that died silently (a hub frozen, a
 * cable pulled, a NAT that forgot the flow) fails calls within a bound
 * instead of when TCP gives up, which can take many minutes.
 *
 * @module
 */

/** What the timer needs of its client. */
export interface LivenessHost {
  /** Sends a PING; any answer at all counts as life. */
  ping(): void;
  /** Whether the client is closing: no PINGs then, and no verdict. */
  closing(): boolean;
  /** Called once, when nothing arrived within the timeout after a PING. */
  dead(): void;
}

/**
 * Once per `interval`, if nothing arrived since the last look, sends PING;
 * if nothing at all arrives within `timeout` after it, the hub is taken for
 * gone. Anything received counts, as the hub counts anything from its
 * clients: a PONG may queue behind a large reply.
 *
 * @example Nothing ever arrives: the verdict comes after one interval and the timeout
 * ```ts
 * import { Liveness } from "./_liveness.ts";
 * const { promise, resolve } = Promise.withResolvers<void>();
 * let pings = 0;
 * const timer = new Liveness(10, 10, {
 *   ping: () => pings++,
 *   closing: () => false,
 *   dead: resolve,
 * });
 * await promise;
 * timer.stop();
 * if (pings !== 1) throw new Error(`Expected one PING, sent ${pings}`);
 * ```
 */
export class Liveness {
  #received = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Starts the timer at once. */
  constructor(interval: number, timeout: number, host: LivenessHost) {
    let seen = this.#received;
    const look = (): void => {
      if (this.#received !== seen || host.closing()) {
        seen = this.#received;
        this.#timer = setTimeout(look, interval);
        return;
      }
      const asked = this.#received;
      host.ping();
      this.#timer = setTimeout(() => {
        if (this.#received === asked && !host.closing()) {
          host.dead();
          return;
        }
        seen = this.#received;
        this.#timer = setTimeout(look, interval);
      }, timeout);
    };
    this.#timer = setTimeout(look, interval);
  }

  /** Notes that something arrived from the hub. */
  received(): void {
    this.#received++;
  }

  /** Stops the timer for good. */
  stop(): void {
    clearTimeout(this.#timer);
  }
}
