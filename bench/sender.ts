/**
 * The send side of a run: one loop per sender that writes big buffers of
 * pre-encoded messages, stamped just before each write, paced by an
 * optional rate and held back by an optional window over its receivers.
 *
 * @module
 */
import { type Link, type Peer, writeAll } from "./driver.ts";
import type { Workload } from "./presets.ts";
import { writeStamp } from "./stamp.ts";

/** A sender gives up once its receivers made no progress for this long. */
const STALL_MS = 15_000;
/** Messages are written in buffers of about this many bytes. */
const BATCH_BYTES = 256 * 1024;

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
  /** The connection. */
  readonly peer: Peer;
  /** Whether it is still open. */
  alive: boolean;
  /** Messages written so far (senders only). */
  sent: number;
  /** The last write queued: writes to one connection never overlap. */
  tail: Promise<void>;
}

/** Writes `bytes` to the connection after every write queued before. */
export function serialWrite(
  tracked: Tracked,
  bytes: Uint8Array,
): Promise<void> {
  const write = tracked.tail.then(() => writeAll(tracked.peer.conn, bytes));
  tracked.tail = write.catch(() => {});
  return write;
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

/** Fills a buffer with as many copies of `message` as fit in a batch. */
function batchOf(message: Uint8Array): { batch: Uint8Array; fits: number } {
  const fits = Math.max(1, Math.floor(BATCH_BYTES / message.length));
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
  const { batch, fits } = batchOf(link.message);
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
      await serialWrite(sender, batch.subarray(0, n * size));
    } catch {
      sender.alive = false;
      break;
    }
    sender.sent += n;
  }
}
