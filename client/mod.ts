/**
 * The msghub client library: one TCP connection to a hub in the binary
 * dialect, with pipelined requests, fire-and-forget and receipted relays, and
 * an async iterator over the messages other clients relay to it.
 *
 * @example Two clients on one hub
 * ```ts
 * import { connect } from "./mod.ts";
 * import { serve } from "../hub/mod.ts";
 * await using hub = await serve({ port: 0 });
 * await using alice = await connect({ port: hub.addr.port });
 * await using bob = await connect({ port: hub.addr.port });
 * const receipt = await alice.relayWithReceipt([await bob.identity()], "hi bob");
 * if (receipt.delivered !== 1) throw new Error("Bob should get it");
 * for await (const { sender, body } of bob) {
 *   if (sender !== await alice.identity()) throw new Error("Wrong sender");
 *   if (new TextDecoder().decode(body) !== "hi bob") throw new Error("Wrong body");
 *   break;
 * }
 * ```
 *
 * @module
 */
export {
  type Body,
  Client,
  type ClientOptions,
  connect,
  type ConnectOptions,
  type Message,
  type RelayReceipt,
} from "./client.ts";
export {
  ConnectError,
  ConnectionClosedError,
  HubError,
  HubProtocolError,
} from "./errors.ts";
