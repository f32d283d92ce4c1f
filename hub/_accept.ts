/**
 * One listener's accept loop (private to the hub): it hands every accepted
 * connection on, shrugs off peers that left before their accept, and backs
 * off while accepting fails (out of file descriptors), until stopped.
 *
 * @module
 */
import type { HubLog } from "./registry.ts";

/** A connection as a listener accepts it. */
export type Accepted = Deno.TcpConn | Deno.TlsConn;

/**
 * Accepts from `listener` until {@linkcode AcceptLoop.stop}.
 *
 * @example
 * ```ts ignore
 * const loop = new AcceptLoop(listener, (conn) => admit(conn), log);
 * loop.stop();
 * await loop.done;
 * ```
 */
export class AcceptLoop {
  /** Resolves once the loop has ended. */
  readonly done: Promise<void>;
  #listener: Deno.Listener<Accepted, Deno.NetAddr>;
  #admit: (conn: Accepted) => void;
  #log: HubLog;
  #stopped = false;
  #backoff: ReturnType<typeof setTimeout> | undefined;
  /** Ends a backoff early, for stop. */
  #wake: () => void = () => {};

  /**
   * Starts accepting.
   *
   * @param listener where connections come from; `stop` closes it
   * @param admit takes each accepted connection
   * @param log where failures to accept are reported
   */
  constructor(
    listener: Deno.Listener<Accepted, Deno.NetAddr>,
    admit: (conn: Accepted) => void,
    log: HubLog,
  ) {
    this.#listener = listener;
    this.#admit = admit;
    this.#log = log;
    this.done = this.#run();
  }

  /** Closes the listener and ends the loop, a backoff included. */
  stop(): void {
    this.#stopped = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    clearTimeout(this.#backoff);
    this.#wake();
  }

  async #run(): Promise<void> {
    let backoff = 5;
    while (!this.#stopped) {
      let conn: Accepted;
      try {
        conn = await this.#listener.accept();
        backoff = 5;
      } catch (error) {
        if (this.#stopped || error instanceof Deno.errors.BadResource) break;
        // A peer that connected and reset before its accept (a port scan, a
        // health check) is gone, not a reason to slow down.
        if (
          error instanceof Deno.errors.NotConnected ||
          error instanceof Deno.errors.ConnectionReset ||
          error instanceof Deno.errors.ConnectionAborted
        ) continue;
        // Out of file descriptors and the like: wait and try again.
        this.#log("error", "accept failed", {
          error: String(error),
          retry_ms: backoff,
        });
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#backoff = setTimeout(resolve, backoff);
        });
        backoff = Math.min(backoff * 2, 1000);
        continue;
      }
      try {
        // Deno has no such switch on a TLS connection (README, "Operating a hub").
        if ("setNoDelay" in conn) conn.setNoDelay(true);
      } catch {
        // The peer is already gone; the read loop will see it.
      }
      this.#admit(conn);
    }
  }
}
