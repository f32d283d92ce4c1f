import {
  ARENA_LARGE,
  deliverSize,
  encodeReceipt,
  encodeTextDeliver,
  HEADER_SIZE,
  OutboundArena,
  readU32,
  readU64,
  writeDeliverHead,
} from "../protocol/mod.ts";
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
import { Dialect, Session } from "./session.ts";

/** Ids above this cannot be a number without loss; the hub never gives them out. */
const MAX_SAFE_HIGH = 0x1f_ffff;
const TWO_32 = 0x1_0000_0000;
const MAX_SAFE_ID = BigInt(Number.MAX_SAFE_INTEGER);

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
export function serve(options: HubOptions = {}): Promise<Hub> {
  let config: HubConfig;
  let listener: HubListener;
  try {
    config = resolveConfig(options);
    const address = {
      hostname: config.hostname,
      port: config.port,
      transport: "tcp",
    } as const;
    listener = config.tls === null
      ? Deno.listen(address)
      : Deno.listenTls({ ...address, ...config.tls });
  } catch (error) {
    // A bad option or a taken port rejects, as from an async function.
    return Promise.reject(error);
  }
  const hub = new Hub(listener, config);
  hub.log("info", "listening", {
    address: `${hub.addr.hostname}:${hub.addr.port}`,
    tls: config.tls !== null,
  });
  return Promise.resolve(hub);
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
  /** Where outbound frames are written, shared by every session. */
  readonly arena: OutboundArena = new OutboundArena();
  #listener: HubListener;
  #sessions = new Set<Session>();
  #registry = new Map<number, Session>();
  #sorted: number[] | null = null;
  #running = new Set<Promise<void>>();
  #nextId = 1;
  #active = 0;
  #stamp = 0;
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
  /** The receivers of the relay being handled; reused to spare allocations. */
  #targets: Session[] = [];
  /** The DELIVER frame of the relay being handled: #frame[#frameStart..#frameEnd). */
  #frame: Uint8Array = new Uint8Array(0);
  #frameStart = 0;
  #frameEnd = 0;

  /** Use {@linkcode serve}. */
  constructor(listener: HubListener, config: HubConfig) {
    this.#listener = listener;
    this.config = config;
    this.stallMark = Math.floor(config.maxPending / 2);
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
      const refused = this.#active >= this.config.maxClients;
      const session = new Session(this, conn, this.#nextId++, refused);
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
    this.log("debug", "registered", {
      id: session.id,
      dialect: session.dialect === Dialect.Binary ? "binary" : "text",
    });
  }

  /** Hides a session from lists and relays; it may still be flushing. */
  unregister(session: Session): void {
    if (this.#registry.delete(session.id)) this.#sorted = null;
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
    this.#sorted ??= [...this.#registry.keys()].sort((a, b) => a - b);
    return this.#sorted.filter((id) => id !== session.id);
  }

  /**
   * Relays a RELAY or RELAY_RECEIPTED whose payload is `source[start..end)`.
   * The DELIVER frame is built once and the same bytes are queued for every
   * receiver. When the parser handed over its own buffer (`owned`), a large
   * frame is built in place over the ids.
   */
  relayFrame(
    sender: Session,
    source: Uint8Array,
    start: number,
    end: number,
    owned: boolean,
    receipted: boolean,
  ): void {
    const n = source[start]!;
    const bodyStart = start + 1 + n * 8;
    const stamp = ++this.#stamp;
    const targets = this.#targets;
    let unknown: bigint[] | null = null;
    for (let offset = start + 1; offset < bodyStart; offset += 8) {
      const high = readU32(source, offset);
      const target = high <= MAX_SAFE_HIGH
        ? this.#registry.get(high * TWO_32 + readU32(source, offset + 4))
        : undefined;
      if (target === undefined) {
        this.counters.unknownReceivers++;
        if (receipted) {
          const id = readU64(source, offset);
          unknown ??= [];
          if (!unknown.includes(id)) unknown.push(id);
        }
      } else if (target.stamp !== stamp) {
        target.stamp = stamp;
        targets.push(target);
      }
    }
    // Every id is read before an owned buffer's ids are overwritten by the frame.
    const delivered = this.#deliver(sender, source, bodyStart, end, owned);
    this.counters.relays++;
    this.counters.deliveries += delivered;
    if (receipted) sender.send(encodeReceipt(delivered, unknown ?? []));
  }

  /** Relays a text-dialect relay; returns what the `relayed` line reports. */
  relayText(
    sender: Session,
    ids: readonly bigint[],
    body: Uint8Array,
  ): { delivered: number; unknown: bigint[] } {
    const stamp = ++this.#stamp;
    const targets = this.#targets;
    const unknown: bigint[] = [];
    for (const id of ids) {
      const target = id <= MAX_SAFE_ID
        ? this.#registry.get(Number(id))
        : undefined;
      if (target === undefined) {
        this.counters.unknownReceivers++;
        if (!unknown.includes(id)) unknown.push(id);
      } else if (target.stamp !== stamp) {
        target.stamp = stamp;
        targets.push(target);
      }
    }
    // Lay the body out as an owned relay frame, with room for the DELIVER head.
    const frame = new Uint8Array(HEADER_SIZE + 8 + body.length);
    frame.set(body, HEADER_SIZE + 8);
    const delivered = this.#deliver(
      sender,
      frame,
      HEADER_SIZE + 8,
      frame.length,
      true,
    );
    this.counters.relays++;
    this.counters.deliveries += delivered;
    return { delivered, unknown };
  }

  /**
   * Queues one relay, whose body is `source[bodyStart..end)`, for the
   * collected targets: the DELIVER frame, and the text delivery, are each
   * built once and shared. Returns how many it was queued for.
   */
  #deliver(
    sender: Session,
    source: Uint8Array,
    bodyStart: number,
    end: number,
    owned: boolean,
  ): number {
    const targets = this.#targets;
    let built = false;
    let text: Uint8Array | null = null;
    let delivered = 0;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      let queued: boolean;
      if (target.dialect === Dialect.Binary) {
        if (!built) {
          this.#buildDeliver(sender, source, bodyStart, end, owned);
          built = true;
        }
        queued = target.sendRange(
          this.#frame,
          this.#frameStart,
          this.#frameEnd,
        );
      } else {
        text ??= encodeTextDeliver(sender.id, source.subarray(bodyStart, end));
        queued = target.send(text);
      }
      if (queued) {
        delivered++;
        if (target.queue.queued > this.stallMark) sender.pressure = target;
      }
    }
    targets.length = 0;
    return delivered;
  }

  /** Builds a DELIVER frame into #frame[#frameStart..#frameEnd). */
  #buildDeliver(
    sender: Session,
    source: Uint8Array,
    bodyStart: number,
    end: number,
    owned: boolean,
  ): void {
    const bodyLength = end - bodyStart;
    const size = deliverSize(bodyLength);
    if (owned && bodyLength >= ARENA_LARGE) {
      // The frame's head goes over the last ids, right before the body.
      this.#frame = source;
      this.#frameStart = bodyStart - HEADER_SIZE - 8;
    } else if (size >= ARENA_LARGE) {
      this.#frame = new Uint8Array(size);
      this.#frameStart = 0;
      this.#frame.set(source.subarray(bodyStart, end), HEADER_SIZE + 8);
    } else {
      const at = this.arena.claim(size);
      const chunk = this.arena.chunk;
      const head = at + HEADER_SIZE + 8;
      if (bodyLength <= 64) {
        // A view and a memcpy cost more than a short loop.
        for (let i = 0; i < bodyLength; i++) {
          chunk[head + i] = source[bodyStart + i]!;
        }
      } else {
        chunk.set(source.subarray(bodyStart, end), head);
      }
      this.#frame = chunk;
      this.#frameStart = at;
    }
    this.#frameEnd = this.#frameStart + size;
    writeDeliverHead(this.#frame, this.#frameStart, sender.id, bodyLength);
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
    this.#turnChannel.port1.close();
    this.#turnChannel.port2.close();
  }

  /** Same as {@linkcode Hub.shutdown}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}
