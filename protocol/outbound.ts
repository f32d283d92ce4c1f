/**
 * The write side of a connection: frames are appended to a queue, the first
 * append schedules a flush, and one write loop per connection drains it with
 * at most one write in flight. Frames that lie back to back in one buffer (an
 * {@linkcode OutboundArena} chunk) leave as one write of one view.
 *
 * @module
 */

import type { BufferPool } from "./buffer_pool.ts";

/** Where the queue writes: `Deno.Conn` fits, and so does any test double. */
export interface ByteSink {
  /** Writes some bytes of `p`, resolving to how many; may write fewer. */
  write(p: Uint8Array): Promise<number>;
}

/** Options of {@linkcode OutboundQueue}. */
export interface OutboundQueueOptions {
  /** Called once if a write rejects; the queue is closed then. */
  onError?: (error: unknown) => void;
  /**
   * The pool queued buffers may come from: each range of a pooled buffer
   * holds a reference on it until written or dropped.
   */
  pool?: BufferPool | null;
  /**
   * The slow-consumer bound, in bytes of {@linkcode OutboundQueue.footprint}.
   * The queue does not enforce it: whoever pushes asks
   * {@linkcode OutboundQueue.fits} first and decides what a miss means.
   * Default: no bound.
   */
  limit?: number;
}

/** Chunks of the arena are this large unless a frame needs more. */
export const ARENA_CHUNK = 1 << 20;
/**
 * Frames at least this large get a buffer of their own. Smaller ones are
 * better copied into the arena than sent from elsewhere: back to back, they
 * leave in one write instead of being joined by a copy.
 */
export const ARENA_LARGE = 64 * 1024;
/**
 * Small queued segments are joined into one write of up to this many bytes:
 * a write costs more than copying a few KiB. Larger ones go out as they are.
 */
const JOIN_LIMIT = 64 * 1024;
/** Bytes a queued range is charged for its bookkeeping, in `footprint`. */
export const SEGMENT_COST = 64;
/** A segment this large is written on its own, never copied. */
const JOIN_SEGMENT = 16 * 1024;

/**
 * Hands out regions of large shared buffers for outbound frames. A region is
 * never handed out twice while anything refers to it: a full chunk is
 * replaced by a fresh one. Without a pool, the garbage collector frees a
 * chunk once no queue or write still refers to it; with a
 * {@linkcode BufferPool}, chunks come from the pool and go back to it once
 * the arena has moved on and every queue that holds a range of it has
 * written it (queues made with the same pool count their holds).
 *
 * @example Two small regions lie back to back
 * ```ts
 * import { OutboundArena } from "./mod.ts";
 * const arena = new OutboundArena();
 * const a = arena.reserve(5);
 * const b = arena.reserve(5);
 * if (a.buffer !== b.buffer || b.byteOffset !== a.byteOffset + 5) throw new Error("Not adjacent");
 * ```
 */
export class OutboundArena {
  #chunkSize: number;
  #chunk: Uint8Array;
  #used = 0;
  #pool: BufferPool | null;

  /**
   * Creates an arena; its first chunk is allocated at once.
   *
   * @param chunkSize bytes per chunk; a larger frame gets a chunk of its size
   * @param pool where chunks come from and go back to; none: fresh ones
   */
  constructor(chunkSize: number = ARENA_CHUNK, pool: BufferPool | null = null) {
    this.#chunkSize = chunkSize;
    this.#pool = pool;
    this.#chunk = pool === null
      ? new Uint8Array(chunkSize)
      : pool.take(chunkSize);
  }

  /** Bytes of {@linkcode chunk} claimed so far: where the next claim starts if it fits. */
  get used(): number {
    return this.#used;
  }

  /** The chunk that {@linkcode claim} last claimed a region of. */
  get chunk(): Uint8Array {
    return this.#chunk;
  }

