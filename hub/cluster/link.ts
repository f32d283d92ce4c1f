/**
 * A hub's link to the rest of its cluster over NATS. It composes the parts:
 * the hub's number from JetStream (`numbering.ts`), presence (`presence.ts`),
 * relays out (`relay_out.ts`) and in (`relay_in.ts`), receipts and
 * back-pressure (`receipts.ts`, `credit.ts`), and what NATS says of
 * its connection (`status.ts`). This file owns the NATS connection: the
 * subjects, the subscriptions, publishing, and closing. Loaded only when a
 * hub is started with a cluster (`hub.ts` imports it on demand).
 *
 * @example Join a cluster (needs nats-server with JetStream)
 * ```ts ignore
 * import { joinCluster } from "./link.ts";
 * const link = await joinCluster({
 *   servers: ["nats://127.0.0.1:4222"],
 *   name: "msghub",
 *   heartbeatMs: 500,
 *   deadAfterMs: 3000,
 * }, (level, message, fields) => console.error(level, message, fields));
 * console.log(`hub number ${link.number}`);
 * await link.close();
 * ```
 *
 * @module
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { IdSource } from "./ids.ts";
import {
  epochsInUse,
  hubNumbers,
  type StreamApi,
  takeNumber,
} from "./numbering.ts";
import { PresenceExchange } from "./presence.ts";
import { RelayIn } from "./relay_in.ts";
import { RelayOut } from "./relay_out.ts";
import { retryStart } from "./start.ts";
import { AckOutbox, Receipts, type RemoteReceipt } from "./receipts.ts";
import { Flow, type Window } from "./credit.ts";
import { decodeAcks } from "./wire.ts";
import { type StatusTarget, watchStatus } from "./status.ts";
import {
  type ClusterConnection,
  ClusterError,
  type ClusterHost,
  type ClusterLog,
  type ClusterMetrics,
  type ClusterOptions,
  zeroCounters,
} from "./types.ts";
import type { ClusterView, RemoteHub } from "./view.ts";

export {
  type ClusterConnection,
  ClusterError,
  type ClusterHost,
  type ClusterMetrics,
  type ClusterOptions,
} from "./types.ts";

/** A JetStream call waits at most this long for its answer. */
const JS_TIMEOUT_MS = 5_000;

/**
 * Connects to NATS, takes a hub number and joins the cluster. NATS that is
 * down, or JetStream without a leader, is waited for (see `start.ts`) up to
 * `startTimeoutMs`; then, or at once for NATS without JetStream, it rejects
 * with {@linkcode ClusterError}.
 */
