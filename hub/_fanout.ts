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
  readU32,
  readU64,
  writeWsHeader,
  wsHeaderSize,
  WsOpcode,
} from "../protocol/mod.ts";
import { IDS_PER_EPOCH } from "./cluster/ids.ts";
import type { RecordView } from "./cluster/wire.ts";
import type { PressureSink, RemoteOutcome } from "./cluster/types.ts";
import { DeliverFrame } from "./_deliver_frame.ts";
import { type FanoutCluster, RemoteFanout } from "./_fanout_remote.ts";

export type { FanoutCluster, Peer };
import type { Peer } from "./_peer.ts";
import { later, readIds, readU64Number, settle } from "./_receipt.ts";
import type { HubCounters } from "./metrics.ts";
import { Dialect, type Registry } from "./registry.ts";

/** Ids above this cannot be a number without loss; the hub never gives them out. */
const MAX_SAFE_HIGH = 0x1f_ffff;
const TWO_32 = 0x1_0000_0000;
const MAX_SAFE_ID = BigInt(Number.MAX_SAFE_INTEGER);
const EMPTY = new Uint8Array(0);
/** Room for the WebSocket header of a run: the longest a server frame's is. */
const RUN_HEADER_ROOM = 10;

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
 *     sendFramed: () => false,
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
  #counters: HubCounters;
  /** The way to other hubs, if the hub is in a cluster. */
  #remote: RemoteFanout | null;
  /** Numbers relays, so a receiver named twice is found at once. */
  #stamp = 0;
  /** The receivers of the relay being handled; reused to spare allocations. */
  #targets: Peer[] = [];
  /** The DELIVER frame of the relay being handled. */
  #deliverFrame: DeliverFrame;
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
  /** Whether the run has WebSocket receivers: room for a header precedes it. */
  #runFramed = false;

  /** Made by the hub; see {@linkcode FanoutOptions}. */
  constructor(options: FanoutOptions) {
    this.#registry = options.registry;
    this.#arena = options.arena;
    this.#counters = options.counters;
    const cluster = options.cluster ?? null;
    this.#remote = cluster === null ? null : new RemoteFanout(cluster);
    this.#deliverFrame = new DeliverFrame(options.arena, options.pool);
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
    let framed = false;
    const epochs = this.#remote?.cluster.view.epochs ?? null;
    for (let offset = start + 1; offset < bodyStart; offset += 8) {
      const high = readU32(source, offset);
      const id = high <= MAX_SAFE_HIGH
        ? high * TWO_32 + readU32(source, offset + 4)
        : -1;
      // An id from another hub's epoch goes there, with no look in the
      // registry: the epoch is a small integer, cheap to look up.
      const remote = epochs === null || id < 0 ? undefined : epochs.get(high);
      if (remote !== undefined) {
        if (this.#remote!.note(remote, id, stamp, receipted)) continue;
      } else {
        const target = id < 0 ? undefined : this.#registry.get(id);
        if (target !== undefined) {
          if (target.stamp !== stamp) {
            target.stamp = stamp;
            targets.push(target);
            if (target.dialect !== Dialect.Binary) binary = false;
            if (target.transport === "ws") framed = true;
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
      batchable && binary && targets.length > 0 && !(this.#remote?.any ?? false)
    ) {
      // The first relay of a run: its frame waits in the arena for more,
      // after room for the WebSocket header of the whole run, if it needs one.
      const room = framed ? RUN_HEADER_ROOM : 0;
      this.#deliverFrame.build(sender.id, source, bodyStart, end, false, room);
      this.#runFramed = framed;
      this.#runSender = sender;
      // The arrays swap: the run keeps these receivers, and the next relay
      // collects into the run's old array, emptied by the last flush.
      this.#targets = this.#runTargets;
      this.#runTargets = targets;
      this.#runSource = source;
      this.#runIds = start + 1;
      this.#runCount = n;
      this.#runUnknown = unknownCount;
      this.#runChunk = this.#deliverFrame.frame;
      this.#runStart = this.#deliverFrame.start;
      this.#runEnd = this.#deliverFrame.end;
      this.#runFrames = 1;
      this.#counters.relays++;
      return;
    }
    const remote = this.#remote;
    const forwarded = remote === null
      ? 0
      : remote.forward(sender, source, bodyStart, end, receipted);
    // Every id is read before an owned buffer's ids are overwritten by the frame.
    const named = (this.#remote?.confirming ?? false)
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
      this.#remote!.takeConfirms(),
    );
    later(sender, receipt.then((r) => encodeReceipt(r.delivered, r.unknown)));
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
    this.#deliverFrame.build(
      this.#runSender!.id,
      source,
      bodyStart,
      end,
      false,
    );
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
    // One WebSocket header for the whole run, written once, right before it:
    // every WebSocket receiver queues the same bytes as one message.
    let head = start;
    if (this.#runFramed) {
      head -= wsHeaderSize(end - start);
      writeWsHeader(chunk, head, WsOpcode.Binary, end - start);
    }
    let delivered = 0;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      const ws = target.transport === "ws";
      if (target.queue.fits(end - (ws ? head : start))) {
        const queued = ws
          ? target.sendFramed(chunk, head, end, frames)
          : target.sendRange(chunk, start, end, frames);
        if (queued) delivered += frames;
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
    const epochs = this.#remote?.cluster.view.epochs ?? null;
    for (const id of ids) {
      const number = id <= MAX_SAFE_ID ? Number(id) : -1;
      const remote = epochs === null || number < 0
        ? undefined
        : epochs.get(Math.floor(number / IDS_PER_EPOCH));
      if (
        remote !== undefined && this.#remote!.note(remote, number, stamp, true)
      ) {
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
    const forwarded =
      this.#remote?.forward(sender, body, 0, body.length, true) ?? 0;
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
    if (!(this.#remote?.confirming ?? false)) {
      return { delivered: delivered + forwarded, unknown };
    }
    // What the other hubs confirm comes later: the reply waits for it.
    return {
      delivered,
      unknown,
      remote: settle(ids, delivered, unknown, this.#remote!.takeConfirms()),
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
          this.#deliverFrame.build(senderId, source, bodyStart, end, owned);
          built = true;
        }
        const deliver = this.#deliverFrame;
        queued = target.sendRange(deliver.frame, deliver.start, deliver.end);
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
    // Every queue that took the frame holds it now.
    this.#deliverFrame.release();
    return delivered;
  }
}
