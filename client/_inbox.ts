/**
 * A message relayed to this client by another one (or by itself).
 *
 * @example
 * ```ts
 * import type { Message } from "./mod.ts";
 * const message: Message = { sender: 1n, body: new TextEncoder().encode("hi") };
 * ```
 */
export interface Message {
  /** User id of the client that relayed the message. */
  sender: bigint;
  /** The body, a copy the caller may keep. */
  body: Uint8Array;
}

interface Waiter {
  resolve: (result: IteratorResult<Message, undefined>) => void;
  reject: (error: Error) => void;
}

const DONE: IteratorResult<Message, undefined> = {
  done: true,
  value: undefined,
};

/**
 * Messages received and not yet taken, shared by every iterator of one
 * client: each message goes to exactly one `next()`. Once ended, an iterator
 * yields what is left, then finishes, or throws `failure` once if there was one.
 */
export class Inbox {
  #items: Message[] = [];
  #head = 0;
  #waiters: Waiter[] = [];
  #ended = false;
  #failure: Error | null = null;

  /** Hands a message to a waiting `next()`, or keeps it for the next one. */
  push(message: Message): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve({ done: false, value: message });
    } else {
      this.#items.push(message);
    }
  }

  /** No more messages will come; `failure` is why, when it was not a clean end. */
  end(failure: Error | null): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#failure = failure;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) {
      if (failure === null) waiter.resolve(DONE);
      else waiter.reject(failure);
    }
  }

  /** A new iterator over the messages still to come. */
  iterator(): AsyncIterableIterator<Message, undefined, undefined> {
    let finished = false;
    let waiter: Waiter | null = null;
    const next = (): Promise<IteratorResult<Message, undefined>> => {
      if (finished) return Promise.resolve(DONE);
      const message = this.#take();
      if (message !== undefined) {
        return Promise.resolve({ done: false, value: message });
      }
      if (this.#ended) {
        finished = true;
        return this.#failure === null
          ? Promise.resolve(DONE)
          : Promise.reject(this.#failure);
      }
      return new Promise((resolve, reject) => {
        waiter = {
          resolve: (result) => {
            waiter = null;
            if (result.done) finished = true;
            resolve(result);
          },
          reject: (error) => {
            waiter = null;
            finished = true;
            reject(error);
          },
        };
        this.#waiters.push(waiter);
      });
    };
    const stop = (): Promise<IteratorResult<Message, undefined>> => {
      finished = true;
      if (waiter !== null) {
        const pending = waiter;
        this.#waiters = this.#waiters.filter((w) => w !== pending);
        pending.resolve(DONE);
      }
      return Promise.resolve(DONE);
    };
    return {
      next,
      return: stop,
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  #take(): Message | undefined {
    if (this.#head === this.#items.length) return undefined;
    const message = this.#items[this.#head]!;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return message;
  }
}
