/**
 * The relay path (private to the hub): it resolves a relay's receivers in
 * the {@linkcode Registry}, builds each DELIVER frame once and queues the
 * same bytes for every receiver; relays to clients of other hubs go to the
 * cluster link. Sessions call it; it never sees a socket.
 *
 * @module
 */
import {
  ARENA_LARGE,
  type BufferPool,
  deliverSize,
  encodeReceipt,
  encodeTextDeliver,
  HEADER_SIZE,
  isUtf8,
  type OutboundArena,
  type OutboundQueue,
  readU32,
  readU64,
  writeDeliverHead,
} from "../protocol/mod.ts";
import { IDS_PER_EPOCH } from "./cluster/ids.ts";
import type { ClusterLink } from "./cluster/link.ts";
import type { RemoteHub } from "./cluster/view.ts";
import type { RecordView } from "./cluster/wire.ts";
import type { Pressure, PressureSink, RemoteOutcome } from "./cluster/types.ts";
import type { RemoteReceipt } from "./cluster/receipts.ts";
import { later, readIds, readU64Number, settle } from "./_receipt.ts";
import type { HubCounters } from "./metrics.ts";
import { Dialect, type RegisteredClient, type Registry } from "./registry.ts";

/** Ids above this cannot be a number without loss; the hub never gives them out. */
const MAX_SAFE_HIGH = 0x1f_ffff;
const TWO_32 = 0x1_0000_0000;
const MAX_SAFE_ID = BigInt(Number.MAX_SAFE_INTEGER);
const EMPTY = new Uint8Array(0);

/** A client as the relay path sees it, as sender and as receiver. */
export interface Peer extends RegisteredClient {
  /** Marks the relay that last reached this client, for de-duplication. */
  stamp: number;
  /**
   * A receiver that this client's relays left {@linkcode OutboundQueue.pressed},
   * or a pressed window to another hub; the client's read loop pauses for it
   * before reading on.
   */
  pressure: Pressure | null;
  /** Its outbound queue, which owns the slow-consumer bound. */
  readonly queue: OutboundQueue;
  /**
   * How it is connected: over WebSocket every range queued is one message,
   * and a text client gets a block whose body is not UTF-8 in a binary one.
   */
  readonly transport: "tcp" | "ws";
  /**
   * Queues `bytes[start..end)`, `frames` frames for the counters, as one
   * WebSocket message over WebSocket (a binary one when `text` is false).
   * Returns false when it is not queued: the client is closing, or the
   * bytes do not fit its queue's bound, when it is closed as a slow
   * consumer.
   */
  sendRange(
    bytes: Uint8Array,
    start: number,
    end: number,
    frames?: number,
    text?: boolean,
  ): boolean;
  /** Queues a reply (a receipt); false as for `sendRange`. */
  send(bytes: Uint8Array): boolean;
  /**
   * Queues a reply still to come (a receipt waiting for other hubs), in its
   * place among the replies: the ones after it wait for it. Without it, the
   * reply is sent whenever it comes.
   */
  later?(reply: Promise<Uint8Array>): void;
}

/** What the relay path needs of the cluster link. */
export type FanoutCluster = Pick<
  ClusterLink,
  "view" | "forward" | "forwardReceipted" | "pressure"
>;

/** Options of {@linkcode Fanout}; the hub owns each of them. */
export interface FanoutOptions {
  /** The registered clients, where receivers are looked up. */
  registry: Registry<Peer>;
  /** Where DELIVER frames are written. */
  arena: OutboundArena;
  /** Where large DELIVER frames come from. */
  pool: BufferPool;
  /** Bumped for relays, deliveries and unknown receivers. */
  counters: HubCounters;
  /** The hub's link to its cluster; none for a lone hub. */
  cluster?: FanoutCluster | null;
}

