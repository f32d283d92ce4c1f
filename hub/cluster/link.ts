/**
 * A hub's link to the rest of its cluster over NATS: it takes the hub's
 * number from JetStream, announces the hub's clients, keeps the view of the
 * other hubs' clients, and carries relays between hubs in batches. Loaded
 * only when a hub is started with a cluster (`hub.ts` imports it on demand).
 *
 * @module
 */
import {
  connect,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import type { LogLevel } from "../config.ts";
import { IdSource } from "./ids.ts";
import { ClusterView, type RemoteHub } from "./view.ts";
import {
  Batch,
  BATCH_HEAD,
  decodePresence,
  encodePresence,
  Presence,
  readRecord,
  recordSize,
  type RecordView,
  writeBatchHead,
  writeRecord,
} from "./wire.ts";

/** Where and how a hub joins a cluster. */
export interface ClusterOptions {
  /** NATS server URLs, e.g. `nats://127.0.0.1:4222`. */
  servers: string[];
  /** The cluster's name: hubs with the same name form one cluster. */
  name: string;
  /** Milliseconds between heartbeats. */
  heartbeatMs: number;
  /** Milliseconds of silence after which a hub is taken for dead. */
  deadAfterMs: number;
}

/** What the link needs of its hub. */
export interface ClusterHost {
  /** Ids of the hub's registered clients. */
  localIds(): Iterable<number>;
  /** How many clients are registered on the hub. */
  localCount(): number;
  /** Delivers a relay from another hub to local receivers. */
  deliverRemote(source: Uint8Array, record: RecordView, owned: boolean): void;
  /** The remote clients changed: cached lists are stale. */
  presenceChanged(): void;
  /** Logs an event. */
  log(
    level: LogLevel,
    message: string,
    fields: Record<string, string | number | bigint | boolean>,
  ): void;
}

/** Cluster counters for `/metrics`. */
export interface ClusterMetrics {
  /** This hub's number. */
  hub: number;
  /** Other hubs known. */
  hubs: number;
  /** Clients registered on other hubs. */
  remoteClients: number;
  /** True while connected to NATS. */
  connected: boolean;
  /** Relays sent on to other hubs (one per relay and hub). */
  relaysOut: number;
  /** NATS messages of relays sent. */
  batchesOut: number;
  /** Relays received from other hubs. */
  relaysIn: number;
  /** NATS messages of relays received. */
  batchesIn: number;
  /** Relay messages from another hub found missing by their sequence numbers. */
  gaps: number;
  /** Relays or presence messages that could not be published. */
  publishErrors: number;
  /** Malformed messages from other hubs, dropped. */
  badMessages: number;
  /** Times the NATS connection was lost. */
  disconnects: number;
  /** Times it came back. */
  reconnects: number;
  /** Snapshots asked of other hubs after a missed presence message. */
  resyncs: number;
}

/** Raised when a hub cannot join its cluster. */
export class ClusterError extends Error {
  /** @param message what failed @param options its cause */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ClusterError";
  }
}

/** Relays bound for one hub are sent in messages of up to this many bytes. */
const BATCH_BYTES = 32 * 1024;
/** Senders of relays tracked at once; more means someone is misbehaving. */
const MAX_INBOXES = 4096;

/** Bytes of a relay message a part of a large record may fill. */
function partRoom(maxPayload: number): number {
  return Math.min(maxPayload, 1024 * 1024) - BATCH_HEAD - 4;
}

/**
 * Connects to NATS, takes a hub number and joins the cluster. Rejects with
 * {@linkcode ClusterError} when NATS cannot be reached or has no JetStream.
 */
