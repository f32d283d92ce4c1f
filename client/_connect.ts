/**
 * What every `connect` shares, whichever transports its build has: reading
 * the target (a URL, or the options form), dialling by scheme, and waiting
 * for registration. Runtime-neutral: TCP comes in as a {@linkcode TcpDialer}
 * from the Deno entry, and the browser entry passes none.
 *
 * @module
 */

import { Client } from "./client.ts";
import { type ClientOptions, resolveClientOptions } from "./_options.ts";
import { ConnectError } from "./errors.ts";
import type { Transport } from "./transport.ts";
import {
  DEFAULT_HOSTNAME,
  DEFAULT_PORT,
  type HubAddress,
  parseHubUrl,
} from "./url.ts";
import { connectWebSocket } from "./websocket.ts";

/**
 * Options of `connect` given a URL: the client's, and trust for TLS.
 *
 * @example
 * ```ts
 * import type { UrlConnectOptions } from "./mod.ts";
 * const options: UrlConnectOptions = { token: "s3cret", pingTimeout: 5_000 };
 * ```
 */
export interface UrlConnectOptions extends ClientOptions {
  /**
   * PEM certificates trusted besides the default roots, such as a private
   * CA's; only for TLS over TCP (`msghubs:`, or `tls: true`). A WebSocket
   * trusts what its runtime trusts.
   */
  caCerts?: string[];
}

/**
 * Options of `connect` without a URL: a TCP (or TLS) hub by host and port.
 *
 * @example
 * ```ts
 * import type { ConnectOptions } from "./mod.ts";
 * const options: ConnectOptions = { hostname: "127.0.0.1", port: 1234 };
 * ```
 */
export interface ConnectOptions extends UrlConnectOptions {
  /** Host of the hub. Default `127.0.0.1`. With TLS, the name the certificate must carry. */
  hostname?: string;
  /** Port of the hub. Default `1234`. */
  port?: number;
  /** Speak TLS, for a hub started with a certificate. Default `false`. */
  tls?: boolean;
}

/** Opens a TCP or TLS transport; throws {@linkcode ConnectError} when it cannot. */
export type TcpDialer = (
  address: HubAddress,
  caCerts: string[] | undefined,
) => Promise<Transport>;

/**
 * Connects to the hub `target` names, over the transport its scheme picks,
 * and waits until the hub has registered the client.
 */
export async function connectWith(
  target: string | URL | ConnectOptions,
  options: UrlConnectOptions,
  dialTcp: TcpDialer | null,
): Promise<Client> {
  const isUrl = typeof target === "string" || target instanceof URL;
  const given: ConnectOptions = isUrl ? options : target;
  const address = isUrl ? parseHubUrl(target) : addressOf(given);
  // Checked before dialling: a bad option costs no connection.
  if (given.caCerts !== undefined && !address.tls) {
    throw new TypeError(
      isUrl
        ? `Invalid options: caCerts needs a msghubs: URL, not "${address.url}"`
        : "Invalid options: caCerts needs tls: true",
    );
  }
  const clientOptions: ClientOptions = {};
  if (given.token !== undefined) clientOptions.token = given.token;
  if (given.pingInterval !== undefined) {
    clientOptions.pingInterval = given.pingInterval;
  }
  if (given.pingTimeout !== undefined) {
    clientOptions.pingTimeout = given.pingTimeout;
  }
  resolveClientOptions(clientOptions);
  const transport = await dial(address, given.caCerts, dialTcp);
  const client = new Client(transport, clientOptions);
  try {
    await client.identity();
  } catch (error) {
    await client.close();
    throw error;
  }
  return client;
}

function addressOf(options: ConnectOptions): HubAddress {
  const hostname = options.hostname ?? DEFAULT_HOSTNAME;
  const port = options.port ?? DEFAULT_PORT;
  const tls = options.tls === true;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  const url = `${tls ? "msghubs" : "msghub"}://${host}:${port}`;
  return { wire: "tcp", tls, hostname, port, url };
}

async function dial(
  address: HubAddress,
  caCerts: string[] | undefined,
  dialTcp: TcpDialer | null,
): Promise<Transport> {
  if (address.wire === "tcp") {
    if (dialTcp === null) {
      throw new TypeError(
        `Cannot connect to "${address.url}": this build has no TCP; use a ws: or wss: URL`,
      );
    }
    return await dialTcp(address, caCerts);
  }
  if (caCerts !== undefined) {
    throw new TypeError(
      `Invalid options: caCerts cannot be used with "${address.url}"; a WebSocket trusts what its runtime trusts`,
    );
  }
  try {
    return await connectWebSocket(address.url);
  } catch (error) {
    if (error instanceof TypeError) throw error;
    throw new ConnectError(address.hostname, address.port, error);
  }
}
