import { parseWsOrigins } from "../protocol/mod.ts";
import type { ClusterOptions } from "./cluster/types.ts";
import type { HubLogger } from "./log.ts";
import { checkOption, ConfigError, invalidOption } from "./option_checks.ts";
import { HUB_OPTIONS, type HubOptionKey } from "./options.ts";

export { ConfigError };

export type { HubLogger, LogFields, LogLevel } from "./log.ts";

/**
 * Options of {@linkcode serve}. Each one's default, range and help are in
 * its row of {@linkcode HUB_OPTIONS} (`maxClients` is `HUB_OPTIONS.maxClients`);
 * the README's option table and `msghub hub --help` show the same rows.
 */
export interface HubOptions {
  /** Address to listen on. */
  hostname?: string;
  /** Port to listen on; `0` picks a free one. */
  port?: number;
  /** Clients at once. */
  maxClients?: number;
  /** Unsent bytes queued for one client before it is a slow consumer. */
  maxPending?: number;
  /** Milliseconds without write progress before a client is a slow consumer. */
  writeTimeout?: number;
  /** Milliseconds a new connection has to send its first byte. */
  handshakeTimeout?: number;
  /** Milliseconds of silence from a binary client before the hub PINGs it. */
  pingInterval?: number;
  /** Milliseconds shutdown waits for queued bytes to flush. */
  drainTimeout?: number;
  /**
   * Longest pause, in milliseconds, of a sender's reading after one of its
   * relays left a receiver with more than half of `maxPending` queued: time
   * for a receiver that is draining to catch up, so a fast sender does not
   * push it over the limit. 0 never pauses.
   */
  maxStall?: number;
  /** When set, clients must authenticate with this token first. */
  token?: string;
  /** When set, the hub speaks TLS with this certificate chain and key. */
  tls?: TlsKeyPair;
  /**
   * When set, the hub also accepts WebSocket clients on this port (`0`
   * picks a free one; see `Hub.wsAddr`), over TLS (`wss://`) with `tls`.
   */
  wsPort?: number;
  /** Address of the WebSocket listener; by default `hostname`. */
  wsHostname?: string;
  /**
   * Origins (`scheme://host[:port]`) whose pages may upgrade; others get
   * HTTP 403. Empty or absent: any. An upgrade without `Origin` is accepted.
   */
  wsOrigins?: string[];
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
  /** Hubs with the same name form one cluster (`HUB_OPTIONS.clusterName`). */
  name?: string;
  /** Milliseconds between heartbeats to the other hubs (`HUB_OPTIONS.clusterHeartbeat`). */
  heartbeat?: number;
  /** Milliseconds of silence after which a hub is taken for dead (`HUB_OPTIONS.clusterDeadAfter`). */
  deadAfter?: number;
  /** Milliseconds a starting hub retries NATS before it gives up (`HUB_OPTIONS.clusterStartTimeout`). */
  startTimeout?: number;
  /** Replicas of the numbering stream a hub creates (`HUB_OPTIONS.clusterReplicas`). */
  replicas?: number;
  /** Milliseconds a receipt waits for another hub's confirmation (`HUB_OPTIONS.clusterAckTimeout`). */
  ackTimeout?: number;
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
  /** The WebSocket port; `null` for no WebSocket listener. */
  wsPort: number | null;
  /** Address of the WebSocket listener. */
  wsHostname: string;
  /** Origins allowed to upgrade, lower case; empty allows any. */
  wsOrigins: string[];
  /** Where log events go; a no-op when none was given. */
  logger: HubLogger;
  /** The cluster to join; `null` for a hub on its own. */
  cluster: ClusterOptions | null;
}

/**
 * The defaults of {@linkcode HubOptions}, read from
 * {@linkcode HUB_OPTIONS}.
 */
export const DEFAULTS = {
  hostname: HUB_OPTIONS.hostname.default,
  port: HUB_OPTIONS.port.default,
  maxClients: HUB_OPTIONS.maxClients.default,
  maxPending: HUB_OPTIONS.maxPending.default,
  writeTimeout: HUB_OPTIONS.writeTimeout.default,
  handshakeTimeout: HUB_OPTIONS.handshakeTimeout.default,
  pingInterval: HUB_OPTIONS.pingInterval.default,
  drainTimeout: HUB_OPTIONS.drainTimeout.default,
  maxStall: HUB_OPTIONS.maxStall.default,
  clusterName: HUB_OPTIONS.clusterName.default,
  clusterHeartbeat: HUB_OPTIONS.clusterHeartbeat.default,
  clusterDeadAfter: HUB_OPTIONS.clusterDeadAfter.default,
} as const;

/** Where a row of {@linkcode HUB_OPTIONS} may say `serve()` takes it. */
type OptionField =
  | keyof HubOptions
  | `cluster.${keyof HubClusterOptions}`
  | `tls.${keyof TlsKeyPair}`;

/** Every row's field is one of {@linkcode HubOptions}: checked when this compiles. */
const FIELDS_EXIST: Extract<
  (typeof HUB_OPTIONS)[HubOptionKey],
  { field: string }
>["field"] extends OptionField ? true : never = true;
void FIELDS_EXIST;

