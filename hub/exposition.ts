/**
 * The Prometheus text exposition format, version 0.0.4, written by hand: the
 * hub already keeps plain counters, so all a scrape needs is this formatting.
 *
 * @module
 */
import type { CloseReason } from "./close_reason.ts";
import type { HubMetrics } from "./metrics.ts";
import type { ProcessStats } from "./monitor/process.ts";
import { ERROR_NAMES, reasonName } from "./monitor/source.ts";

/** The `Content-Type` of {@linkcode formatMetrics}'s output. */
export const EXPOSITION_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

/** One sample of a metric family: its labels (maybe none) and its value. */
export interface Sample {
  /** Label names and their values; none when absent. */
  labels?: Readonly<Record<string, string>>;
  /** The sample's value. */
  value: number;
}

/**
 * Escapes a label value as the format requires: `\` as `\\`, `"` as `\"` and
 * a line feed as `\n`.
 *
 * @example
 * ```ts
 * import { escapeLabelValue } from "./exposition.ts";
 * const escaped = escapeLabelValue('say "hi"\n');
 * if (escaped !== 'say \\"hi\\"\\n') throw new Error(escaped);
 * ```
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

/** HELP text escapes `\` and line feeds, but not `"`. */
function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => c === "\n" ? "\\n" : "\\\\");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/**
 * Writes one metric family: its HELP and TYPE lines, then a line per sample.
 *
 * @example A counter with a label
 * ```ts
 * import { formatFamily } from "./exposition.ts";
 * const text = formatFamily("demo_total", "counter", "Demo events.", [
 *   { labels: { kind: "a" }, value: 2 },
 * ]);
 * const expected = '# HELP demo_total Demo events.\n# TYPE demo_total counter\ndemo_total{kind="a"} 2\n';
 * if (text !== expected) throw new Error(text);
 * ```
 */
