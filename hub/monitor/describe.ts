/**
 * How the hub describes itself to the monitor: a session as a `/connz` row,
 * a departure as a recent close, its config as the options in force (no
 * secrets), its cluster link as the cluster's state. Plain functions over
 * narrow shapes, so the hub's side of the {@linkcode MonitorSource} seam
 * stays a few lines.
 *
 * @module
 */
import type { CloseReason } from "../close_reason.ts";
import type { HubConfig } from "../config.ts";
import { formatNumber, HUB_OPTIONS } from "../options.ts";
import { Dialect } from "../registry.ts";
import {
  type ClientInfo,
  type ClosedClient,
  type ClusterState,
  reasonName,
  type Transport,
} from "./source.ts";

/** What the monitor reads of a session: its counters and a few getters. */
export interface MonitoredSession {
  /** Its user id. */
  readonly id: number;
  /** The peer's address, `host:port`. */
  readonly remote: string;
  /** The dialect, once the first byte has arrived. */
  readonly dialect: Dialect;
  /** Whether it has authenticated (or the hub needs no token). */
  readonly authenticated: boolean;
  /** When it connected, milliseconds since the epoch. */
  readonly connectedAt: number;
  /** Milliseconds since it last sent anything. */
  readonly idleMs: number;
  /** Frames and text commands received from it. */
  readonly msgsIn: number;
  /** Frames and replies queued for it, deliveries included. */
  readonly msgsOut: number;
  /** Bytes received from it. */
  readonly bytesIn: number;
  /**
   * Its outbound queue: bytes `written` to it so far, and bytes `queued` and
   * not yet written.
   */
  readonly queue: { readonly written: number; readonly queued: number };
}

/** How a session reached the hub. */
export interface SessionLink {
  /** The transport. */
  transport: Transport;
  /** Whether it is encrypted. */
  tls: boolean;
}

function dialectName(dialect: Dialect): ClientInfo["dialect"] {
  return dialect === Dialect.Binary
    ? "binary"
    : dialect === Dialect.Text
    ? "text"
    : "unknown";
}

/**
 * A session as a `/connz` row.
 *
 * @example
 * ```ts
 * import { describeClient } from "./describe.ts";
 * const row = describeClient({
 *   id: 7, remote: "127.0.0.1:5000", dialect: 2, authenticated: true,
 *   connectedAt: 0, idleMs: 1500, msgsIn: 3, msgsOut: 4, bytesIn: 50,
 *   queue: { written: 60, queued: 0 },
 * }, { transport: "tcp", tls: false });
 * if (row.dialect !== "text" || row.idle_seconds !== 1.5) throw new Error();
 * ```
 */
export function describeClient(
  session: MonitoredSession,
  link: SessionLink,
): ClientInfo {
  return {
    id: session.id,
    remote: session.remote,
    dialect: dialectName(session.dialect),
    transport: link.transport,
    tls: link.tls,
    authenticated: session.authenticated,
    connected_ms: session.connectedAt,
    idle_seconds: Math.round(session.idleMs) / 1000,
    msgs_in: session.msgsIn,
    msgs_out: session.msgsOut,
    bytes_in: session.bytesIn,
    bytes_out: session.queue.written,
    bytes_queued: session.queue.queued,
  };
}

/** A session that has just closed, as a recent departure. */
export function describeClose(
  session: MonitoredSession,
  link: SessionLink,
  reason: CloseReason,
): ClosedClient {
  return {
    id: session.id,
    remote: session.remote,
    dialect: dialectName(session.dialect),
    transport: link.transport,
    connected_ms: session.connectedAt,
    closed_ms: Date.now(),
    reason: reasonName(reason),
    msgs_in: session.msgsIn,
    msgs_out: session.msgsOut,
    bytes_in: session.bytesIn,
    bytes_out: session.queue.written,
  };
}

/** A NATS URL without its user and password. */
function withoutCredentials(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//");
}

/**
 * The hub's options in force, by flag name, as the command line writes them
 * (`"10s"`, `"8MiB"`); the token and the TLS key only as whether they are set,
 * and cluster URLs without their passwords.
 *
 * @example
 * ```ts
 * import { resolveConfig } from "../config.ts";
 * import { optionsInForce } from "./describe.ts";
 * const options = optionsInForce(resolveConfig({ token: "secret" }));
 * if (options["write-timeout"] !== "10s") throw new Error();
 * if (JSON.stringify(options).includes("secret")) throw new Error();
 * ```
 */
export function optionsInForce(
  config: HubConfig,
): Record<string, string | number | boolean | string[]> {
  const o = HUB_OPTIONS;
  const out: Record<string, string | number | boolean | string[]> = {
    [o.hostname.flag]: config.hostname,
    [o.port.flag]: config.port,
    [o.maxClients.flag]: config.maxClients,
    [o.maxPending.flag]: formatNumber(o.maxPending, config.maxPending),
    [o.writeTimeout.flag]: formatNumber(o.writeTimeout, config.writeTimeout),
    [o.handshakeTimeout.flag]: formatNumber(
      o.handshakeTimeout,
      config.handshakeTimeout,
    ),
    [o.pingInterval.flag]: formatNumber(o.pingInterval, config.pingInterval),
    [o.drainTimeout.flag]: formatNumber(o.drainTimeout, config.drainTimeout),
    [o.maxStall.flag]: formatNumber(o.maxStall, config.maxStall),
    token: config.token !== null,
    tls: config.tls !== null,
  };
  const cluster = config.cluster;
  if (cluster !== null) {
    out[o.cluster.flag] = cluster.servers.map(withoutCredentials);
    out[o.clusterName.flag] = cluster.name;
    out[o.clusterHeartbeat.flag] = formatNumber(
      o.clusterHeartbeat,
      cluster.heartbeatMs,
    );
    out[o.clusterDeadAfter.flag] = formatNumber(
      o.clusterDeadAfter,
      cluster.deadAfterMs,
    );
  }
  return out;
}

/** What the monitor reads of a cluster link. */
export interface MonitoredLink {
  /** This hub's number. */
  readonly number: number;
  /**
   * The NATS server it is connected to (or was, last); its URL may carry a
   * password, which {@linkcode describeCluster} drops.
   */
  readonly server: string;
  /** The cluster as the link sees it. */
  readonly view: {
    /** The other hubs it knows, by number, each with its registered ids. */
    readonly hubs: ReadonlyMap<number, { readonly ids: ReadonlySet<number> }>;
  };
  /**
   * Whether it is connected to NATS now, and the times the connection came
   * back.
   */
  metrics(): { connected: boolean; reconnects: number };
}

/** The cluster as the link sees it. */
export function describeCluster(
  name: string,
  link: MonitoredLink,
): ClusterState {
  const { connected, reconnects } = link.metrics();
  return {
    name,
    hub: link.number,
    server: withoutCredentials(link.server),
    connected,
    reconnects,
    hubs: [...link.view.hubs].map(([hub, remote]) => ({
      hub,
      clients: remote.ids.size,
    })).sort((a, b) => a.hub - b.hub),
  };
}
