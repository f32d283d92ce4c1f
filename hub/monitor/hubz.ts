/**
 * `GET /hubz`: the hub at a glance, as JSON. Times are in seconds (or
 * milliseconds since the epoch where a field ends in `_ms`), sizes in bytes;
 * `msgs_out` counts deliveries (one per receiver), `relays` relay requests.
 *
 * @module
 */
import type { HubMetrics } from "../metrics.ts";
import { processStats } from "./process.ts";
import type { History, Rates, Sample } from "./rates.ts";
import {
  type ClusterState,
  ERROR_NAMES,
  type ListenAddress,
  type MonitorSource,
  reasonName,
} from "./source.ts";
import type { CloseReason } from "../close_reason.ts";
import type { ProcessStats } from "./process.ts";
import { VERSION } from "./version.ts";

/** The body of `GET /hubz`. */
export interface Hubz {
  /** msghub's version (`deno.json`). */
  version: string;
  /** Now, in milliseconds since the epoch. */
  now_ms: number;
  /** When the hub started, in milliseconds since the epoch. */
  start_ms: number;
  /** Seconds since the hub started. */
  uptime_seconds: number;
  /** True from the moment shutdown begins. */
  draining: boolean;
  /** Where clients connect. */
  listening: ListenAddress[];
  /** This endpoint's address, `host:port`. */
  monitor: string;
  /**
   * The options in force, by flag name, as the command line writes them; the
   * token and TLS only as `true`/`false`, cluster URLs without passwords.
   */
  options: Record<string, string | number | boolean | string[]>;
  /** The open connections, counted. */
  connections: {
    /** Open connections, registered or not, refused ones included. */
    open: number;
    /** Clients that appear in lists and receive relays. */
    registered: number;
    /** Open connections by dialect; `unknown` before their first byte. */
    by_dialect: { binary: number; text: number; unknown: number };
    /** Open connections by transport (`tcp`, `ws`). */
    by_transport: Record<string, number>;
  };
  /** Counts since the hub started. */
  totals: {
    /** Binary frames and text commands received (PINGs and AUTH included). */
    msgs_in: number;
    /** Deliveries: one per receiver of a relay. */
    msgs_out: number;
    /** Bytes received. */
    bytes_in: number;
    /** Bytes written to sockets. */
    bytes_out: number;
    /** Frames and text replies queued for clients, deliveries included. */
    frames_out: number;
    /** Relay requests, whatever the number of receivers each named. */
    relays: number;
    /** Relays answered with a receipt. */
    receipts: number;
    /** Receiver ids named in relays that were not registered. */
    unknown_receivers: number;
    /** Connections accepted, every transport. */
    accepted: number;
    /** Clients closed as slow consumers. */
    slow_consumers: number;
    /** Times a sender's reading paused for a receiver to drain. */
    sender_stalls: number;
  };
  /** Per second, over the last second. */
  rates: Rates;
  /** Bytes queued for all clients and not yet written. */
  bytes_queued: number;
  /** Connections closed, by reason. */
  closes: Record<string, number>;
  /** Fatal errors sent, by name. */
  errors: Record<string, number>;
  /** The process's memory (bytes), CPU time (seconds) and open files. */
  process: ProcessStats;
  /** The cluster as this hub sees it; `null` when it runs alone. */
  cluster: ClusterState | null;
  /** The last minutes of samples, oldest first: only with `?history`. */
  history?: readonly Sample[];
}

/**
 * The `/hubz` body of `source` now, its rates from `history`; `monitor` is
 * the monitoring endpoint's own address.
 */
export function buildHubz(
  source: MonitorSource,
  history: History,
  options: { monitor: string; withHistory: boolean },
): Hubz {
  const metrics: HubMetrics = source.metrics();
  const now = Date.now();
  const byDialect = { binary: 0, text: 0, unknown: 0 };
  const byTransport: Record<string, number> = { tcp: 0, ws: 0 };
  for (const client of source.clients()) {
    byDialect[client.dialect]++;
    byTransport[client.transport] = (byTransport[client.transport] ?? 0) + 1;
  }
  const c = metrics.counters;
  const closes: Record<string, number> = {};
  for (const [reason, count] of Object.entries(c.closed)) {
    closes[reasonName(reason as CloseReason)] = count;
  }
  const errors: Record<string, number> = {};
  c.errors.forEach((count, code) => {
    const name = ERROR_NAMES[code];
    if (name !== undefined) errors[name] = count;
  });
  const hubz: Hubz = {
    version: VERSION,
    now_ms: now,
    start_ms: source.startedMs,
    uptime_seconds: Math.round(metrics.uptimeSeconds * 1000) / 1000,
    draining: source.draining,
    listening: source.listening(),
    monitor: options.monitor,
    options: source.options(),
    connections: {
      open: metrics.connections,
      registered: metrics.registered.binary + metrics.registered.text,
      by_dialect: byDialect,
      by_transport: byTransport,
    },
    totals: {
      msgs_in: c.framesIn,
      msgs_out: c.deliveries,
      bytes_in: c.bytesIn,
      bytes_out: metrics.bytesOut,
      frames_out: c.framesOut,
      relays: c.relays,
      receipts: c.receipts,
      unknown_receivers: c.unknownReceivers,
      accepted: c.accepted,
      slow_consumers: c.slowConsumers,
      sender_stalls: c.stalls,
    },
    rates: history.rates(),
    bytes_queued: metrics.queuedBytes,
    closes,
    errors,
    process: processStats(),
    cluster: source.cluster(),
  };
  if (options.withHistory) hubz.history = history.samples();
  return hubz;
}
