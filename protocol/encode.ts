import {
  HEADER_SIZE,
  Kind,
  MAX_BODY,
  MAX_ID,
  MAX_RECEIVERS,
  MAX_TOKEN,
} from "./constants.ts";

const encoder = new TextEncoder();
const TWO_32 = 0x1_0000_0000;

/** Writes a frame header (kind, big-endian u32 length) at `offset`. */
export function writeHeader(
  target: Uint8Array,
  offset: number,
  kind: number,
  length: number,
): void {
  target[offset] = kind;
  target[offset + 1] = length >>> 24;
  target[offset + 2] = (length >>> 16) & 0xff;
  target[offset + 3] = (length >>> 8) & 0xff;
  target[offset + 4] = length & 0xff;
}

/** Writes a big-endian u32 at `offset`. */
export function writeU32(
  target: Uint8Array,
  offset: number,
  value: number,
): void {
  target[offset] = value >>> 24;
  target[offset + 1] = (value >>> 16) & 0xff;
  target[offset + 2] = (value >>> 8) & 0xff;
  target[offset + 3] = value & 0xff;
}

/**
 * Writes a big-endian u64 at `offset`. A `number` must be a safe integer;
 * the hub keeps its ids as numbers on the hot path.
 */
export function writeU64(
  target: Uint8Array,
  offset: number,
  value: bigint | number,
): void {
  if (typeof value === "number") {
    writeU32(target, offset, Math.floor(value / TWO_32));
    writeU32(target, offset + 4, value >>> 0);
  } else {
    writeU32(target, offset, Number(value >> 32n));
    writeU32(target, offset + 4, Number(value & 0xffff_ffffn));
  }
}

/** Reads a big-endian u32 at `offset`. */
export function readU32(source: Uint8Array, offset: number): number {
  return ((source[offset]! << 24) | (source[offset + 1]! << 16) |
    (source[offset + 2]! << 8) | source[offset + 3]!) >>> 0;
}

/** Reads a big-endian u64 at `offset`. */
export function readU64(source: Uint8Array, offset: number): bigint {
  return (BigInt(readU32(source, offset)) << 32n) |
    BigInt(readU32(source, offset + 4));
}

/**
 * Encodes one binary frame in a single allocation.
 *
 * @example Encode a PING
 * ```ts
 * import { encodeFrame, Kind } from "./mod.ts";
 * const frame = encodeFrame(Kind.Ping);
 * if (frame.length !== 5) throw new Error("A PING is 5 bytes");
 * ```
 */
export function encodeFrame(
  kind: number,
  payload: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const frame = new Uint8Array(HEADER_SIZE + payload.length);
  writeHeader(frame, 0, kind, payload.length);
  frame.set(payload, HEADER_SIZE);
  return frame;
}

function checkId(id: bigint): void {
  if (id < 0n || id > MAX_ID) {
    throw new RangeError(
      `Cannot encode id: "${id}" is not an unsigned 64-bit integer`,
    );
  }
}

function checkBody(body: Uint8Array): void {
  if (body.length > MAX_BODY) {
    throw new RangeError(
      `Cannot encode body: ${body.length} bytes exceeds ${MAX_BODY}`,
    );
  }
}

/**
 * Encodes a RELAY (or, with `receipted`, a RELAY_RECEIPTED) frame.
 *
 * @example Relay "hi" to clients 2 and 3
 * ```ts
 * import { encodeRelay } from "./mod.ts";
 * const frame = encodeRelay([2n, 3n], new TextEncoder().encode("hi"));
 * if (frame.length !== 5 + 1 + 16 + 2) throw new Error("Wrong size");
 * ```
 */
export function encodeRelay(
  ids: readonly bigint[],
  body: Uint8Array,
  receipted = false,
): Uint8Array {
  if (ids.length < 1 || ids.length > MAX_RECEIVERS) {
    throw new RangeError(
      `Cannot encode relay: ${ids.length} receivers is outside 1..${MAX_RECEIVERS}`,
    );
  }
  checkBody(body);
  const length = 1 + ids.length * 8 + body.length;
  const frame = new Uint8Array(HEADER_SIZE + length);
  writeHeader(frame, 0, receipted ? Kind.RelayReceipted : Kind.Relay, length);
  frame[HEADER_SIZE] = ids.length;
  let offset = HEADER_SIZE + 1;
  for (const id of ids) {
    checkId(id);
    writeU64(frame, offset, id);
    offset += 8;
  }
  frame.set(body, offset);
  return frame;
}

