/**
 * Once a second, the hub's running totals: the current rates are the change
 * over the last second, and the last minutes of samples let the console
 * draw its charts at once instead of from the moment it was opened.
 *
 * @module
 */
import type { HubMetrics } from "../metrics.ts";

/** The totals at one moment. */
export interface Sample {
  /** When, milliseconds since the epoch. */
  t: number;
  /** Frames and text commands received, total. */
  msgs_in: number;
  /** Deliveries (one per receiver), total. */
  msgs_out: number;
  /** Bytes received, total. */
  bytes_in: number;
  /** Bytes written, total. */
  bytes_out: number;
  /** Open connections then. */
  connections: number;
}

/** Per-second rates, from the last two samples. */
export interface Rates {
  /** Frames and text commands received per second. */
  msgs_in: number;
  /** Deliveries per second. */
  msgs_out: number;
  /** Bytes received per second. */
  bytes_in: number;
  /** Bytes written per second. */
  bytes_out: number;
}

/** A sample of `metrics`, taken at `t`. */
export function sampleOf(metrics: HubMetrics, t: number): Sample {
  return {
    t,
    msgs_in: metrics.counters.framesIn,
    msgs_out: metrics.counters.deliveries,
    bytes_in: metrics.counters.bytesIn,
    bytes_out: metrics.bytesOut,
    connections: metrics.connections,
  };
}

/**
 * The last `capacity` samples, oldest first, and the rates between the last
 * two.
 *
 * @example
 * ```ts
 * import { History } from "./rates.ts";
 * const history = new History(3);
 * const zero = { msgs_in: 0, msgs_out: 0, bytes_in: 0, bytes_out: 0, connections: 1 };
 * history.add({ ...zero, t: 0 });
 * history.add({ ...zero, t: 2000, msgs_in: 10 });
 * if (history.rates().msgs_in !== 5) throw new Error();
 * ```
 */
export class History {
  #samples: Sample[] = [];
  #capacity: number;

  /** Keeps at most `capacity` samples. */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Adds a sample, forgetting the oldest past the capacity. */
  add(sample: Sample): void {
    this.#samples.push(sample);
    if (this.#samples.length > this.#capacity) this.#samples.shift();
  }

  /** The samples, oldest first. */
  samples(): readonly Sample[] {
    return this.#samples;
  }

  /** Rates between the last two samples; zeros before there are two. */
  rates(): Rates {
    const last = this.#samples.at(-1);
    const before = this.#samples.at(-2);
    if (last === undefined || before === undefined || last.t <= before.t) {
      return { msgs_in: 0, msgs_out: 0, bytes_in: 0, bytes_out: 0 };
    }
    const seconds = (last.t - before.t) / 1000;
    const rate = (key: keyof Rates) =>
      Math.round(Math.max(0, last[key] - before[key]) / seconds * 10) / 10;
    return {
      msgs_in: rate("msgs_in"),
      msgs_out: rate("msgs_out"),
      bytes_in: rate("bytes_in"),
      bytes_out: rate("bytes_out"),
    };
  }
}
