/**
 * What the link does when NATS reports on its connection: lost (the other
 * hubs are out of reach, so their clients are forgotten and relays to them
 * are reported unknown), back (the messages are fitted to the server, which
 * may be another one, and our clients announced again), closed for good
 * (local clients only from then on), and errors and slow-consumer notices,
 * which are only logged.
 *
 * @example NATS lost, then back
 * ```ts
 * import { applyStatus, type StatusTarget } from "./status.ts";
 * import { zeroCounters } from "./types.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const said: string[] = [];
 * const target: StatusTarget = {
 *   closed: false,
 *   connected: true,
 *   counters: zeroCounters(),
 *   log: (level, message) => said.push(`${level} ${message}`),
 *   view: { hubs: new Map(), clients: new Map(), clear: () => said.push("clear") },
 *   resize: () => said.push("resize"),
 *   hello: () => said.push("hello"),
 * };
 * applyStatus({ type: "disconnect", server: "127.0.0.1:4222" }, target);
 * assertEquals(target.connected, false);
 * applyStatus({ type: "reconnect", server: "127.0.0.1:4222" }, target);
 * assertEquals(target.connected, true);
 * assertEquals(said, [
 *   "warn lost NATS; serving local clients meanwhile",
 *   "clear",
 *   "resize",
 *   "info NATS is back; announcing clients",
 *   "hello",
 * ]);
 * ```
 *
 * @module
 */
import type { ClusterCounters, ClusterLog, NatsStatus } from "./types.ts";
import type { ClusterView } from "./view.ts";

/** What NATS status events act on: the link's state, as the link lends it. */
export interface StatusTarget {
  /** True once the link is closing: what NATS reports then is its own doing. */
  readonly closed: boolean;
  /** True while NATS is reachable; set here. */
  connected: boolean;
  /** Counts disconnects and reconnects. */
  readonly counters: ClusterCounters;
  /** Where the events are logged. */
  readonly log: ClusterLog;
  /** The other hubs: cleared while NATS is out of reach. */
  readonly view: Pick<ClusterView, "hubs" | "clients" | "clear">;
  /** Fits relay messages to what the (perhaps other) server takes. */
  resize(): void;
  /** Announces our clients to every hub again. */
  hello(): void;
}

/**
 * Acts on one status event. Returns false once the connection is closed for
 * good: nothing more will come.
 */
export function applyStatus(status: NatsStatus, target: StatusTarget): boolean {
  switch (status.type) {
    case "disconnect":
      target.connected = false;
      target.counters.disconnects++;
      target.log("warn", "lost NATS; serving local clients meanwhile", {
        server: String(status.server),
        hubs: target.view.hubs.size,
        remote_clients: target.view.clients.size,
      });
      // The other hubs cannot be reached: relays to their clients are
      // reported unknown until NATS is back, rather than handed to the
      // NATS client, which drops what it holds when it reconnects.
      target.view.clear();
      return true;
    case "reconnect":
      target.connected = true;
      target.counters.reconnects++;
      // Another server may take less in one message.
      target.resize();
      target.log("info", "NATS is back; announcing clients", {
        server: String(status.server),
      });
      target.hello();
      return true;
    case "error":
      target.log("warn", "NATS error", { error: String(status.error) });
      return true;
    case "slowConsumer":
      target.log("warn", "NATS calls this hub a slow consumer", {
        subject: String(status.sub?.getSubject()),
      });
      return true;
    case "close":
      // Only a fatal error (a refused login, say) gets here before close().
      target.connected = false;
      target.view.clear();
      target.log(
        "error",
        "the NATS connection closed for good; serving local clients only",
        {},
      );
      return false;
    default:
      return true;
  }
}

/** Acts on `statuses` until the connection closes or the target does. */
export async function watchStatus(
  statuses: AsyncIterable<NatsStatus>,
  target: StatusTarget,
): Promise<void> {
  for await (const status of statuses) {
    if (target.closed) return;
    if (!applyStatus(status, target)) return;
  }
}
