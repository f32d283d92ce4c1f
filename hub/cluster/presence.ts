/**
 * Presence: which clients are registered on which hub. This hub announces
 * its own clients (a Hello and a snapshot on joining, a delta per task in
 * which clients came or went, a heartbeat with its count every period, a Bye
 * on leaving) and keeps the {@linkcode ClusterView} of the other hubs from
 * what they announce, asking a hub for its snapshot when a delta went
 * missing. The view is pure logic; this file is where its messages are
 * published and read.
 *
 * @example A hub that joins says hello and sends its snapshot
 * ```ts
 * import { PresenceExchange } from "./presence.ts";
 * import { zeroCounters } from "./types.ts";
 * import { decodePresence } from "./wire.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const said: number[] = [];
 * const presence = new PresenceExchange({
 *   number: 3,
 *   subject: "msghub.demo.presence",
 *   publish: (_subject, bytes) => said.push(decodePresence(bytes).kind),
 *   maxPayload: () => 1024 * 1024,
 *   epoch: () => 3,
 *   heartbeatMs: 500,
 *   deadAfterMs: 3000,
 *   counters: zeroCounters(),
 *   malformed: () => {},
 *   log: () => {},
 *   hubGone: () => {},
 * });
 * presence.hello();
 * assertEquals(said, [5, 3]); // Presence.Hello, Presence.Snapshot
 * ```
 *
 * @module
 */
import type {
  ClusterCounters,
  ClusterHost,
  ClusterLog,
  Malformed,
  Publish,
} from "./types.ts";
import { ClusterView } from "./view.ts";
import { decodePresence, encodePresence, Presence } from "./wire.ts";

/** What a {@linkcode PresenceExchange} needs. */
export interface PresenceOptions {
  /** This hub's number. */
  number: number;
  /** The cluster's presence subject; snapshots asked of us come on `.<number>`. */
  subject: string;
  /** Sends one message. */
  publish: Publish;
  /** The largest message the NATS server takes now. */
  maxPayload: () => number;
  /** The epoch of the ids this hub gives out now, for heartbeats. */
  epoch: () => number;
  /** Milliseconds between heartbeats. */
  heartbeatMs: number;
  /** Milliseconds of silence after which another hub is taken for dead. */
  deadAfterMs: number;
  /** Counts snapshots asked of other hubs (`resyncs`). */
  counters: ClusterCounters;
  /** Told of every malformed presence message. */
  malformed: Malformed;
  /** Where hubs joining, leaving and being lost are logged. */
  log: ClusterLog;
  /** Hub `number` left or was lost: forget what else is kept of it. */
  hubGone: (number: number) => void;
}

/** This hub's half of the presence conversation, and the view it keeps. */
export class PresenceExchange {
  /** The other hubs and their clients. */
  readonly view: ClusterView;
  readonly #number: number;
  readonly #subject: string;
  readonly #publish: Publish;
  readonly #maxPayload: () => number;
  readonly #epoch: () => number;
  readonly #heartbeatMs: number;
  readonly #malformed: Malformed;
  #host:
    | Pick<ClusterHost, "localIds" | "localCount" | "presenceChanged">
    | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #seq = 0;
  #joined: number[] = [];
  #left: number[] = [];
  #deltaScheduled = false;
  /** Hubs waiting for our snapshot, sent to each on its own subject. */
  #snapshotTo = new Set<number>();
  /** When the last heartbeat went out, to notice our own stalls. */
  #lastBeat = performance.now();
  /** Set once the Bye is out: nothing more is said about presence. */
  #gone = false;

