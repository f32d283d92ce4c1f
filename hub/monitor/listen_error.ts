/**
 * Errors of binding a port, made to name the address: "Address already in
 * use (os error 98)" alone does not say which of the hub's ports it was.
 *
 * @module
 */

/** `host:port`, with an IPv6 host in brackets. */
export function formatAddress(
  address: { hostname: string; port: number },
): string {
  const host = address.hostname.includes(":")
    ? `[${address.hostname}]`
    : address.hostname;
  return `${host}:${address.port}`;
}

/**
 * The error to throw for a failed listen on `address`: a taken port or an
 * address the machine does not have becomes an error of the same class that
 * names the address, with the original as its cause; anything else (a
 * missing permission, which says what it needs) is returned as it is.
 *
 * @example
 * ```ts
 * import { listenError } from "./listen_error.ts";
 * using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * try {
 *   Deno.listen({ hostname: "127.0.0.1", port: taken.addr.port });
 * } catch (error) {
 *   const named = listenError(error, taken.addr) as Error;
 *   if (!(named instanceof Deno.errors.AddrInUse)) throw named;
 *   if (!named.message.includes(`"127.0.0.1:${taken.addr.port}"`)) throw named;
 * }
 * ```
 */
export function listenError(
  error: unknown,
  address: { hostname: string; port: number },
): unknown {
  const where = `"${formatAddress(address)}"`;
  if (error instanceof Deno.errors.AddrInUse) {
    return new Deno.errors.AddrInUse(
      `Cannot listen on ${where}: the address is already in use`,
      { cause: error },
    );
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return new Deno.errors.AddrNotAvailable(
      `Cannot listen on ${where}: the address is not available here`,
      { cause: error },
    );
  }
  return error;
}

/**
 * Runs `listen` (a `Deno.listen` on `address`), throwing
 * {@linkcode listenError}'s error when it fails.
 *
 * @example
 * ```ts
 * import { listenOn } from "./listen_error.ts";
 * const address = { hostname: "127.0.0.1", port: 0 };
 * using listener = listenOn(address, () => Deno.listen(address));
 * if (listener.addr.port === 0) throw new Error("Expected a real port");
 * ```
 */
export function listenOn<T>(
  address: { hostname: string; port: number },
  listen: () => T,
): T {
  try {
    return listen();
  } catch (error) {
    throw listenError(error, address);
  }
}

/**
 * Listens on `address` over TCP, or TLS with `tls`, throwing
 * {@linkcode listenError}'s error when it cannot.
 *
 * @example
 * ```ts
 * import { listenTcp } from "./listen_error.ts";
 * using listener = listenTcp({ hostname: "127.0.0.1", port: 0 }, null);
 * if (listener.addr.port === 0) throw new Error("Expected a real port");
 * ```
 */
export function listenTcp(
  address: { hostname: string; port: number },
  tls: { cert: string; key: string } | null,
): Deno.Listener<Deno.TcpConn | Deno.TlsConn, Deno.NetAddr> {
  const where = { ...address, transport: "tcp" } as const;
  return listenOn(
    address,
    () =>
      tls === null ? Deno.listen(where) : Deno.listenTls({ ...where, ...tls }),
  );
}
