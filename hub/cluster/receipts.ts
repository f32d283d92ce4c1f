/**
 * Receipts across hubs. A receipted relay counts a receiver on another hub
 * as delivered only once that hub says it queued the message for it: the
 * relay's record carries an ack number, and the receiving hub sends back an
 * ack (how many it queued, and which ids it does not have). A receiver
 * whose hub does not answer within the ack timeout, or that is lost, leaves
 * or goes out of reach meanwhile, is reported unknown.
 *
 * {@linkcode Receipts} is the sending hub's side: the receipts waiting, by
 * ack number, with one timer for all (they share the timeout, so the oldest
 * is always the first due). {@linkcode AckOutbox} is the receiving hub's:
 * the acks it owes, sent once per task to each hub. Nothing here touches
 * NATS.
 *
 * @example A receipt confirmed, and one that times out
 * ```ts
 * import { Receipts } from "./receipts.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const receipts = new Receipts(50);
 * const confirmed = receipts.expect(2, [11, 12]);
 * receipts.confirm(2, { ack: confirmed.ack, delivered: 1, unknown: [12] });
 * assertEquals(await confirmed.promise, { delivered: 1, unknown: [12] });
 * const lost = receipts.expect(3, [13]);
 * assertEquals(await lost.promise, { delivered: 0, unknown: [13] });
 * ```
 *
 * @module
 */
import { type Ack, encodeAcks } from "./wire.ts";
import type { Publish } from "./types.ts";

/** What another hub confirmed of one receipted relay. */
export interface RemoteReceipt {
  /** Receivers it queued the message for. */
  delivered: number;
  /** Receivers it did not confirm: not registered there, or no answer. */
  unknown: number[];
}

interface Waiting {
  hub: number;
  ids: readonly number[];
  due: number;
  resolve: (receipt: RemoteReceipt) => void;
}

/** The receipts waiting for other hubs' acks. */
export class Receipts {
  readonly #timeoutMs: number;
  readonly #waiting = new Map<number, Waiting>();
  #next = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Makes the part.
   *
   * @param timeoutMs how long a receipt waits for its ack
   */
  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** Receipts waiting now. */
  get size(): number {
    return this.#waiting.size;
  }

  /**
   * Waits for hub `hub` to ack the relay to `ids` (its receivers): returns
   * the ack number to send with the record, and the receipt to come.
   */
  expect(
    hub: number,
    ids: readonly number[],
  ): { ack: number; promise: Promise<RemoteReceipt> } {
    // Never 0, which means "no ack" on the wire.
    this.#next = this.#next >= 0xffff_ffff ? 1 : this.#next + 1;
    const ack = this.#next;
    const promise = new Promise<RemoteReceipt>((resolve) => {
      this.#waiting.set(ack, {
        hub,
        ids: [...ids],
        due: performance.now() + this.#timeoutMs,
        resolve,
      });
    });
    this.#timer ??= setTimeout(this.#expire, this.#timeoutMs);
    return { ack, promise };
  }

  /** Hub `hub` acked: settles that receipt. An unknown or foreign ack is ignored. */
  confirm(hub: number, ack: Ack): void {
    const waiting = this.#waiting.get(ack.ack);
    if (waiting === undefined || waiting.hub !== hub) return;
    this.#waiting.delete(ack.ack);
    // Only ids the relay named: another hub cannot make up receivers.
    const unknown = ack.unknown.filter((id) => waiting.ids.includes(id));
    const delivered = Math.min(
      ack.delivered,
      waiting.ids.length - unknown.length,
    );
    // Named but neither queued nor unknown: refused as slow consumers there.
    waiting.resolve({ delivered, unknown });
  }

  /** Hub `hub` left or was lost: its receipts report their receivers unknown. */
  forget(hub: number): void {
    for (const [ack, waiting] of this.#waiting) {
      if (waiting.hub === hub) this.#fail(ack, waiting);
    }
  }

  /** NATS is out of reach, or the link closes: every receipt fails now. */
  failAll(): void {
    for (const [ack, waiting] of this.#waiting) this.#fail(ack, waiting);
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fail(ack: number, waiting: Waiting): void {
    this.#waiting.delete(ack);
    waiting.resolve({ delivered: 0, unknown: [...waiting.ids] });
  }

  #expire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    // In order of their deadlines, which is the order they were made.
    for (const [ack, waiting] of this.#waiting) {
      if (waiting.due > now) {
        this.#timer = setTimeout(this.#expire, waiting.due - now);
        return;
      }
      this.#fail(ack, waiting);
    }
  };
}

/** The acks a hub owes other hubs, sent to each once per task. */
export class AckOutbox {
  readonly #number: number;
  readonly #prefix: string;
  readonly #publish: Publish;
  readonly #owed = new Map<number, Ack[]>();
  #scheduled = false;

  /**
   * Makes the part.
   *
   * @param number this hub's number
   * @param prefix ack subjects: the prefix, then the receiving hub's number
   * @param publish sends one message
   */
  constructor(number: number, prefix: string, publish: Publish) {
    this.#number = number;
    this.#prefix = prefix;
    this.#publish = publish;
  }

  /** Owes hub `to` an ack; sent at the end of the task. */
  add(to: number, ack: Ack): void {
    let list = this.#owed.get(to);
    if (list === undefined) {
      list = [];
      this.#owed.set(to, list);
    }
    list.push(ack);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.flush);
    }
  }

  /** Sends every ack owed now. */
  flush = (): void => {
    this.#scheduled = false;
    for (const [to, acks] of this.#owed) {
      // At most 65535 acks a message (a u16 count).
      for (let i = 0; i < acks.length; i += 0xffff) {
        this.#publish(
          this.#prefix + to,
          encodeAcks(this.#number, acks.slice(i, i + 0xffff)),
        );
      }
    }
    this.#owed.clear();
  };
}
