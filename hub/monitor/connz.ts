/**
 * `GET /connz` and `GET /connz/ID`: the clients, as JSON, sorted and paged
 * like nats-server's (`?sort=`, `?limit=`, `?offset=`), with the recent
 * departures and their close reasons.
 *
 * @module
 */
import type { ClientInfo, ClosedClient, MonitorSource } from "./source.ts";

/** Sort keys: a field of {@linkcode ClientInfo}, or nats-server's name for it. */
const SORT_KEYS: Record<string, keyof ClientInfo> = {
  id: "id",
  cid: "id",
  start: "connected_ms",
  connected: "connected_ms",
  remote: "remote",
  dialect: "dialect",
  transport: "transport",
  idle: "idle_seconds",
  msgs_in: "msgs_in",
  msgs_from: "msgs_in",
  msgs_out: "msgs_out",
  msgs_to: "msgs_out",
  bytes_in: "bytes_in",
  bytes_from: "bytes_in",
  bytes_out: "bytes_out",
  bytes_to: "bytes_out",
  bytes_queued: "bytes_queued",
  pending: "bytes_queued",
};

/** Fields sorted smallest first; the rest (counts, idle time) largest first. */
const ASCENDING = new Set<keyof ClientInfo>([
  "id",
  "connected_ms",
  "remote",
  "dialect",
  "transport",
]);

/** The most rows one page holds, as nats-server's default. */
export const DEFAULT_LIMIT = 1024;

/** The body of `GET /connz`. */
export interface Connz {
  /** Now, in milliseconds since the epoch. */
  now_ms: number;
  /** Open connections in all. */
  total: number;
  /** Connections skipped before this page (`?offset=`). */
  offset: number;
  /** The most connections this page holds (`?limit=`). */
  limit: number;
  /** The sort key, as asked (`?sort=`, `id` by default). */
  sort: string;
  /** This page of the open connections, in `sort` order. */
  connections: ClientInfo[];
  /** Recent departures, newest first. */
  recent_closes: ClosedClient[];
}

/** A JSON answer: its status and body. */
export interface JsonAnswer {
  /** The HTTP status: 200, 400 or 404. */
  status: number;
  /** What to send as JSON. */
  body: unknown;
}

function wholeNumber(text: string | null, fallback: number): number | null {
  if (text === null || text === "") return fallback;
  return /^\d{1,9}$/.test(text) ? Number(text) : null;
}

/**
 * Answers `/connz` with `params` (`sort`, `limit`, `offset`): 400 with an
 * `error` for a bad one.
 *
 * @example
 * ```ts ignore
 * const { status, body } = connz(source, new URLSearchParams("sort=bytes_in&limit=2"));
 * ```
 */
export function connz(
  source: MonitorSource,
  params: URLSearchParams,
): JsonAnswer {
  const sort = params.get("sort") ?? "id";
  const key = SORT_KEYS[sort];
  if (key === undefined) {
    return {
      status: 400,
      body: {
        error: `Unknown sort "${sort}": use one of ${
          Object.keys(SORT_KEYS).join(", ")
        }`,
      },
    };
  }
  const limit = wholeNumber(params.get("limit"), DEFAULT_LIMIT);
  const offset = wholeNumber(params.get("offset"), 0);
  if (limit === null || offset === null) {
    return {
      status: 400,
      body: { error: "Limit and offset must be whole numbers" },
    };
  }
  const clients = source.clients();
  const up = ASCENDING.has(key) ? 1 : -1;
  clients.sort((a, b) => {
    const x = a[key];
    const y = b[key];
    const order = x < y ? -1 : x > y ? 1 : 0;
    return order * up || a.id - b.id;
  });
  const body: Connz = {
    now_ms: Date.now(),
    total: clients.length,
    offset,
    limit,
    sort,
    connections: clients.slice(offset, offset + limit),
    recent_closes: source.recentCloses().slice().reverse(),
  };
  return { status: 200, body };
}

/** Answers `/connz/ID`: the client, or 404. */
export function connzOne(source: MonitorSource, id: string): JsonAnswer {
  const client = /^\d{1,15}$/.test(id) ? source.client(Number(id)) : undefined;
  return client === undefined
    ? { status: 404, body: { error: `No client "${id}"` } }
    : { status: 200, body: client };
}
