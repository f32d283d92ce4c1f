/**
 * Why the hub closed a connection: one named reason per close, for the close
 * log line and the `msghub_connections_closed_total` metric.
 *
 * @module
 */

/** Why the hub closed a connection; every close has exactly one. */
export const CloseReason = {
  ClientClosed: "client closed",
  ClientQuit: "client quit",
  Reset: "connection reset",
  Malformed: "malformed frame",
  TooLarge: "frame too large",
  SlowConsumer: "slow consumer",
  Timeout: "ping timeout",
  HandshakeTimeout: "handshake timeout",
  TooManyClients: "too many clients",
  Unauthorized: "unauthorized",
  TlsHandshake: "tls handshake failed",
  UpgradeRefused: "websocket upgrade refused",
  Shutdown: "hub shutting down",
} as const;

/** One of {@linkcode CloseReason}'s values. */
export type CloseReason = typeof CloseReason[keyof typeof CloseReason];
