/**
 * Reads what a WebSocket server sends as one byte stream, fast enough for a
 * load generator. A hub sends every DELIVER frame of workload a (19 bytes)
 * as a WebSocket message of its own, so the reader meets one frame header
 * per delivered message: `WsFrameParser` hands out one view per frame, about
 * 50 ns each, and the walker behind it pays a call per view. This reader
 * moves the payload of each plain frame (FIN, binary, unmasked, a 7- or
 * 16-bit length, whole in the chunk, outside a fragmented message: a frame
 * valid whatever came before) down over the headers, in the chunk itself,
 * and hands the walker one view per chunk. Every other frame, and a frame
 * cut by the end of a chunk, goes to `WsFrameParser` (client role), which
 * checks it against RFC 6455 as usual. Pure code.
 *
 * @module
 */
import {
  MAX_WS_HEADER,
  type WsFrameHandlers,
  WsFrameParser,
} from "../protocol/mod.ts";

/** FIN and the binary opcode, no reserved bits: a plain frame's first byte. */
const FIN_BINARY = 0x82;
/** Payloads shorter than this are moved byte by byte: cheaper than a call. */
const COPY_LOOP_MAX = 64;

/** What a {@linkcode WsStreamReader} calls. */
export interface WsStreamHandlers {
  /** The next stream bytes: a view valid only during the call. */
  onData(bytes: Uint8Array): void;
  /** A ping, to answer with a pong carrying `payload`. */
  onPing(payload: Uint8Array): void;
  /** The server's close: nothing after it is read. */
  onClose(code: number, reason: string): void;
}

/**
 * Size of the frame whose header starts `bytes[at, end)`: header plus
 * payload, or -1 when the header is not all there.
 */
function frameSize(bytes: Uint8Array, at: number, end: number): number {
  if (end - at < 2) return -1;
  const b1 = bytes[at + 1]!;
  const masked = (b1 & 0x80) !== 0 ? 4 : 0;
  const length = b1 & 0x7f;
  if (length < 126) {
    return end - at < 2 + masked ? -1 : 2 + masked + length;
  }
  if (length === 126) {
    if (end - at < 4 + masked) return -1;
    return 4 + masked + ((bytes[at + 2]! << 8) | bytes[at + 3]!);
  }
  if (end - at < 10 + masked) return -1;
  let value = 0;
  for (let k = 2; k < 10; k++) value = value * 256 + bytes[at + k]!;
  return 10 + masked + value;
}

/**
 * One connection's server frames, as a stream of binary message payloads.
 * Feed it each chunk read; it may rewrite the chunk (payloads move down over
 * headers). Throws the parser's `WsProtocolError` on a frame RFC 6455
 * forbids, and must not be fed after that.
 *
 * @example Three frames in two chunks, one of them cut
 * ```ts
 * import { encodeWsFrame, WsOpcode } from "../protocol/mod.ts";
 * import { WsStreamReader } from "./ws_reader.ts";
 * const out: number[] = [];
 * const reader = new WsStreamReader({
 *   onData: (bytes) => out.push(...bytes),
 *   onPing: () => {},
 *   onClose: () => {},
 * });
 * const bytes = new Uint8Array([
 *   ...encodeWsFrame(WsOpcode.Binary, new Uint8Array([1, 2])),
 *   ...encodeWsFrame(WsOpcode.Binary, new Uint8Array([3])),
 *   ...encodeWsFrame(WsOpcode.Binary, new Uint8Array([4, 5])),
 * ]);
 * reader.feed(bytes.slice(0, 8));
 * reader.feed(bytes.slice(8));
 * if (out.join() !== "1,2,3,4,5") throw new Error(`Read ${out}`);
 * ```
 */
export class WsStreamReader {
  #handlers: WsStreamHandlers;
  #parser: WsFrameParser;
  /** Bytes at the start of the next chunk that finish the parser's frame. */
  #owed = 0;
  /** A header cut by the end of a chunk, not yet given to the parser. */
  #carry = new Uint8Array(MAX_WS_HEADER);
  #carryFill = 0;
  /** The cut header and the bytes that follow it, to read its size. */
  #head = new Uint8Array(2 * MAX_WS_HEADER);

  /** Reads frames for `handlers`. */
  constructor(handlers: WsStreamHandlers) {
    this.#handlers = handlers;
    const parserHandlers: WsFrameHandlers = {
      onData: (payload) => handlers.onData(payload),
      onEnd: () => {},
      onPing: (payload) => handlers.onPing(payload),
      onPong: () => {},
      onClose: (code, reason) => handlers.onClose(code, reason),
    };
    // Payloads are never buffered here: no message is too large to read.
    this.#parser = new WsFrameParser(parserHandlers, {
      role: "client",
      maxMessage: Number.MAX_SAFE_INTEGER,
    });
  }

  /** Whether the server's close frame has been read. */
  get closed(): boolean {
    return this.#parser.closed;
  }

  /** Reads one chunk; it may be rewritten in place. */
  feed(chunk: Uint8Array): void {
    const end = chunk.length;
    let i = 0;
    if (this.#carryFill > 0) {
      // Finish the cut header from this chunk, then hand the frame over.
      const carry = this.#carry;
      const take = Math.min(MAX_WS_HEADER - this.#carryFill, end);
      const head = this.#head;
      head.set(carry.subarray(0, this.#carryFill));
      head.set(chunk.subarray(0, take), this.#carryFill);
      const size = frameSize(head, 0, this.#carryFill + take);
      if (size < 0) {
        // Too short to finish even the header: keep all of it.
        carry.set(chunk, this.#carryFill);
        this.#carryFill += end;
        return;
      }
      const had = this.#carryFill;
      this.#carryFill = 0;
      this.#parser.parse(carry.subarray(0, had));
      this.#owed = size - had;
    }
    if (this.#owed > 0) {
      const take = Math.min(this.#owed, end);
      this.#parser.parse(chunk.subarray(0, take));
      this.#owed -= take;
      i = take;
    }
    let w = 0;
    while (i < end && !this.#parser.closed) {
      const b1 = chunk[i + 1];
      if (
        chunk[i] === FIN_BINARY && b1 !== undefined && b1 < 127 &&
        !this.#parser.inMessage
      ) {
        let length = b1;
        let from = i + 2;
        if (length === 126 && end - i >= 4) {
          length = (chunk[i + 2]! << 8) | chunk[i + 3]!;
          from = i + 4;
        }
        const stop = from + length;
        if (length !== 126 || from === i + 4) {
          if (stop <= end) {
            if (length < COPY_LOOP_MAX) {
              for (let k = from; k < stop; k++) chunk[w++] = chunk[k]!;
            } else {
              chunk.copyWithin(w, from, stop);
              w += length;
            }
            i = stop;
            continue;
          }
        }
      }
      // Anything else goes to the parser, one frame at a time.
      if (w > 0) {
        this.#handlers.onData(chunk.subarray(0, w));
        w = 0;
      }
      const size = frameSize(chunk, i, end);
      if (size < 0) {
        this.#carry.set(chunk.subarray(i), 0);
        this.#carryFill = end - i;
        return;
      }
      const stop = Math.min(i + size, end);
      this.#parser.parse(chunk.subarray(i, stop));
      this.#owed = i + size - stop;
      i = stop;
    }
    if (w > 0 && !this.#parser.closed) {
      this.#handlers.onData(chunk.subarray(0, w));
    }
  }
}
