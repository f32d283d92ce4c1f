/**
 * Encoders of WebSocket frames (RFC 6455 section 5.2): unmasked frames as a
 * server sends them, masked ones as a client must. Each computes the frame's
 * size first and allocates once. A server that sends one payload to many
 * receivers encodes its header once with {@linkcode encodeWsHeader} and
 * writes it before the shared payload on every connection.
 *
 * @module
 */
import { maskBytes } from "./_ws_mask.ts";
import { isValidCloseCode, MAX_WS_CONTROL, WsOpcode } from "./ws_constants.ts";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const TWO_32 = 0x1_0000_0000;

/** How a frame is encoded. */
export interface WsFrameOptions {
  /**
   * Whether this is the last frame of its message (the default); false for
   * every fragment but the last.
   */
  fin?: boolean;
  /**
   * The 4-byte masking key: a client masks every frame it sends, a server
   * none. {@linkcode wsMaskKey} makes a fresh one.
   */
  mask?: Uint8Array;
}

/**
 * Bytes of the header of a frame carrying `length` payload bytes: 2, 4 or
 * 10, and 4 more when masked.
 *
 * @example
 * ```ts
 * import { wsHeaderSize } from "./mod.ts";
 * const sizes = [wsHeaderSize(125), wsHeaderSize(126), wsHeaderSize(65536), wsHeaderSize(0, true)];
 * if (sizes.join() !== "2,4,10,6") throw new Error(`Wrong sizes ${sizes}`);
 * ```
 */
export function wsHeaderSize(length: number, masked = false): number {
  const base = length < 126 ? 2 : length < 0x1_0000 ? 4 : 10;
  return masked ? base + 4 : base;
}

/**
 * Writes a frame header at `offset` and returns its size. With a mask, the
 * key follows the length; masking the payload is the caller's part.
 *
 * @example
 * ```ts
 * import { writeWsHeader, WsOpcode } from "./mod.ts";
 * const out = new Uint8Array(4);
 * const size = writeWsHeader(out, 0, WsOpcode.Binary, 300);
 * if (size !== 4 || out.join() !== "130,126,1,44") throw new Error(`Wrong header ${out}`);
 * ```
 */
export function writeWsHeader(
  target: Uint8Array,
  offset: number,
  opcode: WsOpcode,
  length: number,
  options: WsFrameOptions = {},
): number {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`Cannot encode WebSocket frame: length ${length}`);
  }
  const { fin = true, mask } = options;
  if (mask !== undefined && mask.length !== 4) {
    throw new RangeError(
      `Cannot encode WebSocket frame: mask key of ${mask.length} bytes`,
    );
  }
  const maskBit = mask === undefined ? 0 : 0x80;
  target[offset] = (fin ? 0x80 : 0) | opcode;
  let at = offset + 2;
  if (length < 126) {
    target[offset + 1] = maskBit | length;
  } else if (length < 0x1_0000) {
    target[offset + 1] = maskBit | 126;
    target[offset + 2] = length >>> 8;
    target[offset + 3] = length & 0xff;
    at += 2;
  } else {
    target[offset + 1] = maskBit | 127;
    const hi = Math.floor(length / TWO_32);
    const lo = length >>> 0;
    target[offset + 2] = hi >>> 24;
    target[offset + 3] = (hi >>> 16) & 0xff;
    target[offset + 4] = (hi >>> 8) & 0xff;
    target[offset + 5] = hi & 0xff;
    target[offset + 6] = lo >>> 24;
    target[offset + 7] = (lo >>> 16) & 0xff;
    target[offset + 8] = (lo >>> 8) & 0xff;
    target[offset + 9] = lo & 0xff;
    at += 8;
  }
  if (mask !== undefined) {
    target.set(mask, at);
    at += 4;
  }
  return at - offset;
}

/**
 * The header of an unmasked frame of `length` payload bytes, alone: encode it
 * once and write it before the same payload to every receiver.
 *
 * @example A header shared by a fan-out
 * ```ts
 * import { encodeWsHeader, WsOpcode } from "./mod.ts";
 * const header = encodeWsHeader(WsOpcode.Binary, 19);
 * if (header.join() !== "130,19") throw new Error(`Wrong header ${header}`);
 * ```
 */
export function encodeWsHeader(
  opcode: WsOpcode,
  length: number,
  options: { fin?: boolean } = {},
): Uint8Array {
  const out = new Uint8Array(wsHeaderSize(length));
  writeWsHeader(out, 0, opcode, length, options);
  return out;
}

