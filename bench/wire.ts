/**
 * The socket under one generator connection, as the drivers and the runner
 * see it: raw reads, the stream bytes those reads carry, and serial writes
 * of stream bytes. Over TCP the stream is the socket; over WebSocket it is
 * the payload of binary messages (see `ws_wire.ts`). The walkers above never
 * know which.
 *
 * @module
 */

/** How generator connections reach the server. */
export type Transport = "tcp" | "ws";

/** One connection's socket, over TCP or WebSocket. */
export interface Wire {
  /** The transport this wire speaks. */
  readonly transport: Transport;
  /**
   * Reads raw bytes into `buf`; resolves to their count, or `null` at EOF.
   * Pass what was read to {@linkcode Wire.unwrap}.
   */
  read(buf: Uint8Array): Promise<number | null>;
  /**
   * Hands the stream bytes carried by `chunk` (raw bytes just read) to
   * `sink`, in zero or more pieces valid only during the call; returns false
   * once the peer has closed the stream. Throws on a transport violation.
   */
  unwrap(chunk: Uint8Array, sink: (bytes: Uint8Array) => void): boolean;
  /**
   * Writes every byte of `bytes` as stream bytes, after every write queued
   * before; rejects when the socket fails. `bytes` may be reused once the
   * returned promise settles.
   */
  write(bytes: Uint8Array): Promise<void>;
  /** Closes the socket; a second close is harmless. */
  close(): void;
}

/** Writes every byte of `bytes` (`write` may take fewer). */
export async function writeAll(
  conn: Deno.Conn,
  bytes: Uint8Array,
): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await conn.write(bytes.subarray(offset));
  }
}

/**
 * Chains writes so that they never overlap: each starts once the one before
 * it settled, and a failed write does not stop the ones after it from being
 * tried (they fail the same way on a dead socket).
 *
 * @example
 * ```ts
 * import { SerialWriter } from "./wire.ts";
 * const order: number[] = [];
 * const writer = new SerialWriter();
 * const slow = writer.run(async () => {
 *   await new Promise((resolve) => setTimeout(resolve, 5));
 *   order.push(1);
 * });
 * const fast = writer.run(() => Promise.resolve(void order.push(2)));
 * await Promise.all([slow, fast]);
 * if (order.join() !== "1,2") throw new Error(`Overlapped: ${order}`);
 * ```
 */
export class SerialWriter {
  #tail: Promise<void> = Promise.resolve();

  /** Runs `write` once every write queued before it has settled. */
  run(write: () => Promise<void>): Promise<void> {
    const done = this.#tail.then(write);
    this.#tail = done.catch(() => {});
    return done;
  }
}

/**
 * A plain TCP connection as a {@linkcode Wire}.
 *
 * @example Both ends of a loopback connection
 * ```ts
 * import { tcpWire } from "./wire.ts";
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const dialing = Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * using accepted = await listener.accept();
 * const wire = tcpWire(await dialing);
 * await wire.write(new Uint8Array([1, 2, 3]));
 * const buf = new Uint8Array(8);
 * const n = await accepted.read(buf);
 * if (n !== 3) throw new Error(`Read ${n} bytes`);
 * wire.close();
 * ```
 */
export function tcpWire(conn: Deno.TcpConn): Wire {
  const writer = new SerialWriter();
  let closed = false;
  return {
    transport: "tcp",
    read: (buf) => conn.read(buf),
    unwrap(chunk, sink) {
      sink(chunk);
      return true;
    },
    write: (bytes) => writer.run(() => writeAll(conn, bytes)),
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    },
  };
}
