import { ErrorCode } from "./constants.ts";

/** A violation of the wire protocol; `code` is the ERROR code it earns. */
export class ProtocolError extends Error {
  /** The ERROR frame code for this violation. */
  readonly code: ErrorCode;

  /**
   * Creates the error.
   *
   * @param code the ERROR code the violation earns
   * @param message what was wrong with the input
   * @param options the error's `cause`, if any
   */
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
    this.code = code;
  }
}

/** A frame of unknown kind, or one whose payload does not fit its kind. */
export class MalformedFrameError extends ProtocolError {
  /**
   * Creates the error, with the code {@linkcode ErrorCode.Malformed}.
   *
   * @param message what was wrong with the frame
   * @param options the error's `cause`, if any
   */
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.Malformed, message, options);
    this.name = "MalformedFrameError";
  }
}

/** A frame, body or line over its limit. */
export class FrameTooLargeError extends ProtocolError {
  /**
   * Creates the error, with the code {@linkcode ErrorCode.TooLarge}.
   *
   * @param message which limit was exceeded, and by how much
   * @param options the error's `cause`, if any
   */
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.TooLarge, message, options);
    this.name = "FrameTooLargeError";
  }
}
