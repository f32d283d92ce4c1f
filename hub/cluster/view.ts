/**
 * One hub's view of the others: which clients are registered on which hub,
 * kept from their presence messages. Pure logic with the clock passed in, so
 * that tests drive it without NATS or timers.
 *
 * @module
 */
import { Presence, type PresenceMessage } from "./wire.ts";
import { IDS_PER_EPOCH } from "./ids.ts";

/** Another hub of the cluster, as this hub knows it. */
export class RemoteHub {
  /** Its hub number. */
  readonly number: number;
  /** Its registered clients, once synced. */
  readonly ids: Set<number> = new Set();
  /** The last presence sequence number applied. */
  seq = 0;
  /** True once a full snapshot has been applied and no delta missed since. */
  synced = false;
  /** When a message from it last arrived (the view's clock). */
  lastSeen: number;
  /** When a snapshot was last asked of it; asks are spaced. */
  askedAt: number = -Infinity;
  /** A snapshot being put together from its parts. */
  partial:
    | { seq: number; parts: number; got: Set<number>; ids: number[] }
    | null = null;
  /** Marks it as named in the relay being handled (see Fanout). */
  stamp = 0;
  /** Its receivers in the relay being handled. */
  readonly scratch: number[] = [];

  /**
   * Makes a hub first heard of at `now`.
   *
   * @param number its hub number
   * @param now the view's clock
   */
  constructor(number: number, now: number) {
    this.number = number;
    this.lastSeen = now;
  }
}

/** What the view asks of its owner. */
export interface ViewActions {
  /** Publish a Resync for this hub (the view spaces the asks). */
  askSnapshot(hub: number): void;
  /** Send our own snapshot to hub `to`, which joined or asked for it. */
  sendSnapshot(to: number): void;
  /** The set of remote clients changed: cached lists are stale. */
  changed(): void;
  /** A hub appeared or vanished, for the log. */
  event(
    what: "hub joined" | "hub left" | "hub lost" | "hub resynced",
    hub: number,
    clients: number,
  ): void;
}

/** How long to wait before asking the same hub for a snapshot again. */
const ASK_SPACING_MS = 250;

/** The remote hubs and the clients registered on them. */
export class ClusterView {
  /** Our own hub number: our own messages are ignored. */
  readonly self: number;
  /** A hub silent for this long is gone. */
  readonly deadAfterMs: number;
  /** Remote clients by id: what relays and lists look up. */
  readonly clients: Map<number, RemoteHub> = new Map();
  /** Remote hubs by number. */
  readonly hubs: Map<number, RemoteHub> = new Map();
  /**
   * Remote hubs by the epochs of their clients' ids (an id's high 32 bits):
   * a relay that needs no receipt is routed by this alone.
   */
  readonly epochs: Map<number, RemoteHub> = new Map();
  /**
   * The largest hub number or epoch seen in use: a hub taking a new number
   * checks it got a larger one (see numbering.ts).
   */
  maxEpoch = 0;
  #actions: ViewActions;

  /**
   * Makes an empty view.
   *
   * @param self our own hub number
   * @param deadAfterMs silence after which a hub is dropped
   * @param actions what to do on the owner's side
   */
  constructor(self: number, deadAfterMs: number, actions: ViewActions) {
    this.self = self;
    this.deadAfterMs = deadAfterMs;
    this.#actions = actions;
  }

