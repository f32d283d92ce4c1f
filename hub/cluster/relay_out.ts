/**
 * Relays on their way to other hubs. Relays bound for one hub are written
 * into that hub's outbox as records and leave together, in order, as one
 * NATS message at the end of the current task; a record too large for one
 * message leaves as a run of parts. Each message carries a sequence number
 * per receiving hub, so the receiver can count what went missing
 * (`relay_in.ts`).
 *
 * @example Two relays to one hub leave as one message
 * ```ts
 * import { RelayOut } from "./relay_out.ts";
 * import { zeroCounters } from "./types.ts";
 * import { RemoteHub } from "./view.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const sent: string[] = [];
 * const out = new RelayOut({
 *   number: 1,
 *   prefix: "msghub.demo.relay.",
 *   publish: (subject, bytes) => sent.push(`${subject} ${bytes.length}`),
 *   counters: zeroCounters(),
 *   maxPayload: 1024 * 1024,
 * });
 * const body = new TextEncoder().encode("hi");
 * const hub = new RemoteHub(2, 0);
 * out.forward(hub, 7, [2 ** 33 + 1], body, 0, 2);
 * out.forward(hub, 7, [2 ** 33 + 2], body, 0, 2);
 * await Promise.resolve();
 * assertEquals(sent, ["msghub.demo.relay.2 55"]);
 * ```
 *
 * @module
 */
import type { ClusterCounters, Publish } from "./types.ts";
import type { RemoteHub } from "./view.ts";
import {
  Batch,
  BATCH_HEAD,
  recordSize,
  writeBatchHead,
  writeRecord,
} from "./wire.ts";

/** Relays bound for one hub are sent in messages of up to this many bytes. */
export const BATCH_BYTES = 32 * 1024;

/**
 * Bytes of a relay message a part of a large record may fill, for a NATS
 * server that takes at most `maxPayload` bytes in one message.
 */
export function partRoom(maxPayload: number): number {
  return Math.min(maxPayload, 1024 * 1024) - BATCH_HEAD - 4;
}

/** Relays queued for one other hub, sent as one message per batch. */
class Outbox {
  readonly hub: number;
  readonly subject: string;
  seq = 0;
  bytes: Uint8Array | null = null;
  length = 0;
  scheduled = false;
  constructor(hub: number, subject: string) {
    this.hub = hub;
    this.subject = subject;
  }
}

/** What a {@linkcode RelayOut} needs. */
export interface RelayOutOptions {
  /** This hub's number, in every message's head. */
  number: number;
  /** Subjects of relay messages: the prefix, then the receiving hub's number. */
  prefix: string;
  /** Sends one message. */
  publish: Publish;
  /** Counts relays and messages sent (`relaysOut`, `batchesOut`). */
  counters: ClusterCounters;
  /** The largest message the NATS server takes. */
  maxPayload: number;
  /** Told of each message sent, by receiving hub and sequence number. */
  published?: (hub: number, seq: number) => void;
}

/** The outboxes of relays bound for other hubs. */
export class RelayOut {
  readonly #number: number;
  readonly #prefix: string;
  readonly #publish: Publish;
  readonly #c: ClusterCounters;
  readonly #published: (hub: number, seq: number) => void;
  #out = new Map<number, Outbox>();
  /** Bytes of a record that fit in one relay message; see partRoom. */
  #room = 0;
  /** Records of one relay message: the outbox size, at most `#room`. */
  #batchBytes = 0;

  /**
   * Makes the part; nothing is sent or read until it is used.
   *
   * @param options see {@linkcode RelayOutOptions}
   */
  constructor(options: RelayOutOptions) {
    this.#number = options.number;
    this.#prefix = options.prefix;
    this.#publish = options.publish;
    this.#c = options.counters;
    this.#published = options.published ?? (() => {});
    this.resize(options.maxPayload);
  }

  /** Fits the messages to a server that takes at most `maxPayload` bytes. */
  resize(maxPayload: number): void {
    this.#room = partRoom(maxPayload);
    this.#batchBytes = Math.min(BATCH_BYTES, this.#room);
  }

  /**
   * Queues the relay from `sender` to `ids` (all on `remote`) with the body
   * `body[bodyStart..bodyEnd)`, asking for ack number `ack` unless 0.
   * Relays for one hub leave together, in order, at the end of the current
   * task.
   */
  forward(
    remote: RemoteHub,
    sender: number,
    ids: readonly number[],
    body: Uint8Array,
    bodyStart: number,
    bodyEnd: number,
    ack = 0,
  ): void {
    this.#c.relaysOut++;
    let box = this.#out.get(remote.number);
    if (box === undefined) {
      box = new Outbox(remote.number, this.#prefix + remote.number);
      this.#out.set(remote.number, box);
    }
    const size = recordSize(ids.length, bodyEnd - bodyStart, ack !== 0);
    if (size - 4 > this.#room) {
      this.#flushBox(box);
      this.#sendParts(box, sender, ids, body, bodyStart, bodyEnd, ack);
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
      ack,
    );
    if (!box.scheduled) {
      box.scheduled = true;
      queueMicrotask(() => this.#flushBox(box));
    }
  }

  /** Sends what every outbox holds now, before the hub leaves. */
  flushAll(): void {
    for (const box of this.#out.values()) this.#flushBox(box);
  }

  /** Forgets hub `number`'s outbox: the hub left or was lost. */
  forget(number: number): void {
    this.#out.delete(number);
  }

  #flushBox(box: Outbox): void {
    box.scheduled = false;
    const bytes = box.bytes;
    if (bytes === null) return;
    box.bytes = null;
    writeBatchHead(bytes, this.#number, ++box.seq, Batch.Whole);
    this.#publish(box.subject, bytes.subarray(0, box.length));
    this.#published(box.hub, box.seq);
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
    ack: number,
  ): void {
    const record = new Uint8Array(
      recordSize(ids.length, bodyEnd - bodyStart, ack !== 0),
    );
    writeRecord(record, 0, sender, ids, body, bodyStart, bodyEnd, ack);
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
      writeBatchHead(message, this.#number, ++box.seq, flag);
      if (first) {
        new DataView(message.buffer).setUint32(BATCH_HEAD, record.length - 4);
      }
      message.set(record.subarray(at, end), head);
      this.#publish(box.subject, message);
      this.#published(box.hub, box.seq);
      this.#c.batchesOut++;
    }
  }
}
