/**
 * What the runner needs from a server under test: connections set up as
 * senders and receivers, the bytes of one message, and a walker that counts
 * what each connection reads. One implementation per server: msghub and NATS.
 *
 * @module
 */
import type { Shape } from "./presets.ts";
import type { LatencyHistogram } from "./stats.ts";
import { tcpWire, type Transport, type Wire } from "./wire.ts";
import { dialWs } from "./ws_wire.ts";

/** Counts what one connection reads; see `FrameWalker` and `NatsWalker`. */
export interface Walker {
  /** Messages delivered so far. */
  readonly delivered: number;
  /** Body bytes of those messages. */
  readonly bodyBytes: number;
  /** PINGs to answer; the reader answers and resets it. */
  pings: number;
  /** Set when the server reported an error: the connection is done. */
  readonly error: { code: number; message: string } | null;
  /** Walks one chunk read at `nowUs` (microseconds on the stamps' clock). */
  feed(chunk: Uint8Array, nowUs: number): void;
}

/** One connection and the walker of what it reads. */
export interface Peer {
  /** The socket, over TCP or WebSocket. */
  readonly wire: Wire;
  /** What reads and counts the socket's bytes. */
  readonly walker: Walker;
}

/** A sender, its receivers and the message it sends them. */
export interface Link {
  /** The connection that sends. */
  readonly sender: Peer;
  /** The connections that each get every message. */
  readonly receivers: readonly Peer[];
  /** One message as written on the wire (a RELAY frame or a NATS PUB). */
  readonly message: Uint8Array;
  /** Where the body's stamp starts in `message`. */
  readonly stampOffset: number;
}

/** Where a server listens. */
export interface Address {
  /** The host name or IP address. */
  hostname: string;
  /** The TCP port. */
  port: number;
}

/** What a driver needs to set up a run's connections. */
export interface ConnectPlan {
  /** Senders, receivers per sender and body size. */
  shape: Shape;
  /** Where every receiver records latencies. */
  histogram: LatencyHistogram;
  /** Stamp bytes at the start of each body; 0 for none. */
  stampLength: number;
  /** How every connection reaches the server: `address` is then its port for it. */
  transport: Transport;
  /**
   * Where senders connect when not where the receivers are: another hub of
   * the same cluster (msghub only).
   */
  senderAddress?: Address;
}

/** A way of driving one kind of server. */
export interface Driver {
  /** "msghub" or "nats", for reports. */
  readonly name: "msghub" | "nats";
  /** The bytes that answer one PING. */
  readonly pong: Uint8Array;
  /**
   * Opens and registers every connection of `plan.shape`: when this resolves,
   * each receiver is known to the server and will get what its sender sends.
   */
  connect(address: Address, plan: ConnectPlan): Promise<Link[]>;
}

/**
 * Opens a connection with Nagle's algorithm off: plain TCP, or a WebSocket
 * upgraded over it.
 */
export async function dial(
  address: Address,
  transport: Transport,
): Promise<Wire> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ ...address, transport: "tcp" });
  } catch (error) {
    throw new Error(
      `Cannot connect to ${address.hostname}:${address.port}: ${
        (error as Error).message
      }`,
      { cause: error },
    );
  }
  conn.setNoDelay(true);
  if (transport === "tcp") return tcpWire(conn);
  const host = address.hostname.includes(":")
    ? `[${address.hostname}]:${address.port}`
    : `${address.hostname}:${address.port}`;
  return await dialWs(conn, host);
}

/**
 * Reads into `peer`'s walker until `done` holds, for connection setup.
 * Throws on EOF, on a server error or after `ms`.
 */
export async function readUntil(
  peer: Peer,
  done: () => boolean,
  what: string,
  ms = 10_000,
): Promise<void> {
  const buf = new Uint8Array(16 * 1024);
  const { wire, walker } = peer;
  const feed = (bytes: Uint8Array) => walker.feed(bytes, 0);
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    wire.close();
  }, ms);
  try {
    while (!done()) {
      let n: number | null;
      let open: boolean;
      try {
        n = await wire.read(buf);
        open = n !== null && wire.unwrap(buf.subarray(0, n), feed);
      } catch (error) {
        throw new Error(
          late
            ? `Cannot set up connection: no answer to ${what} within ${ms} ms`
            : `Cannot set up connection: ${what} failed: ${
              (error as Error).message
            }`,
          { cause: error },
        );
      }
      const error = walker.error;
      if (error !== null) {
        throw new Error(
          `Cannot set up connection: the server answered ${what} with error ${error.code}: "${error.message}"`,
        );
      }
      if (!open) {
        throw new Error(
          `Cannot set up connection: the server closed it before ${what}`,
        );
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `open` for `count` indexes, at most `parallel` at a time, in order. */
export async function openAll<T>(
  count: number,
  open: (index: number) => Promise<T>,
  parallel = 32,
): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      out[index] = await open(index);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, worker),
  );
  return out;
}
