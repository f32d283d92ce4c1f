import { MAX_LIST_IDS, MAX_OUTBOUND_FRAME } from "../protocol/mod.ts";
import type { ClusterOptions } from "./cluster/types.ts";
import type { HubLogger } from "./log.ts";

export type { HubLogger, LogLevel } from "./log.ts";

/** Options of {@linkcode serve}; every one has the spec's default. */
export interface HubOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  hostname?: string;
  /** Port to listen on; `0` picks a free one. Default `1234`. */
  port?: number;
  /** Clients at once. Default 10,000. */
  maxClients?: number;
  /** Unsent bytes queued for one client before it is a slow consumer. Default 8 MiB. */
  maxPending?: number;
  /** Milliseconds without write progress before a client is a slow consumer. Default 10,000. */
  writeTimeout?: number;
  /** Milliseconds a new connection has to send its first byte. Default 10,000. */
  handshakeTimeout?: number;
  /** Milliseconds of silence from a binary client before the hub PINGs it. Default 30,000. */
  pingInterval?: number;
  /** Milliseconds shutdown waits for queued bytes to flush. Default 5,000. */
  drainTimeout?: number;
  /**
   * Longest pause, in milliseconds, of a sender's reading after one of its
   * relays left a receiver with more than half of `maxPending` queued: time
   * for a receiver that is draining to catch up, so a fast sender does not
   * push it over the limit. 0 never pauses. Default 10.
   */
  maxStall?: number;
  /** When set, clients must authenticate with this token first. */
  token?: string;
  /** When set, the hub speaks TLS with this certificate chain and key. */
  tls?: TlsKeyPair;
  /** Where log events go. Default: nowhere. */
  logger?: HubLogger;
  /**
   * Joins a cluster of hubs over NATS (docs/CLUSTER.md). Without it the hub
   * stands alone and loads nothing of NATS.
   */
  cluster?: HubClusterOptions;
}

/** How a hub joins a cluster; see {@linkcode HubOptions.cluster}. */
export interface HubClusterOptions {
  /** NATS server URLs, e.g. `nats://127.0.0.1:4222`; at least one. */
  servers: string[];
  /** Hubs with the same name form one cluster. Default `msghub`. */
  name?: string;
  /** Milliseconds between heartbeats to the other hubs. Default 500. */
  heartbeat?: number;
  /** Milliseconds of silence after which a hub is taken for dead. Default 3,000. */
  deadAfter?: number;
}

/**
 * A certificate chain and its private key, both PEM text (the contents of the
 * files, not their paths).
 *
 * @example
 * ```ts ignore
 * import type { TlsKeyPair } from "./mod.ts";
 * const tls: TlsKeyPair = {
 *   cert: await Deno.readTextFile("hub.crt"),
 *   key: await Deno.readTextFile("hub.key"),
 * };
 * ```
 */
export interface TlsKeyPair {
  /** The certificate chain, leaf first. */
  cert: string;
  /** The private key of the leaf certificate. */
  key: string;
}

/** {@linkcode HubOptions} resolved and validated. */
export interface HubConfig {
  /** Address to listen on. */
  hostname: string;
  /** Port to listen on; `0` picks a free one. */
  port: number;
  /** Clients at once. */
  maxClients: number;
  /** Unsent bytes queued for one client before it is a slow consumer. */
  maxPending: number;
  /** Milliseconds without write progress before a client is a slow consumer. */
  writeTimeout: number;
  /** Milliseconds a new connection has to send its first byte. */
  handshakeTimeout: number;
  /** Milliseconds of silence from a binary client before the hub PINGs it. */
  pingInterval: number;
  /** Milliseconds shutdown waits for queued bytes to flush. */
  drainTimeout: number;
  /**
   * Longest pause, in milliseconds, of a sender's reading for a receiver past
   * the stall mark; see {@linkcode HubOptions.maxStall}.
   */
  maxStall: number;
  /** The token as UTF-8 bytes; `null` when clients need not authenticate. */
  token: Uint8Array | null;
  /** The certificate chain and key; `null` for plain TCP. */
  tls: TlsKeyPair | null;
  /** Where log events go; a no-op when none was given. */
  logger: HubLogger;
  /** The cluster to join; `null` for a hub on its own. */
  cluster: ClusterOptions | null;
}

/** The spec's defaults. */
export const DEFAULTS = {
  hostname: "127.0.0.1",
  port: 1234,
  maxClients: 10_000,
  maxPending: 8 * 1024 * 1024,
  writeTimeout: 10_000,
  handshakeTimeout: 10_000,
  pingInterval: 30_000,
  drainTimeout: 5_000,
  maxStall: 10,
  clusterName: "msghub",
  clusterHeartbeat: 500,
  clusterDeadAfter: 3_000,
} as const;

