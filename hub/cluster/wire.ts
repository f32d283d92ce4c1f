/**
 * What hubs of a cluster say to each other over NATS: presence messages (who
 * is registered where) and relay batches (messages for another hub's
 * clients). Big-endian binary, like the client protocol; the layouts are in
 * `docs/CLUSTER.md`. Pure code: nothing here touches NATS.
 *
 * @module
 */

/** Kinds of presence message, on the subject `msghub.<name>.presence`. */
export const Presence = {
  /**
   * "I am alive": the sender's presence sequence number, client count, and
   * the epoch of the ids it gives out now.
   */
  Heartbeat: 1,
  /** Clients that registered and left since the last delta. */
  Delta: 2,
  /** One part of the sender's full list of clients. */
  Snapshot: 3,
  /** The sender is shutting down: forget its clients now. */
  Bye: 4,
  /** The sender has just joined: every hub, send a snapshot. */
  Hello: 5,
  /** The sender lost track of one hub: that hub, send a snapshot. */
  Resync: 6,
} as const;
/** One of {@linkcode Presence}. */
export type PresenceKind = typeof Presence[keyof typeof Presence];

/** A decoded presence message. */
export type PresenceMessage =
  | {
    kind: typeof Presence.Heartbeat;
    hub: number;
    seq: number;
    count: number;
    epoch: number;
  }
  | {
    kind: typeof Presence.Delta;
    hub: number;
    seq: number;
    joined: number[];
    left: number[];
  }
  | {
    kind: typeof Presence.Snapshot;
    hub: number;
    seq: number;
    part: number;
    parts: number;
    ids: number[];
  }
  | { kind: typeof Presence.Bye; hub: number; seq: number }
  | { kind: typeof Presence.Hello; hub: number; seq: number }
  | { kind: typeof Presence.Resync; hub: number; seq: number; target: number };

/** Raised for a cluster message that cannot be decoded. */
export class ClusterWireError extends Error {
  /**
   * Makes the error.
   *
   * @param message what is wrong with the message
   */
  constructor(message: string) {
    super(message);
    this.name = "ClusterWireError";
  }
}

import { readU32, writeU32, writeU64 } from "../../protocol/mod.ts";

const TWO_32 = 0x1_0000_0000;
/** Bytes before a presence message's own fields: kind, hub, sequence. */
const PRESENCE_HEAD = 9;

function writeId(view: DataView, at: number, id: number): void {
  view.setUint32(at, Math.floor(id / TWO_32));
  view.setUint32(at + 4, id >>> 0);
}

function readId(view: DataView, at: number): number {
  const high = view.getUint32(at);
  if (high > 0x1f_ffff) {
    throw new ClusterWireError(`id at byte ${at} is past 2^53`);
  }
  return high * TWO_32 + view.getUint32(at + 4);
}

function presence(
  kind: PresenceKind,
  hub: number,
  seq: number,
  rest: number,
): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(PRESENCE_HEAD + rest);
  const view = new DataView(bytes.buffer);
  bytes[0] = kind;
  view.setUint32(1, hub);
  view.setUint32(5, seq >>> 0);
  return { bytes, view };
}

/** Encodes a presence message. */
export function encodePresence(message: PresenceMessage): Uint8Array {
  const { hub, seq } = message;
  switch (message.kind) {
    case Presence.Heartbeat: {
      const { bytes, view } = presence(message.kind, hub, seq, 8);
      view.setUint32(PRESENCE_HEAD, message.count);
      view.setUint32(PRESENCE_HEAD + 4, message.epoch);
      return bytes;
    }
    case Presence.Delta: {
      const { joined, left } = message;
      const { bytes, view } = presence(
        message.kind,
        hub,
        seq,
        8 + 8 * (joined.length + left.length),
      );
      let at = PRESENCE_HEAD;
      for (const list of [joined, left]) {
        view.setUint32(at, list.length);
        at += 4;
        for (const id of list) {
          writeId(view, at, id);
          at += 8;
        }
      }
      return bytes;
    }
    case Presence.Snapshot: {
      const { ids } = message;
      const { bytes, view } = presence(
        message.kind,
        hub,
        seq,
        8 + 8 * ids.length,
      );
      view.setUint16(PRESENCE_HEAD, message.part);
      view.setUint16(PRESENCE_HEAD + 2, message.parts);
      view.setUint32(PRESENCE_HEAD + 4, ids.length);
      let at = PRESENCE_HEAD + 8;
      for (const id of ids) {
        writeId(view, at, id);
        at += 8;
      }
      return bytes;
    }
    case Presence.Resync: {
      const { bytes, view } = presence(message.kind, hub, seq, 4);
      view.setUint32(PRESENCE_HEAD, message.target);
      return bytes;
    }
    case Presence.Bye:
    case Presence.Hello:
      return presence(message.kind, hub, seq, 0).bytes;
  }
}

