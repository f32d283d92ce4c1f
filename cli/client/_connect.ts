/**
 * Connecting `msghub client` to its hub, by URL or by host and port, within
 * the connect timeout.
 *
 * @module
 */
import { type Client, connect, type ConnectOptions } from "../../client/mod.ts";

/** The hub a command line names, and how it is shown in messages. */
export interface Target {
  /** A hub URL (`msghub:`, `msghubs:`, `ws:`, `wss:`); absent for host and port. */
  url?: string;
  /** Host and port when there is no URL; the token and trust in any case. */
  options: ConnectOptions;
  /** The hub as messages name it: the URL, or `HOST:PORT`. */
  label: string;
}

/**
 * Connects to `target` and waits for registration, giving up after
 * `timeout` ms (0: no limit) with an error that names the hub. A connection
 * that completes after the timeout is closed at once.
 *
 * @throws {Error} when the time is up; whatever `connect` throws otherwise
 *
 * @example
 * ```ts
 * import { connectTo } from "./_connect.ts";
 * import { serve } from "../../hub/mod.ts";
 * await using hub = await serve({ port: 0 });
 * const url = `msghub://127.0.0.1:${hub.addr.port}`;
 * await using client = await connectTo({ url, options: {}, label: url }, 5_000);
 * if (await client.identity() < 1n) throw new Error("Expected an id");
 * ```
 */
export async function connectTo(
  target: Target,
  timeout: number,
): Promise<Client> {
  const pending = target.url === undefined
    ? connect(target.options)
    : connect(target.url, target.options);
  if (timeout === 0) return await pending;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      pending.then((late) => late.close(), () => {});
      reject(
        new Error(
          `Cannot connect to ${target.label}: no answer within ${
            duration(timeout)
          } (--connect-timeout)`,
        ),
      );
    }, timeout);
  });
  try {
    return await Promise.race([pending, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** `5000` is `5s`, `250` is `250ms`. */
function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
