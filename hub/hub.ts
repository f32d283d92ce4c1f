/**
 * The hub: it listens, accepts connections and makes a session of each, owns
 * the registry of clients, the relay path, the shared buffers and the ticker
 * that checks every session's timers, and shuts down gracefully. Sessions
 * see it through a `SessionHost`, the cluster link through a `ClusterHost`.
 *
 * @module
 */
import { ARENA_CHUNK, BufferPool, OutboundArena } from "../protocol/mod.ts";
import type { ClusterHost, ClusterLink } from "./cluster/link.ts";
import type { RecordView } from "./cluster/wire.ts";
import { CloseReason } from "./close_reason.ts";
import {
  type HubConfig,
  type HubOptions,
  type LogLevel,
  resolveConfig,
} from "./config.ts";
import { Fanout } from "./_fanout.ts";
import { HubCounters, type HubMetrics } from "./metrics.ts";
import { Registry } from "./registry.ts";
import { Session, type SessionHost } from "./_session.ts";
import type { SessionConn } from "./session_conn.ts";
import { WsConn } from "./_ws_conn.ts";
import { AcceptLoop } from "./_accept.ts";
import { HubMonitor, type MonitorSource } from "./monitor/hub_monitor.ts";
import { listenTcp } from "./monitor/listen_error.ts";

/** Counts of the hub's connections, for tests and operators. */
export interface HubStats {
  /** Open connections, registered or not, refused ones included. */
  connections: number;
  /** Clients that appear in lists and receive relays. */
  registered: number;
  /** Unsent bytes queued for all clients. */
  queuedBytes: number;
}

/**
 * Starts a hub and resolves once it listens.
 *
 * @example Start a hub on a free port and stop it
 * ```ts
 * import { serve } from "./mod.ts";
 * await using hub = await serve({ port: 0 });
 * if (hub.addr.port === 0) throw new Error("Expected a real port");
 * ```
 */
export async function serve(options: HubOptions = {}): Promise<Hub> {
  const config = resolveConfig(options);
  // Listen first: a taken port must not cost the cluster a hub number.
  const listener = listen(config.hostname, config.port, config);
  let wsListener: HubListener | null = null;
  try {
    if (config.wsPort !== null) {
      wsListener = listen(config.wsHostname, config.wsPort, config);
    }
  } catch (error) {
    listener.close();
    throw error;
  }
  let cluster: ClusterLink | null = null;
  if (config.cluster !== null) {
    try {
      // NATS is loaded only by hubs that join a cluster.
      const { joinCluster } = await import("./cluster/link.ts");
      cluster = await joinCluster(config.cluster, (level, message, fields) => {
        try {
          config.logger(level, message, fields);
        } catch {
          // A failing logger must not fail the hub (see #log).
        }
      });
    } catch (error) {
      listener.close();
      wsListener?.close();
      throw error;
    }
  }
  const hub = new Hub(listener, config, cluster, wsListener);
  const inner = internalsOf(hub);
  if (cluster !== null) {
    try {
      await cluster.start(inner.clusterHost());
    } catch (error) {
      await hub.shutdown();
      throw error;
    }
    inner.log("info", "joined cluster", {
      cluster: config.cluster!.name,
      hub: cluster.number,
      server: cluster.server,
      hubs: cluster.view.hubs.size,
    });
  }
  const ws = hub.wsAddr;
  inner.log("info", "listening", {
    address: `${hub.addr.hostname}:${hub.addr.port}`,
    tls: config.tls !== null,
    ...(ws === null ? {} : { ws: `${ws.hostname}:${ws.port}` }),
  });
  return hub;
}

/**
 * A TCP listener, or a TLS one when the hub has a key pair; its error names
 * the address.
 */
function listen(
  hostname: string,
  port: number,
  config: HubConfig,
): HubListener {
  return listenTcp({ hostname, port }, config.tls);
}

/** What the hub accepts connections from: a TCP or a TLS listener. */
export type HubListener = Deno.Listener<
  Deno.TcpConn | Deno.TlsConn,
  Deno.NetAddr
>;

