/**
 * The `--ws-origin` rule: an upgrade whose `Origin` is not listed is refused
 * (HTTP 403); one without `Origin` (not a browser) is accepted.
 *
 * @module
 */

const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s,@]+$/i;

/**
 * Parses the value of `--ws-origin`: origins `scheme://host[:port]`
 * separated by commas, returned in lower case.
 *
 * @example
 * ```ts
 * import { parseWsOrigins } from "./mod.ts";
 * const origins = parseWsOrigins("https://Chat.example, http://localhost:8080");
 * if (origins.join() !== "https://chat.example,http://localhost:8080") throw new Error(`${origins}`);
 * ```
 */
export function parseWsOrigins(value: string): string[] {
  const origins = value.split(",").map((o) => o.trim());
  for (const origin of origins) {
    if (!ORIGIN.test(origin)) {
      throw new TypeError(
        `Cannot parse origin "${origin}": expected scheme://host[:port]`,
      );
    }
  }
  return origins.map((o) => o.toLowerCase());
}

/**
 * Whether an upgrade with this `Origin` header (`null` when absent) may go
 * on: always without one, or when `allowed` is empty (no `--ws-origin`);
 * else only on an exact, case-insensitive match.
 *
 * @example
 * ```ts
 * import { isWsOriginAllowed } from "./mod.ts";
 * const allowed = ["https://chat.example"];
 * if (!isWsOriginAllowed("HTTPS://chat.EXAMPLE", allowed)) throw new Error("Refused a listed origin");
 * if (isWsOriginAllowed("https://chat.example:8443", allowed)) throw new Error("Accepted another port");
 * if (!isWsOriginAllowed(null, allowed)) throw new Error("Refused a client without Origin");
 * ```
 */
export function isWsOriginAllowed(
  origin: string | null,
  allowed: readonly string[],
): boolean {
  if (origin === null || allowed.length === 0) return true;
  const lower = origin.toLowerCase();
  return allowed.some((a) => a.toLowerCase() === lower);
}
