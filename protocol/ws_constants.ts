/**
 * Opcodes, close codes and limits of the WebSocket transport (RFC 6455) as
 * msghub speaks it, and the close code each msghub ERROR earns.
 *
 * @module
 */
import { ErrorCode, MAX_BODY } from "./constants.ts";

/** WebSocket frame opcodes (RFC 6455 section 5.2). */
export const WsOpcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/** A WebSocket frame opcode. */
export type WsOpcode = typeof WsOpcode[keyof typeof WsOpcode];

/**
 * WebSocket close codes (RFC 6455 section 7.4 and the IANA registry).
 * `NoStatus` (1005), `Abnormal` (1006) and `TlsHandshake` (1015) are never
 * sent in a close frame: they only name what a receiver saw.
 */
export const WsCloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  NoStatus: 1005,
  Abnormal: 1006,
  InvalidData: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
  TlsHandshake: 1015,
} as const;

/** A WebSocket close code this module names. */
export type WsCloseCode = typeof WsCloseCode[keyof typeof WsCloseCode];

/**
 * Most bytes one client message may carry, across all its fragments:
 * 1 MiB + 64 KiB, room for a largest relay with its receivers or a largest
 * text line.
 */
export const MAX_WS_MESSAGE: number = MAX_BODY + 64 * 1024;

/** Largest payload of a control frame (close, ping, pong). */
export const MAX_WS_CONTROL = 125;

/** Largest upgrade request head, request line and headers included. */
export const MAX_WS_HEAD = 8192;

/** Largest WebSocket frame header: 2 bytes, 8 of extended length, 4 of mask. */
export const MAX_WS_HEADER = 14;

/**
 * Whether `code` may appear in a close frame (RFC 6455 section 7.4): the
 * registered codes other than 1004, 1005, 1006 and 1015, and 3000 to 4999.
 *
 * @example
 * ```ts
 * import { isValidCloseCode } from "./mod.ts";
 * if (!isValidCloseCode(1000) || !isValidCloseCode(4000)) throw new Error("Refused a valid code");
 * if (isValidCloseCode(1005) || isValidCloseCode(999)) throw new Error("Accepted a reserved code");
 * ```
 */
export function isValidCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 &&
    code !== 1006;
}

/**
 * The close code that follows a fatal msghub ERROR on a WebSocket: 1009 for
 * a frame too large, 1013 for too many clients, 1001 for shutdown, 1008 for
 * every other.
 *
 * @example
 * ```ts
 * import { ErrorCode, WsCloseCode, wsCloseCodeFor } from "./mod.ts";
 * if (wsCloseCodeFor(ErrorCode.ShuttingDown) !== WsCloseCode.GoingAway) {
 *   throw new Error("Shutdown should close with 1001");
 * }
 * ```
 */
export function wsCloseCodeFor(code: ErrorCode): WsCloseCode {
  switch (code) {
    case ErrorCode.TooLarge:
      return WsCloseCode.MessageTooBig;
    case ErrorCode.TooManyClients:
      return WsCloseCode.TryAgainLater;
    case ErrorCode.ShuttingDown:
      return WsCloseCode.GoingAway;
    default:
      return WsCloseCode.PolicyViolation;
  }
}
