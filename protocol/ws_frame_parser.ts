/**
 * Incremental parser of WebSocket frames (RFC 6455 section 5). It hands the
 * payload of data messages out piece by piece, as it arrives, so the
 * messages of a connection can be read as one byte stream; nothing of a data
 * frame is ever buffered.
 *
 * @module
 */
import { maskBytes } from "./_ws_mask.ts";
import { Utf8Validator } from "./utf8.ts";
import {
  isValidCloseCode,
  MAX_WS_CONTROL,
  MAX_WS_HEADER,
  MAX_WS_MESSAGE,
  WsCloseCode,
  WsOpcode,
} from "./ws_constants.ts";
import {
  WsInvalidUtf8Error,
  WsMessageTooLargeError,
  WsProtocolError,
} from "./ws_errors.ts";

/** What the parser hands out. Views are valid only during the call. */
export interface WsFrameHandlers {
  /**
   * The next bytes of the current data message, unmasked, never empty.
   * `text` says whether the message is a text message; the bytes of a text
   * message have been checked to be valid UTF-8 so far (a character may
   * still be cut at the end of the view).
   */
  onData(payload: Uint8Array, text: boolean): void;
  /**
   * The current data message is complete. A message may end without any
   * `onData` call before it: an empty message.
   */
  onEnd(text: boolean): void;
  /** A ping: answer it with a pong of the same payload. */
  onPing(payload: Uint8Array): void;
  /** A pong. */
  onPong(payload: Uint8Array): void;
  /**
   * A close frame, its code already checked ({@linkcode WsCloseCode.NoStatus}
   * when it had none) and its reason valid UTF-8. The parser ignores
   * everything after it.
   */
  onClose(code: number, reason: string): void;
}

/** How a {@linkcode WsFrameParser} reads its peer. */
export interface WsFrameParserOptions {
  /**
   * `"server"` (the default) reads a client, every frame of which must be
   * masked; `"client"` reads a server, no frame of which may be.
   */
  role?: "server" | "client";
  /**
   * Most bytes one message may carry across its fragments, by default
   * {@linkcode MAX_WS_MESSAGE}; a client reading a hub passes more.
   */
  maxMessage?: number;
}

const State = { Head: 0, Data: 1, Control: 2, Closed: 3 } as const;
type State = typeof State[keyof typeof State];

const TWO_32 = 0x1_0000_0000;
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/**
 * Incremental parser of the frames one peer sends. Feed it chunks of any
 * size. It unmasks the payload **in place**, in the chunk it was given (a
 * socket read loop's own buffer), and hands out views of it: a data payload
 * crosses memory once. It checks every rule of RFC 6455 for a connection
 * with no extension: masking, RSV bits, opcodes, control frames (at most 125
 * bytes, never fragmented), continuation, the message size limit (on the
 * header, before any payload) and UTF-8 of text messages (as the bytes
 * arrive, across fragments). It throws a {@linkcode WsProtocolError} whose
 * `closeCode` says how to close on the first violation, and must not be fed
 * again after that. What it holds between chunks is bounded: at most a frame
 * header and a control payload, however many frames arrive.
 *
 * @example Read a masked text message sent in two fragments
 * ```ts
 * import { encodeWsFrame, WsFrameParser, WsOpcode } from "./mod.ts";
 * const mask = new Uint8Array([9, 8, 7, 6]);
 * const bytes = new TextEncoder();
 * let text = "";
 * let ended = 0;
 * const parser = new WsFrameParser({
 *   onData: (payload) => text += new TextDecoder().decode(payload),
 *   onEnd: () => ended++,
 *   onPing: () => {},
 *   onPong: () => {},
 *   onClose: () => {},
 * });
 * parser.parse(encodeWsFrame(WsOpcode.Text, bytes.encode("hel"), { fin: false, mask }));
 * parser.parse(encodeWsFrame(WsOpcode.Continuation, bytes.encode("lo\n"), { mask }));
 * if (text !== "hello\n" || ended !== 1) throw new Error(`Got ${text}`);
 * ```
 */
export class WsFrameParser {
  #handlers: WsFrameHandlers;
  #masked: boolean;
  #maxMessage: number;
  #state: State = State.Head;
  /** A header split across chunks; `#headSize` is 0 until its size is known. */
  #head = new Uint8Array(MAX_WS_HEADER);
  #headFill = 0;
  #headSize = 0;
  #key = new Uint8Array(4);
  /** Opcode of the frame being read. */
  #opcode = 0;
  #fin = false;
  /** Payload bytes of the frame being read that are still to come. */
  #remaining = 0;
  /** Payload bytes of the frame read so far: the mask phase. */
  #offset = 0;
  /** Whether a data message is open: its first frame came, its last not yet. */
  #inMessage = false;
  #text = false;
  #messageBytes = 0;
  #utf8 = new Utf8Validator();
  #control = new Uint8Array(MAX_WS_CONTROL);
  #controlLength = 0;

