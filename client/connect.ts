/**
 * `connect` with every transport: TCP and TLS in Deno, WebSocket wherever
 * there is a global `WebSocket`. The browser entry, `browser.ts`, has its
 * own `connect` without TCP.
 *
 * @module
 */

import type { Client } from "./client.ts";
import {
  type ConnectOptions,
  connectWith,
  type UrlConnectOptions,
} from "./_connect.ts";
import { dialTcp } from "./tcp.ts";

/**
 * Connects to a hub and waits until it has registered the connection: the
 * client speaks the binary dialect, authenticates first when given a token,
 * and asks for its identity, so other clients can relay to it as soon as this
 * resolves.
 *
 * The hub is named by a URL, whose scheme picks the transport:
 * `msghub://host:port` (TCP; port 1234 when none is given),
 * `msghubs://host:port` (TLS), `ws://host:port/path` or `wss://…`
 * (WebSocket, binary messages). Or by the options form, `{ hostname, port,
 * tls }`, for TCP and TLS. The client works the same on every transport.
 *
 * @throws {ConnectError} when the hub cannot be reached, or its TLS
 * certificate is not trusted
 * @throws {HubError} when the hub refuses the client (wrong token: code 7)
 * @throws {RangeError} when the token is empty or longer than 1024 bytes, or
 * a ping option is negative
 * @throws {TypeError} for a URL that is not a hub's, or `caCerts` without TLS
 * over TCP
 *
 * @example Ask the hub who we are
 * ```ts
 * import { connect } from "./mod.ts";
 * import { serve } from "../hub/mod.ts";
 * await using hub = await serve({ port: 0 });
 * await using client = await connect(`msghub://127.0.0.1:${hub.addr.port}`);
 * if (await client.identity() < 1n) throw new Error("Expected a user id");
 * ```
 *
 * @example The options form
 * ```ts
 * import { connect } from "./mod.ts";
 * import { serve } from "../hub/mod.ts";
 * await using hub = await serve({ port: 0 });
 * await using client = await connect({ port: hub.addr.port });
 * if (await client.identity() < 1n) throw new Error("Expected a user id");
 * ```
 *
 * @example Authenticate to a hub that wants a token
 * ```ts
 * import { connect, HubError } from "./mod.ts";
 * import { serve } from "../hub/mod.ts";
 * await using hub = await serve({ port: 0, token: "s3cret" });
 * const url = `msghub://127.0.0.1:${hub.addr.port}`;
 * await using client = await connect(url, { token: "s3cret" });
 * const refused = await connect(url, { token: "wrong" })
 *   .then(() => null, (error: unknown) => error);
 * if (!(refused instanceof HubError) || refused.code !== 7) {
 *   throw new Error("Expected ERROR 7");
 * }
 * ```
 *
 * @example Over TLS, trusting a private CA; over WebSocket
 * ```ts ignore
 * import { connect } from "./mod.ts";
 * const ca = await Deno.readTextFile("ca.pem");
 * await using overTls = await connect("msghubs://hub.example.com", {
 *   caCerts: [ca],
 * });
 * await using overWebSocket = await connect("wss://hub.example.com/msghub");
 * ```
 */
export function connect(options?: ConnectOptions): Promise<Client>;
/**
 * Connects to the hub at `url` (`msghub:`, `msghubs:`, `ws:` or `wss:`) and
 * waits until it has registered the connection.
 */
export function connect(
  url: string | URL,
  options?: UrlConnectOptions,
): Promise<Client>;
export function connect(
  target: string | URL | ConnectOptions = {},
  options: UrlConnectOptions = {},
): Promise<Client> {
  return connectWith(target, options, dialTcp);
}
