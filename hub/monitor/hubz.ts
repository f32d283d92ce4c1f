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
  version: string;
  now_ms: number;
  start_ms: number;
  uptime_seconds: number;
  draining: boolean;
  listening: ListenAddress[];
  monitor: string;
  options: Record<string, string | number | boolean | string[]>;
  connections: {
    open: number;
    registered: number;
    by_dialect: { binary: number; text: number; unknown: number };
    by_transport: Record<string, number>;
  };
  totals: {
    msgs_in: number;
    msgs_out: number;
    bytes_in: number;
    bytes_out: number;
    frames_out: number;
    relays: number;
    receipts: number;
    unknown_receivers: number;
    accepted: number;
    slow_consumers: number;
    sender_stalls: number;
  };
  rates: Rates;
  bytes_queued: number;
  closes: Record<string, number>;
  errors: Record<string, number>;
  process: ProcessStats;
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
