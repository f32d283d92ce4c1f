/**
 * Errors of the msghub client. Each condition has its own class so callers can
 * tell them apart with `instanceof`.
 *
 * @module
 */

/**
 * The hub sent an ERROR frame: `code` and `message` are the frame's. Every
 * ERROR is fatal: the hub closes the connection right after it, so every call
 * still waiting for a reply fails with this error and the message iterator
 * throws it.
 *
 * @example Tell an authentication failure apart
 * ```ts
 * import { HubError } from "./mod.ts";
 * const error: unknown = new HubError(7, "unauthorized");
 * if (!(error instanceof HubError) || error.code !== 7) throw new Error("Wrong error");
 * ```
 */
export class HubError extends Error {
  /** The ERROR code, as listed in the protocol's error code table. */
  readonly code: number;

  /**
   * Creates the error for an ERROR frame the hub sent.
   *
   * @param code the ERROR frame's code
   * @param message the ERROR frame's UTF-8 message
   * @param options the error's `cause`, if any
   */
  constructor(code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HubError";
    this.code = code;
  }
}

/**
 * The connection is gone, or the client was closed: the call cannot get its
 * reply. `cause` holds the socket error, when there was one.
 *
 * @example Calls after close fail with it
 * ```ts
 * import { ConnectionClosedError } from "./mod.ts";
 * const error = new ConnectionClosedError("Cannot send request: the client is closed");
 * if (error.name !== "ConnectionClosedError") throw new Error("Wrong name");
 * ```
 */
export class ConnectionClosedError extends Error {
  /**
   * Creates the error.
   *
   * @param message which call failed, and why
   * @param options the socket error as `cause`, when there was one
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectionClosedError";
  }
}

/**
 * The hub could not be reached. `cause` holds the error of the transport:
 * `Deno.connect`'s, the TLS handshake's, or the WebSocket's.
 *
 * @example The message names the address
 * ```ts
 * import { ConnectError } from "./mod.ts";
 * const error = new ConnectError("127.0.0.1", 1234, new Error("Connection refused (os error 111)"));
 * if (error.message !== "Cannot connect to 127.0.0.1:1234: connection refused") {
 *   throw new Error(error.message);
 * }
 * ```
 */
export class ConnectError extends Error {
  /** The host that was dialled. */
  readonly hostname: string;
  /** The port that was dialled. */
  readonly port: number;

  /**
   * Creates the error; the message names the address and the cause.
   *
   * @param hostname the host that was dialled
   * @param port the port that was dialled
   * @param cause the error of the transport
   */
  constructor(hostname: string, port: number, cause: unknown) {
    super(`Cannot connect to ${hostname}:${port}: ${describe(cause)}`, {
      cause,
    });
    this.name = "ConnectError";
    this.hostname = hostname;
    this.port = port;
  }
}

/**
 * The hub sent bytes that break the wire protocol: a malformed frame, or a
 * reply that matches no request. The client closes the connection.
 *
 * @example Wraps the parser's error
 * ```ts
 * import { HubProtocolError } from "./mod.ts";
 * const error = new HubProtocolError("Unexpected reply: kind 0x81 while no request is pending");
 * if (error.name !== "HubProtocolError") throw new Error("Wrong name");
 * ```
 */
export class HubProtocolError extends Error {
  /**
   * Creates the error.
   *
   * @param message what the hub sent that breaks the protocol
   * @param options the parser's error as `cause`, when there was one
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HubProtocolError";
  }
}

/**
 * The hub stopped answering: the client sent PING after a silence and
 * nothing at all arrived within `timeout` milliseconds. The client closes;
 * every call still waiting fails with this error, later calls with
 * {@linkcode ConnectionClosedError} (this error as its `cause`), and the
 * message iterator throws it. Without it, a call on a silently dead path
 * would wait until TCP gives up, which takes minutes.
 *
 * @example The message names the timeout
 * ```ts
 * import { PingTimeoutError } from "./mod.ts";
 * const error = new PingTimeoutError(10_000);
 * if (error.message !== "Connection lost: the hub did not answer PING within 10000 ms") {
 *   throw new Error(error.message);
 * }
 * ```
 */
export class PingTimeoutError extends Error {
  /** Milliseconds the client waited after its PING. */
  readonly timeout: number;

  /**
   * Creates the error.
   *
   * @param timeout milliseconds the client waited after its PING
   */
  constructor(timeout: number) {
    super(
      `Connection lost: the hub did not answer PING within ${timeout} ms`,
    );
    this.name = "PingTimeoutError";
    this.timeout = timeout;
  }
}

/**
 * `Connection refused (os error 111)` becomes `connection refused`; a leading
 * acronym (`TLS handshake failed`) keeps its capitals.
 */
function describe(cause: unknown): string {
  const text = cause instanceof Error ? cause.message : String(cause);
  const bare = text.replace(/\s*\(os error \d+\)$/, "");
  if (/^[A-Z]{2}/.test(bare)) return bare;
  return bare.charAt(0).toLowerCase() + bare.slice(1);
}
