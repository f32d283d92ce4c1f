/**
 * What a session sees of its hub (private to the hub): the narrow
 * {@linkcode SessionHost} the hub hands each session, the options it reads,
 * and the fixed tables and checks the session and its request handlers
 * share.
 *
 * @module
 */
import type { BufferPool, OutboundArena } from "../protocol/mod.ts";
import { ErrorCode } from "../protocol/mod.ts";
import { CloseReason } from "./close_reason.ts";
import type { HubConfig } from "./config.ts";
import { HandshakeRefused, type SessionConn } from "./session_conn.ts";
import type { Fanout } from "./_fanout.ts";
import type { HubCounters } from "./metrics.ts";
import type { HubLog, RegisteredClient, Registry } from "./registry.ts";

/** The options a session reads, resolved once by the hub. */
export type SessionConfig = Pick<
  HubConfig,
  | "token"
  | "maxPending"
  | "maxStall"
  | "handshakeTimeout"
  | "writeTimeout"
  | "pingInterval"
>;

/**
 * What a session needs of its hub: the narrow view the hub hands each
 * session, as `ClusterHost` is the cluster link's view of it. `S` is the
 * session type, a parameter so that this file need not import the session.
 */
export interface SessionHost<S extends RegisteredClient = RegisteredClient> {
  /** The options sessions read. */
  readonly config: SessionConfig;
  /** Counters sessions bump. */
  readonly counters: HubCounters;
  /** Large buffers: frames split across reads, pooled replies. */
  readonly pool: BufferPool;
  /** Where small replies are written, shared by every session. */
  readonly arena: OutboundArena;
  /** The relay path. */
  readonly fanout: Fanout;
  /** The registered clients: a session registers itself, leaves and lists. */
  readonly registry: Registry<S>;
  /**
   * Forgets a session that has closed, and is no longer registered: counts
   * and logs its close.
   */
  closed(session: S): void;
  /**
   * Resolves after the event loop has polled every socket once more, for a
   * session that has read its fair share in a row.
   */
  turn(): Promise<void>;
  /** Logs an event. */
  log: HubLog;
}

/** Options of {@linkcode Session}. */
export interface SessionOptions {
  /** The user id the hub gave the connection. */
  id: number;
  /** Whether the hub was full at accept: the first byte then gets ERROR 4. */
  refused: boolean;
}

/** What each fatal error code means: its close reason and its text-dialect line. */
export const FATAL: Record<
  number,
  { code: number; reason: CloseReason; text: string }
> = {
  [ErrorCode.Malformed]: {
    code: 1,
    reason: CloseReason.Malformed,
    text: "malformed frame",
  },
  [ErrorCode.TooLarge]: {
    code: 2,
    reason: CloseReason.TooLarge,
    text: "line too long",
  },
  [ErrorCode.SlowConsumer]: {
    code: 3,
    reason: CloseReason.SlowConsumer,
    text: "slow consumer",
  },
  [ErrorCode.TooManyClients]: {
    code: 4,
    reason: CloseReason.TooManyClients,
    text: "too many clients",
  },
  [ErrorCode.Timeout]: {
    code: 5,
    reason: CloseReason.Timeout,
    text: "timeout",
  },
  [ErrorCode.ShuttingDown]: {
    code: 6,
    reason: CloseReason.Shutdown,
    text: "hub shutting down",
  },
  [ErrorCode.Unauthorized]: {
    code: 7,
    reason: CloseReason.Unauthorized,
    text: "unauthorized",
  },
};

/**
 * What a read throws when the peer resets or the hub closed the socket; over
 * TLS also a corrupt record, or a hang-up without TLS's closing alert.
 */
export function isConnectionError(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.InvalidData ||
    error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.TimedOut;
}

/** Compares a token in time that does not depend on where it differs. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i]!;
  return diff === 0;
}

/**
 * Read buffers start small, so that 10,000 quiet clients cost little, double
 * while reads fill them, up to the largest, and drop back once reads are
 * small again.
 */
const READ_MIN = 4 * 1024;
/**
 * The first read buffer: most of what an idle client ever sends (a request,
 * a login) fits, and it doubles like any other once a read fills it.
 */
const READ_FIRST = 512;
const READ_MAX = 256 * 1024;

/** A session's first read buffer. */
export function firstReadBuffer(): Uint8Array {
  return new Uint8Array(READ_FIRST);
}

/** The buffer for the next read, after a read of `n` bytes into `buf`. */
export function nextReadBuffer(buf: Uint8Array, n: number): Uint8Array {
  if (n === buf.length && n < READ_MAX) return new Uint8Array(n * 2);
  if (n < buf.length / 16 && buf.length > READ_MIN) {
    return new Uint8Array(READ_MIN);
  }
  return buf;
}

/** How a transport's handshake failed: see {@linkcode handshake}. */
export interface HandshakeFailure {
  /** The close reason. */
  reason: CloseReason;
  /** What went wrong beyond the reason, for the close log line. */
  detail: string | null;
  /** A refusal to send before closing (an HTTP answer); none: close at once. */
  response?: Uint8Array;
}

/**
 * Runs `conn`'s handshake (TLS, a WebSocket upgrade); null when it went
 * through. A peer that hangs up before saying anything (a port check) has
 * closed, nothing more.
 */
export async function handshake(
  conn: SessionConn,
  refused: boolean,
): Promise<HandshakeFailure | null> {
  try {
    await conn.handshake!({ refused });
    return null;
  } catch (error) {
    if (error instanceof HandshakeRefused) {
      // The refusal goes out, then the close, as after a fatal error.
      return {
        reason: error.reason,
        detail: error.message,
        response: error.response,
      };
    }
    // InvalidData is TLS turning the peer down; other socket errors mean it left.
    if (error instanceof Deno.errors.InvalidData || !isConnectionError(error)) {
      const detail = error instanceof Error ? error.message : String(error);
      return { reason: CloseReason.TlsHandshake, detail };
    }
    return { reason: CloseReason.ClientClosed, detail: null };
  }
}

/** `host:port` of a peer's address, for logs and `/connz`. */
export function addressOf(addr: Deno.Addr): string {
  return "hostname" in addr
    ? `${addr.hostname}:${addr.port}`
    : String(addr.transport);
}

/** Bytes a session may read in a row before it lets other sessions read. */
const FAIR_SHARE = 256 * 1024;

/** Counts a session's reads in a row, to let other sessions have their turn. */
export class FairShare {
  #unyielded = 0;

  /**
   * Counts `n` bytes read; true once FAIR_SHARE have been read in a row, when
   * the session should let every other socket be polled before reading on.
   */
  due(n: number): boolean {
    this.#unyielded += n;
    if (this.#unyielded < FAIR_SHARE) return false;
    this.#unyielded = 0;
    return true;
  }
}
