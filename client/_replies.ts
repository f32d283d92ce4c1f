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

/** An ECHO_REPLY body the caller may keep. */
export function copyPayload(payload: Uint8Array, owned: boolean): Uint8Array {
  return owned ? payload : payload.slice();
}

/** The id of an IDENTITY_REPLY. */
export function decodeIdentity(payload: Uint8Array): bigint {
  if (payload.length !== 8) {
    throw new HubProtocolError(
      `Cannot parse IDENTITY_REPLY: length ${payload.length} is not 8`,
    );
  }
  return readU64(payload, 0);
}

/** The ids of a LIST_REPLY. */
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

/** A RELAY_RECEIPT. */
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

/** A byte as two hex digits, for messages. */
export function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