  /** Applies one presence message that arrived at `now`. */
  handle(message: PresenceMessage, now: number): void {
    if (message.hub === this.self) return;
    if (message.kind === Presence.Bye) {
      this.#drop(message.hub, "hub left");
      return;
    }
    if (message.hub > this.maxEpoch) this.maxEpoch = message.hub;
    let hub = this.hubs.get(message.hub);
    const fresh = hub === undefined;
    if (hub === undefined) {
      hub = new RemoteHub(message.hub, now);
      this.hubs.set(hub.number, hub);
    }
    hub.lastSeen = now;
    switch (message.kind) {
      case Presence.Hello:
        this.#actions.sendSnapshot(hub.number);
        // Its own snapshot follows its Hello.
        return;
      case Presence.Resync:
        if (message.target === this.self) {
          this.#actions.sendSnapshot(hub.number);
        }
        if (fresh) this.#ask(hub, now);
        return;
      case Presence.Heartbeat:
        if (message.epoch > this.maxEpoch) this.maxEpoch = message.epoch;
        if (!hub.synced || hub.seq !== message.seq) this.#ask(hub, now);
        return;
      case Presence.Delta: {
        // Sequence numbers wrap at 2^32: compare by distance.
        const ahead = (message.seq - hub.seq) >>> 0;
        if (hub.synced && ahead === 1) {
          hub.seq = message.seq;
          for (const id of message.joined) this.#add(hub, id);
          for (const id of message.left) this.#remove(hub, id);
          if (message.joined.length + message.left.length > 0) {
            this.#actions.changed();
          }
        } else if (!hub.synced || (ahead !== 0 && ahead < 0x8000_0000)) {
          // A delta went missing, or there was never a snapshot: what we
          // have of this hub stays until a snapshot replaces it.
          hub.synced = false;
          this.#ask(hub, now);
        }
        return;
      }
      case Presence.Snapshot:
        this.#snapshotPart(hub, message);
        return;
    }
  }

  /** Drops hubs silent for longer than `deadAfterMs`; returns how many. */
  sweep(now: number): number {
    let dropped = 0;
    for (const hub of [...this.hubs.values()]) {
      if (now - hub.lastSeen > this.deadAfterMs) {
        this.#drop(hub.number, "hub lost");
        dropped++;
      }
    }
    return dropped;
  }

  /**
   * Forgets every hub, when this hub leaves the cluster or loses its way to
   * the others; the caller logs that once, so no event is raised per hub.
   */
  clear(): void {
    for (const number of [...this.hubs.keys()]) this.#drop(number, null);
  }

  #snapshotPart(
    hub: RemoteHub,
    message: Extract<PresenceMessage, { kind: typeof Presence.Snapshot }>,
  ): void {
    let partial = hub.partial;
    if (
      partial === null || partial.seq !== message.seq ||
      partial.parts !== message.parts
    ) {
      partial = {
        seq: message.seq,
        parts: message.parts,
        got: new Set(),
        ids: [],
      };
      hub.partial = partial;
    }
    if (partial.got.has(message.part)) return;
    partial.got.add(message.part);
    for (const id of message.ids) partial.ids.push(id);
    if (partial.got.size < partial.parts) return;
    hub.partial = null;
    // Sent to another hub that asked at the same time: nothing new.
    if (hub.synced && partial.seq === hub.seq) return;
    const first = !hub.synced && hub.ids.size === 0 && hub.seq === 0;
    for (const id of hub.ids) {
      if (this.clients.get(id) === hub) this.clients.delete(id);
    }
    hub.ids.clear();
    this.#forgetEpochs(hub);
    for (const id of partial.ids) this.#add(hub, id);
    hub.seq = partial.seq;
    hub.synced = true;
    this.#actions.event(
      first ? "hub joined" : "hub resynced",
      hub.number,
      hub.ids.size,
    );
    this.#actions.changed();
  }

  #ask(hub: RemoteHub, now: number): void {
    if (now - hub.askedAt < ASK_SPACING_MS) return;
    hub.askedAt = now;
    this.#actions.askSnapshot(hub.number);
  }

  #add(hub: RemoteHub, id: number): void {
    hub.ids.add(id);
    this.clients.set(id, hub);
    const epoch = Math.floor(id / IDS_PER_EPOCH);
    if (this.epochs.get(epoch) !== hub) {
      this.epochs.set(epoch, hub);
      if (epoch > this.maxEpoch) this.maxEpoch = epoch;
    }
  }

  #forgetEpochs(hub: RemoteHub): void {
    for (const [epoch, owner] of this.epochs) {
      if (owner === hub) this.epochs.delete(epoch);
    }
  }

  #remove(hub: RemoteHub, id: number): void {
    hub.ids.delete(id);
    if (this.clients.get(id) === hub) this.clients.delete(id);
  }

  #drop(number: number, why: "hub left" | "hub lost" | null): void {
    const hub = this.hubs.get(number);
    if (hub === undefined) return;
    this.hubs.delete(number);
    for (const id of hub.ids) {
      if (this.clients.get(id) === hub) this.clients.delete(id);
    }
    this.#forgetEpochs(hub);
    if (why !== null) this.#actions.event(why, number, hub.ids.size);
    if (hub.ids.size > 0) this.#actions.changed();
  }
}
