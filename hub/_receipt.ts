/**
 * Receipts whose other hubs' parts are still to come (private to the hub):
 * the relay path sends a receipted relay on to other hubs, and the receipt
 * adds up what each of them confirms (`cluster/receipts.ts`) before the
 * sender gets it, in its place among the sender's replies.
 *
 * @module
 */
import { readU32, readU64 } from "../protocol/mod.ts";
import type { RemoteReceipt } from "./cluster/receipts.ts";

/** What a reply still to come needs of the peer it goes to (a `Peer`). */
export interface ReplyTarget {
  /** Queues a reply now. */
  send(bytes: Uint8Array): boolean;
  /** Queues a reply still to come, in its place among the replies. */
  later?(reply: Promise<Uint8Array>): void;
}

const TWO_32 = 0x1_0000_0000;

/** A u64 id at `bytes[at]` as a number (ids past 2^53 lose precision). */
export function readU64Number(bytes: Uint8Array, at: number): number {
  return readU32(bytes, at) * TWO_32 + readU32(bytes, at + 4);
}

/** The ids of a RELAY payload, `source[from..to)`, in order. */
export function readIds(
  source: Uint8Array,
  from: number,
  to: number,
): bigint[] {
  const ids: bigint[] = [];
  for (let at = from; at < to; at += 8) ids.push(readU64(source, at));
  return ids;
}

/**
 * A receipt whose other hubs' parts are still to come: `delivered` and
 * `unknown` here, plus what each of `remote` confirms. Unknown ids are listed
 * once each, in the order the relay `named` them.
 */
export async function settle(
  named: readonly bigint[],
  delivered: number,
  unknown: readonly bigint[],
  remote: Promise<RemoteReceipt>[],
): Promise<{ delivered: number; unknown: bigint[] }> {
  const missing = new Set(unknown);
  for (const part of await Promise.all(remote)) {
    delivered += part.delivered;
    for (const id of part.unknown) missing.add(BigInt(id));
  }
  const ordered: bigint[] = [];
  for (const id of named) if (missing.delete(id)) ordered.push(id);
  return { delivered, unknown: ordered };
}

/** Queues a reply still to come for `peer`, in order if it can keep one. */
export function later(peer: ReplyTarget, reply: Promise<Uint8Array>): void {
  if (peer.later !== undefined) peer.later(reply);
  else reply.then((bytes) => peer.send(bytes));
}