/** Raised for an option that cannot be used. */
export class ConfigError extends Error {
  /**
   * Creates the error; {@linkcode resolveConfig} and the CLI throw it.
   *
   * @param message what is wrong with the option, and which one
   * @param options the error's `cause`, if any
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigError";
  }
}

function integer(
  name: string,
  value: number,
  min: number,
  max: number,
): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(
      `Invalid option: ${name} is "${value}", expected an integer from ${min} to ${max}`,
    );
  }
  return value;
}

/** Checks that both halves of a key pair are there and look like PEM. */
function keyPair(tls: TlsKeyPair | undefined): TlsKeyPair | null {
  if (tls === undefined) return null;
  const pem = (name: string, value: unknown, label: RegExp): string => {
    if (typeof value !== "string" || value.trim() === "") {
      throw new ConfigError(
        `Invalid option: tls.${name} is missing; a TLS hub needs both cert and key`,
      );
    }
    if (!label.test(value)) {
      throw new ConfigError(
        `Invalid option: tls.${name} is not PEM text: expected a "-----BEGIN ...-----" block`,
      );
    }
    return value;
  };
  return {
    cert: pem("cert", tls.cert, /-----BEGIN CERTIFICATE-----/),
    key: pem("key", tls.key, /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
  };
}

/** Checks the cluster options; see {@linkcode HubClusterOptions}. */
function clusterOptions(
  cluster: HubClusterOptions | undefined,
): ClusterOptions | null {
  if (cluster === undefined) return null;
  const servers = cluster.servers.map((server) => server.trim()).filter((
    server,
  ) => server !== "");
  if (servers.length === 0) {
    throw new ConfigError(
      "Invalid option: cluster needs at least one NATS server URL, e.g. nats://127.0.0.1:4222",
    );
  }
  for (const server of servers) {
    if (!/^((nats|tls):\/\/)?[^\s/]+(:\d+)?$/.test(server)) {
      throw new ConfigError(
        `Invalid option: cluster server "${server}" is not a NATS URL like nats://HOST:PORT`,
      );
    }
  }
  const name = cluster.name ?? DEFAULTS.clusterName;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw new ConfigError(
      `Invalid option: cluster-name "${name}" may only hold letters, digits, "_" and "-" (1 to 64)`,
    );
  }
  const heartbeatMs = integer(
    "cluster-heartbeat",
    cluster.heartbeat ?? DEFAULTS.clusterHeartbeat,
    10,
    60_000,
  );
  const deadAfterMs = integer(
    "cluster-dead-after",
    cluster.deadAfter ?? DEFAULTS.clusterDeadAfter,
    2 * heartbeatMs,
    600_000,
  );
  return { servers, name, heartbeatMs, deadAfterMs };
}

/** Resolves options into a config, throwing {@linkcode ConfigError} on a bad one. */
export function resolveConfig(options: HubOptions = {}): HubConfig {
  const hour = 3_600_000;
  const token = options.token;
  // Bytes, not UTF-16 units: an AUTH frame carries at most 1024 bytes.
  const tokenBytes = token === undefined
    ? 0
    : new TextEncoder().encode(token).length;
  if (token !== undefined && (tokenBytes < 1 || tokenBytes > 1024)) {
    throw new ConfigError(
      `Invalid option: the token is ${tokenBytes} bytes, expected 1 to 1024`,
    );
  }
  return {
    hostname: options.hostname ?? DEFAULTS.hostname,
    port: integer("port", options.port ?? DEFAULTS.port, 0, 65535),
    maxClients: integer(
      "max-clients",
      options.maxClients ?? DEFAULTS.maxClients,
      1,
      MAX_LIST_IDS,
    ),
    maxPending: integer(
      "max-pending",
      options.maxPending ?? DEFAULTS.maxPending,
      MAX_OUTBOUND_FRAME,
      2 ** 40,
    ),
    writeTimeout: integer(
      "write-timeout",
      options.writeTimeout ?? DEFAULTS.writeTimeout,
      1,
      hour,
    ),
    handshakeTimeout: integer(
      "handshake-timeout",
      options.handshakeTimeout ?? DEFAULTS.handshakeTimeout,
      1,
      hour,
    ),
    pingInterval: integer(
      "ping-interval",
      options.pingInterval ?? DEFAULTS.pingInterval,
      1,
      hour,
    ),
    drainTimeout: integer(
      "drain-timeout",
      options.drainTimeout ?? DEFAULTS.drainTimeout,
      0,
      hour,
    ),
    maxStall: integer(
      "max-stall",
      options.maxStall ?? DEFAULTS.maxStall,
      0,
      10_000,
    ),
    token: token === undefined ? null : new TextEncoder().encode(token),
    tls: keyPair(options.tls),
    logger: options.logger ?? (() => {}),
    cluster: clusterOptions(options.cluster),
  };
}