/**
 * What the hub's own modules (the metrics endpoint) and tests may see of a
 * hub beyond its public surface. Not exported by `mod.ts`.
 */
export interface HubInternals {
  /** True from the moment shutdown begins; `/healthz` then answers 503. */
  readonly shuttingDown: boolean;
  /** The large buffers the hub reuses, with their counts. */
  readonly pool: BufferPool;
  /** Passes an event to the configured logger; never throws. */
  log(
    level: LogLevel,
    message: string,
    fields: Record<string, string | number | bigint | boolean>,
  ): void;
  /**
   * Outbound bytes of the connection with this id: still queued (the write
   * in flight included), its footprint against the slow-consumer bound, and
   * written so far; `undefined` once it is gone.
   */
  clientStats(
    id: number,
  ): { queued: number; footprint: number; written: number } | undefined;
  /** The hub as `/hubz`, `/connz` and the console see it. */
  monitor(): MonitorSource;
}

interface Internals extends HubInternals {
  clusterHost(): ClusterHost;
}

let internalsOf: (hub: Hub) => Internals;

/**
 * The internals of `hub`: for the hub's own modules and for tests only.
 *
 * @example Watch a hub begin to shut down
 * ```ts
 * import { hubInternals, serve } from "./hub.ts";
 * const hub = await serve({ port: 0 });
 * const stopping = hub.shutdown();
 * if (!hubInternals(hub).shuttingDown) throw new Error("Expected shutdown");
 * await stopping;
 * ```
 */
export function hubInternals(hub: Hub): HubInternals {
  return internalsOf(hub);
}

/**
 * A running hub; {@linkcode serve} starts one. It owns the listener, the
 * registry of clients and the ticker; its public face is its address, its
 * counts and metrics, and shutting down.
 *
 * @example Count a client
 * ```ts
 * import { serve } from "./mod.ts";
 * await using hub = await serve({ port: 0 });
 * using conn = await Deno.connect({ port: hub.addr.port });
 * await conn.write(new TextEncoder().encode("identity\n"));
 * await conn.read(new Uint8Array(64));
 * if (hub.stats.registered !== 1) throw new Error("Expected one client");
 * ```
 */
export class Hub implements AsyncDisposable {
  static {
    internalsOf = (hub) => hub.#internals;
  }

  #config: HubConfig;
  #counters = new HubCounters();
  /**
   * Large buffers used again once written: arena chunks, frames that
   * arrived split across reads, large DELIVER frames.
   */
  #pool = new BufferPool();
  /** Where outbound frames are written, shared by every session. */
  #arena = new OutboundArena(ARENA_CHUNK, this.#pool);
  #registry: Registry<Session>;
  /** Relays messages to the registered clients. */
  #fanout: Fanout;
  /** The hub as its sessions see it. */
  #host: SessionHost<Session>;
  #internals: Internals;
  #listener: HubListener;
  /** The WebSocket listener; `null` without `wsPort`. */
  #wsListener: HubListener | null;
  #cluster: ClusterLink | null;
  #sessions = new Set<Session>();
  #running = new Set<Promise<void>>();
  /** Open connections that were not refused, against `maxClients`. */
  #active = 0;
  #ticker: ReturnType<typeof setInterval>;
  #tickMs: number;
  #lastTick: number;
  /** One accept loop per listener. */
  #loops: AcceptLoop[];
  #accepting: Promise<void>;
  #shutdown: Promise<void> | null = null;
  #started = performance.now();
  /** What `/hubz`, `/connz` and the console see; it keeps recent closes. */
  #monitor: HubMonitor;
  /** Sessions waiting for their turn: see `#turn`. */
  #turns: Array<() => void> = [];
  #turnChannel = new MessageChannel();

