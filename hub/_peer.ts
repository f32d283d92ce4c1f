/**
 * A client as the relay path sees it (private to the hub): what a session
 * offers the fan-out, as sender and as receiver.
 *
 * @module
 */
import type { OutboundQueue } from "../protocol/mod.ts";
import type { RegisteredClient } from "./registry.ts";
import type { Pressure } from "./cluster/types.ts";

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
  /**
   * Queues `bytes[start..end)`, which already holds its WebSocket header,
   * as it is: `frames` frames for the counters. Only for a client over
   * WebSocket; false as for `sendRange`.
   */
  sendFramed(
    bytes: Uint8Array,
    start: number,
    end: number,
    frames: number,
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
