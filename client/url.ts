/**
 * Hub addresses as URLs: `msghub://host:port` (TCP), `msghubs://` (TLS),
 * `ws://…` and `wss://…` (WebSocket). Pure: no sockets.
 *
 * @module
 */

/** The hub's port when a `msghub:` or `msghubs:` URL names none. */
export const DEFAULT_PORT = 1234;
/** The hub's host when the options form of `connect` names none. */
export const DEFAULT_HOSTNAME = "127.0.0.1";

/** The schemes {@linkcode parseHubUrl} accepts. */
const SCHEMES = ["msghub:", "msghubs:", "ws:", "wss:"] as const;

/**
 * Where a hub is and how to reach it.
 *
 * @example
 * ```ts
 * import type { HubAddress } from "./mod.ts";
 * const address: HubAddress = {
 *   wire: "tcp",
 *   tls: false,
 *   hostname: "127.0.0.1",
 *   port: 1234,
 *   url: "msghub://127.0.0.1:1234",
 * };
 * ```
 */
export interface HubAddress {
  /** `tcp` for `msghub:`/`msghubs:`, `websocket` for `ws:`/`wss:`. */
  wire: "tcp" | "websocket";
  /** Whether the connection is encrypted: `msghubs:` and `wss:`. */
  tls: boolean;
  /** The host to dial, without the brackets of an IPv6 literal. */
  hostname: string;
  /** The port to dial. */
  port: number;
  /** The URL: what a WebSocket is opened with, and what messages name. */
  url: string;
}

/**
 * Parses a hub URL. A `msghub:` or `msghubs:` URL without a port means port
 * 1234; a `ws:` or `wss:` URL follows the web's defaults (80, 443) and keeps
 * its path and query, which the hub ignores.
 *
 * @throws {TypeError} when `url` is not a URL, its scheme is not one of
 * `msghub:`, `msghubs:`, `ws:`, `wss:`, it has no host, or a `msghub:` or
 * `msghubs:` URL has credentials, a path, a query or a fragment
 *
 * @example
 * ```ts
 * import { parseHubUrl } from "./mod.ts";
 * const tcp = parseHubUrl("msghub://10.0.0.5");
 * if (tcp.wire !== "tcp" || tcp.port !== 1234) throw new Error(tcp.url);
 * const ws = parseHubUrl("wss://hub.example.com/chat");
 * if (ws.wire !== "websocket" || !ws.tls || ws.port !== 443) throw new Error(ws.url);
 * ```
 */
export function parseHubUrl(url: string | URL): HubAddress {
  const text = String(url);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new TypeError(
      `Cannot parse hub URL "${text}": not a URL such as "msghub://host:port"`,
    );
  }
  const scheme = parsed.protocol;
  if (!(SCHEMES as readonly string[]).includes(scheme)) {
    throw new TypeError(
      `Cannot parse hub URL "${text}": scheme "${scheme}" is not one of ${
        SCHEMES.join(", ")
      }`,
    );
  }
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (hostname === "") {
    throw new TypeError(`Cannot parse hub URL "${text}": no host`);
  }
  const tls = scheme === "msghubs:" || scheme === "wss:";
  if (scheme === "ws:" || scheme === "wss:") {
    const port = parsed.port === "" ? (tls ? 443 : 80) : Number(parsed.port);
    return { wire: "websocket", tls, hostname, port, url: parsed.href };
  }
  if (parsed.username !== "" || parsed.password !== "") {
    // Not quoted: the credentials could be a token.
    throw new TypeError(
      `Cannot parse hub URL: a ${scheme} URL takes no credentials`,
    );
  }
  const extra = (parsed.pathname !== "" && parsed.pathname !== "/")
    ? `path "${parsed.pathname}"`
    : parsed.search !== ""
    ? `query "${parsed.search}"`
    : parsed.hash !== ""
    ? `fragment "${parsed.hash}"`
    : null;
  if (extra !== null) {
    throw new TypeError(
      `Cannot parse hub URL "${text}": a ${scheme} URL takes no ${extra}`,
    );
  }
  const port = parsed.port === "" ? DEFAULT_PORT : Number(parsed.port);
  return {
    wire: "tcp",
    tls,
    hostname,
    port,
    url: `${scheme}//${parsed.host}${parsed.port === "" ? `:${port}` : ""}`,
  };
}
