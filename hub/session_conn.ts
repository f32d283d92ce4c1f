/**
 * The transport seam: what a session reads from and writes to. A Deno TCP or
 * TLS connection is one as it is, with no wrapper on the hot path; another
 * transport (a WebSocket connection, say) implements the same few methods
 * and feeds sessions without the hub's insides changing.
 *
 * @module
 */
import type { ByteSink } from "../protocol/mod.ts";
import type { CloseReason } from "./close_reason.ts";
import type { Dialect } from "./registry.ts";

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
   * Completes the transport's own handshake (TLS, a WebSocket upgrade)
   * before the first read, so that its failure is told apart from a read
   * error. Absent when there is none. A transport that turns the peer away
   * on its own terms rejects with {@linkcode HandshakeRefused}.
   */
  handshake?(options: HandshakeOptions): Promise<unknown>;
  /**
   * Present on a transport that carries messages rather than a byte stream
   * (WebSocket): it fixes the dialect and wants every queued unit framed.
   * Absent on TCP, whose path then costs nothing more.
   */
  readonly framing?: SessionFraming;
}

/** What a session tells its transport's handshake. */
export interface HandshakeOptions {
  /** The hub was full at accept: the transport may refuse in its own way. */
  refused: boolean;
}

/**
 * A handshake that turned the peer away with an answer of its own (an HTTP
 * refusal of a WebSocket upgrade): the session writes `response`, then
 * closes under `reason`.
 *
 * @example
 * ```ts
 * import { HandshakeRefused } from "./session_conn.ts";
 * const refused = new HandshakeRefused("Forbidden origin", {
 *   reason: "unauthorized",
 *   response: new Uint8Array(0),
 * });
 * if (refused.reason !== "unauthorized") throw new Error("Wrong reason");
 * ```
 */
export class HandshakeRefused extends Error {
  /** Why the connection closes. */
  readonly reason: CloseReason;
  /** What to write before closing. */
  readonly response: Uint8Array;

  /**
   * Creates the refusal.
   *
   * @param message why, for the close log line
   * @param options the close reason and the response to write
   */
  constructor(
    message: string,
    options: { reason: CloseReason; response: Uint8Array },
  ) {
    super(message);
    this.name = "HandshakeRefused";
    this.reason = options.reason;
    this.response = options.response;
  }
}

/**
 * A message transport, as its session sees it. Every unit the session
 * queues is one whole message, headed by the frame header the transport
 * writes for it.
 */
export interface SessionFraming {
  /**
   * The dialect fixed by the first data message; `Dialect.Unknown` until
   * one with a byte in it has arrived.
   */
  readonly dialect: Dialect;
  /** Raw bytes the last read took from the socket, frame headers included. */
  readonly received: number;
  /** Whether the upgrade is done: from then on units are framed. */
  readonly open: boolean;
  /** Connects the session, which hears of control frames and closes. */
  attach(events: FramingEvents): void;
  /** Bytes of the header of a message of `length` bytes. */
  headerSize(length: number): number;
  /**
   * Writes the header of a message of `length` bytes at `target[at]`: a
   * text message when `text`, else a binary one.
   */
  writeHeader(
    target: Uint8Array,
    at: number,
    length: number,
    text: boolean,
  ): void;
  /** The whole frame that closes the connection with `code`. */
  closeFrame(code: number): Uint8Array;
}

/** What a message transport tells its session. */
export interface FramingEvents {
  /** Queue this control frame (a pong) between whole messages. */
  control(frame: Uint8Array): void;
  /**
   * The peer closed (code 1000 is answered) or broke the transport's rules:
   * close with a close frame of `code`, without a protocol error.
   */
  ended(code: number, reason: CloseReason, detail: string | null): void;
}