/** Decodes a presence message, throwing {@linkcode ClusterWireError} on a bad one. */
export function decodePresence(bytes: Uint8Array): PresenceMessage {
  if (bytes.length < PRESENCE_HEAD) {
    throw new ClusterWireError(`presence message of ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = bytes[0]!;
  const hub = view.getUint32(1);
  const seq = view.getUint32(5);
  const need = (size: number): void => {
    if (bytes.length !== size) {
      throw new ClusterWireError(
        `presence kind ${kind} is ${bytes.length} bytes, expected ${size}`,
      );
    }
  };
  const ids = (at: number, count: number): number[] => {
    const out = new Array<number>(count);
    for (let i = 0; i < count; i++) out[i] = readId(view, at + 8 * i);
    return out;
  };
  switch (kind) {
    case Presence.Heartbeat:
      need(PRESENCE_HEAD + 8);
      return {
        kind,
        hub,
        seq,
        count: view.getUint32(PRESENCE_HEAD),
        epoch: view.getUint32(PRESENCE_HEAD + 4),
      };
    case Presence.Delta: {
      if (bytes.length < PRESENCE_HEAD + 8) need(PRESENCE_HEAD + 8);
      const joinedCount = view.getUint32(PRESENCE_HEAD);
      const leftAt = PRESENCE_HEAD + 4 + 8 * joinedCount;
      if (bytes.length < leftAt + 4) need(leftAt + 4);
      const leftCount = view.getUint32(leftAt);
      need(leftAt + 4 + 8 * leftCount);
      return {
        kind,
        hub,
        seq,
        joined: ids(PRESENCE_HEAD + 4, joinedCount),
        left: ids(leftAt + 4, leftCount),
      };
    }
    case Presence.Snapshot: {
      if (bytes.length < PRESENCE_HEAD + 8) need(PRESENCE_HEAD + 8);
      const part = view.getUint16(PRESENCE_HEAD);
      const parts = view.getUint16(PRESENCE_HEAD + 2);
      const count = view.getUint32(PRESENCE_HEAD + 4);
      need(PRESENCE_HEAD + 8 + 8 * count);
      if (parts === 0 || part >= parts) {
        throw new ClusterWireError(`snapshot part ${part} of ${parts}`);
      }
      return {
        kind,
        hub,
        seq,
        part,
        parts,
        ids: ids(PRESENCE_HEAD + 8, count),
      };
    }
    case Presence.Resync:
      need(PRESENCE_HEAD + 4);
      return { kind, hub, seq, target: view.getUint32(PRESENCE_HEAD) };
    case Presence.Bye:
    case Presence.Hello:
      need(PRESENCE_HEAD);
      return { kind, hub, seq };
    default:
      throw new ClusterWireError(`unknown presence kind ${kind}`);
  }
}

/**
 * Bytes before the records of a relay batch: the sending hub's number, the
 * batch's sequence number on this sender-receiver path, and its flags.
 */
export const BATCH_HEAD = 9;

/** How a relay batch's bytes after its head are to be read. */
export const Batch = {
  /** Whole records, back to back. */
  Whole: 0,
  /** The start of one record too large for a message: u32 length, then bytes. */
  First: 1,
  /** More bytes of that record. */
  Part: 2,
  /** The last bytes of that record. */
  Last: 3,
} as const;
/** One of {@linkcode Batch}. */
export type BatchFlag = typeof Batch[keyof typeof Batch];

/**
 * Bytes of a record, its length field included, for a relay to `n` receivers
 * with a body of `bodyLength`: u32 length, u64 sender, u8 n, n u64 ids, body.
 * A record that asks for an ack (`acked`) has five bytes more: in place of
 * n, a 0, the u32 ack number, then n.
 */
export function recordSize(
  n: number,
  bodyLength: number,
  acked = false,
): number {
  return 4 + 8 + 1 + (acked ? 5 : 0) + 8 * n + bodyLength;
}

/** Writes a batch head into `bytes[0..BATCH_HEAD)`. */
export function writeBatchHead(
  bytes: Uint8Array,
  hub: number,
  seq: number,
  flag: BatchFlag,
): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, BATCH_HEAD);
  view.setUint32(0, hub);
  view.setUint32(4, seq >>> 0);
  bytes[8] = flag;
}

/**
 * Writes one record at `bytes[at..)`: the relay from `sender` to `ids` with
 * the body `body[bodyStart..bodyEnd)`, asking for ack number `ack` unless it
 * is 0. Returns the offset after it. (Byte by byte rather than through a
 * DataView: this runs once per relay.)
 */
export function writeRecord(
  bytes: Uint8Array,
  at: number,
  sender: number,
  ids: readonly number[],
  body: Uint8Array,
  bodyStart: number,
  bodyEnd: number,
  ack = 0,
): number {
  const bodyLength = bodyEnd - bodyStart;
  const size = recordSize(ids.length, bodyLength, ack !== 0);
  writeU32(bytes, at, size - 4);
  writeU64(bytes, at + 4, sender);
  let offset = at + 12;
  if (ack !== 0) {
    bytes[offset] = 0;
    writeU32(bytes, offset + 1, ack);
    offset += 5;
  }
  bytes[offset++] = ids.length;
  for (let i = 0; i < ids.length; i++) {
    writeU64(bytes, offset, ids[i]!);
    offset += 8;
  }
  if (bodyLength <= 64) {
    for (let i = 0; i < bodyLength; i++) {
      bytes[offset + i] = body[bodyStart + i]!;
    }
  } else {
    bytes.set(body.subarray(bodyStart, bodyEnd), offset);
  }
  return at + size;
}

/** Where a record's parts are, as offsets into the buffer it was read from. */
export interface RecordView {
  /** The sending client's id. */
  sender: number;
  /** Offset of the first receiver id (u64 each). */
  idsStart: number;
  /** How many receiver ids. */
  n: number;
  /** Offset of the body. */
  bodyStart: number;
  /** Offset after the body. */
  end: number;
  /** The ack number the sending hub waits for; 0 for none. */
  ack: number;
}

/**
 * Reads the record whose length field is at `bytes[at]`, or the record
 * without a length field spanning all of `bytes[at..end)` when `bare`, into
 * `into` (a fresh object unless given) and returns it. Throws
 * {@linkcode ClusterWireError} when it does not fit.
 */
export function readRecord(
  bytes: Uint8Array,
  at: number,
  end: number,
  bare = false,
  into: RecordView = {
    sender: 0,
    idsStart: 0,
    n: 0,
    bodyStart: 0,
    end: 0,
    ack: 0,
  },
): RecordView {
  let start = at;
  let recordEnd = end;
  if (!bare) {
    if (end - at < 4) throw new ClusterWireError("record cut in its length");
    recordEnd = at + 4 + readU32(bytes, at);
    start = at + 4;
    if (recordEnd > end) throw new ClusterWireError("record past its batch");
  }
  if (recordEnd - start < 9) throw new ClusterWireError("record too short");
  let idsStart = start + 9;
  let n = bytes[start + 8]!;
  let ack = 0;
  if (n === 0) {
    // A record that asks for an ack: the ack number, then the real n.
    if (recordEnd - start < 14) {
      throw new ClusterWireError("record with 0 receivers does not fit");
    }
    ack = readU32(bytes, start + 9);
    n = bytes[start + 13]!;
    idsStart = start + 14;
  }
  const bodyStart = idsStart + 8 * n;
  if (n === 0 || bodyStart > recordEnd) {
    throw new ClusterWireError(`record with ${n} receivers does not fit`);
  }
  const high = readU32(bytes, start);
  if (high > 0x1f_ffff) throw new ClusterWireError("sender id past 2^53");
  into.sender = high * TWO_32 + readU32(bytes, start + 4);
  into.idsStart = idsStart;
  into.n = n;
  into.ack = ack;
  into.bodyStart = bodyStart;
  into.end = recordEnd;
  return into;
}

/** What a hub that delivered a relay asking for an ack says back. */
export interface Ack {
  /** The ack number the record carried. */
  ack: number;
  /** How many of its receivers the hub queued the message for. */
  delivered: number;
  /** Its receivers that are not registered on the hub. */
  unknown: number[];
}

/**
 * Encodes acks from hub `hub`, on the subject `msghub.<name>.ack.<to>`:
 * u32 hub, u16 count, then per ack u32 ack, u8 delivered, u8 k, k × u64
 * unknown ids.
 */
export function encodeAcks(hub: number, acks: readonly Ack[]): Uint8Array {
  let size = 6;
  for (const ack of acks) size += 6 + 8 * ack.unknown.length;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, hub);
  view.setUint16(4, acks.length);
  let at = 6;
  for (const ack of acks) {
    view.setUint32(at, ack.ack);
    bytes[at + 4] = ack.delivered;
    bytes[at + 5] = ack.unknown.length;
    at += 6;
    for (const id of ack.unknown) {
      writeId(view, at, id);
      at += 8;
    }
  }
  return bytes;
}

/** Decodes acks, throwing {@linkcode ClusterWireError} on a bad message. */
export function decodeAcks(bytes: Uint8Array): { hub: number; acks: Ack[] } {
  if (bytes.length < 6) {
    throw new ClusterWireError(`ack message of ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hub = view.getUint32(0);
  const count = view.getUint16(4);
  const acks: Ack[] = [];
  let at = 6;
  for (let i = 0; i < count; i++) {
    if (at + 6 > bytes.length) throw new ClusterWireError("ack cut short");
    const k = bytes[at + 5]!;
    if (at + 6 + 8 * k > bytes.length) {
      throw new ClusterWireError("ack cut short");
    }
    const unknown: number[] = [];
    for (let j = 0; j < k; j++) unknown.push(readId(view, at + 6 + 8 * j));
    acks.push({ ack: view.getUint32(at), delivered: bytes[at + 4]!, unknown });
    at += 6 + 8 * k;
  }
  if (at !== bytes.length) throw new ClusterWireError("ack message too long");
  return { hub, acks };
}