/**
 * The hub's relay path: it resolves a relay's receivers, builds the DELIVER
 * frame once and queues the same bytes for each of them.
 *
 * Consecutive relays of one read that name the same receivers form a run:
 * their receivers are resolved once, their DELIVER frames are written back to
 * back in the arena, and each receiver gets the run as one range when it
 * ends. A run ends before anything else is handled ({@linkcode Fanout.flush}),
 * so every queue sees the same frames in the same order as one by one.
 *
 * @example Relay one frame to a receiver
 * ```ts
 * import { BufferPool, encodeRelay, OutboundArena, OutboundQueue } from "../protocol/mod.ts";
 * import { Fanout, type Peer } from "./_fanout.ts";
 * import { HubCounters } from "./metrics.ts";
 * import { Dialect, Registry } from "./registry.ts";
 * const written: number[] = [];
 * const peer = (id: number): Peer => {
 *   const queue = new OutboundQueue({ write: (p) => Promise.resolve(written.push(p.length) && p.length) });
 *   return {
 *     id, dialect: Dialect.Binary, stamp: 0, pressure: null, queue, transport: "tcp",
 *     sendRange: (bytes, start, end) => (queue.pushRange(bytes, start, end), true),
 *     send: (bytes) => (queue.push(bytes), true),
 *   };
 * };
 * const registry = new Registry<Peer>();
 * const [sender, receiver] = [peer(1), peer(2)];
 * registry.add(sender);
 * registry.add(receiver);
 * const pool = new BufferPool();
 * const counters = new HubCounters();
 * const fanout = new Fanout({ registry, arena: new OutboundArena(), pool, counters });
 * const relay = encodeRelay([2n], new Uint8Array(3));
 * fanout.relayFrame(sender, relay, 5, relay.length, false, false);
 * fanout.flush();
 * await receiver.queue.drained();
 * if (written.join() !== "16" || counters.deliveries !== 1) throw new Error("Not delivered");
 * ```
 */
export class Fanout {
  #registry: Registry<Peer>;
  #arena: OutboundArena;
  #pool: BufferPool;
  #counters: HubCounters;
  /** The hub's link to its cluster, if it is in one. */
  #cluster: FanoutCluster | null;
  /** Other hubs with receivers in the relay being handled. */
  #remotes: RemoteHub[] = [];
  /** What other hubs will confirm of the receipted relay being handled. */
  #confirms: Promise<RemoteReceipt>[] = [];
  /** Numbers relays, so a receiver named twice is found at once. */
  #stamp = 0;
  /** The receivers of the relay being handled; reused to spare allocations. */
  #targets: Peer[] = [];
  /** The DELIVER frame of the relay being handled: #frame[#frameStart..#frameEnd). */
  #frame: Uint8Array = new Uint8Array(0);
  #frameStart = 0;
  #frameEnd = 0;
  /** Whether #frame was taken from the pool for this relay alone. */
  #taken = false;
  /** The sender of the run being gathered; null when there is none. */
  #runSender: Peer | null = null;
  /** The run's receivers, every one binary. */
  #runTargets: Peer[] = [];
  /** The chunk the run's relays are read from, and its first relay's ids. */
  #runSource: Uint8Array = EMPTY;
  #runIds = 0;
  #runCount = 0;
  /** Ids of the run's relays that named nobody registered, per relay. */
  #runUnknown = 0;
  /** The run's DELIVER frames: #runChunk[#runStart..#runEnd). */
  #runChunk: Uint8Array = EMPTY;
  #runStart = 0;
  #runEnd = 0;
  #runFrames = 0;

  /** Made by the hub; see {@linkcode FanoutOptions}. */
  constructor(options: FanoutOptions) {
    this.#registry = options.registry;
    this.#arena = options.arena;
    this.#pool = options.pool;
    this.#counters = options.counters;
    this.#cluster = options.cluster ?? null;
  }

