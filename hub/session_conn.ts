/**
 * The transport seam: what a session reads from and writes to. A Deno TCP or
 * TLS connection is one as it is, with no wrapper on the hot path; another
 * transport (a WebSocket connection, say) implements the same few methods
 * and feeds sessions without the hub's insides changing.
 *
 * @module
 */
import type { ByteSink } from "../protocol/mod.ts";

/**
 * A byte stream to one client. The session reads into buffers of its own
 * (a transport copies what it received into them, as a socket read does)
 * and writes through one `OutboundQueue` (of `protocol/`), which never has
 * more than one write in flight and never touches a buffer while it is being
 * written.
 *
 * Errors: a read or write that fails because the peer went away rejects
 * with one of `Deno.errors` (`ConnectionReset`, `BrokenPipe`,
 * `UnexpectedEof`, `BadResource` …), as a socket's would; the session closes
 * quietly on those and logs anything else as a bug.
 *
 * @example A Deno TCP connection is a session connection as it is
 * ```ts
 * import type { SessionConn } from "./session_conn.ts";
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const dialing = Deno.connect({ port: listener.addr.port });
 * const conn: SessionConn = await listener.accept();
 * const client = await dialing;
 * await client.write(new Uint8Array([1, 2, 3]));
 * const into = new Uint8Array(8);
 * if ((await conn.read(into)) !== 3) throw new Error("Expected 3 bytes");
 * conn.close();
 * client.close();
 * ```
 */
export interface SessionConn extends ByteSink {
  /**
   * Reads into `into`, resolving to how many bytes arrived, or `null` at the
   * end of the stream. Only one read is in flight at a time.
   */
  read(into: Uint8Array): Promise<number | null>;
  /**
   * Writes some bytes of `bytes`, resolving to how many; it may write fewer.
   * `bytes` is not touched again by the caller until the write settles.
   */
  write(bytes: Uint8Array): Promise<number>;
  /** Ends the writing side once what was written is sent (TCP FIN, TLS close_notify). */
  closeWrite(): Promise<void>;
  /** Closes both sides at once. */
  close(): void;
  /** The peer's address, for logs. */
  readonly remoteAddr: Deno.Addr;
  /**
   * Completes the transport's own handshake (TLS) before the first read,
   * so that its failure is told apart from a read error. Absent when there
   * is none.
   */
  handshake?(): Promise<unknown>;
}
