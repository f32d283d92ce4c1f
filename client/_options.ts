/**
 * The client's options, their defaults, and their resolution into a checked
 * config, once per client.
 *
 * @module
 */

import { encodeAuth } from "../protocol/mod.ts";

const encoder = new TextEncoder();

/**
 * Options of the `Client` constructor, and of `connect`.
 *
 * @example
 * ```ts
 * import type { ClientOptions } from "./mod.ts";
 * const options: ClientOptions = { token: "s3cret", pingInterval: 10_000 };
 * ```
 */
export interface ClientOptions {
  /** Token of a hub that requires authentication; sent as the first frame. */
  token?: string;
  /**
   * Milliseconds of silence from the hub after which the client sends a
   * PING of its own (checked once per interval, so a PING leaves after one
   * to two intervals of silence). Default 30000; 0 turns the liveness check
   * off.
   */
  pingInterval?: number;
  /**
   * Milliseconds the hub has to send anything after that PING. Past it,
   * every waiting call fails with `PingTimeoutError` and the
   * client closes. Default 10000; 0 turns the liveness check off.
   */
  pingTimeout?: number;
}

/**
 * The liveness defaults: one home for them, read by
 * {@linkcode resolveClientOptions} and by the tests.
 *
 * @example
 * ```ts
 * import { CLIENT_DEFAULTS } from "./mod.ts";
 * if (CLIENT_DEFAULTS.pingInterval !== 30_000) throw new Error("Changed default");
 * ```
 */
export const CLIENT_DEFAULTS = {
  pingInterval: 30_000,
  pingTimeout: 10_000,
} as const;

/** {@linkcode ClientOptions} with every default filled in and checked. */
export interface ClientConfig {
  /** The token's bytes, sent in AUTH before anything else; null: none. */
  auth: Uint8Array | null;
  /** Milliseconds of silence before the client PINGs the hub; 0: never. */
  pingInterval: number;
  /** Milliseconds a PING may go unanswered before the client gives up. */
  pingTimeout: number;
}

/**
 * Checks the options and fills in the defaults, once.
 *
 * @throws {RangeError} for an empty token or one over 1024 bytes, and for a
 * ping option that is not a non-negative number of milliseconds
 */
export function resolveClientOptions(options: ClientOptions): ClientConfig {
  const auth = options.token === undefined
    ? null
    : encodeAuth(encoder.encode(options.token));
  const pingInterval = millis(
    "pingInterval",
    options.pingInterval ?? CLIENT_DEFAULTS.pingInterval,
  );
  const pingTimeout = millis(
    "pingTimeout",
    options.pingTimeout ?? CLIENT_DEFAULTS.pingTimeout,
  );
  return { auth, pingInterval, pingTimeout };
}

/** Timers take at most 2^31 - 1 ms; a longer one would fire at once. */
const MAX_TIMER = 2 ** 31 - 1;

function millis(name: string, value: number): number {
  if (
    typeof value !== "number" || !Number.isFinite(value) || value < 0 ||
    value > MAX_TIMER
  ) {
    throw new RangeError(
      `Invalid ${name}: "${value}" is not a number of milliseconds from 0 to ${MAX_TIMER}`,
    );
  }
  return value;
}
