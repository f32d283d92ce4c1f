/**
 * A WebSocket connection as a {@linkcode SessionConn} (private to the hub):
 * it answers the HTTP upgrade, then turns the client's frames back into the
 * byte stream a session reads, and frames what the session queues. The codec
 * is `protocol/`'s; this file only runs it over a Deno socket.
 *
 * @module
 */
import {
  encodeWsAccept,
  encodeWsClose,
  encodeWsPong,
  encodeWsRefusal,
  isWsOriginAllowed,
  writeWsHeader,
  WsCloseCode,
  WsFrameParser,
  WsHandshakeParser,
  wsHeaderSize,
  WsHttpStatus,
  WsMessageTooLargeError,
  WsOpcode,
  WsProtocolError,
} from "../protocol/mod.ts";
import { CloseReason } from "./close_reason.ts";
import { Dialect } from "./registry.ts";
import {
  type FramingEvents,
  type HandshakeOptions,
  HandshakeRefused,
  type SessionConn,
  type SessionFraming,
} from "./session_conn.ts";

/** What the upgrade reads the request head into. */
const HEAD_READ = 4096;
const EMPTY = new Uint8Array(0);

const Mode = { Upgrade: 0, Frames: 1, Drop: 2 } as const;
type Mode = typeof Mode[keyof typeof Mode];

/** Options of {@linkcode WsConn}. */
export interface WsConnOptions {
  /** Origins allowed to upgrade, lower case; empty allows any. */
  origins: readonly string[];
}

/**
 * One WebSocket client. Reads unmask the frames in place, in the buffer the
 * session reads into, and move the payload bytes to its front: a data byte
 * crosses memory once, and nothing of a data frame is held between reads.
 * Writes go to the socket as they are: the session queues whole frames.
 *
 * @example Serve a WebSocket connection as a session would read it
 * ```ts ignore
 * const conn = new WsConn(await listener.accept(), { origins: [] });
 * await conn.handshake({ refused: false }); // answers the upgrade
 * const n = await conn.read(buffer); // payload bytes, frames stripped
 * ```
 */
export class WsConn implements SessionConn, SessionFraming {
  #conn: Deno.TcpConn | Deno.TlsConn;
  #origins: readonly string[];
  #mode: Mode = Mode.Upgrade;
  #dialect: Dialect = Dialect.Unknown;
  #events: FramingEvents | null = null;
  /** Bytes that followed the upgrade head, read before the socket. */
  #rest: Uint8Array = EMPTY;
  #received = 0;
  /** The buffer of the read being parsed, and the payload bytes moved to its front. */
  #out: Uint8Array = EMPTY;
  #fill = 0;
  #parser: WsFrameParser;

