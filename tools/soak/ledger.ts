/**
 * The soak's bookkeeping: every relay it sends, what the hub's receipt said
 * about it, and what receivers read. From these it tells which messages were
 * lost. Pure code: no sockets, timers or console.
 *
 * A message is **lost** when its receipt said it was queued (`delivered` = 1)
 * for its one receiver, that receiver was still connected (closed neither by
 * the soak nor by the hub) when the run ended, settle included, and it never
 * read the message. Messages the churn took away from their receiver, and
 * relays whose sender the churn closed before its receipt came, cannot be
 * judged and are counted apart.
 *
 * @module
 */
import { readU32 } from "../../protocol/mod.ts";

/** The smallest body: it carries the message's sequence number. */
export const MIN_SOAK_BODY = 4;

/** What the ledger needs of a connected client, as receiver or sender. */
export interface Inbox {
  /** The hub's user id of the client. */
  readonly id: number;
  /** Messages queued for it per receipts and not read yet. */
  awaiting: number;
  /** The last sequence number read from each sender, for the order check. */
  lastFrom: Map<number, number> | null;
}

/** Finds a client that is still connected, by its user id. */
export type InboxLookup = (id: number) => Inbox | undefined;

/** The ledger's judgement once the run is over. */
export interface SoakVerdict {
  /** Queued per receipt for a receiver still connected, never read by it. */
  lost: number;
  /** Queued per receipt, unread, and its receiver has gone since. */
  abandoned: number;
  /** Sent, no receipt, and the sender has gone: cannot be judged. */
  unconfirmed: number;
  /** Sent by a client still connected that never got the receipt. */
  missingReceipts: number;
}

const SENT = 1;
const QUEUED = 2;
const NOT_QUEUED = 4;
const READ = 8;

/**
 * Writes a soak body of `size` bytes at `offset`: the sequence number as a
 * big-endian u32, then bytes that depend on it, so corruption shows.
 *
 * @example
 * ```ts
 * import { checkSoakBody, writeSoakBody } from "./ledger.ts";
 * const body = new Uint8Array(16);
 * writeSoakBody(body, 0, 7, 16);
 * if (checkSoakBody(body) !== 7) throw new Error("Expected 7");
 * ```
 */
export function writeSoakBody(
  target: Uint8Array,
  offset: number,
  seq: number,
  size: number,
): void {
  target[offset] = seq >>> 24;
  target[offset + 1] = (seq >>> 16) & 0xff;
  target[offset + 2] = (seq >>> 8) & 0xff;
  target[offset + 3] = seq & 0xff;
  for (let i = MIN_SOAK_BODY; i < size; i++) {
    target[offset + i] = (seq + i * 7) & 0xff;
  }
}

/** The sequence number of a soak body, or -1 when it is not intact. */
export function checkSoakBody(body: Uint8Array): number {
  if (body.length < MIN_SOAK_BODY) return -1;
  const seq = readU32(body, 0);
  for (let i = MIN_SOAK_BODY; i < body.length; i++) {
    if (body[i] !== ((seq + i * 7) & 0xff)) return -1;
  }
  return seq;
}

/**
 * Records relays, receipts and arrivals. Each relay names one receiver;
 * sequence numbers count from 0 in the order relays are sent.
 *
 * @example A relay that was queued and read is not lost
 * ```ts
 * import { type Inbox, SoakLedger, writeSoakBody } from "./ledger.ts";
 * const bob: Inbox = { id: 2, awaiting: 0, lastFrom: null };
 * const ledger = new SoakLedger(8, (id) => id === 2 ? bob : undefined);
 * const seq = ledger.record(1, 2);
 * ledger.receipt(seq, 1);
 * const body = new Uint8Array(8);
 * writeSoakBody(body, 0, seq, 8);
 * ledger.arrival(bob, 1, body);
 * if (ledger.verdict().lost !== 0) throw new Error("Nothing was lost");
 * ```
 */
