/**
 * The part of the relay path that reaches other hubs (private to the hub):
 * it notes which hubs a relay names receivers on, sends the relay to each of
 * them once, and keeps what they will confirm of a receipted relay.
 *
 * @module
 */
import type { ClusterLink } from "./cluster/link.ts";
import type { RemoteReceipt } from "./cluster/receipts.ts";
import type { RemoteHub } from "./cluster/view.ts";
import type { PressureSink } from "./cluster/types.ts";

/** What the relay path needs of the cluster link. */
export type FanoutCluster = Pick<
  ClusterLink,
  "view" | "forward" | "forwardReceipted" | "pressure"
>;

/**
 * The other hubs of the relay being handled.
 *
 * @example A lone hub has nothing to forward
 * ```ts ignore
 * const remote = new RemoteFanout(link);
 * remote.note(hub, id, stamp, false);
 * remote.forward(sender, body, 0, body.length, false); // 1: one receiver there
 * ```
 */
export class RemoteFanout {
  /** The hub's link to its cluster. */
  readonly cluster: FanoutCluster;
  /** Other hubs with receivers in the relay being handled. */
  #hubs: RemoteHub[] = [];
  /** What other hubs will confirm of the receipted relay being handled. */
  #confirms: Promise<RemoteReceipt>[] = [];

  /** Forwards through `cluster`. */
  constructor(cluster: FanoutCluster) {
    this.cluster = cluster;
  }

  /** Whether the relay being handled names receivers on other hubs. */
  get any(): boolean {
    return this.#hubs.length > 0;
  }

  /** Whether other hubs are to confirm the receipted relay just forwarded. */
  get confirming(): boolean {
    return this.#confirms.length > 0;
  }

  /**
   * Notes `id`, of an epoch of `hub`, as a receiver on that hub. When `exact`
   * (a receipt counts it), only if it is registered there, and de-duplicated;
   * otherwise the receiving hub skips ids it does not know and de-duplicates.
   * Returns whether it was noted.
   */
  note(hub: RemoteHub, id: number, stamp: number, exact: boolean): boolean {
    if (exact && this.cluster.view.clients.get(id) !== hub) return false;
    if (hub.stamp !== stamp) {
      hub.stamp = stamp;
      hub.scratch.length = 0;
      this.#hubs.push(hub);
    }
    if (!exact || !hub.scratch.includes(id)) hub.scratch.push(id);
    return true;
  }

  /**
   * Sends the relay on to each other hub with receivers in it, once per hub.
   * Returns how many receivers that covers; for a `receipted` relay none
   * yet: each hub's confirmation waits for {@linkcode takeConfirms}. A hub
   * whose window is pressed makes `sender` pause (`cluster/credit.ts`).
   */
  forward(
    sender: PressureSink & { readonly id: number },
    body: Uint8Array,
    bodyStart: number,
    end: number,
    receipted: boolean,
  ): number {
    const hubs = this.#hubs;
    if (hubs.length === 0) return 0;
    let forwarded = 0;
    const cluster = this.cluster;
    for (const hub of hubs) {
      if (receipted) {
        // Counted once that hub confirms it queued them.
        this.#confirms.push(
          cluster.forwardReceipted(
            hub,
            sender.id,
            hub.scratch,
            body,
            bodyStart,
            end,
          ),
        );
      } else {
        cluster.forward(hub, sender.id, hub.scratch, body, bodyStart, end);
        forwarded += hub.scratch.length;
      }
      sender.pressure = cluster.pressure(hub) ?? sender.pressure;
    }
    hubs.length = 0;
    return forwarded;
  }

  /** The confirmations of the relay just forwarded, handed over. */
  takeConfirms(): Promise<RemoteReceipt>[] {
    const confirms = this.#confirms;
    this.#confirms = [];
    return confirms;
  }
}
