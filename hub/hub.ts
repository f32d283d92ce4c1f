import {
  ARENA_CHUNK,
  BufferPool,
  MAX_LIST_IDS,
  OutboundArena,
} from "../protocol/mod.ts";
import type { ClusterHost, ClusterLink } from "./cluster/link.ts";
import type { RecordView } from "./cluster/wire.ts";
import { CloseReason } from "./close_reason.ts";
import {
  type HubConfig,
  type HubOptions,
  type LogLevel,
  resolveConfig,
} from "./config.ts";
import {
  HubCounters,
  type HubCounters as Counters,
  type HubMetrics,
} from "./metrics.ts";
import { Fanout } from "./fanout.ts";
import { Dialect, Session } from "./session.ts";

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
  const address = {
    hostname: config.hostname,
    port: config.port,
    transport: "tcp",
  } as const;
  // Listen first: a taken port must not cost the cluster a hub number.
  const listener: HubListener = config.tls === null
    ? Deno.listen(address)
    : Deno.listenTls({ ...address, ...config.tls });
  let cluster: ClusterLink | null = null;
  if (config.cluster !== null) {
    try {
      // NATS is loaded only by hubs that join a cluster.
      const { joinCluster } = await import("./cluster/link.ts");
      cluster = await joinCluster(config.cluster, (level, message, fields) => {
        try {
          config.logger(level, message, fields);
        } catch {
          // As in Hub.log.
        }
      });
    } catch (error) {
      listener.close();
      throw error;
    }
  }
  const hub = new Hub(listener, config, cluster);
  if (cluster !== null) {
    try {
      await cluster.start(hub.clusterHost());
    } catch (error) {
      await hub.shutdown();
      throw error;
    }
    hub.log("info", "joined cluster", {
      cluster: config.cluster!.name,
      hub: cluster.number,
      server: cluster.server,
      hubs: cluster.view.hubs.size,
    });
  }
  hub.log("info", "listening", {
    address: `${hub.addr.hostname}:${hub.addr.port}`,
    tls: config.tls !== null,
  });
  return hub;
}

/** What the hub accepts connections from: a TCP or a TLS listener. */
export type HubListener = Deno.Listener<
  Deno.TcpConn | Deno.TlsConn,
  Deno.NetAddr
>;

/** The hub: it owns the listener, the registry of clients and the ticker. */
export class Hub implements AsyncDisposable {
  /** The resolved options. */
  readonly config: HubConfig;
  /** Queued bytes past which a receiver makes its senders pause: half the limit. */
  readonly stallMark: number;
  /** Counters bumped by the hub and its sessions. */
  readonly counters: Counters = new HubCounters();
  /**
   * Large buffers used again once written: arena chunks, frames that
   * arrived split across reads, large DELIVER frames.
   */
  readonly pool: BufferPool = new BufferPool();
  /** Where outbound frames are written, shared by every session. */
  readonly arena: OutboundArena = new OutboundArena(ARENA_CHUNK, this.pool);
  /** Relays messages to the registered clients. */
  readonly fanout: Fanout;
  #listener: HubListener;
  #cluster: ClusterLink | null;
  #sessions = new Set<Session>();
  #registry = new Map<number, Session>();
  #sorted: number[] | null = null;
  #running = new Set<Promise<void>>();
  #nextId = 1;
  /** Set once a list was cut to MAX_LIST_IDS. */
  #listCut = false;
  /** Set while the cluster has no id to give: logged once per spell. */
  #outOfIds = false;
  #active = 0;
  #ticker: ReturnType<typeof setInterval>;
  #tickMs: number;
  #lastTick: number;
  #backoff: ReturnType<typeof setTimeout> | undefined;
  /** Ends an accept backoff early, for shutdown. */
  #wake: () => void = () => {};
  #accepting: Promise<void>;
  #shutdown: Promise<void> | null = null;
  #started = performance.now();
  /** Sessions waiting for their turn: see {@linkcode Hub.turn}. */
  #turns: Array<() => void> = [];
  #turnChannel = new MessageChannel();

  /** Use {@linkcode serve}. */
  constructor(
    listener: HubListener,
    config: HubConfig,
    cluster: ClusterLink | null = null,
  ) {
    this.#listener = listener;
    this.#cluster = cluster;
    this.config = config;
    this.stallMark = Math.floor(config.maxPending / 2);
    this.fanout = new Fanout(
      this.#registry,
      this.arena,
      this.pool,
      this.counters,
      this.stallMark,
      cluster,
    );
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
    this.#accepting = this.#accept();
  }

  /** The address the hub listens on, with the real port. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr;
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
    let bytesOut = this.counters.bytesOutClosed;
    for (const session of this.#sessions) {
      queuedBytes += session.queue.queued;
      bytesOut += session.queue.written;
    }
    const registered = { binary: 0, text: 0 };
    for (const session of this.#registry.values()) {
      if (session.dialect === Dialect.Binary) registered.binary++;
      else registered.text++;
    }
    const c = this.counters;
    return {
      uptimeSeconds: (performance.now() - this.#started) / 1000,
      connections: this.#sessions.size,
      registered,
      queuedBytes,
      bytesOut,
      counters: { ...c, closed: { ...c.closed }, errors: [...c.errors] },
      cluster: this.#cluster?.metrics() ?? null,
    };
  }

  /** The hub as its cluster link sees it. */
  clusterHost(): ClusterHost {
    return {
      localIds: () => this.#registry.keys(),
      localCount: () => this.#registry.size,
      deliverRemote: (source: Uint8Array, record: RecordView, owned) =>
        this.fanout.relayRemote(source, record, owned),
      presenceChanged: () => {
        this.#sorted = null;
      },
      log: (level, message, fields) => this.log(level, message, fields),
    };
  }