  /**
   * Makes the part; nothing is sent or read until it is used.
   *
   * @param options see {@linkcode PresenceOptions}
   */
  constructor(options: PresenceOptions) {
    this.#number = options.number;
    this.#subject = options.subject;
    this.#publish = options.publish;
    this.#maxPayload = options.maxPayload;
    this.#epoch = options.epoch;
    this.#heartbeatMs = options.heartbeatMs;
    this.#malformed = options.malformed;
    const { counters, log, hubGone } = options;
    this.view = new ClusterView(options.number, options.deadAfterMs, {
      askSnapshot: (hub) => {
        counters.resyncs++;
        this.#say(
          this.#subject,
          encodePresence({
            kind: Presence.Resync,
            hub: this.#number,
            seq: this.#seq,
            target: hub,
          }),
        );
      },
      sendSnapshot: (to) => this.#scheduleSnapshot(to),
      changed: () => this.#host?.presenceChanged(),
      event: (what, hub, clients) => {
        if (what === "hub left" || what === "hub lost") hubGone(hub);
        const level = what === "hub lost"
          ? "warn"
          : what === "hub resynced"
          ? "debug"
          : "info";
        log(level, what, { hub, clients });
      },
    });
  }

  /** True once the Bye is out. */
  get gone(): boolean {
    return this.#gone;
  }

  /**
   * Starts announcing the clients of `host`: a Hello with our snapshot now,
   * a heartbeat every period.
   */
  start(
    host: Pick<ClusterHost, "localIds" | "localCount" | "presenceChanged">,
  ): void {
    this.#host = host;
    this.hello();
    this.#timer = setInterval(this.beat, this.#heartbeatMs);
  }

  /** Reads one presence message from another hub (or our own, ignored). */
  receive(data: Uint8Array): void {
    try {
      this.view.handle(decodePresence(data), performance.now());
    } catch (error) {
      this.#malformed("presence", error);
    }
  }

  /** A client registered: announce it at the end of the task. */
  joined(id: number): void {
    this.#joined.push(id);
    this.#scheduleDelta();
  }

  /** A client left: announce it at the end of the task. */
  left(id: number): void {
    this.#left.push(id);
    this.#scheduleDelta();
  }

  /** Says hello to every hub, with our snapshot: on joining, and when NATS is back. */
  hello(): void {
    this.#say(
      this.#subject,
      encodePresence({
        kind: Presence.Hello,
        hub: this.#number,
        seq: this.#seq,
      }),
    );
    this.#sendSnapshot(null);
  }

  /**
   * Says goodbye, after which nothing more is said: the other hubs forget our
   * clients at once. Heartbeats stop.
   */
  bye(): void {
    if (this.#gone) return;
    this.#say(
      this.#subject,
      encodePresence({ kind: Presence.Bye, hub: this.#number, seq: this.#seq }),
    );
    this.#gone = true;
    this.stop();
  }

  /** Stops the heartbeats. */
  stop(): void {
    clearInterval(this.#timer);
  }

  /**
   * One heartbeat: the delta pending, then our count and epoch; then, once
   * the input already waiting has been read, the hubs silent too long are
   * dropped.
   */
  beat = (): void => {
    const now = performance.now();
    // A late beat means this hub was stalled: the others' messages may be
    // waiting unread, so their silence meanwhile does not count.
    const late = now - this.#lastBeat - this.#heartbeatMs;
    this.#lastBeat = now;
    if (late > 0) {
      for (const hub of this.view.hubs.values()) hub.lastSeen += late;
    }
    this.#flushDelta();
    this.#say(
      this.#subject,
      encodePresence({
        kind: Presence.Heartbeat,
        hub: this.#number,
        seq: this.#seq,
        count: this.#host?.localCount() ?? 0,
        epoch: this.#epoch(),
      }),
    );
    // After whatever input is already waiting has been read.
    setTimeout(() => {
      if (!this.#gone) this.view.sweep(performance.now());
    }, 0);
  };

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
      this.#say(
        this.#subject,
        encodePresence({
          kind: Presence.Delta,
          hub: this.#number,
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
    const subject = to === null ? this.#subject : `${this.#subject}.${to}`;
    const ids = [...(this.#host?.localIds() ?? [])];
    const most = Math.floor((this.#maxPayload() - 64) / 8);
    const parts = Math.max(1, Math.ceil(ids.length / most));
    for (let part = 0; part < parts; part++) {
      this.#say(
        subject,
        encodePresence({
          kind: Presence.Snapshot,
          hub: this.#number,
          seq: this.#seq,
          part,
          parts,
          ids: ids.slice(part * most, (part + 1) * most),
        }),
      );
    }
  }

  #say(subject: string, bytes: Uint8Array): void {
    if (!this.#gone) this.#publish(subject, bytes);
  }
}
