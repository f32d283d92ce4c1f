/**
 * The seam between the client's protocol engine and the wire, after the
 * transports of nats.js: the {@linkcode Client} writes bytes and reads chunks
 * and never knows whether they travel over TCP, TLS or WebSocket. This module
 * is runtime-neutral: it touches no `Deno.*`, so the browser build keeps it.
 *
 * @module
 */

/**
 * One connection to a hub, as the client engine sees it: a byte stream in
 * each direction.
 *
 * Iterating it yields the bytes the hub sends, in order, in chunks of any
 * size (frame boundaries mean nothing here). A chunk may be a view of a
 * buffer the transport reuses: it is valid only until the next chunk is
 * asked for. The iteration ends when the hub hangs up cleanly and throws when
 * the connection breaks. It is iterated once.
 *
 * @example A transport over an in-memory byte list, for a test double
 * ```ts
 * import type { Transport } from "./mod.ts";
 * const sent: Uint8Array[] = [];
 * const transport: Transport = {
 *   write: (bytes) => Promise.resolve(sent.push(bytes.slice()) && bytes.length),
 *   closeWrite: () => Promise.resolve(),
 *   close: () => {},
 *   async *[Symbol.asyncIterator]() {},
 * };
 * await transport.write(new Uint8Array([6, 0, 0, 0, 0]));
 * if (sent.length !== 1) throw new Error("Expected one write");
 * ```
 */
export interface Transport extends AsyncIterable<Uint8Array> {
  /**
   * Writes some of `bytes` and resolves to how many it took (at least one,
   * possibly fewer than offered). `bytes` is not touched after the promise
   * resolves. Rejects once the connection is broken.
   */
  write(bytes: Uint8Array): Promise<number>;
  /**
   * Tells the hub nothing more will be written. Reading goes on until the
   * hub hangs up.
   */
  closeWrite(): Promise<void>;
  /** Drops the connection at once; the iteration ends. Harmless when repeated. */
  close(): void;
}

/**
 * A connected byte stream with `read`: `Deno.Conn`, `Deno.TlsConn` and any
 * test double of that shape fit. {@linkcode streamTransport} makes it a
 * {@linkcode Transport}.
 *
 * @example `Deno.Conn` is a ByteStream
 * ```ts
 * import type { ByteStream } from "./mod.ts";
 * const accept = (stream: ByteStream) => stream;
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await Deno.connect({ port: listener.addr.port });
 * accept(conn).close();
 * listener.close();
 * ```
 */
export interface ByteStream {
  /** Reads into `p`; resolves to the count, or `null` at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`; resolves to how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
  /** Shuts the write side. */
  closeWrite(): Promise<void>;
  /** Closes both sides. */
  close(): void;
}

/** Bytes asked for per read of a {@linkcode ByteStream}. */
const READ_SIZE = 64 * 1024;

const DONE: IteratorResult<Uint8Array, undefined> = {
  done: true,
  value: undefined,
};

/**
 * A {@linkcode Transport} over a {@linkcode ByteStream}. Every read lands in
 * one buffer of 64 KiB that is reused, and each chunk is a view of it: no
 * copy on the way to the frame parser.
 *
 * @example Wrap a TCP connection to a hub
 * ```ts
 * import { Client, streamTransport } from "./mod.ts";
 * import { serve } from "../hub/mod.ts";
 * await using hub = await serve({ port: 0 });
 * const conn = await Deno.connect({ port: hub.addr.port });
 * await using client = new Client(streamTransport(conn));
 * if (await client.identity() < 1n) throw new Error("Expected a user id");
 * ```
 */
export function streamTransport(stream: ByteStream): Transport {
  const buffer = new Uint8Array(READ_SIZE);
  const toResult = (n: number | null): IteratorResult<Uint8Array, undefined> =>
    n === null ? DONE : { done: false, value: buffer.subarray(0, n) };
  let closed = false;
  return {
    write: (bytes) => stream.write(bytes),
    closeWrite: () => stream.closeWrite(),
    close() {
      if (closed) return;
      closed = true;
      try {
        stream.close();
      } catch {
        // Already closed by the runtime: nothing left to free.
      }
    },
    [Symbol.asyncIterator]() {
      return {
        next: () => stream.read(buffer).then(toResult),
        [Symbol.asyncIterator]() {
          return this;
        },
      };
    },
  };
}