  /** True from the moment shutdown begins; `/healthz` then answers 503. */
  get shuttingDown(): boolean {
    return this.#shutdown !== null;
  }

  /** Resolves when the hub has shut down. */
  get finished(): Promise<void> {
    return this.#shutdown ??
      this.#accepting.then(() => this.#shutdown ?? undefined);
  }

  /**
   * Outbound bytes of the connection with this id: still queued (the write in
   * flight included) and written so far; `undefined` once it is gone.
   */
  clientStats(id: number): { queued: number; written: number } | undefined {
    for (const session of this.#sessions) {
      if (session.id === id) {
        return { queued: session.queue.queued, written: session.queue.written };
      }
    }
    return undefined;
  }

  /** Passes an event to the configured logger. */
  log(
    level: LogLevel,
    message: string,
    fields: Record<string, string | number | bigint | boolean>,
  ): void {
    try {
      this.config.logger(level, message, fields);
    } catch {
      // A logger that fails (stderr closed, say) must not fail a relay.
    }
  }

  async #accept(): Promise<void> {
    let backoff = 5;
    while (this.#shutdown === null) {
      let conn: Deno.TcpConn | Deno.TlsConn;
      try {
        conn = await this.#listener.accept();
        backoff = 5;
      } catch (error) {
        if (
          this.#shutdown !== null || error instanceof Deno.errors.BadResource
        ) break;
        // A peer that connected and reset before its accept (a port scan, a
        // health check) is gone, not a reason to slow down.
        if (
          error instanceof Deno.errors.NotConnected ||
          error instanceof Deno.errors.ConnectionReset ||
          error instanceof Deno.errors.ConnectionAborted
        ) continue;
        // Out of file descriptors and the like: wait and try again.
        this.log("error", "accept failed", {
          error: String(error),
          retry_ms: backoff,
        });
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#backoff = setTimeout(resolve, backoff);
        });
        backoff = Math.min(backoff * 2, 1000);
        continue;
      }
      try {
        // Deno has no such switch on a TLS connection (README, "Operating a hub").
        if ("setNoDelay" in conn) conn.setNoDelay(true);
      } catch {
        // The peer is already gone; the read loop will see it.
      }
      this.counters.accepted++;
      const id = this.#cluster === null
        ? this.#nextId++
        : this.#cluster.nextId();
      if (id === null && !this.#outOfIds) {
        this.log("error", "out of ids until NATS gives a new epoch", {});
      }
      this.#outOfIds = id === null;
      const refused = id === null || this.#active >= this.config.maxClients;
      const session = new Session(this, conn, id ?? 0, refused);
      this.#sessions.add(session);
      if (!refused) this.#active++;
      this.log("debug", "connect", { id: session.id, remote: session.remote });
      const running = session.run();
      this.#running.add(running);
      running.then(() => this.#running.delete(running));
    }
  }

  /** Makes a session visible to lists and relays. */
  register(session: Session): void {
    this.#registry.set(session.id, session);
    this.#sorted = null;
    this.#cluster?.joined(session.id);
    this.log("debug", "registered", {
      id: session.id,
      dialect: session.dialect === Dialect.Binary ? "binary" : "text",
    });
  }

  /** Hides a session from lists and relays; it may still be flushing. */
  unregister(session: Session): void {
    if (this.#registry.delete(session.id)) {
      this.#sorted = null;
      this.#cluster?.left(session.id);
    }
  }

  /** Forgets a closed session. */
  remove(session: Session): void {
    this.unregister(session);
    if (this.#sessions.delete(session) && !session.refused) this.#active--;
    const reason = session.closeReason ?? CloseReason.ClientClosed;
    this.counters.closed[reason]++;
    this.counters.bytesOutClosed += session.queue.written;
    // Ordinary ends are routine; anything else is worth an operator's eye.
    const routine = reason === CloseReason.ClientClosed ||
      reason === CloseReason.ClientQuit ||
      reason === CloseReason.Shutdown;
    const detail = session.closeDetail;
    this.log(
      routine ? "debug" : "info",
      "close",
      detail === null
        ? { id: session.id, reason }
        : { id: session.id, reason, error: detail },
    );
  }

  /** Ids of every registered client but `session`, ascending. */
  listFor(session: Session): number[] {
    if (this.#sorted === null) {
      const ids = [...this.#registry.keys()];
      if (this.#cluster !== null) {
        for (const id of this.#cluster.view.clients.keys()) ids.push(id);
      }
      this.#sorted = ids.sort((a, b) => a - b);
    }
    const list = this.#sorted.filter((id) => id !== session.id);
    // A cluster can hold more clients than one LIST_REPLY may carry: the
    // lowest ids are listed, and the operator hears of it once.
    if (list.length > MAX_LIST_IDS) {
      if (!this.#listCut) {
        this.#listCut = true;
        this.log("warn", "lists cut to the most a reply may carry", {
          clients: list.length + 1,
          listed: MAX_LIST_IDS,
        });
      }
      list.length = MAX_LIST_IDS;
    }
    return list;
  }

  /**
   * Resolves after the event loop has polled every socket once more. A read
   * that finds data waiting completes without such a turn, so a session with
   * a busy socket takes one now and then to let the others read too. (A
   * message event, unlike a nested timer, is never clamped to 4 ms.)
   */
  turn(): Promise<void> {
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
    this.log("info", "shutting down", { clients: this.#registry.size });
    // The other hubs stop listing and relaying to our clients now.
    this.#cluster?.leave();
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    clearTimeout(this.#backoff);
    this.#wake();
    await this.#accepting;
    for (const session of this.#sessions) session.shutdown();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.config.drainTimeout);
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
