/**
 * The hub's counters, bumped on the hot path as plain fields, and the
 * snapshot of counters and gauges that `/metrics` is rendered from.
 *
 * @module
 */
import { CloseReason } from "./close_reason.ts";
import type { ClusterMetrics } from "./cluster/types.ts";

/**
 * Counters the hub bumps as it runs. Plain number fields, so that counting on
 * the hot path costs an increment; {@linkcode Hub.metrics} adds the gauges.
 */
export class HubCounters {
  /** Connections accepted, every transport. */
  accepted = 0;
  /** Connections accepted on the WebSocket listener. */
  acceptedWs = 0;
  /** Connections closed, by reason. */
  closed: Record<CloseReason, number> = Object.fromEntries(
    Object.values(CloseReason).map((reason) => [reason, 0]),
  ) as Record<CloseReason, number>;
  /** Binary frames and text commands received. */
  framesIn = 0;
  /** Bytes received. */
  bytesIn = 0;
  /** Frames and text replies queued for clients. */
  framesOut = 0;
  /** Bytes written to connections that have closed since. */
  bytesOutClosed = 0;
  /** Relays handled, both dialects. */
  relays = 0;
  /** Relays answered with a receipt: RELAY_RECEIPTED, and every text relay. */
  receipts = 0;
  /** Messages queued for receivers by relays. */
  deliveries = 0;
  /** Receiver ids named in relays that were not registered. */
  unknownReceivers = 0;
  /** Clients closed as slow consumers. */
  slowConsumers = 0;
  /** Times a sender's reading paused for a receiver to drain. */
  stalls = 0;
  /** ERROR frames (or error lines) sent, by code; index 0 is unused. */
  errors: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
}

/** A snapshot of the hub's counters and gauges. */
export interface HubMetrics {
  /** Seconds since the hub started. */
  uptimeSeconds: number;
  /** Open connections, registered or not. */
  connections: number;
  /** Open connections by transport: TCP (TLS included) and WebSocket. */
  transports: { tcp: number; ws: number };
  /** Registered clients, by dialect. */
  registered: { binary: number; text: number };
  /** Unsent bytes queued for all clients. */
  queuedBytes: number;
  /** Bytes written to clients, closed ones included. */
  bytesOut: number;
  /** The counters, copied. */
  counters: Omit<HubCounters, "closed" | "errors"> & {
    closed: Record<CloseReason, number>;
    errors: number[];
  };
  /** The cluster link's counters; `null` for a hub on its own. */
  cluster: ClusterMetrics | null;
}
