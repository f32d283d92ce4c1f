/**
 * Large buffers used again once nothing borrows them, instead of a fresh
 * zero-filled allocation (and its first-touch page faults) per frame.
 *
 * A buffer the pool hands out is counted: {@linkcode BufferPool.take} gives
 * it one reference, the taker's; every holder that keeps it past the moment
 * (an outbound queue, a write in flight) adds one with
 * {@linkcode BufferPool.retain} and gives it back with
 * {@linkcode BufferPool.release}. Only when the count is back to zero may the
 * pool hand the buffer out again. Buffers the pool did not hand out are
 * ignored by both, so callers need not know where a buffer came from.
 *
 * @module
 */

/** Buffers smaller than this are not worth pooling: they are just allocated. */
export const POOL_MIN = 64 * 1024;
/** Pooled sizes are rounded up to a multiple of this. */
const POOL_STEP = 64 * 1024;
/** Bytes of idle buffers a pool keeps by default; past that, freed ones are dropped. */
export const POOL_IDLE_BYTES = 16 * 1024 * 1024;

/** A pooled buffer's bookkeeping. */
class Lease {
  readonly size: number;
  refs = 1;

  constructor(size: number) {
    this.size = size;
  }
}

/**
 * A pool of large buffers, by size rounded up to 64 KiB, with a cap on the
 * bytes it keeps idle.
 *
 * @example A buffer comes back only once its last holder lets go
 * ```ts
 * import { BufferPool } from "./mod.ts";
 * const pool = new BufferPool();
 * const a = pool.take(100_000);
 * pool.retain(a.buffer); // say, queued for a write
 * pool.release(a.buffer); // the taker is done with it
 * if (pool.take(100_000).buffer === a.buffer) throw new Error("Still borrowed");
 * pool.release(a.buffer); // the write resolved
 * if (pool.take(100_000).buffer !== a.buffer) throw new Error("Not reused");
 * ```
 */
export class BufferPool {
  #leases = new WeakMap<ArrayBufferLike, Lease>();
  #idle = new Map<number, ArrayBuffer[]>();
  #idleBytes = 0;
  #maxIdle: number;
  #reused = 0;

  /**
   * Creates an empty pool.
   *
   * @param maxIdle bytes of idle buffers kept for reuse; more are left to
   * the garbage collector
   */
  constructor(maxIdle: number = POOL_IDLE_BYTES) {
    this.#maxIdle = maxIdle;
  }

  /** Bytes of buffers waiting to be handed out again. */
  get idleBytes(): number {
    return this.#idleBytes;
  }

  /** How many times a buffer was handed out again rather than allocated. */
  get reused(): number {
    return this.#reused;
  }

  /**
   * A buffer of exactly `size` bytes that nobody else holds, with one
   * reference, the caller's: release it when done. Its bytes are whatever a
   * previous holder left. Below {@linkcode POOL_MIN} it is a plain new
   * buffer, which the pool does not track.
   */
  take(size: number): Uint8Array {
    if (size < POOL_MIN) return new Uint8Array(size);
    const rounded = Math.ceil(size / POOL_STEP) * POOL_STEP;
    const idle = this.#idle.get(rounded);
    let buffer = idle?.pop();
    if (buffer !== undefined) {
      this.#idleBytes -= rounded;
      this.#reused++;
      this.#leases.get(buffer)!.refs = 1;
    } else {
      buffer = new ArrayBuffer(rounded);
      this.#leases.set(buffer, new Lease(rounded));
    }
    return new Uint8Array(buffer, 0, size);
  }

  /**
   * Adds a reference to `buffer` if the pool handed it out; returns whether
   * it did, so that the holder knows to release it later.
   */
  retain(buffer: ArrayBufferLike): boolean {
    const lease = this.#leases.get(buffer);
    if (lease === undefined) return false;
    if (lease.refs <= 0) {
      throw new RangeError("Cannot retain a buffer: it was already given back");
    }
    lease.refs++;
    return true;
  }

  /**
   * Drops a reference to `buffer`; the last one puts it back for reuse (or
   * leaves it to the garbage collector when the pool is full). A buffer the
   * pool did not hand out is ignored.
   */
  release(buffer: ArrayBufferLike): void {
    const lease = this.#leases.get(buffer);
    if (lease === undefined) return;
    if (lease.refs <= 0) {
      throw new RangeError(
        "Cannot release a buffer: it was already given back",
      );
    }
    if (--lease.refs > 0) return;
    if (this.#idleBytes + lease.size > this.#maxIdle) {
      this.#leases.delete(buffer);
      return;
    }
    let idle = this.#idle.get(lease.size);
    if (idle === undefined) this.#idle.set(lease.size, idle = []);
    idle.push(buffer as ArrayBuffer);
    this.#idleBytes += lease.size;
  }

  /** References held on `buffer`, or -1 if the pool does not track it: for tests. */
  refs(buffer: ArrayBufferLike): number {
    return this.#leases.get(buffer)?.refs ?? -1;
  }
}