  /**
   * Relays a RELAY or RELAY_RECEIPTED whose payload is `source[start..end)`.
   * The DELIVER frame is built once and the same bytes are queued for every
   * receiver. When the parser handed over its own buffer (`owned`), a large
   * frame is built in place over the ids.
   */
  relayFrame(
    sender: Peer,
    source: Uint8Array,
    start: number,
    end: number,
    owned: boolean,
    receipted: boolean,
  ): void {
    const n = source[start]!;
    const bodyStart = start + 1 + n * 8;
    const batchable = !owned && !receipted &&
      deliverSize(end - bodyStart) < ARENA_LARGE;
    if (
      batchable && this.#runSender === sender && this.#runSource === source &&
      this.#extend(source, start + 1, bodyStart, end)
    ) return;
    this.flush();
    const stamp = ++this.#stamp;
    const targets = this.#targets;
    let unknown: bigint[] | null = null;
    let unknownCount = 0;
    let binary = true;
    const epochs = this.#cluster?.view.epochs ?? null;
    for (let offset = start + 1; offset < bodyStart; offset += 8) {
      const high = readU32(source, offset);
      const id = high <= MAX_SAFE_HIGH
        ? high * TWO_32 + readU32(source, offset + 4)
        : -1;
      // An id from another hub's epoch goes there, with no look in the
      // registry: the epoch is a small integer, cheap to look up.
      const remote = epochs === null || id < 0 ? undefined : epochs.get(high);
      if (remote !== undefined) {
        if (this.#remote(remote, id, stamp, receipted)) continue;
      } else {
        const target = id < 0 ? undefined : this.#registry.get(id);
        if (target !== undefined) {
          if (target.stamp !== stamp) {
            target.stamp = stamp;
            targets.push(target);
            if (target.dialect !== Dialect.Binary) binary = false;
          }
          continue;
        }
      }
      this.#counters.unknownReceivers++;
      unknownCount++;
      if (receipted) {
        const id = readU64(source, offset);
        unknown ??= [];
        if (!unknown.includes(id)) unknown.push(id);
      }
    }
    // A relay that reaches other hubs is not part of a run: it goes on now.
    if (
      batchable && binary && targets.length > 0 && this.#remotes.length === 0
    ) {
      // The first relay of a run: its frame waits in the arena for more.
      this.#buildDeliver(sender.id, source, bodyStart, end, false);
      this.#runSender = sender;
      // The arrays swap: the run keeps these receivers, and the next relay
      // collects into the run's old array, emptied by the last flush.
      this.#targets = this.#runTargets;
      this.#runTargets = targets;
      this.#runSource = source;
      this.#runIds = start + 1;
      this.#runCount = n;
      this.#runUnknown = unknownCount;
      this.#runChunk = this.#frame;
      this.#runStart = this.#frameStart;
      this.#runEnd = this.#frameEnd;
      this.#runFrames = 1;
      this.#counters.relays++;
      return;
    }
    const forwarded = this.#forward(
      sender,
      source,
      bodyStart,
      end,
      receipted,
    );
    // Every id is read before an owned buffer's ids are overwritten by the frame.
    const named = this.#confirms.length > 0
      ? readIds(source, start + 1, bodyStart)
      : null;
    const delivered = this.#deliver(
      sender.id,
      sender,
      source,
      bodyStart,
      end,
      owned,
    );
    this.#counters.relays++;
    this.#counters.deliveries += delivered;
    if (!receipted) return;
    if (named === null) {
      sender.send(encodeReceipt(delivered + forwarded, unknown ?? []));
      return;
    }
    const receipt = settle(
      named,
      delivered,
      unknown ?? [],
      this.#takeConfirms(),
    );
    later(sender, receipt.then((r) => encodeReceipt(r.delivered, r.unknown)));
  }

  /** The confirmations of the relay just forwarded, handed over. */
  #takeConfirms(): Promise<RemoteReceipt>[] {
    const confirms = this.#confirms;
    this.#confirms = [];
    return confirms;
  }

  /**
   * Adds the relay whose ids are `source[ids..bodyStart)` to the run when it
   * names the same receivers and its frame fits right after the run's in the
   * arena; returns whether it did.
   */
  #extend(
    source: Uint8Array,
    ids: number,
    bodyStart: number,
    end: number,
  ): boolean {
    if (bodyStart - ids !== this.#runCount * 8) return false;
    const first = this.#runIds;
    for (let i = 0; i < bodyStart - ids; i++) {
      if (source[ids + i] !== source[first + i]) return false;
    }
    const size = deliverSize(end - bodyStart);
    const arena = this.#arena;
    if (
      arena.chunk !== this.#runChunk || arena.used !== this.#runEnd ||
      this.#runEnd + size > arena.chunk.length
    ) return false;
    this.#buildDeliver(this.#runSender!.id, source, bodyStart, end, false);
    this.#runEnd += size;
    this.#runFrames++;
    this.#counters.relays++;
    this.#counters.unknownReceivers += this.#runUnknown;
    return true;
  }

  /**
   * Queues the run being gathered, if any, for its receivers. The hub calls
   * it once a read is handled; the relay path calls it before anything that
   * is not part of the run.
   */
  flush(): void {
    const sender = this.#runSender;
    if (sender === null) return;
    this.#runSender = null;
    this.#runSource = EMPTY;
    const targets = this.#runTargets;
    const chunk = this.#runChunk;
    const start = this.#runStart;
    const end = this.#runEnd;
    const frames = this.#runFrames;
    let delivered = 0;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      if (target.queue.fits(end - start)) {
        if (target.sendRange(chunk, start, end, frames)) delivered += frames;
      } else {
        // Past its limit somewhere in the run: one frame at a time, as the
        // relays came, so it gets exactly those that fit before its error.
        for (let at = start; at < end;) {
          const next = at + HEADER_SIZE + readU32(chunk, at + 1);
          if (!target.sendRange(chunk, at, next)) break;
          delivered++;
          at = next;
        }
      }
      if (target.queue.pressed) sender.pressure = target;
    }
    targets.length = 0;
    this.#runChunk = EMPTY;
    this.#counters.deliveries += delivered;
  }

  /** Relays a text-dialect relay; returns what the `relayed` line reports. */
  relayText(
    sender: Peer,
    ids: readonly bigint[],
    body: Uint8Array,
  ): {
    delivered: number;
    unknown: bigint[];
    remote?: Promise<{ delivered: number; unknown: bigint[] }>;
  } {
    this.flush();
    const stamp = ++this.#stamp;
    const targets = this.#targets;
    const unknown: bigint[] = [];
    const epochs = this.#cluster?.view.epochs ?? null;
    for (const id of ids) {
      const number = id <= MAX_SAFE_ID ? Number(id) : -1;
      const remote = epochs === null || number < 0
        ? undefined
        : epochs.get(Math.floor(number / IDS_PER_EPOCH));
      if (remote !== undefined && this.#remote(remote, number, stamp, true)) {
        continue;
      }
      const target = remote !== undefined || number < 0
        ? undefined
        : this.#registry.get(number);
      if (target === undefined) {
        this.#counters.unknownReceivers++;
        if (!unknown.includes(id)) unknown.push(id);
      } else if (target.stamp !== stamp) {
        target.stamp = stamp;
        targets.push(target);
      }
    }
    const forwarded = this.#forward(sender, body, 0, body.length, true);
    // Lay the body out as an owned relay frame, with room for the DELIVER head.
    const frame = new Uint8Array(HEADER_SIZE + 8 + body.length);
    frame.set(body, HEADER_SIZE + 8);
    const delivered = this.#deliver(
      sender.id,
      sender,
      frame,
      HEADER_SIZE + 8,
      frame.length,
      true,
    );
    this.#counters.relays++;
    this.#counters.deliveries += delivered;
    if (this.#confirms.length === 0) {
      return { delivered: delivered + forwarded, unknown };
    }
    // What the other hubs confirm comes later: the reply waits for it.
    return {
      delivered,
      unknown,
      remote: settle(ids, delivered, unknown, this.#takeConfirms()),
    };
  }

  /**
   * Delivers a relay that another hub of the cluster sent on: `record` tells
   * where its sender, receiver ids and body are in `source`. Receivers that
   * left meanwhile are counted and skipped; `outcome`, when given, is told
   * how many it was queued for and which ids are not registered here;
   * `held`, each receiver left past its mark.
   */
  relayRemote(
    source: Uint8Array,
    record: RecordView,
    owned: boolean,
    outcome?: RemoteOutcome,
    held?: PressureSink,
  ): void {
    // Runs end with the read that made them; this is a task of its own.
    this.flush();
    const stamp = ++this.#stamp;
    const targets = this.#targets;
    const idsEnd = record.idsStart + 8 * record.n;
    for (let offset = record.idsStart; offset < idsEnd; offset += 8) {
      const high = readU32(source, offset);
      const target = high <= MAX_SAFE_HIGH
        ? this.#registry.get(high * TWO_32 + readU32(source, offset + 4))
        : undefined;
      if (target === undefined) {
        this.#counters.unknownReceivers++;
        outcome?.unknown.push(readU64Number(source, offset));
      } else if (target.stamp !== stamp) {
        target.stamp = stamp;
        targets.push(target);
      }
    }
    const delivered = this.#deliver(
      record.sender,
      held ?? null,
      source,
      record.bodyStart,
      record.end,
      owned,
    );
    this.#counters.deliveries += delivered;
    if (outcome !== undefined) outcome.delivered = delivered;
  }

  /**
   * Notes `id`, of an epoch of `hub`, as a receiver on that hub. When `exact`
   * (a receipt counts it), only if it is registered there, and de-duplicated;
   * otherwise the receiving hub skips ids it does not know and de-duplicates.
   * Returns whether it was noted.
   */
  #remote(hub: RemoteHub, id: number, stamp: number, exact: boolean): boolean {
    if (exact && this.#cluster!.view.clients.get(id) !== hub) return false;
    if (hub.stamp !== stamp) {
      hub.stamp = stamp;
      hub.scratch.length = 0;
      this.#remotes.push(hub);
    }
    if (!exact || !hub.scratch.includes(id)) hub.scratch.push(id);
    return true;
  }

  /**
   * Sends the relay on to each other hub with receivers in it, once per hub.
   * Returns how many receivers that covers; for a `receipted` relay none
   * yet: each hub's confirmation waits in #confirms. A hub whose window is
   * pressed makes `sender` pause.
   */
  #forward(
    sender: Peer,
    body: Uint8Array,
    bodyStart: number,
    end: number,
    receipted: boolean,
  ): number {
    const remotes = this.#remotes;
    if (remotes.length === 0) return 0;
    let forwarded = 0;
    const cluster = this.#cluster!;
    for (const hub of remotes) {
      if (receipted) {
        // Counted once that hub confirms it queued them: see #confirms.
        this.#confirms.push(
          cluster.forwardReceipted(
            hub,
            sender.id,
            hub.scratch,
            body,
            bodyStart,
            end,
          ),
        );
      } else {
        cluster.forward(hub, sender.id, hub.scratch, body, bodyStart, end);
        forwarded += hub.scratch.length;
      }
      sender.pressure = cluster.pressure(hub) ?? sender.pressure;
    }
    remotes.length = 0;
    return forwarded;
  }

  /**
   * Queues one relay, whose body is `source[bodyStart..end)`, for the
   * collected targets: the DELIVER frame, and the text delivery, are each
   * built once and shared. Returns how many it was queued for. A receiver
   * left with much queued makes `sender` (a local one, or another hub's
   * credits) pause.
   */
  #deliver(
    senderId: number,
    sender: PressureSink | null,
    source: Uint8Array,
    bodyStart: number,
    end: number,
    owned: boolean,
  ): number {
    const targets = this.#targets;
    let built = false;
    let text: Uint8Array | null = null;
    /** Whether the text block may go in a WebSocket text message. */
    let utf8: boolean | null = null;
    let delivered = 0;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      let queued: boolean;
      if (target.dialect === Dialect.Binary) {
        if (!built) {
          this.#buildDeliver(senderId, source, bodyStart, end, owned);
          built = true;
        }
        queued = target.sendRange(
          this.#frame,
          this.#frameStart,
          this.#frameEnd,
        );
      } else {
        text ??= encodeTextDeliver(senderId, source.subarray(bodyStart, end));
        if (target.transport === "ws") utf8 ??= isUtf8(source, bodyStart, end);
        // The same bytes for every text receiver: `send` would copy small ones.
        queued = target.sendRange(text, 0, text.length, 1, utf8 ?? true);
      }
      if (queued) {
        delivered++;
        if (sender !== null && target.queue.pressed) {
          sender.pressure = target;
        }
      }
    }
    targets.length = 0;
    if (this.#taken) {
      // Every queue that took the frame holds it now.
      this.#taken = false;
      this.#pool.release(this.#frame.buffer);
    }
    return delivered;
  }

  /** Builds a DELIVER frame into #frame[#frameStart..#frameEnd). */
  #buildDeliver(
    senderId: number,
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
      this.#frame = this.#pool.take(size);
      this.#taken = true;
      this.#frameStart = 0;
      this.#frame.set(source.subarray(bodyStart, end), HEADER_SIZE + 8);
    } else {
      const at = this.#arena.claim(size);
      const chunk = this.#arena.chunk;
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
    writeDeliverHead(this.#frame, this.#frameStart, senderId, bodyLength);
  }
}