export function formatFamily(
  name: string,
  type: "counter" | "gauge",
  help: string,
  samples: readonly Sample[],
): string {
  let out = `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
  for (const { labels, value } of samples) {
    const pairs = Object.entries(labels ?? {}).map(([key, text]) =>
      `${key}="${escapeLabelValue(text)}"`
    );
    const set = pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
    out += `${name}${set} ${formatValue(value)}\n`;
  }
  return out;
}

/**
 * The hub's metrics as a `/metrics` page: every family prefixed `msghub_`,
 * counters suffixed `_total`.
 *
 * @example
 * ```ts
 * import { formatMetrics } from "./exposition.ts";
 * import { serve } from "./mod.ts";
 * await using hub = await serve({ port: 0 });
 * const page = formatMetrics(hub.metrics());
 * if (!page.includes("\nmsghub_relays_total 0\n")) throw new Error(page);
 * ```
 */
export function formatMetrics(metrics: HubMetrics): string {
  let out = "";
  type Samples = number | readonly Sample[];
  const add = (
    type: "counter" | "gauge",
    name: string,
    help: string,
    samples: Samples,
  ): void => {
    const full = `msghub_${name}${type === "counter" ? "_total" : ""}`;
    const list = typeof samples === "number" ? [{ value: samples }] : samples;
    out += formatFamily(full, type, help, list);
  };
  const gauge = (name: string, help: string, samples: Samples) =>
    add("gauge", name, help, samples);
  const counter = (name: string, help: string, samples: Samples) =>
    add("counter", name, help, samples);
  const c = metrics.counters;

  gauge(
    "uptime_seconds",
    "Seconds since the hub started.",
    Math.round(metrics.uptimeSeconds * 1000) / 1000,
  );
  gauge(
    "connections",
    "Open connections, registered or not.",
    metrics.connections,
  );
  gauge(
    "transport_connections",
    "Open connections, by transport.",
    [
      { labels: { transport: "tcp" }, value: metrics.transports.tcp },
      { labels: { transport: "ws" }, value: metrics.transports.ws },
    ],
  );
  gauge(
    "registered_clients",
    "Clients that appear in lists and receive relays, by dialect.",
    [
      { labels: { dialect: "binary" }, value: metrics.registered.binary },
      { labels: { dialect: "text" }, value: metrics.registered.text },
    ],
  );
  gauge(
    "queued_bytes",
    "Unsent bytes queued for all clients.",
    metrics.queuedBytes,
  );
  counter("connections_accepted", "Connections accepted.", c.accepted);
  counter(
    "transport_connections_accepted",
    "Connections accepted, by transport.",
    [
      { labels: { transport: "tcp" }, value: c.accepted - c.acceptedWs },
      { labels: { transport: "ws" }, value: c.acceptedWs },
    ],
  );
  counter(
    "connections_closed",
    "Connections closed, by reason (a snake_case name).",
    Object.entries(c.closed).map(([reason, value]) => ({
      labels: { reason: reasonName(reason as CloseReason) },
      value,
    })),
  );
  counter(
    "frames_received",
    "Binary frames and text commands received.",
    c.framesIn,
  );
  counter(
    "frames_sent",
    "Frames and text replies queued for clients.",
    c.framesOut,
  );
  counter("received_bytes", "Bytes received from clients.", c.bytesIn);
  counter("sent_bytes", "Bytes written to clients.", metrics.bytesOut);
  counter("relays", "Relays handled, both dialects.", c.relays);
  counter(
    "receipts",
    "Relays answered with a receipt: RELAY_RECEIPTED, and every text relay.",
    c.receipts,
  );
  counter(
    "deliveries",
    "Messages queued for receivers by relays.",
    c.deliveries,
  );
  counter(
    "unknown_receivers",
    "Receiver ids named in relays that were not registered.",
    c.unknownReceivers,
  );
  counter(
    "slow_consumers",
    "Clients closed as slow consumers.",
    c.slowConsumers,
  );
  counter(
    "sender_stalls",
    "Pauses of a sender's reading while a receiver it filled drained.",
    c.stalls,
  );
  counter(
    "errors",
    "ERROR frames and fatal error lines sent, by code (docs/PROTOCOL.md) and its name.",
    c.errors.slice(1).map((value, i) => ({
      labels: { code: String(i + 1), reason: ERROR_NAMES[i + 1] ?? "unknown" },
      value,
    })),
  );
  const k = metrics.cluster;
  if (k === null) return out;
  gauge("cluster_hub", "This hub's number in its cluster.", k.hub);
  gauge("cluster_hubs", "Other hubs of the cluster this hub knows.", k.hubs);
  gauge(
    "cluster_remote_clients",
    "Clients registered on the other hubs.",
    k.remoteClients,
  );
  gauge(
    "cluster_connected",
    "1 while the hub is connected to NATS, else 0.",
    k.connected ? 1 : 0,
  );
  counter(
    "cluster_relays_sent",
    "Relays sent on to other hubs, one per relay and hub.",
    k.relaysOut,
  );
  counter(
    "cluster_batches_sent",
    "NATS messages carrying relays to other hubs.",
    k.batchesOut,
  );
  counter(
    "cluster_relays_received",
    "Relays received from other hubs.",
    k.relaysIn,
  );
  counter(
    "cluster_batches_received",
    "NATS messages carrying relays from other hubs.",
    k.batchesIn,
  );
  counter(
    "cluster_gaps",
    "Relay messages from other hubs found missing by their sequence numbers.",
    k.gaps,
  );
  counter(
    "cluster_publish_errors",
    "Messages to the cluster that NATS would not take.",
    k.publishErrors,
  );
  counter(
    "cluster_bad_messages",
    "Malformed messages from other hubs, dropped.",
    k.badMessages,
  );
  counter(
    "cluster_disconnects",
    "Times the connection to NATS was lost.",
    k.disconnects,
  );
  counter(
    "cluster_reconnects",
    "Times the connection to NATS came back.",
    k.reconnects,
  );
  counter(
    "cluster_resyncs",
    "Snapshots asked of other hubs after a missed presence message.",
    k.resyncs,
  );
  return out;
}

/**
 * The standard `process_*` metrics (resident memory, CPU seconds, open file
 * descriptors, start time) and `msghub_build_info{version=...} 1`, for the
 * end of a `/metrics` page.
 *
 * @example
 * ```ts
 * import { formatProcessMetrics } from "./exposition.ts";
 * import { processStats } from "./monitor/process.ts";
 * const page = formatProcessMetrics(processStats(), "1.2.3");
 * if (!page.includes('msghub_build_info{version="1.2.3"} 1')) throw new Error(page);
 * if (!page.includes("\nprocess_cpu_seconds_total ")) throw new Error(page);
 * ```
 */
export function formatProcessMetrics(
  stats: ProcessStats,
  version: string,
): string {
  let out = formatFamily(
    "process_resident_memory_bytes",
    "gauge",
    "Resident memory size in bytes.",
    [{ value: stats.rss_bytes }],
  );
  out += formatFamily(
    "process_cpu_seconds_total",
    "counter",
    "Total user and system CPU time spent in seconds.",
    [{ value: stats.cpu_seconds }],
  );
  if (stats.open_fds !== null) {
    out += formatFamily(
      "process_open_fds",
      "gauge",
      "Number of open file descriptors.",
      [{ value: stats.open_fds }],
    );
  }
  out += formatFamily(
    "process_start_time_seconds",
    "gauge",
    "Start time of the process since unix epoch in seconds.",
    [{ value: stats.start_time_seconds }],
  );
  out += formatFamily(
    "msghub_heap_used_bytes",
    "gauge",
    "V8 heap in use, bytes.",
    [{ value: stats.heap_used_bytes }],
  );
  out += formatFamily(
    "msghub_build_info",
    "gauge",
    "Always 1; its label names the msghub version.",
    [{ labels: { version }, value: 1 }],
  );
  return out;
}
