/**
 * The DELIVER frame of the relay being handled (private to the hub): built
 * once, in the shared arena, a pooled buffer, or in place over the relay's
 * own ids, and queued as the same bytes for every binary receiver.
 *
 * @module
 */
import {
  ARENA_LARGE,
  type BufferPool,
  deliverSize,
  HEADER_SIZE,
  type OutboundArena,
  writeDeliverHead,
} from "../protocol/mod.ts";

/**
 * Where the current DELIVER frame is: `frame[start..end)`.
 *
 * @example A small frame goes in the arena
 * ```ts
 * import { BufferPool, OutboundArena } from "../protocol/mod.ts";
 * import { DeliverFrame } from "./_deliver_frame.ts";
 * const arena = new OutboundArena();
 * const deliver = new DeliverFrame(arena, new BufferPool());
 * const relay = new Uint8Array([1, 2, 3]);
 * deliver.build(7, relay, 0, 3, false);
 * if (deliver.frame !== arena.chunk || deliver.end - deliver.start !== 16) {
 *   throw new Error("Expected a 16-byte frame in the arena");
 * }
 * ```
 */
export class DeliverFrame {
  /** The buffer the frame is in. */
  frame: Uint8Array = new Uint8Array(0);
  /** Where it starts in {@linkcode frame}. */
  start = 0;
  /** Where it ends in {@linkcode frame}. */
  end = 0;
  #arena: OutboundArena;
  #pool: BufferPool;
  /** Whether `frame` was taken from the pool for this relay alone. */
  #taken = false;

  /** Frames go in `arena`, or in buffers of `pool` when large. */
  constructor(arena: OutboundArena, pool: BufferPool) {
    this.#arena = arena;
    this.#pool = pool;
  }

  /**
   * Builds the DELIVER frame of `senderId` with the body
   * `source[bodyStart..end)`. With `owned` (the parser handed over its
   * buffer), a large frame's head goes over the last ids, right before the
   * body, and nothing is copied. A frame in the arena gets `room` unused
   * bytes before it, claimed with it (for a header to be written there).
   */
  build(
    senderId: number,
    source: Uint8Array,
    bodyStart: number,
    end: number,
    owned: boolean,
    room = 0,
  ): void {
    const bodyLength = end - bodyStart;
    const size = deliverSize(bodyLength);
    if (owned && bodyLength >= ARENA_LARGE) {
      this.frame = source;
      this.start = bodyStart - HEADER_SIZE - 8;
    } else if (size >= ARENA_LARGE) {
      this.frame = this.#pool.take(size);
      this.#taken = true;
      this.start = 0;
      this.frame.set(source.subarray(bodyStart, end), HEADER_SIZE + 8);
    } else {
      const at = this.#arena.claim(room + size) + room;
      const chunk = this.#arena.chunk;
      const head = at + HEADER_SIZE + 8;
      if (bodyLength <= 64) {
        // A view and a memcpy cost more than a short loop.
        for (let i = 0; i < bodyLength; i++) {
          chunk[head + i] = source[bodyStart + i]!;
        }
      } else {
        chunk.set(source.subarray(bodyStart, end), head);
      }
      this.frame = chunk;
      this.start = at;
    }
    this.end = this.start + size;
    writeDeliverHead(this.frame, this.start, senderId, bodyLength);
  }

  /**
   * Lets go of a pooled frame once every queue that took it holds it: they
   * keep it until written.
   */
  release(): void {
    if (!this.#taken) return;
    this.#taken = false;
    this.#pool.release(this.frame.buffer);
  }
}
