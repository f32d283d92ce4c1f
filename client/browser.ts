/**
 * The msghub client library for browsers and every runtime with a global
 * `WebSocket` (Deno, Node 22+, Bun): the same client as `mod.ts`, over
 * WebSocket only. It imports nothing that touches `Deno.*`;
 * `deno task build:browser` bundles it into `dist/msghub.js`, one ES module.
 *
 * @example A page that joins the hub
 * ```ts ignore
 * import { connect } from "./msghub.js";
 * const client = await connect("ws://127.0.0.1:8080/");
 * console.log("my id", await client.identity());
 * for await (const { sender, body } of client) {
 *   console.log(sender, new TextDecoder().decode(body));
 * }
 * ```
 *
 * @module
 */
import type { Client } from "./client.ts";
import { connectWith, type UrlConnectOptions } from "./_connect.ts";

/**
 * Connects to a hub over WebSocket and waits until it has registered the
 * connection, as `connect` of `mod.ts` does. `msghub:` and `msghubs:` URLs
 * are refused: there is no TCP here.
 *
 * @throws {ConnectError} when the WebSocket cannot be opened
 * @throws {HubError} when the hub refuses the client (wrong token: code 7)
 * @throws {TypeError} for a URL that is not `ws:` or `wss:`
 *
 * @example TCP is not in this build
 * ```ts
 * import { connect } from "./browser.ts";
 * const error = await connect("msghub://127.0.0.1:1234")
 *   .then(() => null, (e: unknown) => e);
 * if (!(error instanceof TypeError)) throw new Error("Expected a TypeError");
 * ```
 */
export function connect(
  url: string | URL,
  options: UrlConnectOptions = {},
): Promise<Client> {
  return connectWith(url, options, null);
}

export {
  type Body,
  Client,
  type ClientOptions,
  type Message,
  type RelayReceipt,
} from "./client.ts";
export { CLIENT_DEFAULTS } from "./_options.ts";
export type { UrlConnectOptions } from "./_connect.ts";
export {
  ConnectError,
  ConnectionClosedError,
  HubError,
  HubProtocolError,
  PingTimeoutError,
} from "./errors.ts";
export { streamTransport } from "./transport.ts";
export type { ByteStream, Transport } from "./transport.ts";
export { connectWebSocket } from "./websocket.ts";
export { DEFAULT_PORT, type HubAddress, parseHubUrl } from "./url.ts";