/** Checks that both halves of a key pair are there and look like PEM. */
function keyPair(tls: TlsKeyPair | undefined): TlsKeyPair | null {
  if (tls === undefined) return null;
  const pem = (
    key: "tlsCert" | "tlsKey",
    value: unknown,
    label: RegExp,
  ): string => {
    // The PEM text is not repeated: it is long, and a key is a secret.
    if (typeof value !== "string" || value.trim() === "") {
      throw invalidOption(
        key,
        "field",
        "it is missing, a TLS hub needs both cert and key",
      );
    }
    if (!label.test(value)) {
      throw invalidOption(
        key,
        "field",
        'it is not PEM text, expected a "-----BEGIN ...-----" block',
      );
    }
    return value;
  };
  return {
    cert: pem("tlsCert", tls.cert, /-----BEGIN CERTIFICATE-----/),
    key: pem("tlsKey", tls.key, /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
  };
}

/** Checks the allowed origins; see {@linkcode HubOptions.wsOrigins}. */
function wsOrigins(given: string[] | undefined): string[] {
  const list = checkOption("wsOrigins", given) ?? [];
  const origins = list.map((origin) => origin.trim()).filter((o) => o !== "");
  return origins.flatMap((origin) => {
    try {
      return parseWsOrigins(origin);
    } catch {
      throw invalidOption(
        "wsOrigins",
        "field",
        `"${origin}" is not an origin like https://example.com:8443`,
      );
    }
  });
}

/** Checks the cluster options; see {@linkcode HubClusterOptions}. */
function clusterOptions(
  cluster: HubClusterOptions | undefined,
): ClusterOptions | null {
  if (cluster === undefined) return null;
  const given = checkOption("cluster", cluster.servers) ?? [];
  const servers = given.map((server) => server.trim())
    .filter((server) => server !== "");
  if (servers.length === 0) {
    throw invalidOption(
      "cluster",
      "field",
      `"${given.join(",")}" holds no NATS URL, e.g. nats://127.0.0.1:4222`,
    );
  }
  for (const server of servers) {
    if (!/^((nats|tls):\/\/)?[^\s/]+(:\d+)?$/.test(server)) {
      throw invalidOption(
        "cluster",
        "field",
        `"${server}" is not a NATS URL like nats://HOST:PORT`,
      );
    }
  }
  const name = checkOption("clusterName", cluster.name);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw invalidOption(
      "clusterName",
      "field",
      `"${name}" is not 1 to 64 letters, digits, "_" or "-"`,
    );
  }
  const heartbeatMs = checkOption("clusterHeartbeat", cluster.heartbeat);
  const deadAfterMs = checkOption(
    "clusterDeadAfter",
    cluster.deadAfter,
    2 * heartbeatMs,
  );
  return {
    servers,
    name,
    heartbeatMs,
    deadAfterMs,
    startTimeoutMs: checkOption("clusterStartTimeout", cluster.startTimeout),
    replicas: checkOption("clusterReplicas", cluster.replicas),
    ackTimeoutMs: checkOption("clusterAckTimeout", cluster.ackTimeout),
  };
}

/**
 * Resolves options into a config, checking each against
 * {@linkcode HUB_OPTIONS}.
 *
 * @example A bad option is named by its field
 * ```ts
 * import { ConfigError, resolveConfig } from "./config.ts";
 * if (resolveConfig({ port: 0 }).maxClients !== 10_000) throw new Error();
 * try {
 *   resolveConfig({ writeTimeout: 0 });
 *   throw new Error("a timeout of 0 must be refused");
 * } catch (error) {
 *   if (!(error instanceof ConfigError)) throw error;
 *   const want = 'Invalid option "writeTimeout": "0" is not a duration from 1ms to 1h';
 *   if (error.message !== want) throw error;
 * }
 * ```
 *
 * @throws {ConfigError} for an option that cannot be used
 */
export function resolveConfig(options: HubOptions = {}): HubConfig {
  const token = checkOption("token", options.token);
  const hostname = checkOption("hostname", options.hostname);
  return {
    hostname,
    port: checkOption("port", options.port),
    maxClients: checkOption("maxClients", options.maxClients),
    maxPending: checkOption("maxPending", options.maxPending),
    writeTimeout: checkOption("writeTimeout", options.writeTimeout),
    handshakeTimeout: checkOption("handshakeTimeout", options.handshakeTimeout),
    pingInterval: checkOption("pingInterval", options.pingInterval),
    drainTimeout: checkOption("drainTimeout", options.drainTimeout),
    maxStall: checkOption("maxStall", options.maxStall),
    // Bytes, not UTF-16 units: an AUTH frame carries at most 1024 bytes.
    token: token === undefined ? null : new TextEncoder().encode(token),
    tls: keyPair(options.tls),
    wsPort: options.wsPort === undefined
      ? null
      : checkOption("wsPort", options.wsPort) ?? null,
    wsHostname: checkOption("wsHostname", options.wsHostname) ?? hostname,
    wsOrigins: wsOrigins(options.wsOrigins),
    logger: options.logger ?? (() => {}),
    cluster: clusterOptions(options.cluster),
  };
}
