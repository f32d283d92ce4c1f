/**
 * Starting through a NATS outage or a JetStream leader election: a step
 * that fails for a reason that may pass (NATS not up yet, JetStream without
 * a leader, a request timing out) is tried again, after a pause that doubles
 * from 250 ms up to 2 s, each retry logged, until the start timeout. A
 * {@linkcode ClusterError} (a server without JetStream, used-up ids) ends
 * the start at once: waiting cannot mend it. Nothing here loads NATS, and
 * the clock and the pause are passed in, so tests run it without timers.
 *
 * @example A step that fails twice, then works
 * ```ts
 * import { retryStart } from "./start.ts";
 * import { assertEquals } from "@std/assert";
 *
 * let tries = 0;
 * const pauses: number[] = [];
 * const value = await retryStart(
 *   () => ++tries < 3 ? Promise.reject(new Error("timeout")) : Promise.resolve(42),
 *   {
 *     what: "take a hub number",
 *     timeoutMs: 60_000,
 *     log: () => {},
 *     sleep: (ms) => (pauses.push(ms), Promise.resolve()),
 *   },
 * );
 * assertEquals([value, pauses], [42, [250, 500]]);
 * ```
 *
 * @module
 */
import { ClusterError, type ClusterLog } from "./types.ts";

/** The first pause between tries, in milliseconds. */
export const FIRST_PAUSE_MS = 250;
/** The longest pause between tries, in milliseconds. */
export const MAX_PAUSE_MS = 2_000;

/** How {@linkcode retryStart} retries. */
export interface RetryOptions {
  /** What the step does, for the log and the final error: `connect to NATS`. */
  what: string;
  /** Milliseconds from the first try after which the step gives up. */
  timeoutMs: number;
  /** Where each retry is logged (a warning). */
  log: ClusterLog;
  /** The clock; `performance.now` unless given. */
  now?: () => number;
  /** Waits `ms`; a timer unless given. */
  sleep?: (ms: number) => Promise<void>;
  /** True for an error that no retry can mend; a ClusterError always is. */
  fatal?: (error: unknown) => boolean;
  /**
   * Milliseconds after which one try is given up as timed out (it may still
   * finish in the background, unheeded); none unless given.
   */
  attemptMs?: number;
}

/**
 * Runs `step` until it resolves, retrying with backoff as the module says.
 * `step` is given the milliseconds left, to bound its own waits. Rejects
 * with the step's error once `timeoutMs` is spent, or at once for a fatal
 * one.
 */
export async function retryStart<T>(
  step: (leftMs: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ??
    ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const start = now();
  let pause = FIRST_PAUSE_MS;
  for (let attempt = 1;; attempt++) {
    try {
      const left = Math.max(1, options.timeoutMs - (now() - start));
      if (options.attemptMs === undefined) return await step(left);
      return await bounded(step(left), Math.min(left, options.attemptMs));
    } catch (error) {
      if (error instanceof ClusterError || options.fatal?.(error) === true) {
        throw error;
      }
      const waited = now() - start;
      const left = options.timeoutMs - waited;
      if (left <= 0) throw error;
      const wait = Math.min(pause, left);
      options.log("warn", `cannot ${options.what} yet; retrying`, {
        error: error instanceof Error ? error.message : String(error),
        attempt,
        retry_ms: Math.round(wait),
        waited_ms: Math.round(waited),
      });
      await sleep(wait);
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    }
  }
}

/** `promise`, or a rejection after `ms`; the timer never outlives it. */
async function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("timeout")), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