  /**
   * Creates a parser at the start of a frame, outside any message.
   *
   * @param handlers called with what the parser reads
   * @param options the peer's role and the message size limit
   */
  constructor(handlers: WsFrameHandlers, options: WsFrameParserOptions = {}) {
    this.#handlers = handlers;
    this.#masked = (options.role ?? "server") === "server";
    this.#maxMessage = options.maxMessage ?? MAX_WS_MESSAGE;
  }

  /**
   * Bytes held between chunks: an unfinished header or control payload.
   * Never more than 14 + 125.
   */
  get buffered(): number {
    return this.#state === State.Control
      ? this.#headSize + this.#controlLength
      : this.#headFill;
  }

  /** Whether a data message has begun and not yet ended. */
  get inMessage(): boolean {
    return this.#inMessage;
  }

  /** Whether a close frame has been read: later input is ignored. */
  get closed(): boolean {
    return this.#state === State.Closed;
  }

  /**
   * Parses one chunk, unmasking its payload bytes in place and calling the
   * handlers for what it completes.
   */
  parse(chunk: Uint8Array): void {
    let i = 0;
    const end = chunk.length;
    while (i < end) {
      switch (this.#state) {
        case State.Head: {
          if (this.#headFill === 0 && end - i >= 2) {
            const size = this.#check(chunk[i]!, chunk[i + 1]!);
            if (end - i >= size) {
              this.#begin(chunk, i, size);
              i += size;
              break;
            }
            this.#headSize = size;
          }
          if (this.#headSize === 0) {
            this.#head[this.#headFill++] = chunk[i++]!;
            if (this.#headFill < 2) break;
            this.#headSize = this.#check(this.#head[0]!, this.#head[1]!);
          }
          const take = Math.min(this.#headSize - this.#headFill, end - i);
          this.#head.set(chunk.subarray(i, i + take), this.#headFill);
          this.#headFill += take;
          i += take;
          if (this.#headFill < this.#headSize) break;
          const size = this.#headSize;
          this.#headFill = 0;
          this.#headSize = 0;
          this.#begin(this.#head, 0, size);
          break;
        }
        case State.Data: {
          const stop = i + Math.min(this.#remaining, end - i);
          if (this.#masked) {
            maskBytes(chunk, i, stop, this.#key, this.#offset);
          }
          if (this.#text && !this.#utf8.push(chunk, i, stop)) {
            throw new WsInvalidUtf8Error(
              `Cannot parse WebSocket text message: invalid UTF-8 after byte ${this.#messageBytes}`,
            );
          }
          const taken = stop - i;
          this.#offset += taken;
          this.#remaining -= taken;
          this.#messageBytes += taken;
          const last = this.#remaining === 0;
          if (last) this.#state = State.Head;
          const view = chunk.subarray(i, stop);
          i = stop;
          this.#handlers.onData(view, this.#text);
          if (last && this.#fin) this.#endMessage();
          break;
        }
        case State.Control: {
          const start = this.#controlLength;
          const take = Math.min(this.#remaining, end - i);
          this.#control.set(chunk.subarray(i, i + take), start);
          if (this.#masked) {
            maskBytes(this.#control, start, start + take, this.#key, start);
          }
          i += take;
          this.#controlLength += take;
          this.#remaining -= take;
          if (this.#remaining > 0) break;
          const length = this.#controlLength;
          this.#controlLength = 0;
          this.#headSize = 0;
          this.#state = State.Head;
          this.#dispatch(this.#control.subarray(0, length));
          break;
        }
        case State.Closed:
          return;
      }
    }
  }

  /**
   * Checks the first two bytes of a header; returns the header's size. Every
   * rule that does not need the extended length is enforced here, at the
   * second byte.
   */
  #check(b0: number, b1: number): number {
    if ((b0 & 0x70) !== 0) {
      throw new WsProtocolError(
        `Cannot parse WebSocket frame: reserved bits 0x${
          (b0 & 0x70).toString(16)
        } set without an extension`,
      );
    }
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const length = b1 & 0x7f;
    if ((opcode & 0x8) !== 0) {
      if (
        opcode !== WsOpcode.Close && opcode !== WsOpcode.Ping &&
        opcode !== WsOpcode.Pong
      ) {
        throw badOpcode(opcode);
      }
      if (!fin) {
        throw new WsProtocolError(
          "Cannot parse WebSocket frame: a control frame is fragmented",
        );
      }
      if (length > MAX_WS_CONTROL) {
        throw new WsProtocolError(
          `Cannot parse WebSocket frame: control frame of ${
            length === 126 ? "a 16-bit" : "a 64-bit"
          } length exceeds ${MAX_WS_CONTROL} bytes`,
        );
      }
      if (opcode === WsOpcode.Close && length === 1) {
        throw new WsProtocolError(
          "Cannot parse WebSocket close: a payload of 1 byte",
        );
      }
    } else if (opcode === WsOpcode.Continuation) {
      if (!this.#inMessage) {
        throw new WsProtocolError(
          "Cannot parse WebSocket frame: a continuation outside a message",
        );
      }
    } else if (opcode === WsOpcode.Text || opcode === WsOpcode.Binary) {
      if (this.#inMessage) {
        throw new WsProtocolError(
          "Cannot parse WebSocket frame: a new message before the last one ended",
        );
      }
    } else {
      throw badOpcode(opcode);
    }
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.#masked) {
      throw new WsProtocolError(
        masked
          ? "Cannot parse WebSocket frame: a server frame is masked"
          : "Cannot parse WebSocket frame: a client frame is not masked",
      );
    }
    const size = length < 126 ? 2 : length === 126 ? 4 : 10;
    return masked ? size + 4 : size;
  }

  /** Starts reading the frame whose checked header is `src[at, at+size)`. */
  #begin(src: Uint8Array, at: number, size: number): void {
    const b0 = src[at]!;
    const opcode = b0 & 0x0f;
    let length = src[at + 1]! & 0x7f;
    if (length === 126) {
      length = (src[at + 2]! << 8) | src[at + 3]!;
    } else if (length === 127) {
      const hi = ((src[at + 2]! << 24) | (src[at + 3]! << 16) |
        (src[at + 4]! << 8) | src[at + 5]!) >>> 0;
      const lo = ((src[at + 6]! << 24) | (src[at + 7]! << 16) |
        (src[at + 8]! << 8) | src[at + 9]!) >>> 0;
      if (hi >= 0x8000_0000) {
        throw new WsProtocolError(
          "Cannot parse WebSocket frame: the 64-bit length has its high bit set",
        );
      }
      length = hi * TWO_32 + lo;
    }
    if (this.#masked) {
      const k = at + size - 4;
      this.#key[0] = src[k]!;
      this.#key[1] = src[k + 1]!;
      this.#key[2] = src[k + 2]!;
      this.#key[3] = src[k + 3]!;
    }
    this.#opcode = opcode;
    this.#remaining = length;
    this.#offset = 0;
    if ((opcode & 0x8) !== 0) {
      if (length === 0) {
        this.#dispatch(EMPTY);
        return;
      }
      this.#headSize = size;
      this.#controlLength = 0;
      this.#state = State.Control;
      return;
    }
    const before = opcode === WsOpcode.Continuation ? this.#messageBytes : 0;
    if (before + length > this.#maxMessage) {
      throw new WsMessageTooLargeError(
        `Cannot parse WebSocket frame: message of ${
          before + length
        } bytes exceeds ${this.#maxMessage}`,
      );
    }
    if (opcode !== WsOpcode.Continuation) {
      this.#inMessage = true;
      this.#text = opcode === WsOpcode.Text;
      this.#messageBytes = 0;
      this.#utf8.reset();
    }
    this.#fin = (b0 & 0x80) !== 0;
    if (length > 0) {
      this.#state = State.Data;
    } else if (this.#fin) {
      this.#endMessage();
    }
  }

  #endMessage(): void {
    const text = this.#text;
    if (text && !this.#utf8.complete) {
      throw new WsInvalidUtf8Error(
        "Cannot parse WebSocket text message: it ends inside a character",
      );
    }
    this.#inMessage = false;
    this.#messageBytes = 0;
    this.#handlers.onEnd(text);
  }

  #dispatch(payload: Uint8Array): void {
    switch (this.#opcode) {
      case WsOpcode.Ping:
        this.#handlers.onPing(payload);
        return;
      case WsOpcode.Pong:
        this.#handlers.onPong(payload);
        return;
    }
    let code: number = WsCloseCode.NoStatus;
    let reason = "";
    if (payload.length >= 2) {
      code = (payload[0]! << 8) | payload[1]!;
      if (!isValidCloseCode(code)) {
        throw new WsProtocolError(
          `Cannot parse WebSocket close: code ${code} may not be sent`,
        );
      }
      const validator = new Utf8Validator();
      if (!validator.push(payload, 2) || !validator.complete) {
        throw new WsInvalidUtf8Error(
          "Cannot parse WebSocket close: the reason is not valid UTF-8",
        );
      }
      reason = decoder.decode(payload.subarray(2));
    }
    this.#state = State.Closed;
    this.#handlers.onClose(code, reason);
  }
}

function badOpcode(opcode: number): WsProtocolError {
  return new WsProtocolError(
    `Cannot parse WebSocket frame: unknown opcode 0x${opcode.toString(16)}`,
  );
}
