/**
 * Connecting `msghub client` to its hub, by URL or by host and port, within
 * the connect timeout.
 *
 * @module
 */
import { connect } from "../../client/mod.ts";
import type { HubClient } from "./_hub_client.ts";

/** The hub a command line names, and how it is shown in messages. */
export interface Target {
  /** The hub's URL (`msghub:`, `msghubs:`, `ws:`, `wss:`), also for `--host`. */
  url: string;
  /** The token to authenticate with. */
  token?: string;
  /** PEM certificates to trust besides the default roots (TLS over TCP). */
  caCerts?: string[];
  /** The hub as messages name it: the URL, or `HOST:PORT` for `--host`. */
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
 * await using client = await connectTo({ url, label: url }, 5_000);
 * if (await client.identity() < 1n) throw new Error("Expected an id");
 * ```
 */
export async function connectTo(
  target: Target,
  timeout: number,
): Promise<HubClient> {
  const pending = connect(target.url, {
    ...(target.token === undefined ? {} : { token: target.token }),
    ...(target.caCerts === undefined ? {} : { caCerts: target.caCerts }),
  });
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
