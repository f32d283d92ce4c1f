/**
 * The calls waiting for the hub's replies, oldest first: the hub answers
 * requests in order, so each reply settles the oldest call, and a reply of
 * another kind is a protocol error.
 *
 * @module
 */
import { HubProtocolError } from "./errors.ts";
import { hex } from "./_replies.ts";

/** One call waiting for its reply. */
export interface Pending {
  /** The kind of the reply this request expects. */
  reply: number;
  /** Settles the call with the reply's payload (`owned`: the call may keep it). */
  settle(payload: Uint8Array, owned: boolean): void;
  /** Fails the call. */
  reject(error: Error): void;
}

/**
 * A FIFO of {@linkcode Pending} calls, with a way to wait until none is left.
 *
 * @example The oldest call takes the reply
 * ```ts
 * import { PendingReplies } from "./_pending.ts";
 * const calls = new PendingReplies();
 * const got: number[] = [];
 * calls.push({ reply: 0x82, settle: () => got.push(1), reject: () => {} });
 * calls.push({ reply: 0x83, settle: () => got.push(2), reject: () => {} });
 * calls.take(0x82).settle(new Uint8Array(), true);
 * if (got.join() !== "1" || calls.empty) throw new Error("Expected one left");
 * ```
 */
export class PendingReplies {
  #entries: Pending[] = [];
  #head = 0;
  #quietWaiters: Array<() => void> = [];

  /** Whether no call is waiting. */
  get empty(): boolean {
    return this.#head === this.#entries.length;
  }

  /** Adds a call; its reply comes after those of every call added before. */
  push(entry: Pending): void {
    this.#entries.push(entry);
  }

  /**
   * Removes and returns the oldest call, which a reply of `kind` answers.
   *
   * @throws {HubProtocolError} when no call waits, or the oldest expects another kind
   */
  take(kind: number): Pending {
    const entry = this.#entries[this.#head];
    if (entry === undefined) {
      throw new HubProtocolError(
        `Unexpected reply: kind 0x${hex(kind)} while no request is pending`,
      );
    }
    if (entry.reply !== kind) {
      throw new HubProtocolError(
        `Unexpected reply: kind 0x${hex(kind)} where 0x${
          hex(entry.reply)
        } was due`,
      );
    }
    this.#head++;
    if (this.#head === this.#entries.length) {
      this.#entries = [];
      this.#head = 0;
      if (this.#quietWaiters.length > 0) this.#wake();
    } else if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    return entry;
  }

  /** Fails every waiting call with `reason`, oldest first, and wakes {@linkcode quiet}. */
  rejectAll(reason: Error): void {
    const waiting = this.#entries.slice(this.#head);
    this.#entries = [];
    this.#head = 0;
    for (const entry of waiting) entry.reject(reason);
    this.#wake();
  }

  /** Resolves once no call is waiting. */
  quiet(): Promise<void> {
    if (this.empty) return Promise.resolve();
    return new Promise((resolve) => this.#quietWaiters.push(resolve));
  }

  #wake(): void {
    const waiters = this.#quietWaiters;
    this.#quietWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
