/**
 * The monitoring seam: what the HTTP side (`/hubz`, `/connz`, the console)
 * sees of a hub, as a {@linkcode MonitorSource}. The hub implements it; the
 * monitor never touches a session or the registry itself, as the cluster
 * link sees the hub only through its `ClusterHost`.
 *
 * Units, kept everywhere the monitor serves them: times in seconds (or
 * milliseconds since the epoch where a field says `_ms`), sizes in bytes.
 *
 * @example A source of one's own, for a test of the endpoints
 * ```ts ignore
 * const source: MonitorSource = { token: null, draining: false, ... };
 * ```
 *
 * @module
 */
import { CloseReason } from "../close_reason.ts";
import type { LogFields, LogLevel } from "../log.ts";
import type { HubMetrics } from "../metrics.ts";
import { ErrorCode } from "../../protocol/mod.ts";

/** How a client reached the hub. */
export type Transport = "tcp" | "ws";

/** One connected client, as `/connz` serves it. */
export interface ClientInfo {
  /** Its user id. */
  id: number;
  /** The peer's address, `host:port`. */
  remote: string;
  /** `binary`, `text`, or `unknown` before its first byte. */
  dialect: "binary" | "text" | "unknown";
  /** How it connected. */
  transport: Transport;
  /** Whether its connection is encrypted. */
  tls: boolean;
  /** Whether it has authenticated (or the hub needs no token). */
  authenticated: boolean;
  /** When it connected, milliseconds since the epoch. */
  connected_ms: number;
  /** Seconds since it last sent anything. */
  idle_seconds: number;
  /** Frames and text commands received from it. */
  msgs_in: number;
  /** Frames and replies queued for it, deliveries included. */
  msgs_out: number;
  /** Bytes received from it. */
  bytes_in: number;
  /** Bytes written to it. */
  bytes_out: number;
  /** Bytes queued for it and not yet written. */
  bytes_queued: number;
}

/** A client that has left, as the recent departures list it. */
export interface ClosedClient {
  /** Its user id. */
  id: number;
  /** The peer's address, `host:port`. */
  remote: string;
  /** `binary`, `text`, or `unknown` when it never sent a byte. */
  dialect: "binary" | "text" | "unknown";
  /** How it connected. */
  transport: Transport;
  /** When it connected, milliseconds since the epoch. */
  connected_ms: number;
  /** When it closed, milliseconds since the epoch. */
  closed_ms: number;
  /** Why, as a snake_case name: {@linkcode reasonName}. */
  reason: string;
  /** Frames and text commands received from it. */
  msgs_in: number;
  /** Frames and replies queued for it. */
  msgs_out: number;
  /** Bytes received from it. */
  bytes_in: number;
  /** Bytes written to it. */
  bytes_out: number;
}

/** One address the hub accepts clients on. */
export interface ListenAddress {
  /** The transport it speaks. */
  transport: Transport;
  /** Whether it speaks TLS. */
  tls: boolean;
  /** `host:port`, with the real port. */
  address: string;
}

/** The cluster as one hub sees it, for `/hubz`. */
export interface ClusterState {
  /** The cluster's name. */
  name: string;
  /** This hub's number. */
  hub: number;
  /** The NATS server it is connected to (or was, last). */
  server: string;
  /** Whether it is connected to NATS now. */
  connected: boolean;
  /** Times the connection to NATS came back. */
  reconnects: number;
  /** The other hubs it knows, each with its registered clients. */
  hubs: Array<{ hub: number; clients: number }>;
}

/** What the monitor sees of a hub: read-only, computed when asked. */
export interface MonitorSource {
  /** The token clients and the monitor's readers need; `null` for none. */
  readonly token: Uint8Array | null;
  /** True from the moment shutdown begins. */
  readonly draining: boolean;
  /** When the hub started, milliseconds since the epoch. */
  readonly startedMs: number;
  /** Where the hub accepts clients. */
  listening(): ListenAddress[];
  /** The options in force, by flag name; never a secret. */
  options(): Record<string, string | number | boolean | string[]>;
  /** The counters and gauges, as `/metrics` has them. */
  metrics(): HubMetrics;
  /** Every open connection. */
  clients(): ClientInfo[];
  /** One open connection; `undefined` when there is none with this id. */
  client(id: number): ClientInfo | undefined;
  /** The most recent departures, oldest first. */
  recentCloses(): readonly ClosedClient[];
  /** The cluster; `null` for a hub on its own. */
  cluster(): ClusterState | null;
  /** Logs an event through the hub's logger; never throws. */
  log(level: LogLevel, message: string, fields: LogFields): void;
}

/**
 * The snake_case name of a close reason, as labels and JSON carry it.
 *
 * @example
 * ```ts
 * import { reasonName } from "./source.ts";
 * if (reasonName("slow consumer") !== "slow_consumer") throw new Error();
 * ```
 */
export function reasonName(reason: CloseReason): string {
  return reason.replaceAll(" ", "_");
}

/** Every close reason, by its snake_case name. */
export const CLOSE_REASON_NAMES: readonly string[] = Object.values(CloseReason)
  .map(reasonName);

/**
 * The snake_case names of the ERROR codes, by code: `slow_consumer` is 3.
 *
 * @example
 * ```ts
 * import { ERROR_NAMES } from "./source.ts";
 * if (ERROR_NAMES[3] !== "slow_consumer") throw new Error(ERROR_NAMES[3]);
 * ```
 */
export const ERROR_NAMES: Readonly<Record<number, string>> = Object
  .fromEntries(
    Object.entries(ErrorCode).map(([name, code]) => [
      code,
      name.replace(/(?<!^)[A-Z]/g, (c) => `_${c}`).toLowerCase(),
    ]),
  );

/**
 * The last `capacity` departures, oldest first: a ring that never grows.
 *
 * @example Keep the last two
 * ```ts
 * import { CloseRing } from "./source.ts";
 * const ring = new CloseRing<number>(2);
 * ring.push(1);
 * ring.push(2);
 * ring.push(3);
 * if (ring.list().join() !== "2,3") throw new Error(ring.list().join());
 * ```
 */
export class CloseRing<T> {
  #items: T[] = [];
  #next = 0;
  #capacity: number;

  /** A ring of at most `capacity` items. */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Adds an item, dropping the oldest when full. */
  push(item: T): void {
    if (this.#items.length < this.#capacity) this.#items.push(item);
    else this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.#capacity;
  }

  /** The items, oldest first. */
  list(): T[] {
    if (this.#items.length < this.#capacity) return [...this.#items];
    return [
      ...this.#items.slice(this.#next),
      ...this.#items.slice(0, this.#next),
    ];
  }
}
