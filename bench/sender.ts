/**
 * The send side of a run: one loop per sender that writes big buffers of
 * pre-encoded messages, stamped just before each write, paced by an
 * optional rate and held back by an optional window over its receivers.
 *
 * @module
 */
import type { Link, Peer } from "./driver.ts";
import type { Workload } from "./presets.ts";
import { writeStamp } from "./stamp.ts";

/** A sender gives up once its receivers made no progress for this long. */
const STALL_MS = 15_000;
/** Messages are written in buffers of about this many bytes. */
export const BATCH_BYTES = 256 * 1024;
/**
 * A run of a set count is sent in at least this many writes, when it has
 * that many messages. Every message of one write carries the same send
 * stamp, so a short run written as one batch (1,000 messages of 128 bytes
 * fit in 256 KiB) gave every latency sample the same send time and nearly
 * the same read time: p50 = p99 = max. With one message a write up to 1,000
 * messages, the top 1% of a short run's samples come from several writes.
 */
export const MIN_WRITES = 1000;

/** Wakes whoever waits for progress; one wake-up serves every waiter. */
export class Signal {
  #waiters: Array<() => void> = [];

  /** Wakes every current waiter. */
  notify(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves to true when notified, or to false after `ms`. */
  wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.max(0, ms));
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}

/** A connection in a run: whether it is still open, and what it sent. */
export interface Tracked {
  /** The connection; its wire keeps writes from overlapping. */
  readonly peer: Peer;
  /** Whether it is still open. */
  alive: boolean;
  /** Messages written so far (senders only). */
  sent: number;
  /** Writes made so far (senders only); messages of one write share a stamp. */
  writes: number;
}

/** State shared by a run's loops. */
export interface Flow {
  /** The run's start: stamps count microseconds from here. */
  readonly t0: number;
  /** When the last message was delivered to any receiver. */
  lastDelivery: number;
  /** Notified after every chunk a connection reads, and when one closes. */
  readonly signal: Signal;
  /** Set when a sender gave up waiting for its receivers. */
  stalled: boolean;
  /** Stamp bytes per message; 0 when bodies are too small. */
  readonly stampLength: number;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Deliveries of the slowest live receiver, or -1 when none is left. */
function slowest(receivers: readonly Tracked[]): number {
  let min = -1;
  for (const r of receivers) {
    if (!r.alive) continue;
    const delivered = r.peer.walker.delivered;
    if (min < 0 || delivered < min) min = delivered;
  }
  return min;
}

/**
 * Most messages of `length` bytes one write carries: as many as fit in
 * {@linkcode BATCH_BYTES}, and for a run of `count` messages few enough that
 * it takes {@linkcode MIN_WRITES} writes.
 *
 * @example
 * ```ts
 * import { messagesPerWrite } from "./sender.ts";
 * if (messagesPerWrite(150) !== 1747) throw new Error("A full batch");
 * if (messagesPerWrite(150, 100_000) !== 100) throw new Error("1,000 writes of 100");
 * if (messagesPerWrite(150, 1000) !== 1) throw new Error("One message a write");
 * ```
 */
export function messagesPerWrite(length: number, count?: number): number {
  const fits = Math.max(1, Math.floor(BATCH_BYTES / length));
  if (count === undefined) return fits;
  return Math.min(fits, Math.max(1, Math.ceil(count / MIN_WRITES)));
}

/** Fills a buffer with as many copies of `message` as one write carries. */
function batchOf(
  message: Uint8Array,
  count: number | undefined,
): { batch: Uint8Array; fits: number } {
  const fits = messagesPerWrite(message.length, count);
  const batch = new Uint8Array(fits * message.length);
  for (let i = 0; i < fits; i++) batch.set(message, i * message.length);
  return { batch, fits };
}

/**
 * Sends until the workload's count or duration is reached, the sender's
 * connection fails, every receiver is gone, or the receivers stall.
 */
export async function sendLoop(options: {
  link: Link;
  sender: Tracked;
  receivers: readonly Tracked[];
  workload: Workload;
  flow: Flow;
}): Promise<void> {
  const { link, sender, receivers, workload, flow } = options;
  const size = link.message.length;
  const { batch, fits } = batchOf(link.message, workload.count);
  const limit = workload.count ?? Infinity;
  const deadline = workload.count === undefined
    ? flow.t0 + workload.durationMs
    : Infinity;
  const interval = workload.rate > 0 ? 1000 / workload.rate : 0;
  let progressAt = performance.now();
  while (sender.alive && sender.sent < limit) {
    let now = performance.now();
    if (now >= deadline) break;
    let n = Math.min(fits, limit - sender.sent);
    if (interval > 0) {
      // The k-th message (from 0) is due at t0 + k × interval.
      const due = Math.floor((now - flow.t0) / interval) + 1 - sender.sent;
      if (due <= 0) {
        await delay(
          Math.min(deadline, flow.t0 + sender.sent * interval) - now,
        );
        continue;
      }
      n = Math.min(n, due);
    }
    if (workload.window > 0) {
      const behind = slowest(receivers);
      if (behind < 0) break;
      const room = workload.window - (sender.sent - behind);
      if (room <= 0) {
        if (await flow.signal.wait(Math.min(STALL_MS, deadline - now))) {
          progressAt = performance.now();
        } else if (performance.now() - progressAt >= STALL_MS) {
          flow.stalled = true;
          break;
        }
        continue;
      }
      n = Math.min(n, room);
      progressAt = now;
    }
    if (flow.stampLength > 0) {
      now = performance.now();
      const us = Math.round((now - flow.t0) * 1000);
      for (let i = 0; i < n; i++) {
        writeStamp(batch, i * size + link.stampOffset, flow.stampLength, us);
      }
    }
    try {
      await sender.peer.wire.write(batch.subarray(0, n * size));
    } catch {
      sender.alive = false;
      break;
    }
    sender.sent += n;
    sender.writes++;
  }
}
