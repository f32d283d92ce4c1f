/**
 * The msghub client library: one connection to a hub in the binary dialect,
 * over TCP, TLS or WebSocket (`connect(url)` picks by scheme), with pipelined
 * requests, fire-and-forget and receipted relays, an async iterator over the
 * messages other clients relay to it, and a liveness timer of its own. The
 * browser build (`browser.ts`) is the same client without TCP.
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
export { connect } from "./connect.ts";
export type { ConnectOptions, UrlConnectOptions } from "./_connect.ts";
export { dialTcp } from "./tcp.ts";
export {
  type Body,
  Client,
  type ClientOptions,
  type Message,
  type RelayReceipt,
} from "./client.ts";
export { CLIENT_DEFAULTS } from "./_options.ts";
export {
  ConnectError,
  ConnectionClosedError,
  HubError,
  HubProtocolError,
  PingTimeoutError,
} from "./errors.ts";
export {
  type ByteStream,
  streamTransport,
  type Transport,
} from "./transport.ts";
export { connectWebSocket } from "./websocket.ts";
export { DEFAULT_PORT, type HubAddress, parseHubUrl } from "./url.ts";
