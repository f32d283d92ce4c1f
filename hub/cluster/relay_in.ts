/**
 * Relays arriving from other hubs. Each NATS message holds whole records
 * back to back, or one part of a record too large for a message; the parts
 * are put together in the sending hub's inbox. Sequence numbers per sending
 * hub show what went missing: those are counted as gaps, and a record whose
 * start went missing is skipped rather than delivered cut. Malformed
 * messages are counted and dropped, never thrown.
 *
 * @example A batch of one record reaches the hub
 * ```ts
 * import { RelayIn } from "./relay_in.ts";
 * import { zeroCounters } from "./types.ts";
 * import { Batch, BATCH_HEAD, recordSize, writeBatchHead, writeRecord } from "./wire.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const senders: number[] = [];
 * const counters = zeroCounters();
 * const relays = new RelayIn({
 *   host: { deliverRemote: (_bytes, record) => senders.push(record.sender) },
 *   hubs: new Map(),
 *   counters,
 *   malformed: () => counters.badMessages++,
 * });
 * const body = new TextEncoder().encode("hi");
 * const message = new Uint8Array(BATCH_HEAD + recordSize(1, 2));
 * writeBatchHead(message, 2, 1, Batch.Whole);
 * writeRecord(message, BATCH_HEAD, 2 ** 33 + 5, [2 ** 32 + 1], body, 0, 2);
 * relays.receive(message);
 * assertEquals(senders, [2 ** 33 + 5]);
 * assertEquals(counters.relaysIn, 1);
 * ```
 *
 * @module
 */
import type {
  ClusterCounters,
  ClusterHost,
  Malformed,
  RemoteOutcome,
} from "./types.ts";
import type { AckOutbox } from "./receipts.ts";
import type { Credits } from "./credit.ts";
import type { RemoteHub } from "./view.ts";
import { Batch, BATCH_HEAD, readRecord, type RecordView } from "./wire.ts";

/** Senders of relays tracked at once; more means someone is misbehaving. */
export const MAX_INBOXES = 4096;

/** The largest record put together from parts, in bytes. */
export const MAX_RECORD = 2 * 1024 * 1024;

/** What has arrived from one other hub's relays. */
class Inbox {
  /** The sequence number the next message should carry. */
  expect = 0;
  /** A large record being put together from parts. */
  partial: Uint8Array | null = null;
  filled = 0;
}

/** What a {@linkcode RelayIn} needs. */
export interface RelayInOptions {
  /** Where records go: {@linkcode ClusterHost.deliverRemote}. */
  host: Pick<ClusterHost, "deliverRemote">;
  /** The other hubs the view knows: a relay from one counts as a sign of life. */
  hubs: ReadonlyMap<number, RemoteHub>;
  /** Counts messages, relays and gaps (`batchesIn`, `relaysIn`, `gaps`). */
  counters: ClusterCounters;
  /** Told of every malformed message. */
  malformed: Malformed;
  /** Where acks go, for records that ask for one; none: not answered. */
  acks?: AckOutbox | null;
  /** Credits each message handled to its sender (`credit.ts`); none: not. */
  credits?: Credits | null;
}

/** The inboxes of relays from other hubs. */
export class RelayIn {
  readonly #host: Pick<ClusterHost, "deliverRemote">;
  readonly #hubs: ReadonlyMap<number, RemoteHub>;
  readonly #c: ClusterCounters;
  readonly #malformed: Malformed;
  #in = new Map<number, Inbox>();
  /** Reused for every record read: the hub uses it before the next. */
  #record: RecordView = {
    sender: 0,
    idsStart: 0,
    n: 0,
    bodyStart: 0,
    end: 0,
    ack: 0,
  };
  /** Reused for every record that asks for an ack. */
  #outcome: RemoteOutcome = { delivered: 0, unknown: [] };
  readonly #acks: AckOutbox | null;
  /** Credits messages handled, and is told of receivers left pressed. */
  readonly #credits: Credits | undefined;

  /**
   * Makes the part; nothing is sent or read until it is used.
   *
   * @param options see {@linkcode RelayInOptions}
   */
  constructor(options: RelayInOptions) {
    this.#host = options.host;
    this.#hubs = options.hubs;
    this.#c = options.counters;
    this.#malformed = options.malformed;
    this.#acks = options.acks ?? null;
    this.#credits = options.credits ?? undefined;
  }

  /** Hubs whose relays are being tracked now. */
  get senders(): number {
    return this.#in.size;
  }

  /** True when relays from hub `number` are being tracked. */
  tracks(number: number): boolean {
    return this.#in.has(number);
  }

  /** Forgets hub `number`'s inbox: the hub left or was lost. */
  forget(number: number): void {
    this.#in.delete(number);
  }

  /** Reads one relay message and delivers the records it completes. */
  receive(data: Uint8Array): void {
    if (data.length < BATCH_HEAD) return this.#malformed("relay");
    this.#c.batchesIn++;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const source = view.getUint32(0);
    const seq = view.getUint32(4);
    const flag = data[8];
    const from = this.#hubs.get(source);
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
            at = this.#deliver(source, data, at, data.length, false);
          }
          return;
        case Batch.First: {
          if (data.length < BATCH_HEAD + 4) return this.#malformed("relay");
          const total = view.getUint32(BATCH_HEAD);
          if (total > MAX_RECORD || data.length - BATCH_HEAD - 4 > total) {
            return this.#malformed("relay");
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
            return this.#malformed("relay");
          }
          partial.set(bytes, inbox.filled);
          inbox.filled += bytes.length;
          if (flag === Batch.Part) return;
          inbox.partial = null;
          if (inbox.filled !== partial.length) return this.#malformed("relay");
          this.#deliver(source, partial, 0, partial.length, true);
          return;
        }
        default:
          return this.#malformed("relay");
      }
    } catch (error) {
      this.#malformed("relay", error);
    } finally {
      // Handled, whatever it held: credited once its receivers drain.
      this.#credits?.handled(source, seq, data.length);
    }
  }

  /**
   * Delivers the record from hub `source` at `bytes[at..end)`: with its
   * length field first, or `whole`, a reassembled record without one in a
   * buffer of our own; acks it when it asks. Returns the offset after it.
   */
  #deliver(
    source: number,
    bytes: Uint8Array,
    at: number,
    end: number,
    whole: boolean,
  ): number {
    const record = readRecord(bytes, at, end, whole, this.#record);
    this.#c.relaysIn++;
    if (record.ack === 0 || this.#acks === null) {
      this.#host.deliverRemote(bytes, record, whole, undefined, this.#credits);
      return record.end;
    }
    const ack = record.ack;
    const recordEnd = record.end;
    const outcome = this.#outcome;
    outcome.delivered = 0;
    outcome.unknown = [];
    this.#host.deliverRemote(bytes, record, whole, outcome, this.#credits);
    this.#acks.add(source, {
      ack,
      delivered: outcome.delivered,
      unknown: outcome.unknown,
    });
    return recordEnd;
  }
}
