/**
 * A session's input side (private to the hub): the dialect, fixed by the
 * first byte (or, over WebSocket, by the first data message), and the parser
 * of that dialect, whose frames and commands go to the session's request
 * handlers. A protocol error becomes the session's fatal error.
 *
 * @module
 */
import {
  type BufferPool,
  ErrorCode,
  FrameParser,
  isBinaryFirstByte,
  MAX_LINE,
  ProtocolError,
  REQUEST_LIMITS,
  type TextCommand,
  TextParser,
} from "../protocol/mod.ts";
import { Dialect } from "./registry.ts";
import { FATAL } from "./_session_host.ts";
import {
  handleCommand,
  handleFrame,
  type Requester,
} from "./_session_requests.ts";

/** The longest line read before authentication: `auth ` and a 1024-byte token. */
const PRE_AUTH_LINE = 5 + 1024 + 64;

/** What the input side needs of its session. */
export interface InputOwner {
  /** Where frames and commands go. */
  readonly requester: Requester;
  /** Where frames split across reads get a buffer of their own. */
  readonly pool: BufferPool;
  /** The relay path: a read's relays go out once it is parsed. */
  readonly fanout: { flush(): void };
  /** The dialect the transport fixed (WebSocket), if it fixes one. */
  framedDialect(): Dialect | undefined;
  /** Whether requests are still read: false once the session closes. */
  open(): boolean;
  /** Sends a fatal error, then closes. */
  fatal(code: number, message?: string): void;
  /**
   * The dialect is known, from `first`, the first byte: the session refuses,
   * registers, or waits for AUTH. Returns whether AUTH must come first.
   */
  chosen(dialect: Dialect, first: number): boolean;
}

/**
 * The parser of one connection's requests.
 *
 * @example
 * ```ts ignore
 * const input = new SessionInput(owner);
 * input.read(chunk); // picks the dialect on the first chunk, then parses
 * ```
 */
export class SessionInput {
  /** The dialect, once the first byte has arrived. */
  dialect: Dialect = Dialect.Unknown;
  #owner: InputOwner;
  #frames: FrameParser | null = null;
  #text: TextParser | null = null;
  #authed: boolean;

  /** Reads for `owner`; `authed` when no token is needed. */
  constructor(owner: InputOwner, authed: boolean) {
    this.#owner = owner;
    this.#authed = authed;
  }

  /** A large body still missing, to be read straight into its frame. */
  get pending(): Uint8Array | null {
    return this.#frames?.pending ?? null;
  }

  /** Lifts the line limit of the text dialect once the client is in. */
  authenticated(): void {
    this.#authed = true;
    if (this.#text !== null) this.#text.maxLine = MAX_LINE;
  }

  /** Parses a chunk read into the session's own buffer. */
  read(chunk: Uint8Array): void {
    const owner = this.#owner;
    if (this.dialect === Dialect.Unknown) this.#choose(chunk[0]!);
    if (!owner.open()) return;
    try {
      if (this.#frames !== null) {
        this.#frames.parse(chunk);
        owner.fanout.flush();
      } else this.#text!.parse(chunk);
    } catch (error) {
      // The relays before the bad frame go out before its error.
      owner.fanout.flush();
      if (!(error instanceof ProtocolError)) throw error;
      // Before authentication, whatever is not a proper AUTH is unauthorized.
      if (!this.#authed) return owner.fatal(ErrorCode.Unauthorized);
      owner.fatal(
        error.code,
        this.#frames !== null ? error.message : FATAL[error.code]!.text,
      );
    }
  }

  /** `n` bytes were read into {@linkcode pending}. */
  filled(n: number): void {
    try {
      this.#frames!.filled(n);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#owner.fatal(error.code, error.message);
    }
  }

  /** Fixes the dialect, and tells the session. */
  #choose(first: number): void {
    const owner = this.#owner;
    const framed = owner.framedDialect();
    if (
      framed === undefined
        ? isBinaryFirstByte(first)
        : framed === Dialect.Binary
    ) {
      this.dialect = Dialect.Binary;
      const pool = owner.pool;
      this.#frames = FrameParser.ranges(REQUEST_LIMITS, this.#onFrame, {
        allocate: (size) => pool.take(size),
      });
    } else {
      this.dialect = Dialect.Text;
      this.#text = new TextParser(this.#onCommand);
    }
    if (!owner.chosen(this.dialect, first)) return;
    // Until authenticated, a text line need only hold `auth TOKEN`: nobody
    // makes the hub buffer a body before that.
    if (this.#text !== null) this.#text.maxLine = PRE_AUTH_LINE;
  }

  /**
   * One binary request: its payload is `source[start..end)`. A frame of its
   * own came from the hub's pool: whatever queued it holds it now, and the
   * parser's hold is given back.
   */
  #onFrame = (
    kind: number,
    source: Uint8Array,
    start: number,
    end: number,
    owned: boolean,
  ): void => {
    const requester = this.#owner.requester;
    if (!owned) return handleFrame(requester, kind, source, start, end, false);
    try {
      handleFrame(requester, kind, source, start, end, true);
    } finally {
      this.#owner.pool.release(source.buffer);
    }
  };

  #onCommand = (command: TextCommand): void =>
    handleCommand(this.#owner.requester, command);
}
