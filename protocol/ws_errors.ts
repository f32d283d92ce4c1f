/**
 * Errors of the WebSocket codec. Each carries the close code it earns; none
 * earns a msghub ERROR frame.
 *
 * @module
 */
import { WsCloseCode } from "./ws_constants.ts";

/**
 * A violation of RFC 6455 by the peer: close the connection with
 * `closeCode` (1002 unless a subclass says otherwise).
 *
 * @example
 * ```ts
 * import { WsCloseCode, WsProtocolError } from "./mod.ts";
 * const error = new WsProtocolError("Cannot parse WebSocket frame: unmasked");
 * if (error.closeCode !== WsCloseCode.ProtocolError) throw new Error("Expected 1002");
 * ```
 */
export class WsProtocolError extends Error {
  /** The close code the violation earns. */
  readonly closeCode: WsCloseCode;

  /**
   * Creates the error.
   *
   * @param message what was wrong with the input
   * @param options the close code (1002 by default) and the `cause`, if any
   */
  constructor(
    message: string,
    options: ErrorOptions & { closeCode?: WsCloseCode } = {},
  ) {
    super(message, options);
    this.name = "WsProtocolError";
    this.closeCode = options.closeCode ?? WsCloseCode.ProtocolError;
  }
}

/**
 * A text message, or a close reason, that is not valid UTF-8: close with
 * 1007.
 *
 * @example
 * ```ts
 * import { WsInvalidUtf8Error } from "./mod.ts";
 * if (new WsInvalidUtf8Error("Bad").closeCode !== 1007) throw new Error("Expected 1007");
 * ```
 */
export class WsInvalidUtf8Error extends WsProtocolError {
  /**
   * Creates the error, with the close code 1007.
   *
   * @param message where the invalid byte was
   * @param options the error's `cause`, if any
   */
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { ...options, closeCode: WsCloseCode.InvalidData });
    this.name = "WsInvalidUtf8Error";
  }
}

/**
 * A message over the size limit, or a frame header announcing one: close with
 * 1009.
 *
 * @example
 * ```ts
 * import { WsMessageTooLargeError } from "./mod.ts";
 * if (new WsMessageTooLargeError("Big").closeCode !== 1009) throw new Error("Expected 1009");
 * ```
 */
export class WsMessageTooLargeError extends WsProtocolError {
  /**
   * Creates the error, with the close code 1009.
   *
   * @param message the size and the limit it exceeds
   * @param options the error's `cause`, if any
   */
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { ...options, closeCode: WsCloseCode.MessageTooBig });
    this.name = "WsMessageTooLargeError";
  }
}
