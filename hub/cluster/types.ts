/**
 * What the parts of a hub's cluster link share, and what the rest of the hub
 * sees of it: the options it joins with, the narrow {@linkcode ClusterHost}
 * interface through which it reaches the hub, its counters, and its error.
 * Nothing here loads NATS, so `config.ts` and `metrics.ts` can import it
 * while a hub on its own never loads the cluster code.
 *
 * @example The counters of a link that has done nothing yet
 * ```ts
 * import { zeroCounters } from "./types.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const counters = zeroCounters();
 * counters.relaysOut++;
 * assertEquals(counters.relaysOut, 1);
 * assertEquals(counters.gaps, 0);
 * ```
 *
 * @module
 */
import type { LogFields, LogLevel } from "../log.ts";
import type { RecordView } from "./wire.ts";

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
  /**
   * Milliseconds a starting hub keeps retrying NATS and JetStream before it
   * gives up; default 60 s.
   */
  startTimeoutMs?: number;
  /** Replicas of the numbering stream, when this hub creates it; default 1. */
  replicas?: number;
  /**
   * Milliseconds a receipted relay waits for another hub to confirm it queued
   * the message; default 1 s.
   */
  ackTimeoutMs?: number;
}

/** How the cluster code logs: the hub's logger, or a test's recorder. */
export type ClusterLog = (
  level: LogLevel,
  message: string,
  fields: LogFields,
) => void;

/** What the link needs of its hub. */
export interface ClusterHost {
  /** Ids of the hub's registered clients. */
  localIds(): Iterable<number>;
  /** How many clients are registered on the hub. */
  localCount(): number;
  /**
   * Delivers a relay from another hub to local receivers; with `outcome`,
   * tells there what it did (for the ack the other hub waits for); with
   * `held`, reports there each receiver it left past its mark (for the
   * credit the other hub waits for).
   */
  deliverRemote(
    source: Uint8Array,
    record: RecordView,
    owned: boolean,
    outcome?: RemoteOutcome,
    held?: PressureSink,
  ): void;
  /** The remote clients changed: cached lists are stale. */
  presenceChanged(): void;
  /** Logs an event. */
  log: ClusterLog;
}

/**
 * What a sender may pause its reads for until it is below its mark: a
 * receiver's queue past half its bound, or the window of relays in flight
 * to another hub (`credit.ts`).
 */
export interface Pressure {
  /** What is waited on: past `mark` it is pressed. */
  readonly queue: {
    /** The level it is waited down to. */
    readonly mark: number;
    /** Resolves once it is at most `bytes` (or closed). */
    below(bytes: number): Promise<void>;
  };
}

/**
 * Whom the relay path tells of a receiver it left past its mark: a local
 * sender, which pauses its reads, or the credits of another hub's relays,
 * held until that receiver drains.
 */
export interface PressureSink {
  /** Set to each receiver left pressed. */
  pressure: Pressure | null;
}

/** What delivering one relay from another hub did; filled by the hub. */
export interface RemoteOutcome {
  /** Receivers the message was queued for. */
  delivered: number;
  /** Receivers not registered here (appended to). */
  unknown: number[];
}

/**
 * The link's counters, bumped by the part that sees each event: one object
 * shared by the relay, presence and status parts.
 */
export interface ClusterCounters {
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

/** Cluster counters and gauges for `/metrics`. */
export interface ClusterMetrics extends ClusterCounters {
  /** This hub's number. */
  hub: number;
  /** Other hubs known. */
  hubs: number;
  /** Clients registered on other hubs. */
  remoteClients: number;
  /** True while connected to NATS. */
  connected: boolean;
}

/** Fresh counters, every one 0. */
export function zeroCounters(): ClusterCounters {
  return {
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
}

/**
 * Publishes `bytes` on `subject` without waiting; a failure is counted and
 * logged by the link, never thrown.
 */
export type Publish = (subject: string, bytes: Uint8Array) => void;

/**
 * Counts and logs a malformed message from another hub: `what` names its
 * kind (`relay`, `presence`), `error` why it was refused (none: too short).
 */
export type Malformed = (what: string, error?: unknown) => void;

/**
 * A NATS status event: its type, and the fields the link reads of some. The
 * NATS client's own events are these; the link acts on `disconnect`,
 * `reconnect`, `error`, `slowConsumer` and `close` and ignores the others.
 */
export interface NatsStatus {
  /** What happened. */
  type: string;
  /** The server, for `disconnect` and `reconnect`. */
  server?: string;
  /** What went wrong, for `error`. */
  error?: unknown;
  /** The subscription NATS found slow, for `slowConsumer`. */
  sub?: { getSubject(): string };
}

/**
 * What the link uses of its NATS connection. A `NatsConnection` is one; unit
 * tests pass a stand-in and feed it messages and status events by hand.
 */
export interface ClusterConnection {
  /** What the server said of itself; `max_payload` bounds our messages. */
  readonly info?: { readonly max_payload: number } | undefined;
  /** Publishes a message (queued; never waits). */
  publish(subject: string, payload: Uint8Array): void;
  /** Subscribes to `subject`, with a callback per message. */
  subscribe(
    subject: string,
    options: {
      callback: (error: Error | null, msg: { data: Uint8Array }) => void;
    },
  ): { unsubscribe(): void };
  /** Resolves once the server has seen what was published. */
  flush(): Promise<void>;
  /** The connection's status events. */
  status(): AsyncIterable<NatsStatus>;
  /** The server it is connected to, for logs. */
  getServer(): string;
  /** Sends what is queued, then closes. */
  drain(): Promise<void>;
  /** Closes at once. */
  close(): Promise<void>;
  /** True once closed. */
  isClosed(): boolean;
}

/** Raised when a hub cannot join its cluster. */
export class ClusterError extends Error {
  /**
   * Makes the error.
   *
   * @param message what failed
   * @param options its cause
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ClusterError";
  }
}