/**
 * One whole frame: header and payload in one buffer. With `mask` the
 * payload is masked in the copy; `payload` itself is never written.
 *
 * @example A server's text frame and a client's masked one
 * ```ts
 * import { encodeWsFrame, WsOpcode } from "./mod.ts";
 * const hi = new TextEncoder().encode("hi");
 * const server = encodeWsFrame(WsOpcode.Text, hi);
 * if (server.join() !== "129,2,104,105") throw new Error(`Wrong frame ${server}`);
 * const client = encodeWsFrame(WsOpcode.Text, hi, { mask: new Uint8Array([1, 2, 3, 4]) });
 * if (client.join() !== "129,130,1,2,3,4,105,107") throw new Error(`Wrong frame ${client}`);
 * ```
 */
export function encodeWsFrame(
  opcode: WsOpcode,
  payload: Uint8Array,
  options: WsFrameOptions = {},
): Uint8Array {
  if ((opcode & 0x8) !== 0) checkControl(payload.length, options);
  const size = wsHeaderSize(payload.length, options.mask !== undefined);
  const out = new Uint8Array(size + payload.length);
  writeWsHeader(out, 0, opcode, payload.length, options);
  out.set(payload, size);
  if (options.mask !== undefined) {
    maskBytes(out, size, out.length, options.mask, 0);
  }
  return out;
}

/**
 * A close frame: no payload without `code`, else the code and the reason
 * (at most 123 bytes of UTF-8).
 *
 * @example
 * ```ts
 * import { encodeWsClose, WsCloseCode } from "./mod.ts";
 * const frame = encodeWsClose(WsCloseCode.Normal, "bye");
 * if (frame.join() !== "136,5,3,232,98,121,101") throw new Error(`Wrong frame ${frame}`);
 * if (encodeWsClose().join() !== "136,0") throw new Error("Wrong empty close");
 * ```
 */
export function encodeWsClose(
  code?: number,
  reason = "",
  options: { mask?: Uint8Array } = {},
): Uint8Array {
  if (code === undefined) {
    if (reason !== "") {
      throw new RangeError(
        "Cannot encode WebSocket close: a reason needs a code",
      );
    }
    return encodeWsFrame(WsOpcode.Close, EMPTY, options);
  }
  if (!isValidCloseCode(code)) {
    throw new RangeError(`Cannot encode WebSocket close: code ${code}`);
  }
  const text = encoder.encode(reason);
  if (text.length > MAX_WS_CONTROL - 2) {
    throw new RangeError(
      `Cannot encode WebSocket close: reason of ${text.length} bytes exceeds ${
        MAX_WS_CONTROL - 2
      }`,
    );
  }
  const payload = new Uint8Array(2 + text.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(text, 2);
  return encodeWsFrame(WsOpcode.Close, payload, options);
}

/**
 * A ping frame carrying `payload` (at most 125 bytes).
 *
 * @example
 * ```ts
 * import { encodeWsPing } from "./mod.ts";
 * if (encodeWsPing().join() !== "137,0") throw new Error("Wrong ping");
 * ```
 */
export function encodeWsPing(
  payload: Uint8Array = EMPTY,
  options: { mask?: Uint8Array } = {},
): Uint8Array {
  return encodeWsFrame(WsOpcode.Ping, payload, options);
}

/**
 * A pong frame, which answers a ping with the ping's payload.
 *
 * @example
 * ```ts
 * import { encodeWsPong } from "./mod.ts";
 * const pong = encodeWsPong(new Uint8Array([7]));
 * if (pong.join() !== "138,1,7") throw new Error(`Wrong pong ${pong}`);
 * ```
 */
export function encodeWsPong(
  payload: Uint8Array = EMPTY,
  options: { mask?: Uint8Array } = {},
): Uint8Array {
  return encodeWsFrame(WsOpcode.Pong, payload, options);
}

/**
 * A fresh random masking key, from `crypto.getRandomValues`.
 *
 * @example
 * ```ts
 * import { wsMaskKey } from "./mod.ts";
 * if (wsMaskKey().length !== 4) throw new Error("A key is 4 bytes");
 * ```
 */
export function wsMaskKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(4));
}

function checkControl(length: number, options: WsFrameOptions): void {
  if (length > MAX_WS_CONTROL) {
    throw new RangeError(
      `Cannot encode WebSocket control frame: payload of ${length} bytes exceeds ${MAX_WS_CONTROL}`,
    );
  }
  if (options.fin === false) {
    throw new RangeError(
      "Cannot encode WebSocket control frame: control frames are never fragmented",
    );
  }
}
