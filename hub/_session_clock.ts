/**
 * A session's clocks (private to the hub): the handshake deadline, write
 * progress and liveness. The hub's ticker asks what is due; the session acts
 * on the answer. No timers of its own: one ticker serves every session.
 *
 * @module
 */
import type { OutboundQueue } from "../protocol/mod.ts";
import type { SessionConfig } from "./_session_host.ts";

/** What a tick found due. */
export const Due = {
  Nothing: 0,
  /** No dialect, or no authentication, within the handshake timeout. */
  Handshake: 1,
  /** A write in flight made no progress within the write timeout. */
  WriteStalled: 2,
  /** A binary client was silent for a ping interval: PING it. */
  Ping: 3,
  /** Two PINGs went unanswered. */
  PingTimeout: 4,
} as const;
/** One of {@linkcode Due}'s values. */
export type Due = typeof Due[keyof typeof Due];

/** What the clock needs to know of its session at a tick. */
export interface ClockView {
  /** Not yet past the handshake: no dialect, or not authenticated. */
  waiting: boolean;
  /** Open and speaking the binary dialect: it is pinged when silent. */
  pinged: boolean;
  /** The session is open (not closing). */
  open: boolean;
}

/**
 * The clocks of one session.
 *
 * @example A silent binary client is due a PING after the interval
 * ```ts ignore
 * const clock = new SessionClock(0);
 * clock.check(30_000, 0, view, queue, config); // Due.Ping
 * ```
 */
export class SessionClock {
  #acceptedAt: number;
  #lastRead: number;
  #pings = 0;
  #pingAt = 0;
  #progress = 0;
  #progressAt: number;

  /** Starts the clocks at accept, `now`. */
  constructor(now: number) {
    this.#acceptedAt = this.#lastRead = this.#progressAt = now;
  }

  /** When the client was last heard from (moved on by the hub's stalls). */
  get heardAt(): number {
    return this.#lastRead;
  }

  /** Something arrived from the client: its silence ends. */
  heard(now: number): void {
    this.#lastRead = now;
    this.#pings = 0;
  }

  /** A PING went out at `now`. */
  pinged(now: number): void {
    this.#pings++;
    this.#pingAt = now;
  }

  /** Milliseconds since the last write progress. */
  stalledFor(now: number): number {
    return now - this.#progressAt;
  }

  /**
   * What is due at `now`. `late` is how long the hub itself was stalled
   * since the last tick: nobody's fault, so every clock moves on by it.
   */
  check(
    now: number,
    late: number,
    view: ClockView,
    queue: OutboundQueue,
    config: SessionConfig,
  ): Due {
    if (late > 0) {
      this.#acceptedAt += late;
      this.#progressAt += late;
      this.#lastRead += late;
      this.#pingAt += late;
    }
    if (
      view.waiting && view.open &&
      now - this.#acceptedAt >= config.handshakeTimeout
    ) return Due.Handshake;
    if (!queue.writing || queue.progress !== this.#progress) {
      this.#progress = queue.progress;
      this.#progressAt = now;
    } else if (now - this.#progressAt >= config.writeTimeout) {
      return Due.WriteStalled;
    }
    if (!view.pinged) return Due.Nothing;
    if (this.#pings === 0) {
      return now - this.#lastRead >= config.pingInterval
        ? Due.Ping
        : Due.Nothing;
    }
    if (now - this.#pingAt < config.pingInterval) return Due.Nothing;
    return this.#pings < 2 ? Due.Ping : Due.PingTimeout;
  }
}