  /**
   * Wraps an accepted connection; {@linkcode handshake} upgrades it.
   *
   * @param conn the accepted TCP or TLS connection
   * @param options the origins allowed
   */
  constructor(conn: Deno.TcpConn | Deno.TlsConn, options: WsConnOptions) {
    this.#conn = conn;
    this.#origins = options.origins;
    this.#parser = new WsFrameParser({
      onData: (payload, text) => this.#data(payload, text),
      onEnd: () => {},
      onPing: (payload) => this.#events?.control(encodeWsPong(payload)),
      onPong: () => {},
      onClose: () => {
        this.#mode = Mode.Drop;
        this.#events?.ended(WsCloseCode.Normal, CloseReason.ClientClosed, null);
      },
    });
  }

  /** This connection is its own framing. */
  get framing(): SessionFraming {
    return this;
  }

  /** The peer's address, for logs. */
  get remoteAddr(): Deno.Addr {
    return this.#conn.remoteAddr;
  }

  /** The dialect, once a data message with a byte in it has arrived. */
  get dialect(): Dialect {
    return this.#dialect;
  }

  /** Raw bytes of the last read. */
  get received(): number {
    return this.#received;
  }

  /** Whether the upgrade was answered with 101. */
  get open(): boolean {
    return this.#mode !== Mode.Upgrade;
  }

  attach(events: FramingEvents): void {
    this.#events = events;
  }

  headerSize(length: number): number {
    return wsHeaderSize(length);
  }

  writeHeader(
    target: Uint8Array,
    at: number,
    length: number,
    text: boolean,
  ): void {
    writeWsHeader(target, at, text ? WsOpcode.Text : WsOpcode.Binary, length);
  }

  closeFrame(code: number): Uint8Array {
    return encodeWsClose(code);
  }

  /**
   * Runs the TLS handshake, if any, then reads the upgrade request and
   * answers it: 101, or a refusal (4xx for a bad request, 403 for an origin
   * not allowed, 503 when the hub was full), as a {@linkcode HandshakeRefused}.
   */
  async handshake(options: HandshakeOptions): Promise<void> {
    if ("handshake" in this.#conn) await this.#conn.handshake();
    const parser = new WsHandshakeParser();
    const buffer = new Uint8Array(HEAD_READ);
    let result = null;
    while (result === null) {
      const n = await this.#conn.read(buffer);
      if (n === null) {
        throw new Deno.errors.UnexpectedEof(
          "The upgrade request was cut short",
        );
      }
      result = parser.parse(buffer.subarray(0, n));
    }
    if (!result.ok) {
      throw new HandshakeRefused(result.message, {
        reason: CloseReason.UpgradeRefused,
        response: result.response,
      });
    }
    const origin = result.request.origin;
    if (!isWsOriginAllowed(origin, this.#origins)) {
      const message =
        `Cannot upgrade to WebSocket: origin "${origin}" is not allowed`;
      throw new HandshakeRefused(message, {
        reason: CloseReason.UpgradeRefused,
        response: encodeWsRefusal(WsHttpStatus.Forbidden, message),
      });
    }
    if (options.refused) {
      const message = "Cannot upgrade to WebSocket: too many clients";
      throw new HandshakeRefused(message, {
        reason: CloseReason.TooManyClients,
        response: encodeWsRefusal(WsHttpStatus.Unavailable, message),
      });
    }
    const accept = encodeWsAccept(result.request.key);
    for (let at = 0; at < accept.length;) {
      at += await this.#conn.write(accept.subarray(at));
    }
    this.#rest = result.rest;
    this.#mode = Mode.Frames;
  }

  /**
   * Reads the next frames into `into`, leaving their payload at its front:
   * resolves to the payload bytes, which may be 0 when only frame headers
   * or control frames came (activity all the same), or `null` at the end.
   * After a close or a violation, the socket's bytes come through unparsed,
   * for a session that only drops them.
   */
  async read(into: Uint8Array): Promise<number | null> {
    if (this.#mode !== Mode.Frames) {
      const n = await this.#conn.read(into);
      this.#received = n ?? 0;
      return n;
    }
    let n: number;
    if (this.#rest.length > 0) {
      n = Math.min(this.#rest.length, into.length);
      into.set(this.#rest.subarray(0, n));
      this.#rest = this.#rest.subarray(n);
    } else {
      const got = await this.#conn.read(into);
      if (got === null) return null;
      n = got;
    }
    this.#received = n;
    this.#out = into;
    this.#fill = 0;
    try {
      this.#parser.parse(into.subarray(0, n));
    } catch (error) {
      if (!(error instanceof WsProtocolError)) throw error;
      this.#mode = Mode.Drop;
      this.#events?.ended(
        error.closeCode,
        error instanceof WsMessageTooLargeError
          ? CloseReason.TooLarge
          : CloseReason.Malformed,
        error.message,
      );
    } finally {
      this.#out = EMPTY;
    }
    return this.#fill;
  }

  /** Moves a data payload, a view of the read buffer, to its front. */
  #data(payload: Uint8Array, text: boolean): void {
    if (this.#mode !== Mode.Frames) return;
    if (this.#dialect === Dialect.Unknown) {
      this.#dialect = text ? Dialect.Text : Dialect.Binary;
    }
    const out = this.#out;
    const from = payload.byteOffset - out.byteOffset;
    if (from !== this.#fill) {
      out.copyWithin(this.#fill, from, from + payload.length);
    }
    this.#fill += payload.length;
  }

  write(bytes: Uint8Array): Promise<number> {
    return this.#conn.write(bytes);
  }

  closeWrite(): Promise<void> {
    return this.#conn.closeWrite();
  }

  close(): void {
    this.#conn.close();
  }
}