export async function joinCluster(
  options: ClusterOptions,
  log: ClusterHost["log"],
): Promise<ClusterLink> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.servers,
      name: `msghub hub (cluster ${options.name})`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: Math.max(500, options.heartbeatMs * 2),
      maxPingOut: 3,
      timeout: 5_000,
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
    const numbers = await hubNumbers(nc, options.name);
    // The epochs of the hubs running now, from their heartbeats.
    const running = await epochsInUse(nc, options);
    const take = async (inUse: number): Promise<number> => {
      let epoch = await numbers.take();
      if (epoch <= inUse) {
        // The stream's count went back (its files were lost, or it was
        // deleted): skip past every epoch in use rather than hand one out
        // twice.
        log("warn", "hub numbering was reset in NATS; skipping past", {
          given: epoch,
          in_use: inUse,
        });
        await numbers.skipTo(inUse + 1);
        epoch = await numbers.take();
        if (epoch <= inUse) {
          throw new ClusterError(
            `NATS gave hub number ${epoch}, but ${inUse} is in use`,
          );
        }
      }
      return epoch;
    };
    const epoch = await take(running);
    const link: ClusterLink = new ClusterLink(
      nc,
      epoch,
      () => take(link.view.maxEpoch),
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
 * Listens to the cluster's heartbeats for one and a half heartbeat periods
 * and returns the largest hub number or epoch in use (0 for none).
 */
async function epochsInUse(
  nc: NatsConnection,
  options: ClusterOptions,
): Promise<number> {
  let most = 0;
  const sub = nc.subscribe(`msghub.${options.name}.presence`, {
    callback: (error, msg) => {
      if (error !== null) return;
      try {
        const message = decodePresence(msg.data);
        most = Math.max(most, message.hub);
        if (message.kind === Presence.Heartbeat) {
          most = Math.max(most, message.epoch);
        }
      } catch {
        // Someone else's mistake; the link counts these once it runs.
      }
    },
  });
  await nc.flush();
  await new Promise((resolve) =>
    setTimeout(resolve, options.heartbeatMs * 1.5)
  );
  sub.unsubscribe();
  return most;
}

/**
 * Makes sure the stream that numbers hubs exists. `take` takes the next
 * number: the sequence number JetStream gives a message on it (file storage
 * keeps the count across NATS restarts); `skipTo` moves the count on so that
 * the next number is `next`.
 */
async function hubNumbers(
  nc: NatsConnection,
  name: string,
): Promise<{ take(): Promise<number>; skipTo(next: number): Promise<void> }> {
  if (nc.info?.jetstream !== true) {
    throw new ClusterError(
      "the NATS server has no JetStream (start nats-server with -js): msghub numbers its hubs with it",
    );
  }
  const stream = `MSGHUB_${name}_HUBS`;
  const subject = `msghub.${name}.hubs`;
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(stream);
  } catch {
    try {
      await jsm.streams.add({
        name: stream,
        subjects: [subject],
        max_msgs: 1,
        storage: StorageType.File,
      });
    } catch (error) {
      // Another hub may have made it meanwhile.
      await jsm.streams.info(stream).catch(() => {
        throw error;
      });
    }
  }
  const js = jetstream(nc);
  return {
    take: async () => {
      const ack = await js.publish(subject, new TextEncoder().encode("hub"));
      return ack.seq;
    },
    // A purge up to a sequence past the last one moves the count there.
    skipTo: async (next) => {
      await jsm.streams.purge(stream, { seq: next });
    },
  };
}

/** Relays queued for one other hub, sent as one message per batch. */
class Outbox {
  readonly subject: string;
  seq = 0;
  bytes: Uint8Array | null = null;
  length = 0;
  scheduled = false;
  constructor(subject: string) {
    this.subject = subject;
  }
}

/** What has arrived from one other hub's relays. */
class Inbox {
  /** The sequence number the next message should carry. */
  expect = 0;
  /** A large record being put together from parts. */
  partial: Uint8Array | null = null;
  filled = 0;
}

