/**
 * What the pieces of `msghub client` ask of a connection to the hub: a
 * narrow view of the library's `Client`, which fits it as it is. The CLI
 * sees the library through this seam, the way the cluster sees the hub
 * through `ClusterHost`.
 *
 * @module
 */

/** A message another client relayed to this one. */
export interface Received {
  /** User id of the client that relayed it. */
  readonly sender: bigint;
  /** The body, a copy the CLI may keep. */
  readonly body: Uint8Array;
}

/** The hub's receipt of a relay. */
export interface Receipt {
  /** Receivers the message was queued for. */
  readonly delivered: number;
  /** Named ids that are not registered. */
  readonly unknown: readonly bigint[];
}

/**
 * A connected, registered client of the hub; the library's `Client` fits.
 *
 * @example The library's client is one
 * ```ts
 * import type { HubClient } from "./_hub_client.ts";
 * import { connect } from "../../client/mod.ts";
 * import { serve } from "../../hub/mod.ts";
 * await using hub = await serve({ port: 0 });
 * await using client = await connect({ port: hub.addr.port });
 * const view: HubClient = client;
 * await view.ping();
 * ```
 */
export interface HubClient extends AsyncIterable<Received>, AsyncDisposable {
  /** Resolves once the connection is gone, for whatever reason. */
  readonly closed: Promise<void>;
  /** Bytes written to the connection so far, every frame counted. */
  readonly bytesWritten: number;
  /** This client's user id. */
  identity(): Promise<bigint>;
  /** The ids of the other registered clients, ascending. */
  list(): Promise<bigint[]>;
  /** What the hub sends back for `body`. */
  echo(body: Uint8Array | string): Promise<Uint8Array>;
  /** Relays `body` to `ids` and resolves to the hub's receipt. */
  relayWithReceipt(
    ids: readonly bigint[],
    body: Uint8Array | string,
  ): Promise<Receipt>;
  /** Sends PING and resolves when the PONG arrives. */
  ping(): Promise<void>;
  /** Closes the connection gracefully; never rejects. */
  close(): Promise<void>;
}
