/** Frame kinds, error codes and limits of msghub wire protocol version 1. */

/** Kinds of binary frames, in both directions. */
export const Kind = {
  Echo: 0x01,
  Identity: 0x02,
  List: 0x03,
  Relay: 0x04,
  RelayReceipted: 0x05,
  Ping: 0x06,
  Pong: 0x07,
  Auth: 0x08,
  EchoReply: 0x81,
  IdentityReply: 0x82,
  ListReply: 0x83,
  Deliver: 0x84,
  RelayReceipt: 0x85,
  AuthOk: 0x88,
  Error: 0xff,
} as const;

/** A binary frame kind. */
export type Kind = typeof Kind[keyof typeof Kind];

/** Codes carried by ERROR frames. Every ERROR is fatal. */
export const ErrorCode = {
  Malformed: 1,
  TooLarge: 2,
  SlowConsumer: 3,
  TooManyClients: 4,
  Timeout: 5,
  ShuttingDown: 6,
  Unauthorized: 7,
} as const;

/** An ERROR frame code. */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

/** Size of the binary frame header: kind (u8) and length (u32). */
export const HEADER_SIZE = 5;
/** Largest body a client may echo or relay: 1024 KiB. */
export const MAX_BODY = 1_048_576;
/** Most receivers one relay may name. */
export const MAX_RECEIVERS = 255;
/** Largest payload of RELAY and RELAY_RECEIPTED. */
export const MAX_RELAY_PAYLOAD: number = 1 + MAX_RECEIVERS * 8 + MAX_BODY;
/** Largest AUTH token. */
export const MAX_TOKEN = 1024;
/** Longest text-dialect line, not counting its line end. */
export const MAX_LINE: number = MAX_BODY + 8192;
/** Largest frame the hub ever sends: a DELIVER of a largest body. */
export const MAX_OUTBOUND_FRAME: number = HEADER_SIZE + 8 + MAX_BODY;
/** Most ids a LIST_REPLY may carry: the most clients a hub accepts. */
export const MAX_LIST_IDS = 1_000_000;
/** Largest user id, 2^64 - 1. */
export const MAX_ID = 0xffff_ffff_ffff_ffffn;

/** The first byte of a connection selects the binary dialect when this is true. */
export function isBinaryFirstByte(byte: number): boolean {
  return byte >= 0x01 && byte <= 0x1f && byte !== 0x09 && byte !== 0x0a &&
    byte !== 0x0d;
}

function limitTable(entries: ReadonlyArray<[number, number]>): Int32Array {
  const table = new Int32Array(256).fill(-1);
  for (const [kind, max] of entries) table[kind] = max;
  return table;
}

/**
 * Largest payload of each kind a client may send the hub; -1 marks a kind the
 * hub does not accept.
 */
export const REQUEST_LIMITS: Int32Array = limitTable([
  [Kind.Echo, MAX_BODY],
  [Kind.Identity, 0],
  [Kind.List, 0],
  [Kind.Relay, MAX_RELAY_PAYLOAD],
  [Kind.RelayReceipted, MAX_RELAY_PAYLOAD],
  [Kind.Ping, 0],
  [Kind.Pong, 0],
  [Kind.Auth, MAX_TOKEN],
]);

/**
 * Largest payload of each kind the hub may send a client; -1 marks a kind a
 * client does not accept.
 */
export const REPLY_LIMITS: Int32Array = limitTable([
  [Kind.EchoReply, MAX_BODY],
  [Kind.IdentityReply, 8],
  // Every other client of a hub at its largest: a hub takes at most 1,000,000.
  [Kind.ListReply, MAX_LIST_IDS * 8],
  [Kind.Deliver, 8 + MAX_BODY],
  [Kind.RelayReceipt, 2 + MAX_RECEIVERS * 8],
  [Kind.AuthOk, 0],
  [Kind.Ping, 0],
  [Kind.Pong, 0],
  [Kind.Error, 64 * 1024],
]);