  /**
   * Claims a fresh region of `size` bytes and returns its offset in
   * {@linkcode chunk}: the hot path's way, with no view allocated.
   */
  claim(size: number): number {
    if (this.#used + size > this.#chunk.length) {
      const length = Math.max(this.#chunkSize, size);
      if (this.#pool === null) this.#chunk = new Uint8Array(length);
      else {
        // The arena's own hold; queues holding ranges of it keep theirs.
        this.#pool.release(this.#chunk.buffer);
        this.#chunk = this.#pool.take(length);
      }
      this.#used = 0;
    }
    const start = this.#used;
    this.#used += size;
    return start;
  }

  /** A fresh region of exactly `size` bytes, for the caller to fill. */
  reserve(size: number): Uint8Array {
    if (size >= ARENA_LARGE && size > this.#chunkSize / 4) {
      return new Uint8Array(size);
    }
    const start = this.claim(size);
    return this.#chunk.subarray(start, start + size);
  }
}

interface Segment {
  buffer: ArrayBufferLike;
  start: number;
  end: number;
  /** Whether the queue holds a reference on `buffer` in its pool. */
  held: boolean;
}

/**
 * One connection's outbound queue and its write loop.
 *
 * @example Queue two frames; they leave in one write
 * ```ts
 * import { OutboundArena, OutboundQueue } from "./mod.ts";
 * const writes: number[] = [];
 * const queue = new OutboundQueue({
 *   write: (p) => Promise.resolve(writes.push(p.length) && p.length),
 * });
 * const arena = new OutboundArena();
 * queue.push(arena.reserve(3));
 * queue.push(arena.reserve(4));
 * await queue.drained();
 * if (writes.join() !== "7") throw new Error("Expected one write of 7 bytes");
 * ```
 */
export class OutboundQueue {
  /**
   * The bound on {@linkcode footprint}: a push that would pass it does not
   * fit (see {@linkcode fits}). `Infinity` when none was given.
   */
  readonly limit: number;
  /**
   * Half the {@linkcode limit}: a queue past it is {@linkcode pressed}, and
   * producers that can wait should wait for {@linkcode below} it.
   */
  readonly mark: number;
  #sink: ByteSink;
  #onError: (error: unknown) => void;
  #pool: BufferPool | null;
  /** The pooled buffer the write in flight borrows, held until it resolves. */
  #borrowed: ArrayBufferLike | null = null;
  #segments: Segment[] = [];
  #head = 0;
  #queued = 0;
  /** SEGMENT_COST for each range not yet taken for writing. */
  #overhead = 0;
  #writing = false;
  #scheduled = false;
  #closed = false;
  #progress = 0;
  #written = 0;
  #waiters: Array<() => void> = [];
  #idleWaiters: Array<() => void> = [];
  #lowWaiters: Array<
    { bytes: number; resolve: () => void; promise: Promise<void> }
  > = [];

  /**
   * Creates an empty queue that writes to `sink`.
   *
   * @param sink where the bytes are written: the connection
   * @param options what happens on a failed write, the pool, the bound
   */
  constructor(sink: ByteSink, options?: OutboundQueueOptions);
  /**
   * The older form of the constructor, with positional arguments.
   *
   * @deprecated Pass an {@linkcode OutboundQueueOptions} object.
   * @param sink where the bytes are written: the connection
   * @param onError called once if a write rejects; the queue is closed then.
   * @param pool the pool queued buffers may come from
   */
  constructor(
    sink: ByteSink,
    onError: (error: unknown) => void,
    pool?: BufferPool | null,
  );
  constructor(
    sink: ByteSink,
    options: OutboundQueueOptions | ((error: unknown) => void) = {},
    pool: BufferPool | null = null,
  ) {
    const resolved = typeof options === "function"
      ? { onError: options, pool }
      : options;
    this.#sink = sink;
    this.#onError = resolved.onError ?? (() => {});
    this.#pool = resolved.pool ?? null;
    this.limit = resolved.limit ?? Infinity;
    this.mark = Math.floor(this.limit / 2);
  }

  /** Bytes queued and not yet written, the write in flight included. */
  get queued(): number {
    return this.#queued;
  }

  /**
   * What the queue costs in memory, as bytes: {@linkcode queued} plus a
   * fixed {@linkcode SEGMENT_COST} for each range not yet taken for writing.
   * A limit on this holds even when a peer makes many tiny replies pile up.
   */
  get footprint(): number {
    return this.#queued + this.#overhead;
  }

  /**
   * Whether `bytes` more stay within the {@linkcode limit}: the one test of
   * the slow-consumer bound, measured as {@linkcode footprint}.
   *
   * @example A queue bounded at 100 bytes
   * ```ts
   * import { OutboundQueue, SEGMENT_COST } from "./mod.ts";
   * const sink = { write: () => new Promise<number>(() => {}) };
   * const queue = new OutboundQueue(sink, { limit: 100 });
   * if (!queue.fits(100) || queue.fits(101)) throw new Error("Wrong bound");
   * queue.push(new Uint8Array(10));
   * // Ten bytes, and the cost of one range.
   * if (queue.fits(100 - 10 - SEGMENT_COST + 1)) throw new Error("Wrong bound");
   * queue.close();
   * ```
   */
  fits(bytes: number): boolean {
    return this.#queued + this.#overhead + bytes <= this.limit;
  }

  /** Whether the {@linkcode footprint} is past the {@linkcode mark}. */
  get pressed(): boolean {
    return this.#queued + this.#overhead > this.mark;
  }

  /** Whether a write is in flight. */
  get writing(): boolean {
    return this.#writing;
  }

  /** A count of completed writes, for spotting a write that makes no progress. */
  get progress(): number {
    return this.#progress;
  }

  /** Bytes written to the sink so far. */
  get written(): number {
    return this.#written;
  }

  /** Whether the queue was closed: pushes are dropped. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Appends bytes that must not change until written. Bytes that continue the
   * last queued segment in the same buffer extend it instead.
   */
  push(bytes: Uint8Array): void {
    this.pushRange(bytes, 0, bytes.length);
  }

  /** Appends `bytes[from..to)`, as {@linkcode push} does, without a view. */
  pushRange(bytes: Uint8Array, from: number, to: number): void {
    if (this.#closed || from === to) return;
    const start = bytes.byteOffset + from;
    const end = bytes.byteOffset + to;
    const last = this.#segments.length > this.#head
      ? this.#segments[this.#segments.length - 1]!
      : undefined;
    if (
      last !== undefined && last.buffer === bytes.buffer && last.end === start
    ) {
      last.end = end;
    } else {
      const held = this.#pool !== null && this.#pool.retain(bytes.buffer);
      this.#segments.push({ buffer: bytes.buffer, start, end, held });
      this.#overhead += SEGMENT_COST;
    }
    this.#queued += to - from;
    if (!this.#writing && !this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  /** Resolves once nothing is queued and no write is in flight (or on close). */
  drained(): Promise<void> {
    if (this.#closed || (this.#queued === 0 && !this.#writing)) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Resolves once no write is in flight, whether or not the queue is closed. */
  settled(): Promise<void> {
    if (!this.#writing) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Resolves once the {@linkcode footprint} is at most `bytes`, or the queue
   * is closed: for a producer that chooses to wait for this consumer to
   * catch up (usually to the {@linkcode mark}).
   */
  below(bytes: number): Promise<void> {
    if (this.#closed || this.footprint <= bytes) return Promise.resolve();
    // Callers that gave up waiting leave their promise behind: share one per
    // threshold, so that repeated waits do not pile up.
    const waiting = this.#lowWaiters.find((waiter) => waiter.bytes === bytes);
    if (waiting !== undefined) return waiting.promise;
    let resolve!: () => void;
    const promise = new Promise<void>((done) => resolve = done);
    this.#lowWaiters.push({ bytes, resolve, promise });
    return promise;
  }

  /** Drops what is queued; the write in flight, if any, is left to fail or finish. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (let i = this.#head; i < this.#segments.length; i++) {
      const segment = this.#segments[i]!;
      if (segment.held) this.#pool!.release(segment.buffer);
    }
    this.#segments = [];
    this.#overhead = 0;
    this.#head = 0;
    this.#queued = 0;
    this.#wake();
  }

  #flush = (): void => {
    this.#scheduled = false;
    if (!this.#writing && !this.#closed) this.#run();
  };

  async #run(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#segments.length > this.#head && !this.#closed) {
        const out = this.#take();
        let offset = 0;
        while (offset < out.length) {
          const written = await this.#sink.write(out.subarray(offset));
          offset += written;
          if (written > 0) {
            this.#progress++;
            this.#written += written;
          }
        }
        this.#giveBack();
        if (!this.#closed) this.#queued -= out.length;
        if (this.#lowWaiters.length > 0) this.#wakeLow();
      }
    } catch (error) {
      // A rejected write no longer borrows its buffer either.
      this.#giveBack();
      this.#writing = false;
      this.close();
      this.#onError(error);
      this.#settle();
      return;
    }
    this.#writing = false;
    this.#wake();
    this.#settle();
  }

  /** Releases the pooled buffer the finished write borrowed, if any. */
  #giveBack(): void {
    if (this.#borrowed === null) return;
    this.#pool!.release(this.#borrowed);
    this.#borrowed = null;
  }

  #settle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** The next bytes to write: one segment, or several small ones joined. */
  #take(): Uint8Array {
    const segments = this.#segments;
    const first = segments[this.#head]!;
    let count = 1;
    let total = first.end - first.start;
    if (total < JOIN_SEGMENT) {
      while (this.#head + count < segments.length) {
        const size = segments[this.#head + count]!.end -
          segments[this.#head + count]!.start;
        if (size >= JOIN_SEGMENT || total + size > JOIN_LIMIT) break;
        total += size;
        count++;
      }
    }
    let out: Uint8Array;
    if (count === 1) {
      out = new Uint8Array(first.buffer, first.start, total);
      // The write borrows the buffer: the hold passes to it.
      if (first.held) this.#borrowed = first.buffer;
    } else {
      out = new Uint8Array(total);
      let offset = 0;
      for (let i = 0; i < count; i++) {
        const s = segments[this.#head + i]!;
        out.set(new Uint8Array(s.buffer, s.start, s.end - s.start), offset);
        offset += s.end - s.start;
        // Copied: the buffer is free to go back at once.
        if (s.held) this.#pool!.release(s.buffer);
      }
    }
    this.#head += count;
    this.#overhead -= SEGMENT_COST * count;
    if (this.#head === segments.length) {
      this.#segments = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > segments.length) {
      this.#segments = segments.slice(this.#head);
      this.#head = 0;
    }
    return out;
  }

  #wakeLow(): void {
    const waiting = this.#lowWaiters;
    this.#lowWaiters = [];
    for (const waiter of waiting) {
      if (this.#closed || this.footprint <= waiter.bytes) waiter.resolve();
      else this.#lowWaiters.push(waiter);
    }
  }

  #wake(): void {
    if (this.#lowWaiters.length > 0) this.#wakeLow();
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }
}
