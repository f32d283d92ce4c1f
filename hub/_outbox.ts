/**
 * A session's write side (private to the hub): its outbound queue, the
 * slow-consumer bound every push is held to, and, over WebSocket, the
 * framing of every unit pushed as one whole message. Every byte a session
 * sends goes through here; the queue's one write loop sends it.
 *
 * @module
 */
import { OutboundQueue } from "../protocol/mod.ts";
import type { SessionHost } from "./_session_host.ts";
import type { SessionConn, SessionFraming } from "./session_conn.ts";

/** Replies up to this size are copied into the arena by `send`. */
const SMALL_REPLY = 256;

/** Options of {@linkcode Outbox}. */
export interface OutboxOptions {
  /** The hub: its arena, pool, counters, log and the bound. */
  host: Pick<SessionHost, "arena" | "pool" | "counters" | "config" | "log">;
  /** The client's id, for the log. */
  id: number;
  /** Where the bytes go. */
  conn: SessionConn;
  /** A write failed: the peer is gone. */
  onError: () => void;
  /** A push would pass the bound (logged): the client is a slow consumer. */
  onFull: () => void;
}

/**
 * One session's outbox. Pushes that do not fit the bound call `onFull` and
 * are dropped; the caller checks that the session is open first.
 *
 * @example Over TCP a push is a range of the queue
 * ```ts ignore
 * const outbox = new Outbox({ host, conn, onError, onFull });
 * outbox.send(new TextEncoder().encode("identity 1\n"));
 * ```
 */
export class Outbox {
  /** The queue, which owns the bound and the write loop. */
  readonly queue: OutboundQueue;
  /** Whether messages go as text messages: the client speaks text. */
  text = false;
  /** Frames and replies queued, for `/connz`. */
  frames = 0;
  #host: OutboxOptions["host"];
  #id: number;
  #framing: SessionFraming | null;
  #onFull: () => void;

  /** Makes an empty outbox; see {@linkcode OutboxOptions}. */
  constructor(options: OutboxOptions) {
    const { host, conn } = options;
    this.#host = host;
    this.#id = options.id;
    this.#framing = conn.framing ?? null;
    this.#onFull = options.onFull;
    this.queue = new OutboundQueue(conn, {
      onError: options.onError,
      pool: host.pool,
      limit: host.config.maxPending,
    });
  }

  /**
   * Queues bytes. Small ones are copied into the arena, where back-to-back
   * ones merge into one range instead of each holding a buffer and a range
   * of its own. `text`: see {@linkcode sendRange}.
   */
  send(bytes: Uint8Array, text = true): boolean {
    const length = bytes.length;
    if (length > SMALL_REPLY) return this.sendRange(bytes, 0, length, 1, text);
    const framing = this.#framing;
    const head = framing === null ? 0 : framing.headerSize(length);
    if (!this.#fits(head + length)) return false;
    const arena = this.#host.arena;
    const at = arena.claim(head + length);
    const chunk = arena.chunk;
    // A message's header goes right before it: one range all the same.
    framing?.writeHeader(chunk, at, length, text && this.text);
    chunk.set(bytes, at + head);
    this.queue.pushRange(chunk, at, at + head + length);
    this.#host.counters.framesOut++;
    this.frames++;
    return true;
  }

  /**
   * Queues `bytes[start..end)` without a view: `frames` frames, for the
   * counters. Over WebSocket the range is one message: a text message to a
   * text client unless `text` is false (a block whose body is not UTF-8),
   * a binary one to a binary client.
   */
  sendRange(
    bytes: Uint8Array,
    start: number,
    end: number,
    frames = 1,
    text = true,
  ): boolean {
    const framing = this.#framing;
    if (framing === null) {
      if (!this.#fits(end - start)) return false;
      this.queue.pushRange(bytes, start, end);
    } else {
      const length = end - start;
      const head = framing.headerSize(length);
      if (!this.#fits(head + length)) return false;
      const arena = this.#host.arena;
      const at = arena.claim(head);
      framing.writeHeader(arena.chunk, at, length, text && this.text);
      this.queue.pushRange(arena.chunk, at, at + head);
      this.queue.pushRange(bytes, start, end);
    }
    this.#host.counters.framesOut += frames;
    this.frames += frames;
    return true;
  }

  /**
   * Queues `bytes[start..end)`, a whole WebSocket message with its header
   * (a run of deliveries that the fan-out framed once for all its
   * receivers): `frames` frames, for the counters.
   */
  sendFramed(
    bytes: Uint8Array,
    start: number,
    end: number,
    frames: number,
  ): boolean {
    if (!this.#fits(end - start)) return false;
    this.queue.pushRange(bytes, start, end);
    this.#host.counters.framesOut += frames;
    this.frames += frames;
    return true;
  }

  /** Queues a frame the transport made whole (a pong), within the bound. */
  control(frame: Uint8Array): void {
    if (this.#fits(frame.length)) this.queue.push(frame);
  }

  /**
   * Queues a closing session's last words (its error), past the bound, and
   * over an upgraded WebSocket the close frame with `closeCode`.
   */
  finish(last: Uint8Array | undefined, closeCode: number | undefined): void {
    const framing = this.#framing;
    const framed = framing !== null && framing.open;
    if (last !== undefined) {
      if (framed) {
        const head = framing.headerSize(last.length);
        const out = new Uint8Array(head + last.length);
        framing.writeHeader(out, 0, last.length, this.text);
        out.set(last, head);
        last = out;
      }
      this.queue.push(last);
    }
    if (framed && closeCode !== undefined) {
      this.queue.push(framing.closeFrame(closeCode));
    }
  }

  #fits(bytes: number): boolean {
    if (this.queue.fits(bytes)) return true;
    this.#host.log("warn", "slow consumer", {
      id: this.#id,
      queued: this.queue.queued,
      limit: this.queue.limit,
    });
    this.#onFull();
    return false;
  }
}

/**
 * Gives a receiver that a sender pushed past its queue's mark a moment to
 * drain before the sender reads more: a draining receiver catches up instead
 * of being cut off, while one that is stuck costs its senders at most `max`
 * milliseconds per read until its bound or the write timeout removes it.
 */
export async function stall(
  queue: Pick<OutboundQueue, "mark" | "below">,
  max: number,
  counters: { stalls: number },
): Promise<void> {
  if (max === 0) return;
  counters.stalls++;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    queue.below(queue.mark),
    new Promise<void>((resolve) => timer = setTimeout(resolve, max)),
  ]);
  clearTimeout(timer);
}