/** The hub's side of the cluster; see {@linkcode joinCluster}. */
export class ClusterLink {
  /** This hub's number: the epoch of its first ids. */
  readonly number: number;
  /** The other hubs and their clients. */
  readonly view: ClusterView;
  readonly #nc: NatsConnection;
  readonly #options: ClusterOptions;
  readonly #ids: IdSource;
  readonly #presence: string;
  readonly #relayPrefix: string;
  #log: ClusterHost["log"];
  #host: ClusterHost | null = null;
  #subs: Subscription[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #seq = 0;
  #joined: number[] = [];
  #left: number[] = [];
  #deltaScheduled = false;
  /** Hubs waiting for our snapshot, sent to each on its own subject. */
  #snapshotTo = new Set<number>();
  /** When the last heartbeat went out, to notice our own stalls. */
  #lastBeat = performance.now();
  /** Records of one relay message: the outbox size, at most `#room`. */
  #batchBytes: number;
  #out = new Map<number, Outbox>();
  #in = new Map<number, Inbox>();
  #connected = true;
  /** Bytes of a record that fit in one relay message; see partRoom. */
  #room: number;
  /** Reused for every record read: the hub uses it before the next. */
  #record: RecordView = { sender: 0, idsStart: 0, n: 0, bodyStart: 0, end: 0 };
  /** Set once the Bye is out: nothing more is said about presence. */
  #gone = false;
  #closed = false;
  #c = {
    relaysOut: 0,
    batchesOut: 0,
    relaysIn: 0,
    batchesIn: 0,
    gaps: 0,
    publishErrors: 0,
    badMessages: 0,
    disconnects: 0,
    reconnects: 0,
    resyncs: 0,
  };

  /** Use {@linkcode joinCluster}. */
  constructor(
    nc: NatsConnection,
    epoch: number,
    takeEpoch: () => Promise<number>,
    options: ClusterOptions,
    log: ClusterHost["log"],
  ) {
    this.#nc = nc;
    this.number = epoch;
    this.#options = options;
    this.#log = log;
    this.#ids = new IdSource(
      epoch,
      takeEpoch,
      (error) =>
        this.#log("error", "cannot take a new id epoch from NATS", {
          error: String(error),
        }),
    );
    this.#room = partRoom(this.#maxPayload());
    this.#batchBytes = Math.min(BATCH_BYTES, this.#room);
    this.#presence = `msghub.${options.name}.presence`;
    this.#relayPrefix = `msghub.${options.name}.relay.`;
    this.view = new ClusterView(epoch, options.deadAfterMs, {
      askSnapshot: (hub) => {
        this.#c.resyncs++;
        this.#publishPresence(
          this.#presence,
          encodePresence({
            kind: Presence.Resync,
            hub: this.number,
            seq: this.#seq,
            target: hub,
          }),
        );
      },
      sendSnapshot: (to) => this.#scheduleSnapshot(to),
      changed: () => this.#host?.presenceChanged(),
      event: (what, hub, clients) => {
        if (what === "hub left" || what === "hub lost") {
          this.#out.delete(hub);
          this.#in.delete(hub);
        }
        const level = what === "hub lost"
          ? "warn"
          : what === "hub resynced"
          ? "debug"
          : "info";
        this.#log(level, what, {
          hub,
          clients,
        });
      },
    });
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
    this.#host = host;
    this.#subs.push(
      this.#nc.subscribe(this.#presence, {
        callback: (error, msg) => {
          if (error === null) this.#onPresence(msg.data);
        },
      }),
      // Snapshots asked of other hubs come on a subject of our own.
      this.#nc.subscribe(`${this.#presence}.${this.number}`, {
        callback: (error, msg) => {
          if (error === null) this.#onPresence(msg.data);
        },
      }),
      this.#nc.subscribe(this.#relayPrefix + this.number, {
        callback: (error, msg) => {
          if (error === null) this.#onRelay(msg.data);
        },
      }),
    );
    this.#watchStatus().catch((error) =>
      this.#log("error", "watching NATS failed", { error: String(error) })
    );
    this.#hello();
    this.#timer = setInterval(this.#beat, this.#options.heartbeatMs);
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
    this.#joined.push(id);
    this.#scheduleDelta();
  }

  /** A client left: announce it. */
  left(id: number): void {
    this.#left.push(id);
    this.#scheduleDelta();
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
    this.#c.relaysOut++;
    let box = this.#out.get(remote.number);
    if (box === undefined) {
      box = new Outbox(this.#relayPrefix + remote.number);
      this.#out.set(remote.number, box);
    }
    const size = recordSize(ids.length, bodyEnd - bodyStart);
    if (size - 4 > this.#room) {
      this.#flushBox(box);
      this.#sendParts(box, sender, ids, body, bodyStart, bodyEnd);
      return;
    }
    if (box.bytes !== null && box.length + size > box.bytes.length) {
      this.#flushBox(box);
    }
    if (box.bytes === null) {
      box.bytes = new Uint8Array(Math.max(this.#batchBytes, BATCH_HEAD + size));
      box.length = BATCH_HEAD;
    }
    box.length = writeRecord(
      box.bytes,
      box.length,
      sender,
      ids,
      body,
      bodyStart,
      bodyEnd,
    );
    if (!box.scheduled) {
      box.scheduled = true;
      queueMicrotask(() => this.#flushBox(box));
    }
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
    if (this.#gone) return;
    for (const box of this.#out.values()) this.#flushBox(box);
    this.#publishPresence(
      this.#presence,
      encodePresence({ kind: Presence.Bye, hub: this.number, seq: this.#seq }),
    );
    this.#gone = true;
    clearInterval(this.#timer);
  }

  /** Leaves, then closes the NATS connection once what is queued is sent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.leave();
    this.#closed = true;
    clearInterval(this.#timer);
    this.view.clear();
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

  #flushBox(box: Outbox): void {
    box.scheduled = false;
    const bytes = box.bytes;
    if (bytes === null) return;
    box.bytes = null;
    writeBatchHead(bytes, this.number, ++box.seq, Batch.Whole);
    this.#publish(box.subject, bytes.subarray(0, box.length));
    this.#c.batchesOut++;
  }

  /** Sends one record too large for a message as a run of parts. */
  #sendParts(
    box: Outbox,
    sender: number,
    ids: readonly number[],
    body: Uint8Array,
    bodyStart: number,
    bodyEnd: number,
  ): void {
    const record = new Uint8Array(recordSize(ids.length, bodyEnd - bodyStart));
    writeRecord(record, 0, sender, ids, body, bodyStart, bodyEnd);
    const room = this.#room;
    for (let at = 4; at < record.length; at += room) {
      const end = Math.min(record.length, at + room);
      const first = at === 4;
      const flag = first
        ? Batch.First
        : end === record.length
        ? Batch.Last
        : Batch.Part;
      const head = BATCH_HEAD + (first ? 4 : 0);
      const message = new Uint8Array(head + end - at);
      writeBatchHead(message, this.number, ++box.seq, flag);
      if (first) {
        new DataView(message.buffer).setUint32(BATCH_HEAD, record.length - 4);
      }
      message.set(record.subarray(at, end), head);
      this.#publish(box.subject, message);
      this.#c.batchesOut++;
    }
  }

  #onRelay(data: Uint8Array): void {
    const host = this.#host;
    if (host === null || data.length < BATCH_HEAD) return this.#bad("relay");
    this.#c.batchesIn++;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const source = view.getUint32(0);
    const seq = view.getUint32(4);
    const flag = data[8];
    const from = this.view.hubs.get(source);
    // Relays are as good a sign of life as heartbeats, and may queue ahead.
    if (from !== undefined) from.lastSeen = performance.now();
    let inbox = this.#in.get(source);
    if (inbox === undefined) {
      // Only senders the view does not know yet can add entries; bound them.
      if (this.#in.size >= MAX_INBOXES) {
        this.#in.delete(this.#in.keys().next().value!);
      }
      inbox = new Inbox();
      inbox.expect = seq;
      this.#in.set(source, inbox);
    }
    // A sender that starts over (a new link to us) begins again at 1.
    if (seq !== inbox.expect && seq !== 1) {
      this.#c.gaps += (seq - inbox.expect) >>> 0;
      inbox.partial = null;
    }
    inbox.expect = (seq + 1) >>> 0;
    try {
      switch (flag) {
        case Batch.Whole:
          inbox.partial = null;
          for (let at = BATCH_HEAD; at < data.length;) {
            at = this.#deliver(host, data, at, data.length, false);
          }
          return;
        case Batch.First: {
          if (data.length < BATCH_HEAD + 4) return this.#bad("relay");
          const total = view.getUint32(BATCH_HEAD);
          if (total > 2 * 1024 * 1024 || data.length - BATCH_HEAD - 4 > total) {
            return this.#bad("relay");
          }
          inbox.partial = new Uint8Array(total);
          inbox.partial.set(data.subarray(BATCH_HEAD + 4));
          inbox.filled = data.length - BATCH_HEAD - 4;
          return;
        }
        case Batch.Part:
        case Batch.Last: {
          const partial = inbox.partial;
          // The start of this record went missing: skip the rest of it.
          if (partial === null) return;
          const bytes = data.subarray(BATCH_HEAD);
          if (inbox.filled + bytes.length > partial.length) {
            inbox.partial = null;
            return this.#bad("relay");
          }
          partial.set(bytes, inbox.filled);
          inbox.filled += bytes.length;
          if (flag === Batch.Part) return;
          inbox.partial = null;
          if (inbox.filled !== partial.length) return this.#bad("relay");
          this.#deliver(host, partial, 0, partial.length, true);
          return;
        }
        default:
          return this.#bad("relay");
      }
    } catch (error) {
      this.#bad("relay", error);
    }
  }

  /**
   * Delivers the record at `bytes[at..end)`: with its length field first, or
   * `whole`, a reassembled record without one in a buffer of our own.
   * Returns the offset after it.
   */
  #deliver(
    host: ClusterHost,
    bytes: Uint8Array,
    at: number,
    end: number,
    whole: boolean,
  ): number {
    const record = readRecord(bytes, at, end, whole, this.#record);
    this.#c.relaysIn++;
    host.deliverRemote(bytes, record, whole);
    return record.end;
  }

  #onPresence(data: Uint8Array): void {
    try {
      this.view.handle(decodePresence(data), performance.now());
    } catch (error) {
      this.#bad("presence", error);
    }
  }

  #bad(what: string, error?: unknown): void {
    this.#c.badMessages++;
    this.#log("warn", `malformed ${what} message from the cluster`, {
      error: error === undefined ? "too short" : String(error),
    });
  }

  #beat = (): void => {
    const now = performance.now();
    // A late beat means this hub was stalled: the others' messages may be
    // waiting unread, so their silence meanwhile does not count.
    const late = now - this.#lastBeat - this.#options.heartbeatMs;
    this.#lastBeat = now;
    if (late > 0) {
      for (const hub of this.view.hubs.values()) hub.lastSeen += late;
    }
    this.#flushDelta();
    this.#publishPresence(
      this.#presence,
      encodePresence({
        kind: Presence.Heartbeat,
        hub: this.number,
        seq: this.#seq,
        count: this.#host?.localCount() ?? 0,
        epoch: this.#ids.epoch,
      }),
    );
    // After whatever input is already waiting has been read.
    setTimeout(() => {
      if (!this.#gone) this.view.sweep(performance.now());
    }, 0);
  };

  #hello(): void {
    this.#publishPresence(
      this.#presence,
      encodePresence({
        kind: Presence.Hello,
        hub: this.number,
        seq: this.#seq,
      }),
    );
    this.#sendSnapshot(null);
  }

  #scheduleDelta(): void {
    if (this.#deltaScheduled) return;
    this.#deltaScheduled = true;
    queueMicrotask(() => this.#flushDelta());
  }

  #flushDelta(): void {
    this.#deltaScheduled = false;
    if (this.#joined.length + this.#left.length === 0) return;
    // Keep each message under the payload limit.
    const most = Math.floor((this.#maxPayload() - 64) / 8);
    while (this.#joined.length + this.#left.length > 0) {
      const joined = this.#joined.splice(0, most);
      const left = this.#left.splice(0, most - joined.length);
      this.#seq = (this.#seq + 1) >>> 0;
      this.#publishPresence(
        this.#presence,
        encodePresence({
          kind: Presence.Delta,
          hub: this.number,
          seq: this.#seq,
          joined,
          left,
        }),
      );
    }
  }

  /** Sends our snapshot to `to` at the end of the task, with others asked. */
  #scheduleSnapshot(to: number): void {
    if (this.#snapshotTo.size === 0) {
      queueMicrotask(() => {
        const targets = [...this.#snapshotTo];
        this.#snapshotTo.clear();
        for (const target of targets) this.#sendSnapshot(target);
      });
    }
    this.#snapshotTo.add(to);
  }

  /** Publishes our snapshot to hub `to`, or to every hub (`null`). */
  #sendSnapshot(to: number | null): void {
    this.#flushDelta();
    const subject = to === null ? this.#presence : `${this.#presence}.${to}`;
    const ids = [...(this.#host?.localIds() ?? [])];
    const most = Math.floor((this.#maxPayload() - 64) / 8);
    const parts = Math.max(1, Math.ceil(ids.length / most));
    for (let part = 0; part < parts; part++) {
      this.#publishPresence(
        subject,
        encodePresence({
          kind: Presence.Snapshot,
          hub: this.number,
          seq: this.#seq,
          part,
          parts,
          ids: ids.slice(part * most, (part + 1) * most),
        }),
      );
    }
  }

  #publishPresence(subject: string, bytes: Uint8Array): void {
    if (!this.#gone) this.#publish(subject, bytes);
  }

  #publish(subject: string, bytes: Uint8Array): void {
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
  }

  async #watchStatus(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (this.#closed) return;
      switch (status.type) {
        case "disconnect":
          this.#connected = false;
          this.#c.disconnects++;
          this.#log("warn", "lost NATS; serving local clients meanwhile", {
            server: String(status.server),
            hubs: this.view.hubs.size,
            remote_clients: this.view.clients.size,
          });
          // The other hubs cannot be reached: relays to their clients are
          // reported unknown until NATS is back, rather than handed to the
          // NATS client, which drops what it holds when it reconnects.
          this.view.clear();
          break;
        case "reconnect":
          this.#connected = true;
          this.#c.reconnects++;
          // Another server may take less in one message.
          this.#room = partRoom(this.#maxPayload());
          this.#batchBytes = Math.min(BATCH_BYTES, this.#room);
          this.#log("info", "NATS is back; announcing clients", {
            server: String(status.server),
          });
          this.#hello();
          break;
        case "error":
          this.#log("warn", "NATS error", { error: String(status.error) });
          break;
        case "slowConsumer":
          this.#log("warn", "NATS calls this hub a slow consumer", {
            subject: String(status.sub.getSubject()),
          });
          break;
        case "close":
          // Only a fatal error (a refused login, say) gets here before close().
          this.#connected = false;
          this.view.clear();
          this.#log(
            "error",
            "the NATS connection closed for good; serving local clients only",
            {},
          );
          return;
      }
    }
  }
}
