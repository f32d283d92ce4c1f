/**
 * Replies held in order behind one still to come (private to the hub): a
 * receipt that other hubs of the cluster have yet to confirm keeps its place
 * among a session's replies, and the replies after it wait behind it.
 *
 * @example A reply to come, and one behind it
 * ```ts
 * import { HeldReplies } from "./_held_replies.ts";
 * const sent: string[] = [];
 * const held = new HeldReplies((bytes) => sent.push(new TextDecoder().decode(bytes)));
 * const confirm = Promise.withResolvers<Uint8Array>();
 * held.later(confirm.promise);
 * held.hold(new TextEncoder().encode("b"), true);
 * confirm.resolve(new TextEncoder().encode("a"));
 * await Promise.resolve();
 * if (sent.join() !== "a,b" || held.holding) throw new Error("Out of order");
 * ```
 *
 * @module
 */

/** Replies waiting their turn; see the module. */
export class HeldReplies {
  #held: { bytes: Uint8Array | null; text: boolean }[] = [];
  #send: (bytes: Uint8Array, text: boolean) => void;
  #then: (() => void) | null = null;

  /**
   * Starts empty: `send` gets each reply in its turn.
   *
   * @param send queues a reply whose turn has come
   */
  constructor(send: (bytes: Uint8Array, text: boolean) => void) {
    this.#send = send;
  }

  /** True while a reply still to come holds the ones after it. */
  get holding(): boolean {
    return this.#held.length > 0;
  }

  /** Holds a copy of `bytes` (its buffer may be reused) behind the others. */
  hold(bytes: Uint8Array, text: boolean): void {
    this.#held.push({ bytes: bytes.slice(), text });
  }

  /** A reply still to come: it and the ones after it wait for it. */
  later(reply: Promise<Uint8Array>): void {
    const entry: { bytes: Uint8Array | null; text: boolean } = {
      bytes: null,
      text: true,
    };
    this.#held.push(entry);
    reply.then((bytes) => {
      entry.bytes = bytes;
      this.#release();
    });
  }

  /** Runs `then` once nothing is held (at once if nothing is). */
  whenEmpty(then: () => void): void {
    if (!this.holding) return then();
    this.#then = then;
  }

  #release(): void {
    let ready = 0;
    while (ready < this.#held.length && this.#held[ready]!.bytes !== null) {
      ready++;
    }
    for (const { bytes, text } of this.#held.splice(0, ready)) {
      this.#send(bytes!, text);
    }
    if (!this.holding && this.#then !== null) {
      const then = this.#then;
      this.#then = null;
      then();
    }
  }
}
