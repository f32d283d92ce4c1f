/**
 * The tests' one seeded random generator (mulberry32): fuzz and stress tests
 * draw from it so that every failure can be replayed from its seed.
 *
 * @module
 */

/** Returns a function that yields numbers in [0, 1) from `seed`, repeatably. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Size caps for {@linkcode Random.size}: 60 %, 30 %, 9 % and 1 % of draws. */
export type SizeCaps = readonly [number, number, number, number];

/** A seeded source of the values fuzz tests need. */
export class Random {
  #next: () => number;

  /** Makes a generator; the same seed gives the same sequence. */
  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  /** A number in [0, 1). */
  next(): number {
    return this.#next();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.#next() < p;
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  /** Mostly small sizes, now and then a large one, never above `max`. */
  size(max: number, caps: SizeCaps = [16, 300, 5000, 70_000]): number {
    const r = this.#next();
    const cap = r < 0.6
      ? caps[0]
      : r < 0.9
      ? caps[1]
      : r < 0.99
      ? caps[2]
      : caps[3];
    return this.range(0, Math.min(cap, max));
  }

  /** Cuts `bytes` into chunks of random sizes, some of 1 to 3 bytes. */
  chunks(bytes: Uint8Array, caps?: SizeCaps): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < bytes.length;) {
      const n = this.chance(0.3)
        ? this.range(1, 3)
        : this.size(bytes.length, caps);
      out.push(bytes.subarray(i, i + Math.max(1, n)));
      i += Math.max(1, n);
    }
    return out;
  }
}