/** Encodes an ECHO request. */
export function encodeEcho(body: Uint8Array): Uint8Array {
  checkBody(body);
  return encodeFrame(Kind.Echo, body);
}

/** Encodes an AUTH request. */
export function encodeAuth(token: Uint8Array): Uint8Array {
  if (token.length < 1 || token.length > MAX_TOKEN) {
    throw new RangeError(
      `Cannot encode token: ${token.length} bytes is outside 1..${MAX_TOKEN}`,
    );
  }
  return encodeFrame(Kind.Auth, token);
}

/** Encodes an IDENTITY_REPLY. */
export function encodeIdentityReply(id: bigint | number): Uint8Array {
  const frame = new Uint8Array(HEADER_SIZE + 8);
  writeHeader(frame, 0, Kind.IdentityReply, 8);
  writeU64(frame, HEADER_SIZE, id);
  return frame;
}

/** Encodes a LIST_REPLY; `ids` should be ascending. */
export function encodeListReply(
  ids: ArrayLike<bigint | number>,
): Uint8Array {
  const frame = new Uint8Array(HEADER_SIZE + ids.length * 8);
  writeHeader(frame, 0, Kind.ListReply, ids.length * 8);
  for (let i = 0; i < ids.length; i++) {
    writeU64(frame, HEADER_SIZE + i * 8, ids[i]!);
  }
  return frame;
}

/** Size of the DELIVER frame for a body of `bodyLength` bytes. */
export function deliverSize(bodyLength: number): number {
  return HEADER_SIZE + 8 + bodyLength;
}

/** Writes the 13-byte head of a DELIVER frame (header and sender) at `offset`. */
export function writeDeliverHead(
  target: Uint8Array,
  offset: number,
  sender: bigint | number,
  bodyLength: number,
): void {
  writeHeader(target, offset, Kind.Deliver, 8 + bodyLength);
  writeU64(target, offset + HEADER_SIZE, sender);
}

/** Encodes a DELIVER frame. */
export function encodeDeliver(
  sender: bigint | number,
  body: Uint8Array,
): Uint8Array {
  const frame = new Uint8Array(deliverSize(body.length));
  writeDeliverHead(frame, 0, sender, body.length);
  frame.set(body, HEADER_SIZE + 8);
  return frame;
}

/** Encodes a RELAY_RECEIPT. `unknown` holds the ids as 8 raw bytes each. */
export function encodeReceipt(
  delivered: number,
  unknown: readonly (bigint | number)[],
): Uint8Array {
  const length = 2 + unknown.length * 8;
  const frame = new Uint8Array(HEADER_SIZE + length);
  writeHeader(frame, 0, Kind.RelayReceipt, length);
  frame[HEADER_SIZE] = delivered;
  frame[HEADER_SIZE + 1] = unknown.length;
  for (let i = 0; i < unknown.length; i++) {
    writeU64(frame, HEADER_SIZE + 2 + i * 8, unknown[i]!);
  }
  return frame;
}

/** Encodes an ERROR frame with a UTF-8 message. */
export function encodeError(code: number, message: string): Uint8Array {
  const text = encoder.encode(message);
  const frame = new Uint8Array(HEADER_SIZE + 1 + text.length);
  writeHeader(frame, 0, Kind.Error, 1 + text.length);
  frame[HEADER_SIZE] = code;
  frame.set(text, HEADER_SIZE + 1);
  return frame;
}

/** Encodes the text-dialect delivery: `message <sender> <length>\n<body>\n`. */
export function encodeTextDeliver(
  sender: bigint | number,
  body: Uint8Array,
): Uint8Array {
  const head = encoder.encode(`message ${sender} ${body.length}\n`);
  const out = new Uint8Array(head.length + body.length + 1);
  out.set(head, 0);
  out.set(body, head.length);
  out[out.length - 1] = 0x0a;
  return out;
}