export async function joinCluster(
  options: ClusterOptions,
  log: ClusterLog,
): Promise<ClusterLink> {
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const started = performance.now();
  let nc: NatsConnection;
  try {
    nc = await retryStart((left) =>
      connect({
        servers: options.servers,
        name: `msghub hub (cluster ${options.name})`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        pingInterval: Math.max(500, options.heartbeatMs * 2),
        maxPingOut: 3,
        timeout: Math.min(5_000, left),
      }), {
      what: "connect to NATS",
      timeoutMs,
      log,
      // A refused login does not mend by waiting.
      fatal: (error) => error instanceof Error && /authori/i.test(error.name),
    });
  } catch (error) {
    throw new ClusterError(
      `cannot connect to NATS at ${options.servers.join(",")}: ${
        (error as Error).message
      }`,
      { cause: error },
    );
  }
  try {
    const { numbers, epoch } = await retryStart(async (left) => {
      const api = await streamApi(nc, Math.min(JS_TIMEOUT_MS, left));
      const numbers = await hubNumbers(
        api,
        options.name,
        options.replicas ?? 1,
        log,
      );
      // The epochs of the hubs running now, from their heartbeats.
      const running = await epochsInUse(nc, options);
      return { numbers, epoch: await takeNumber(numbers, running, log) };
    }, {
      what: "take a hub number from NATS",
      timeoutMs: Math.max(1, timeoutMs - (performance.now() - started)),
      log,
      // A call left hanging by a server going away is given up and retried.
      attemptMs: 3 * JS_TIMEOUT_MS,
    });
    const link: ClusterLink = new ClusterLink(
      nc,
      epoch,
      () => takeNumber(numbers, link.view.maxEpoch, log),
      options,
      log,
    );
    return link;
  } catch (error) {
    await nc.close().catch(() => {});
    if (error instanceof ClusterError) throw error;
    throw new ClusterError(
      `cannot take a hub number from NATS: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * The JetStream calls numbering makes, each waiting at most `timeout` ms;
 * `null` for a server without JetStream.
 */
async function streamApi(
  nc: NatsConnection,
  timeout: number,
): Promise<StreamApi | null> {
  if (nc.info?.jetstream !== true) return null;
  const jsm = await jetstreamManager(nc, { timeout });
  const js = jetstream(nc, { timeout });
  return {
    info: async (name) => ({
      replicas: (await jsm.streams.info(name)).config.num_replicas,
    }),
    add: (name, subject, replicas) =>
      jsm.streams.add({
        name,
        subjects: [subject],
        max_msgs: 1,
        storage: StorageType.File,
        num_replicas: replicas,
      }),
    purge: (name, seq) => jsm.streams.purge(name, { seq }),
    publish: async (subject, data) => (await js.publish(subject, data)).seq,
  };
}

/** The hub's side of the cluster; see {@linkcode joinCluster}. */
export class ClusterLink {
  /** This hub's number: the epoch of its first ids. */
  readonly number: number;
  /** The other hubs and their clients. */
  readonly view: ClusterView;
  readonly #nc: ClusterConnection;
  readonly #ids: IdSource;
  readonly #presenceSubject: string;
  readonly #relayPrefix: string;
  readonly #log: ClusterLog;
  readonly #c = zeroCounters();
  readonly #presence: PresenceExchange;
  readonly #out: RelayOut;
  readonly #ackPrefix: string;
  /** Receipted relays waiting for other hubs' acks. */
  readonly #receipts: Receipts;
  /** Acks this hub owes others. */
  readonly #acks: AckOutbox;
  /** Windows of relays in flight to other hubs, and credits owed them. */
  readonly #flow: Flow;
  /** Made by start(), once there is a hub to deliver to. */
  #in: RelayIn | null = null;
  #subs: { unsubscribe(): void }[] = [];
  #connected = true;
  #closed = false;

  /**
   * Use {@linkcode joinCluster}; tests make one on a stand-in connection.
   *
   * @param nc the NATS connection
   * @param epoch the hub number taken
   * @param takeEpoch takes another number, when the ids of one run out
   * @param options the cluster's options
   * @param log where the link logs
   */
  constructor(
    nc: ClusterConnection,
    epoch: number,
    takeEpoch: () => Promise<number>,
    options: ClusterOptions,
    log: ClusterLog,
  ) {
    this.#nc = nc;
    this.number = epoch;
    this.#log = log;
    this.#ids = new IdSource(
      epoch,
      takeEpoch,
      (error) =>
        this.#log("error", "cannot take a new id epoch from NATS", {
          error: String(error),
        }),
    );
    this.#presenceSubject = `msghub.${options.name}.presence`;
    this.#relayPrefix = `msghub.${options.name}.relay.`;
    this.#ackPrefix = `msghub.${options.name}.ack.`;
    this.#receipts = new Receipts(options.ackTimeoutMs ?? 1_000);
    this.#acks = new AckOutbox(epoch, this.#ackPrefix, this.#publish);
    const flow = new Flow(epoch, options.name, this.#publish, this.#malformed);
    this.#flow = flow;
    this.#out = new RelayOut({
      number: epoch,
      prefix: this.#relayPrefix,
      publish: this.#publish,
      counters: this.#c,
      maxPayload: this.#maxPayload(),
      published: (hub, seq) => flow.windows.published(hub, seq),
    });
    this.#presence = new PresenceExchange({
      number: epoch,
      subject: this.#presenceSubject,
      publish: this.#publish,
      maxPayload: () => this.#maxPayload(),
      epoch: () => this.#ids.epoch,
      heartbeatMs: options.heartbeatMs,
      deadAfterMs: options.deadAfterMs,
      counters: this.#c,
      malformed: this.#malformed,
      log,
      hubGone: (hub) => {
        this.#out.forget(hub);
        this.#in?.forget(hub);
        this.#receipts.forget(hub);
        flow.forget(hub);
      },
    });
    this.view = this.#presence.view;
  }

  /** The hub's NATS server, for logs. */
  get server(): string {
    return this.#nc.getServer();
  }

  /**
   * Starts the link for `host`: subscribes, says hello, and waits briefly for
   * the other hubs' snapshots so that the first lists are whole.
   */
  async start(host: ClusterHost): Promise<void> {
    const relays = new RelayIn({
      host,
      hubs: this.view.hubs,
      counters: this.#c,
      malformed: this.#malformed,
      acks: this.#acks,
      credits: this.#flow.credits,
    });
    this.#in = relays;
    const presence = this.#presence;
    this.#subs.push(
      this.#nc.subscribe(this.#presenceSubject, {
        callback: (error, msg) => {
          if (error === null) presence.receive(msg.data);
        },
      }),
      // Snapshots asked of other hubs come on a subject of our own.
      this.#nc.subscribe(`${this.#presenceSubject}.${this.number}`, {
        callback: (error, msg) => {
          if (error === null) presence.receive(msg.data);
        },
      }),
      this.#nc.subscribe(this.#relayPrefix + this.number, {
        callback: (error, msg) => {
          if (error === null) relays.receive(msg.data);
        },
      }),
      this.#nc.subscribe(this.#ackPrefix + this.number, {
        callback: (error, msg) => {
          if (error === null) this.#receiveAcks(msg.data);
        },
      }),
      this.#nc.subscribe(this.#flow.subject, {
        callback: (error, msg) => {
          if (error === null) this.#flow.receive(msg.data);
        },
      }),
    );
    watchStatus(this.#nc.status(), this.#statusTarget()).catch((error) =>
      this.#log("error", "watching NATS failed", { error: String(error) })
    );
    presence.start(host);
    await this.#nc.flush();
    // Snapshots answer a hello within a round trip; wait until they stop.
    const start = performance.now();
    let seen = -1;
    while (performance.now() - start < 500) {
      await new Promise((resolve) => setTimeout(resolve, 30));
      const synced = [...this.view.hubs.values()].filter((h) => h.synced);
      if (synced.length === this.view.hubs.size && synced.length === seen) {
        break;
      }
      seen = synced.length;
    }
  }

  /** The next client id, or `null` if none can be given out right now. */
  nextId(): number | null {
    return this.#ids.next();
  }

  /** A client registered: announce it. */
  joined(id: number): void {
    this.#presence.joined(id);
  }

  /** A client left: announce it. */
  left(id: number): void {
    this.#presence.left(id);
  }

  /**
   * Queues the relay from `sender` to `ids` (all on `remote`) with the body
   * `body[bodyStart..bodyEnd)`. Relays for one hub leave together, in order,
   * at the end of the current task.
   */
  forward(
    remote: RemoteHub,
    sender: number,
    ids: readonly number[],
    body: Uint8Array,
    bodyStart: number,
    bodyEnd: number,
  ): void {
    this.#flow.add(remote.number, ids, bodyStart, bodyEnd);
    this.#out.forward(remote, sender, ids, body, bodyStart, bodyEnd);
  }

  /** The window to `remote` if it is pressed (see `credit.ts`), else null. */
  pressure(remote: RemoteHub): Window | null {
    return this.#flow.windows.pressure(remote.number);
  }

  /**
   * Queues a receipted relay, as {@linkcode forward} does, and resolves with
   * what `remote` confirms of `ids`: those it queued the message for, and
   * those it does not have. Receivers it does not confirm within the ack
   * timeout, or that go out of reach meanwhile, are unknown.
   */
  forwardReceipted(
    remote: RemoteHub,
    sender: number,
    ids: readonly number[],
    body: Uint8Array,
    bodyStart: number,
    bodyEnd: number,
  ): Promise<RemoteReceipt> {
    const { ack, promise } = this.#receipts.expect(remote.number, ids);
    this.#flow.add(remote.number, ids, bodyStart, bodyEnd);
    this.#out.forward(remote, sender, ids, body, bodyStart, bodyEnd, ack);
    return promise;
  }

  #receiveAcks(data: Uint8Array): void {
    let message;
    try {
      message = decodeAcks(data);
    } catch (error) {
      return this.#malformed("ack", error);
    }
    for (const ack of message.acks) this.#receipts.confirm(message.hub, ack);
  }

  /** The link's counters and gauges. */
  metrics(): ClusterMetrics {
    return {
      hub: this.number,
      hubs: this.view.hubs.size,
      remoteClients: this.view.clients.size,
      connected: this.#connected,
      ...this.#c,
    };
  }

  /** Tells the other hubs this one is leaving: they forget its clients now. */
  leave(): void {
    if (this.#presence.gone) return;
    this.#out.flushAll();
    this.#acks.flush();
    this.#flow.credits.flush();
    this.#presence.bye();
  }

  /** Leaves, then closes the NATS connection once what is queued is sent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.leave();
    this.#closed = true;
    this.#presence.stop();
    this.view.clear();
    this.#receipts.failAll();
    this.#flow.windows.resetAll();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#nc.drain().catch(() => {}),
      new Promise((resolve) => timer = setTimeout(resolve, 2_000)),
    ]);
    clearTimeout(timer);
    if (!this.#nc.isClosed()) await this.#nc.close().catch(() => {});
  }

  #maxPayload(): number {
    return this.#nc.info?.max_payload ?? 1024 * 1024;
  }

  #publish = (subject: string, bytes: Uint8Array): void => {
    if (this.#closed) return;
    try {
      this.#nc.publish(subject, bytes);
    } catch (error) {
      this.#c.publishErrors++;
      if (this.#c.publishErrors === 1 || this.#c.publishErrors % 1000 === 0) {
        this.#log("warn", "cannot publish to NATS", {
          error: String(error),
          failures: this.#c.publishErrors,
        });
      }
    }
  };

  #malformed = (what: string, error?: unknown): void => {
    this.#c.badMessages++;
    this.#log("warn", `malformed ${what} message from the cluster`, {
      error: error === undefined ? "too short" : String(error),
    });
  };

  /** The link's state as NATS status events act on it. */
  #statusTarget(): StatusTarget {
    // deno-lint-ignore no-this-alias
    const link = this;
    return {
      get closed() {
        return link.#closed;
      },
      get connected() {
        return link.#connected;
      },
      set connected(connected: boolean) {
        link.#connected = connected;
      },
      counters: this.#c,
      log: this.#log,
      view: {
        hubs: this.view.hubs,
        clients: this.view.clients,
        // Out of reach of the other hubs: no ack can come now.
        clear: () => {
          this.view.clear();
          this.#receipts.failAll();
          this.#flow.windows.resetAll();
        },
      },
      resize: () => this.#out.resize(this.#maxPayload()),
      hello: () => this.#presence.hello(),
    };
  }
}
