/**
 * Send timestamps carried in message bodies: microseconds since the run's
 * start (one `performance.now` origin shared by senders and receivers),
 * big-endian, in the body's first bytes. A body carries what fits, up to 6
 * bytes (48 bits: 8.9 years); the value wraps modulo 2^(8 × length), which
 * is harmless while latencies stay far below the wrap.
 *
 * @module
 */

/** Most stamp bytes: 48-bit microseconds. */
export const STAMP_BYTES = 6;
/** Fewest stamp bytes worth reading: 3 bytes wrap after 16.7 s. */
export const MIN_STAMP_BYTES = 3;

const TWO_32 = 0x1_0000_0000;

/** How many stamp bytes a body of `size` bytes carries; 0 when too small. */
export function stampLength(size: number): number {
  const length = Math.min(size, STAMP_BYTES);
  return length >= MIN_STAMP_BYTES ? length : 0;
}

/**
 * Writes the low `length` bytes of `us` big-endian at `offset`.
 *
 * @example Round-trip a stamp
 * ```ts
 * import { readStamp, writeStamp } from "./stamp.ts";
 * const body = new Uint8Array(6);
 * writeStamp(body, 0, 6, 123_456_789_012);
 * if (readStamp(body, 0, 6) !== 123_456_789_012) throw new Error("Lost bits");
 * ```
 */
export function writeStamp(
  target: Uint8Array,
  offset: number,
  length: number,
  us: number,
): void {
  let low = us % TWO_32 >>> 0;
  let high = Math.floor(us / TWO_32);
  for (let i = length - 1; i >= 0; i--) {
    target[offset + i] = low & 0xff;
    low = (low >>> 8) | ((high & 0xff) << 24);
    high = Math.floor(high / 256);
  }
}

/** Reads a stamp of `length` bytes at `offset`. */
export function readStamp(
  source: Uint8Array,
  offset: number,
  length: number,
): number {
  if (length === STAMP_BYTES) {
    // The common case, unrolled: the high 16 bits, then the low 32.
    return ((source[offset]! << 8) | source[offset + 1]!) * TWO_32 +
      (((source[offset + 2]! << 24) | (source[offset + 3]! << 16) |
        (source[offset + 4]! << 8) | source[offset + 5]!) >>> 0);
  }
  let value = 0;
  for (let i = 0; i < length; i++) value = value * 256 + source[offset + i]!;
  return value;
}

/**
 * Microseconds from a stamp of `length` bytes to `nowUs`, modulo the stamp's
 * range, so a wrapped stamp still gives the right small difference.
 *
 * @example A 3-byte stamp that wrapped
 * ```ts
 * import { elapsedSince } from "./stamp.ts";
 * if (elapsedSince(0xff_fff0, 3, 0x100_0010) !== 0x20) throw new Error("Wrong");
 * ```
 */
export function elapsedSince(
  stamp: number,
  length: number,
  nowUs: number,
): number {
  const range = stampRange(length);
  return elapsedSinceWrapped(stamp, range, nowUs % range);
}

/** The number of distinct values of a stamp of `length` bytes. */
export function stampRange(length: number): number {
  return 2 ** (8 * length);
}

/**
 * {@linkcode elapsedSince} for the hot path: `nowWrapped` is the time
 * already reduced modulo `range`, once per chunk rather than per message.
 */
export function elapsedSinceWrapped(
  stamp: number,
  range: number,
  nowWrapped: number,
): number {
  const diff = nowWrapped - stamp;
  return diff < 0 ? diff + range : diff;
}
