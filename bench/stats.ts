/**
 * Statistics of a benchmark run: a latency histogram cheap enough to record
 * every delivered message, percentiles and medians of plain samples, and
 * rates. Pure code: no clock, no I/O.
 *
 * @module
 */

/** Values below this many microseconds get a bucket each. */
const LINEAR = 128;
/** Sub-buckets per power of two above {@linkcode LINEAR}: about 1.6 % wide. */
const SUB_BITS = 6;
const SUB = 1 << SUB_BITS;
/** Largest value recorded exactly in the top bucket: 2^32 - 1 microseconds. */
const MAX_VALUE = 0xffff_ffff;
const BUCKETS = LINEAR + (32 - SUB_BITS - 1) * SUB;

function bucketOf(value: number): number {
  if (value < LINEAR) return value;
  const top = 31 - Math.clz32(value); // position of the highest set bit, >= 7
  const shift = top - SUB_BITS;
  return LINEAR + (shift - 1) * SUB + ((value >>> shift) - SUB);
}

/** The largest value that falls in `bucket`. */
function bucketHigh(bucket: number): number {
  if (bucket < LINEAR) return bucket;
  const shift = Math.floor((bucket - LINEAR) / SUB) + 1;
  const mantissa = ((bucket - LINEAR) % SUB) + SUB;
  return (mantissa + 1) * 2 ** shift - 1;
}

/**
 * A log-linear histogram of non-negative integers (microseconds here):
 * exact below 128, then 64 buckets per power of two, so a percentile is off
 * by at most 1/64 of its value. Recording is a few integer operations and
 * one array increment; the maximum is kept exactly.
 *
 * @example Percentiles of ten latencies
 * ```ts
 * import { LatencyHistogram } from "./stats.ts";
 * const histogram = new LatencyHistogram();
 * for (let us = 1; us <= 10; us++) histogram.record(us);
 * if (histogram.percentile(50) !== 5) throw new Error("p50 should be 5");
 * if (histogram.max !== 10) throw new Error("max should be 10");
 * ```
 */
export class LatencyHistogram {
  #counts = new Float64Array(BUCKETS);
  #count = 0;
  #max = 0;

  /** How many values were recorded. */
  get count(): number {
    return this.#count;
  }

  /** The largest value recorded, exactly; 0 when empty. */
  get max(): number {
    return this.#max;
  }

  /** Records one value; negatives count as 0, huge values as 2^32 - 1. */
  record(value: number): void {
    const v = value <= 0 ? 0 : value >= MAX_VALUE ? MAX_VALUE : value >>> 0;
    this.#counts[bucketOf(v)]!++;
    this.#count++;
    if (v > this.#max) this.#max = v;
  }

  /** Adds every value recorded in `other`. */
  merge(other: LatencyHistogram): void {
    const theirs = other.#counts;
    for (let i = 0; i < BUCKETS; i++) this.#counts[i]! += theirs[i]!;
    this.#count += other.#count;
    if (other.#max > this.#max) this.#max = other.#max;
  }

  /**
   * The smallest recorded value such that `p` percent of the values are at
   * most it (nearest rank), reported as the top of its bucket but never above
   * the maximum; `NaN` when empty.
   */
  percentile(p: number): number {
    if (this.#count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(bucketHigh(i), this.#max);
    }
    return this.#max;
  }
}

/**
 * The nearest-rank percentile of `values` (need not be sorted); `NaN` when
 * empty.
 *
 * @example
 * ```ts
 * import { percentile } from "./stats.ts";
 * if (percentile([5, 1, 4, 2, 3], 50) !== 3) throw new Error("p50 should be 3");
 * ```
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/**
 * The median of `values`: the middle one, or the mean of the two middle ones;
 * `NaN` when empty.
 *
 * @example
 * ```ts
 * import { median } from "./stats.ts";
 * if (median([4, 1, 3, 2]) !== 2.5) throw new Error("median should be 2.5");
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `count` events over `ms` milliseconds, per second; 0 for no time. */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : 0;
}

/** `bytes` over `ms` milliseconds, in MB (10^6 bytes) per second. */
export function megabytesPerSecond(bytes: number, ms: number): number {
  return perSecond(bytes, ms) / 1e6;
}

/** CPU time used over a wall-clock span, in percent of one core. */
export function cpuPercent(cpuMs: number, wallMs: number): number {
  return wallMs > 0 ? (cpuMs * 100) / wallMs : 0;
}

/** `a / b`, or `NaN` when `b` is not a positive number. */
export function ratio(a: number, b: number): number {
  return b > 0 ? a / b : NaN;
}
