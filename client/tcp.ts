/**
 * The TCP and TLS transports, over `Deno.connect` and `Deno.startTls`. The
 * only client module that touches `Deno.*`: the browser entry does not
 * import it, so the browser build leaves it out.
 *
 * @module
 */

import type { HubAddress } from "./url.ts";
import { ConnectError } from "./errors.ts";
import { streamTransport, type Transport } from "./transport.ts";

/**
 * Dials a hub over TCP, with TLS when `address.tls`, and returns its
 * transport. TCP_NODELAY is set: small frames leave at once.
 *
 * @throws {ConnectError} when the hub cannot be reached, or its TLS
 * certificate is not trusted
 *
 * @example
 * ```ts
 * import { Client, dialTcp, parseHubUrl } from "./mod.ts";
 * import { serve } from "../hub/mod.ts";
 * await using hub = await serve({ port: 0 });
 * const transport = await dialTcp(parseHubUrl(`msghub://127.0.0.1:${hub.addr.port}`));
 * await using client = new Client(transport);
 * if (await client.identity() < 1n) throw new Error("Expected a user id");
 * ```
 */
export async function dialTcp(
  address: HubAddress,
  caCerts?: string[],
): Promise<Transport> {
  const { hostname, port } = address;
  let tcp: Deno.TcpConn;
  try {
    tcp = await Deno.connect({ hostname, port });
  } catch (error) {
    throw new ConnectError(hostname, port, error);
  }
  tcp.setNoDelay(true);
  const conn = address.tls ? await startTls(tcp, hostname, port, caCerts) : tcp;
  return streamTransport(conn);
}

/**
 * What rustls's cryptic `CaUsedAsEndEntity` means: `openssl req -x509`
 * makes a self-signed certificate marked as a CA, which TLS clients refuse
 * as a server's own certificate.
 */
const CA_AS_LEAF =
  "the certificate is a CA certificate used as a server certificate (CaUsedAsEndEntity); make a leaf certificate signed by a CA, or one with basicConstraints=CA:FALSE; see README";

/**
 * Runs TLS over a TCP connection, and its handshake, so that an untrusted
 * certificate fails here as a {@linkcode ConnectError}. Not Deno.connectTls:
 * its connection offers no way to set TCP_NODELAY, and small frames would
 * then wait for the hub's acknowledgements.
 */
async function startTls(
  tcp: Deno.TcpConn,
  hostname: string,
  port: number,
  caCerts: string[] | undefined,
): Promise<Deno.TlsConn> {
  let conn: Deno.TlsConn | undefined;
  try {
    conn = await Deno.startTls(
      tcp,
      caCerts === undefined ? { hostname } : { hostname, caCerts },
    );
    await conn.handshake();
    return conn;
  } catch (error) {
    try {
      (conn ?? tcp).close();
    } catch {
      // Already closed.
    }
    let reason = error instanceof Error ? error.message : String(error);
    if (reason.includes("CaUsedAsEndEntity")) reason = CA_AS_LEAF;
    throw new ConnectError(
      hostname,
      port,
      new Error(`TLS handshake failed: ${reason}`, { cause: error }),
    );
  }
}
