/**
 * The msghub hub: a TCP server that relays messages between clients in the
 * binary and text dialects of `docs/PROTOCOL.md`.
 *
 * @example Run a hub until SIGINT
 * ```ts ignore
 * import { serve } from "./mod.ts";
 * const hub = await serve({ port: 1234 });
 * Deno.addSignalListener("SIGINT", () => hub.shutdown());
 * await hub.finished;
 * ```
 *
 * @module
 */
export { type Hub, type HubStats, serve } from "./hub.ts";
export type {
  ClusterHost,
  ClusterMetrics,
  ClusterOptions,
} from "./cluster/types.ts";
export type { RecordView } from "./cluster/wire.ts";
export { CloseReason } from "./close_reason.ts";
export { HubCounters, type HubMetrics } from "./metrics.ts";
export {
  listenMetrics,
  type ListenMetricsOptions,
  type MetricsOptions,
  type MetricsServer,
  serveMetrics,
} from "./metrics_server.ts";
export type {
  ClientInfo,
  ClosedClient,
  ClusterState,
  ListenAddress,
  MonitorSource,
  Transport,
} from "./monitor/source.ts";
export type { Connz } from "./monitor/connz.ts";
export type { Hubz } from "./monitor/hubz.ts";
export {
  escapeLabelValue,
  EXPOSITION_CONTENT_TYPE,
  formatFamily,
  formatMetrics,
  formatProcessMetrics,
  type Sample,
} from "./exposition.ts";
export {
  ConfigError,
  DEFAULTS,
  type HubClusterOptions,
  type HubConfig,
  type HubLogger,
  type HubOptions,
  type LogFields,
  type LogLevel,
  type TlsKeyPair,
} from "./config.ts";
