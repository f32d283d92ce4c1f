/**
 * The hub's side of the monitoring seam: the hub hands a
 * {@linkcode HubMonitor} a few read-only views of itself and tells it of
 * every close; the monitor keeps the recent departures and serves the
 * {@linkcode MonitorSource} that `/hubz`, `/connz` and the console read.
 *
 * @module
 */
import type { CloseReason } from "../close_reason.ts";
import type { HubConfig } from "../config.ts";
import type { HubLogger } from "../log.ts";
import type { HubMetrics } from "../metrics.ts";
import {
  describeClient,
  describeClose,
  describeCluster,
  type MonitoredLink,
  type MonitoredSession,
  optionsInForce,
  type SessionLink,
} from "./describe.ts";
import { formatAddress } from "./listen_error.ts";
import {
  type ClosedClient,
  CloseRing,
  type ListenAddress,
  type MonitorSource,
  type Transport,
} from "./source.ts";

export type { MonitorSource };

/** How many recent departures `/connz` and the console show. */
export const RECENT_CLOSES = 100;

/** What the monitor reads of its hub. */
export interface MonitoredHub {
  /** The resolved options. */
  readonly config: HubConfig;
  /** Where the hub listens: TCP, and WebSocket when it does. */
  addr(): [Deno.NetAddr, Deno.NetAddr | null];
  /** The open sessions. */
  sessions(): Iterable<MonitoredSession & { readonly transport: Transport }>;
  /** The counters and gauges. */
  metrics(): HubMetrics;
  /** True from the moment shutdown begins. */
  draining(): boolean;
  /** The cluster link; `null` for a hub on its own. */
  readonly cluster: MonitoredLink | null;
  /** Logs an event; never throws. */
  readonly log: HubLogger;
}

/**
 * Keeps the recent departures of a hub and describes it to the monitor.
 *
 * @example
 * ```ts ignore
 * const monitor = new HubMonitor(view);
 * monitor.closed(session, CloseReason.ClientQuit); // from the hub's close path
 * monitor.source.recentCloses(); // [{ id, remote, reason: "client_quit", ... }]
 * ```
 */
export class HubMonitor {
  /** The hub as `/hubz`, `/connz` and the console see it. */
  readonly source: MonitorSource;
  #closes = new CloseRing<ClosedClient>(RECENT_CLOSES);
  #tls: boolean;

  /** Describes `hub`, which it reads only when asked. */
  constructor(hub: MonitoredHub) {
    const config = hub.config;
    // Both listeners speak TLS when the hub has a key pair.
    const tls = this.#tls = config.tls !== null;
    const link = (s: { transport: Transport }): SessionLink => ({
      transport: s.transport,
      tls,
    });
    const clients = () => [...hub.sessions()];
    this.source = {
      token: config.token,
      get draining() {
        return hub.draining();
      },
      startedMs: Date.now(),
      listening: () => {
        const [tcp, ws] = hub.addr();
        const out = [{ transport: "tcp", tls, address: formatAddress(tcp) }];
        if (ws !== null) {
          out.push({ transport: "ws", tls, address: formatAddress(ws) });
        }
        return out as ListenAddress[];
      },
      options: () => optionsInForce(config),
      metrics: () => hub.metrics(),
      clients: () => clients().map((s) => describeClient(s, link(s))),
      client: (id) => {
        const session = clients().find((s) => s.id === id);
        return session && describeClient(session, link(session));
      },
      recentCloses: () => this.#closes.list(),
      cluster: () =>
        hub.cluster === null
          ? null
          : describeCluster(config.cluster!.name, hub.cluster),
      log: hub.log,
    };
  }

  /** Notes a session that has closed, for the recent departures. */
  closed(
    session: MonitoredSession & { readonly transport: Transport },
    reason: CloseReason,
  ): void {
    const link = { transport: session.transport, tls: this.#tls };
    this.#closes.push(describeClose(session, link, reason));
  }
}