  /**
   * Use {@linkcode serve}.
   *
   * @param listener where connections come from; the hub closes it
   * @param config the resolved options
   * @param cluster the link to the cluster, not yet started; `null` for none
   * @param wsListener where WebSocket clients come from; `null` for none
   */
  constructor(
    listener: HubListener,
    config: HubConfig,
    cluster: ClusterLink | null = null,
    wsListener: HubListener | null = null,
  ) {
    this.#listener = listener;
    this.#wsListener = wsListener;
    this.#cluster = cluster;
    this.#config = config;
    const log = this.#log;
    this.#registry = new Registry({ cluster, log });
    this.#fanout = new Fanout({
      registry: this.#registry,
      arena: this.#arena,
      pool: this.#pool,
      counters: this.#counters,
      cluster,
    });
    this.#host = {
      config,
      counters: this.#counters,
      pool: this.#pool,
      arena: this.#arena,
      fanout: this.#fanout,
      registry: this.#registry,
      closed: (session) => this.#closed(session),
      turn: () => this.#turn(),
      log,
    };
    const shuttingDown = () => this.#shutdown !== null;
    this.#monitor = new HubMonitor({
      config,
      addr: () => [this.addr, this.wsAddr],
      sessions: () => this.#sessions,
      metrics: () => this.metrics(),
      draining: shuttingDown,
      cluster,
      log,
    });
    this.#internals = {
      get shuttingDown() {
        return shuttingDown();
      },
      pool: this.#pool,
      log,
      clientStats: (id) => this.#clientStats(id),
      monitor: () => this.#monitor.source,
      clusterHost: () => this.#clusterHost(),
    };
    this.#turnChannel.port1.onmessage = () => {
      const waiting = this.#turns;
      this.#turns = [];
      for (const resolve of waiting) resolve();
    };
    const tick = Math.min(
      config.handshakeTimeout,
      config.pingInterval,
      config.writeTimeout,
    ) / 4;
    this.#tickMs = Math.max(5, Math.min(1000, tick));
    this.#lastTick = performance.now();
    this.#ticker = setInterval(this.#tick, this.#tickMs);
    const origins = config.wsOrigins;
    this.#loops = [new AcceptLoop(listener, (conn) => this.#admit(conn), log)];
    if (wsListener !== null) {
      this.#loops.push(
        new AcceptLoop(wsListener, (conn) => {
          this.#admit(new WsConn(conn, { origins }));
        }, log),
      );
    }
    this.#accepting = Promise.all(this.#loops.map((loop) => loop.done))
      .then(() => {});
  }

  /** The address the hub listens on for TCP clients, with the real port. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /**
   * The address of the WebSocket listener, with the real port; `null`
   * without `wsPort`. Over TLS it serves `wss://`.
   */
  get wsAddr(): Deno.NetAddr | null {
    return this.#wsListener?.addr ?? null;
  }

  /** Connection counts at this moment. */
  get stats(): HubStats {
    let queuedBytes = 0;
    for (const session of this.#sessions) queuedBytes += session.queue.queued;
    return {
      connections: this.#sessions.size,
      registered: this.#registry.size,
      queuedBytes,
    };
  }

  /** The counters and gauges, for `/metrics`. */
  metrics(): HubMetrics {
    let queuedBytes = 0;
    let bytesOut = this.#counters.bytesOutClosed;
    let ws = 0;
    for (const session of this.#sessions) {
      queuedBytes += session.queue.queued;
      bytesOut += session.queue.written;
      if (session.transport === "ws") ws++;
    }
    const c = this.#counters;
    return {
      uptimeSeconds: (performance.now() - this.#started) / 1000,
      connections: this.#sessions.size,
      transports: { tcp: this.#sessions.size - ws, ws },
      registered: this.#registry.dialects(),
      queuedBytes,
      bytesOut,
      counters: { ...c, closed: { ...c.closed }, errors: [...c.errors] },
      cluster: this.#cluster?.metrics() ?? null,
    };
  }

  /** Resolves when the hub has shut down. */
  get finished(): Promise<void> {
    return this.#shutdown ??
      this.#accepting.then(() => this.#shutdown ?? undefined);
  }

  /** The hub as its cluster link sees it. */
  #clusterHost(): ClusterHost {
    return {
      localIds: () => this.#registry.ids(),
      localCount: () => this.#registry.size,
      deliverRemote: (source: Uint8Array, record: RecordView, ...rest) =>
        this.#fanout.relayRemote(source, record, ...rest),
      presenceChanged: () => this.#registry.invalidate(),
      log: this.#log,
    };
  }

  #clientStats(
    id: number,
  ): { queued: number; footprint: number; written: number } | undefined {
    for (const session of this.#sessions) {
      if (session.id === id) {
        const { queued, footprint, written } = session.queue;
        return { queued, footprint, written };
      }
    }
    return undefined;
  }

  #log = (
    level: LogLevel,
    message: string,
    fields: Record<string, string | number | bigint | boolean>,
  ): void => {
    try {
      this.#config.logger(level, message, fields);
    } catch {
      // A logger that fails (stderr closed, say) must not fail a relay.
    }
  };

  /**
   * Makes a session of an accepted connection and runs it: the one way in
   * for every transport. A connection past `maxClients`, or one that finds
   * the cluster out of ids, is served only its refusal.
   */
  #admit(conn: SessionConn): void {
    this.#counters.accepted++;
    if (conn.framing !== undefined) this.#counters.acceptedWs++;
    const id = this.#registry.nextId();
    const refused = id === null || this.#active >= this.#config.maxClients;
    const session = new Session(this.#host, conn, { id: id ?? 0, refused });
    this.#sessions.add(session);
    if (!refused) this.#active++;
    this.#log("debug", "connect", { id: session.id, remote: session.remote });
    const running = session.run();
    this.#running.add(running);
    running.then(() => this.#running.delete(running));
  }

  /** Forgets a closed session. */
  #closed(session: Session): void {
    if (this.#sessions.delete(session) && !session.refused) this.#active--;
    const reason = session.closeReason ?? CloseReason.ClientClosed;
    this.#counters.closed[reason]++;
    this.#counters.bytesOutClosed += session.queue.written;
    this.#monitor.closed(session, reason);
    // Ordinary ends are routine; anything else is worth an operator's eye.
    const routine = reason === CloseReason.ClientClosed ||
      reason === CloseReason.ClientQuit ||
      reason === CloseReason.Shutdown;
    const detail = session.closeDetail;
    this.#log(
      routine ? "debug" : "info",
      "close",
      detail === null
        ? { id: session.id, remote: session.remote, reason }
        : { id: session.id, remote: session.remote, reason, error: detail },
    );
  }

  /**
   * Resolves after the event loop has polled every socket once more. A read
   * that finds data waiting completes without such a turn, so a session with
   * a busy socket takes one now and then to let the others read too. (A
   * message event, unlike a nested timer, is never clamped to 4 ms.)
   */
  #turn(): Promise<void> {
    if (this.#turns.length === 0) this.#turnChannel.port2.postMessage(null);
    return new Promise((resolve) => this.#turns.push(resolve));
  }

  #tick = (): void => {
    const now = performance.now();
    // A tick that comes late means the hub itself was busy: no write could
    // complete and no read be seen meanwhile. That time is not the peers'
    // doing, so it does not count against their timeouts.
    const late = Math.max(0, now - this.#lastTick - 2 * this.#tickMs);
    this.#lastTick = now;
    for (const session of this.#sessions) session.tick(now, late);
  };

  /**
   * Stops accepting, sends every client the shutdown error behind what is
   * queued for it, waits up to the drain timeout for those bytes, then closes
   * whatever is left. Resolves when every connection is closed.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#drain();
    return this.#shutdown;
  }

  async #drain(): Promise<void> {
    this.#log("info", "shutting down", { clients: this.#registry.size });
    // The other hubs stop listing and relaying to our clients now.
    this.#cluster?.leave();
    for (const loop of this.#loops) loop.stop();
    await this.#accepting;
    for (const session of this.#sessions) session.shutdown();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#config.drainTimeout);
    });
    await Promise.race([Promise.all(this.#running), timeout]);
    clearTimeout(timer);
    for (const session of this.#sessions) session.abort(CloseReason.Shutdown);
    await Promise.all(this.#running);
    clearInterval(this.#ticker);
    await this.#cluster?.close();
    this.#turnChannel.port1.close();
    this.#turnChannel.port2.close();
  }

  /** Same as {@linkcode Hub.shutdown}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}