export class SoakLedger {
  /** Body size every relay uses. */
  readonly size: number;
  /** Relays sent. */
  sent = 0;
  /** Receipts received. */
  receipts = 0;
  /** Receipts that said the message was queued for its receiver. */
  queued = 0;
  /** Receipts that said the receiver was not registered. */
  notQueued = 0;
  /** Messages read intact by their receiver, the first time. */
  delivered = 0;
  /** Messages read a second time. */
  duplicates = 0;
  /** Messages read by a client they were not sent to, or from the wrong sender. */
  misrouted = 0;
  /** Messages read after a later one from the same sender. */
  reordered = 0;
  /** Bodies that were not intact. */
  corrupt = 0;
  /** Messages read although their receipt said they were not queued. */
  phantoms = 0;
  /** Receipts that make no sense for a one-receiver relay. */
  badReceipts = 0;
  #lookup: InboxLookup;
  #flags = new Uint8Array(1024);
  #sender = new Float64Array(1024);
  #receiver = new Float64Array(1024);

  /**
   * Makes an empty ledger for relays of `size` body bytes.
   *
   * @param lookup finds the clients that are still connected
   */
  constructor(size: number, lookup: InboxLookup) {
    this.size = size;
    this.#lookup = lookup;
  }

  /** Records a relay about to be sent; returns its sequence number. */
  record(senderId: number, receiverId: number): number {
    const seq = this.sent++;
    if (seq === this.#flags.length) this.#grow();
    this.#flags[seq] = SENT;
    this.#sender[seq] = senderId;
    this.#receiver[seq] = receiverId;
    return seq;
  }

  /** Records the receipt of relay `seq`: `delivered` receivers queued. */
  receipt(seq: number, delivered: number): void {
    this.receipts++;
    const flags = this.#flags[seq];
    if (
      seq >= this.sent || flags === undefined ||
      (flags & (QUEUED | NOT_QUEUED)) !== 0 || delivered > 1
    ) {
      this.badReceipts++;
      return;
    }
    if (delivered === 1) {
      this.#flags[seq] = flags | QUEUED;
      this.queued++;
      if ((flags & READ) === 0) {
        const inbox = this.#lookup(this.#receiver[seq]!);
        if (inbox !== undefined) inbox.awaiting++;
      }
    } else {
      this.#flags[seq] = flags | NOT_QUEUED;
      this.notQueued++;
      if ((flags & READ) !== 0) this.phantoms++;
    }
  }

  /** Records that `inbox` read a DELIVER from `senderId` with `body`. */
  arrival(inbox: Inbox, senderId: number, body: Uint8Array): void {
    const seq = body.length === this.size ? checkSoakBody(body) : -1;
    if (seq < 0 || seq >= this.sent) {
      this.corrupt++;
      return;
    }
    if (
      this.#sender[seq] !== senderId || this.#receiver[seq] !== inbox.id
    ) {
      this.misrouted++;
      return;
    }
    const flags = this.#flags[seq]!;
    if ((flags & READ) !== 0) {
      this.duplicates++;
      return;
    }
    this.#flags[seq] = flags | READ;
    this.delivered++;
    if ((flags & QUEUED) !== 0) inbox.awaiting--;
    if ((flags & NOT_QUEUED) !== 0) this.phantoms++;
    inbox.lastFrom ??= new Map();
    const last = inbox.lastFrom.get(senderId);
    if (last !== undefined && last > seq) this.reordered++;
    else inbox.lastFrom.set(senderId, seq);
  }

  /** Judges every relay against who is connected now. */
  verdict(): SoakVerdict {
    const verdict: SoakVerdict = {
      lost: 0,
      abandoned: 0,
      unconfirmed: 0,
      missingReceipts: 0,
    };
    for (let seq = 0; seq < this.sent; seq++) {
      const flags = this.#flags[seq]!;
      if ((flags & QUEUED) !== 0) {
        if ((flags & READ) !== 0) continue;
        if (this.#lookup(this.#receiver[seq]!) !== undefined) verdict.lost++;
        else verdict.abandoned++;
      } else if ((flags & NOT_QUEUED) === 0) {
        if (this.#lookup(this.#sender[seq]!) !== undefined) {
          verdict.missingReceipts++;
        } else verdict.unconfirmed++;
      }
    }
    return verdict;
  }

  #grow(): void {
    const length = this.#flags.length * 2;
    const flags = new Uint8Array(length);
    flags.set(this.#flags);
    this.#flags = flags;
    const sender = new Float64Array(length);
    sender.set(this.#sender);
    this.#sender = sender;
    const receiver = new Float64Array(length);
    receiver.set(this.#receiver);
    this.#receiver = receiver;
  }
}
