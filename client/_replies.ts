/** Decoders of the hub's reply payloads; each rejects a payload of the wrong size. */
import { readU64 } from "../protocol/mod.ts";
import { HubProtocolError } from "./errors.ts";

/**
 * What the hub did with a `Client.relayWithReceipt`.
 *
 * @example Client 3 was not registered
 * ```ts
 * import type { RelayReceipt } from "./mod.ts";
 * const receipt: RelayReceipt = { delivered: 1, unknown: [3n] };
 * ```
 */
export interface RelayReceipt {
  /** Distinct registered receivers the message was queued for (the sender too, if named). */
  delivered: number;
  /** Named ids that were not registered, de-duplicated, in the order first named. */
  unknown: bigint[];
}

/**
 * An ECHO_REPLY body the caller may keep.
 *
 * @example A borrowed view is copied, an owned one is not
 * ```ts
 * import { copyPayload } from "./_replies.ts";
 * const payload = new Uint8Array([1, 2, 3]);
 * if (copyPayload(payload, false) === payload) throw new Error("Expected a copy");
 * if (copyPayload(payload, true) !== payload) throw new Error("Expected no copy");
 * ```
 */
export function copyPayload(payload: Uint8Array, owned: boolean): Uint8Array {
  return owned ? payload : payload.slice();
}

/**
 * The id of an IDENTITY_REPLY.
 *
 * @example
 * ```ts
 * import { decodeIdentity } from "./_replies.ts";
 * const id = decodeIdentity(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 42]));
 * if (id !== 42n) throw new Error(`${id}`);
 * ```
 */
export function decodeIdentity(payload: Uint8Array): bigint {
  if (payload.length !== 8) {
    throw new HubProtocolError(
      `Cannot parse IDENTITY_REPLY: length ${payload.length} is not 8`,
    );
  }
  return readU64(payload, 0);
}

/**
 * The ids of a LIST_REPLY.
 *
 * @example
 * ```ts
 * import { decodeList } from "./_replies.ts";
 * const ids = decodeList(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3]));
 * if (ids.join() !== "2,3") throw new Error(`${ids}`);
 * ```
 */
export function decodeList(payload: Uint8Array): bigint[] {
  if (payload.length % 8 !== 0) {
    throw new HubProtocolError(
      `Cannot parse LIST_REPLY: length ${payload.length} is not a multiple of 8`,
    );
  }
  const ids: bigint[] = [];
  for (let offset = 0; offset < payload.length; offset += 8) {
    ids.push(readU64(payload, offset));
  }
  return ids;
}

/**
 * A RELAY_RECEIPT.
 *
 * @example One delivery, id 9 unknown
 * ```ts
 * import { decodeReceipt } from "./_replies.ts";
 * const receipt = decodeReceipt(new Uint8Array([1, 1, 0, 0, 0, 0, 0, 0, 0, 9]));
 * if (receipt.delivered !== 1 || receipt.unknown.join() !== "9") {
 *   throw new Error("Wrong receipt");
 * }
 * ```
 */
export function decodeReceipt(payload: Uint8Array): RelayReceipt {
  const count = payload[1] ?? 0;
  if (payload.length < 2 || payload.length !== 2 + count * 8) {
    throw new HubProtocolError(
      `Cannot parse RELAY_RECEIPT: length ${payload.length} does not fit ${count} unknown ids`,
    );
  }
  const unknown: bigint[] = [];
  for (let i = 0; i < count; i++) unknown.push(readU64(payload, 2 + i * 8));
  return { delivered: payload[0]!, unknown };
}

/**
 * A byte as two hex digits, for messages.
 *
 * @example
 * ```ts
 * import { hex } from "./_replies.ts";
 * if (hex(0x0a) !== "0a") throw new Error(hex(0x0a));
 * ```
 */
export function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
