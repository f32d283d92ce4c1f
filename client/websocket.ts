/**
 * The WebSocket {@linkcode Transport}, over the global `WebSocket` that
 * browsers, Deno, Node 22+ and Bun provide. It speaks the binary dialect:
 * every write is one binary message, and the hub's messages, joined, are the
 * same byte stream as on TCP. Runtime-neutral: no `Deno.*`.
 *
 * @module
 */

import { MAX_BODY } from "../protocol/mod.ts";
import type { Transport } from "./transport.ts";

/**
 * The most one write sends as one message: the hub refuses messages over
 * 1 MiB + 64 KiB, and a frame may be split across messages, so 1 MiB is safe
 * and leaves only the largest relays in two.
 */
const MAX_MESSAGE = MAX_BODY;
/** Above this many bytes buffered by the WebSocket, writes wait for it to drain. */
const HIGH_WATER = 1 << 20;
/**
 * How often a write waiting for the WebSocket to drain looks again: the
 * `WebSocket` API has no event for it.
 */
const DRAIN_POLL_MS = 5;
/** `WebSocket.OPEN`, without needing the global at load time. */
const OPEN = 1;
/** Close codes of a clean end: normal, going away, no status given. */
const CLEAN_CLOSE = new Set([1000, 1001, 1005]);

const encoder = new TextEncoder();

const DONE: IteratorResult<Uint8Array, undefined> = {
  done: true,
  value: undefined,
};

interface Waiter {
  resolve(result: IteratorResult<Uint8Array, undefined>): void;
  reject(error: Error): void;
}

/**
 * Opens a WebSocket to `url` and resolves once it is open. Messages that
 * arrive before the first read are kept.
 *
 * @throws {TypeError} when the runtime has no global `WebSocket`
 * @throws {Error} when the connection or the upgrade fails; the message says
 * what the runtime reported
 *
 * @example Refused: nothing listens there
 * ```ts
 * import { connectWebSocket } from "./mod.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const { port } = listener.addr;
 * listener.close();
 * const failed = await connectWebSocket(`ws://127.0.0.1:${port}/`)
 *   .then(() => false, () => true);
 * if (!failed) throw new Error("Expected a failure");
 * ```
 */
export function connectWebSocket(url: string | URL): Promise<Transport> {
  const WebSocketClass = (globalThis as { WebSocket?: typeof WebSocket })
    .WebSocket;
  if (typeof WebSocketClass !== "function") {
    return Promise.reject(
      new TypeError(
        `Cannot connect to "${url}": this runtime has no global WebSocket`,
      ),
    );
  }
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocketClass(url);
    } catch (error) {
      reject(error);
      return;
    }
    ws.binaryType = "arraybuffer";
    // Listening from the start: no message is lost between open and the
    // first read.
    const transport = new WebSocketTransport(ws);
    const onOpen = () => {
      done();
      resolve(transport);
    };
    // Browsers send close after error, with a code but no message; Node's
    // WebSocket may send error alone. Whichever comes first decides.
    const onError = (event: Event) => {
      done();
      const message = (event as { message?: unknown }).message;
      reject(
        new Error(
          typeof message === "string" && message !== ""
            ? message.replace(/^NetworkError: /, "")
            : "the WebSocket failed to open",
        ),
      );
      transport.close();
    };
    const onClose = (event: CloseEvent) => {
      done();
      const reason = event.reason === "" ? "" : `: ${event.reason}`;
      reject(
        new Error(
          `the WebSocket closed before it opened (code ${event.code}${reason})`,
        ),
      );
    };
    const done = () => {
      ws.removeEventListener("open", onOpen);
      ws.removeEventListener("error", onError);
      ws.removeEventListener("close", onClose);
    };
    ws.addEventListener("open", onOpen);
    ws.addEventListener("error", onError);
    ws.addEventListener("close", onClose);
  });
}

/**
 * A {@linkcode Transport} over an open `WebSocket`. Chunks are the messages,
 * in order; text messages (the hub sends none in the binary dialect) are
 * taken as their UTF-8 bytes.
 */
class WebSocketTransport implements Transport {
  #ws: WebSocket;
  #chunks: Uint8Array[] = [];
  #head = 0;
  #waiter: Waiter | null = null;
  #ended = false;
  #failure: Error | null = null;

  constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener("message", (event: MessageEvent) => {
      const data: unknown = event.data;
      this.#push(
        typeof data === "string"
          ? encoder.encode(data)
          : new Uint8Array(data as ArrayBuffer),
      );
    });
    ws.addEventListener("close", (event: CloseEvent) => {
      if (CLEAN_CLOSE.has(event.code)) return this.#end(null);
      const reason = event.reason === "" ? "" : `: ${event.reason}`;
      this.#end(new Error(`WebSocket closed with code ${event.code}${reason}`));
    });
  }

  async write(bytes: Uint8Array): Promise<number> {
    const ws = this.#ws;
    if (ws.readyState !== OPEN) {
      throw new Error("Cannot write: the WebSocket is not open");
    }
    const n = Math.min(bytes.length, MAX_MESSAGE);
    ws.send(
      (n === bytes.length ? bytes : bytes.subarray(0, n)) as Uint8Array<
        ArrayBuffer
      >,
    );
    while (ws.bufferedAmount > HIGH_WATER && ws.readyState === OPEN) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    return n;
  }

  closeWrite(): Promise<void> {
    // WebSocket has no half-close: the close frame ends both directions,
    // and browsers drop messages that arrive after it. The client waits for
    // its replies before calling this.
    if (this.#ws.readyState <= OPEN) this.#ws.close(1000);
    return Promise.resolve();
  }

  close(): void {
    if (this.#ws.readyState <= OPEN) this.#ws.close(1000);
    this.#end(null);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array, undefined> {
    return {
      next: () => {
        if (this.#head < this.#chunks.length) {
          return Promise.resolve({ done: false, value: this.#take() });
        }
        if (this.#ended) {
          const failure = this.#failure;
          this.#failure = null;
          return failure === null
            ? Promise.resolve(DONE)
            : Promise.reject(failure);
        }
        return new Promise((resolve, reject) => {
          this.#waiter = { resolve, reject };
        });
      },
    };
  }

  #take(): Uint8Array {
    const chunk = this.#chunks[this.#head]!;
    this.#head++;
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    }
    return chunk;
  }

  #push(chunk: Uint8Array): void {
    if (this.#ended) return;
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter.resolve({ done: false, value: chunk });
    } else {
      this.#chunks.push(chunk);
    }
  }

  #end(failure: Error | null): void {
    if (this.#ended) return;
    this.#ended = true;
    const waiter = this.#waiter;
    this.#waiter = null;
    if (waiter === null) {
      this.#failure = failure;
    } else if (failure === null) {
      waiter.resolve(DONE);
    } else {
      waiter.reject(failure);
    }
  }
}
