/**
 * One client connection (private to the hub): its read loop, its parser,
 * its outbound queue and its close reason. A session sees the hub only
 * through a {@linkcode SessionHost} and its connection only through a
 * {@linkcode SessionConn}, so another transport can feed sessions too.
 *
 * @module
 */
import {
  ARENA_LARGE,
  type BufferPool,
  encodeError,
  encodeIdentityReply,
  encodeListReply,
  ErrorCode,
  FrameParser,
  HEADER_SIZE,
  isBinaryFirstByte,
  Kind,
  MAX_LINE,
  type OutboundArena,
  OutboundQueue,
  ProtocolError,
  REQUEST_LIMITS,
  type TextCommand,
  TextParser,
  writeHeader,
} from "../protocol/mod.ts";
import { formatList, formatRelayed, TEXT_HELP } from "../protocol/mod.ts";
import { CloseReason } from "./close_reason.ts";
import type { HubConfig } from "./config.ts";
import type { Fanout, Peer } from "./_fanout.ts";
import type { HubCounters } from "./metrics.ts";
import { Dialect, type HubLog, type Registry } from "./registry.ts";
import type { SessionConn } from "./session_conn.ts";

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
 * session, as `ClusterHost` is the cluster link's view of it.
 */
export interface SessionHost {
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
  readonly registry: Registry<Session>;
  /**
   * Forgets a session that has closed, and is no longer registered: counts
   * and logs its close.
   */
  closed(session: Session): void;
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

const State = { Open: 0, Closing: 1, Closed: 2 } as const;
type State = typeof State[keyof typeof State];

/**
 * Read buffers start small, so that 10,000 quiet clients cost little, double
 * while reads fill them, up to the largest, and drop back once reads are
 * small again.
 */
const READ_MIN = 4 * 1024;
const READ_MAX = 256 * 1024;
/** Bytes a session may read in a row before it lets other sessions read. */
const FAIR_SHARE = 256 * 1024;
/** Replies up to this size are copied into the arena by `send`. */
const SMALL_REPLY = 256;
/** The longest line read before authentication: `auth ` and a 1024-byte token. */
const PRE_AUTH_LINE = 5 + 1024 + 64;
/** A missing payload at least this large is read into its frame directly. */
const DIRECT_READ = 64 * 1024;
/** How long a closing connection's input is read and dropped after its last bytes. */
const LINGER_MS = 1000;

const encoder = new TextEncoder();
const PING = new Uint8Array([Kind.Ping, 0, 0, 0, 0]);
const PONG = new Uint8Array([Kind.Pong, 0, 0, 0, 0]);
const AUTH_OK = new Uint8Array([Kind.AuthOk, 0, 0, 0, 0]);
const ECHO_HEAD = encoder.encode("echo ");
const ECHO_BARE = encoder.encode("echo");

const FATAL: Record<
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
 * One connection: its read loop, its outbound queue and its close reason.
 * The hub owns the registry; a session asks it to relay and to list.
 *
 * @example Serve one connection with a host of one's own
 * ```ts ignore
 * const session = new Session(host, conn, { id: 1, refused: false });
 * await session.run(); // resolves once the connection has closed
 * ```
 */
export class Session implements Peer {
  /** The user id given at accept. */
  readonly id: number;
  /** Marks the relay that last reached this session, for de-duplication. */
  stamp = 0;
  /** Set when the hub was full at accept: the first byte gets ERROR 4. */
  readonly refused: boolean;
  /**
   * A receiver that one of this session's relays left past its queue's
   * mark (see `OutboundQueue.pressed`); the read loop pauses for it before
   * reading on.
   */
  pressure: Peer | null = null;
  /** Bytes for this client that are not yet written. */
  readonly queue: OutboundQueue;
  #dialect: Dialect = Dialect.Unknown;
  #hub: SessionHost;
  #conn: SessionConn;
  #state: State = State.Open;
  #reason: CloseReason | null = null;
  #detail: string | null = null;
  #authed: boolean;
  #eof = false;
  #flushed = false;
  #linger: ReturnType<typeof setTimeout> | undefined;
  #frames: FrameParser | null = null;
  #text: TextParser | null = null;
  #acceptedAt: number;
  #lastRead: number;
  #pings = 0;
  #unyielded = 0;
  #pingAt = 0;
  #progress = 0;
  #progressAt: number;
  /**
   * Replies held behind a receipt that other hubs have yet to confirm, in
   * order; `null` while none waits. `bytes` is `null` until it has come.
   */
  #held: { bytes: Uint8Array | null }[] | null = null;
  /** What the end of the connection waits for until the held replies are out. */
  #afterHeld: (() => void) | null = null;

  /**
   * Made by the hub for each accepted connection;
   * {@linkcode Session.run} starts it.
   *
   * @param host the hub, as sessions see it
   * @param conn the accepted connection, of whatever transport
   * @param options its id, and whether the hub was full
   */
  constructor(host: SessionHost, conn: SessionConn, options: SessionOptions) {
    this.#hub = host;
    this.#conn = conn;
    this.id = options.id;
    this.refused = options.refused;
    this.#authed = host.config.token === null;
    this.queue = new OutboundQueue(conn, {
      onError: () => this.#destroy(CloseReason.Reset),
      pool: host.pool,
      limit: host.config.maxPending,
    });
    this.#acceptedAt = this.#lastRead = this.#progressAt = performance.now();
  }

  /** The dialect, once the first byte has arrived. */
  get dialect(): Dialect {
    return this.#dialect;
  }

  /** Why the connection closed or is closing; `null` while it is open. */
  get closeReason(): CloseReason | null {
    return this.#reason;
  }

  /** What went wrong beyond the reason (a TLS alert), for the close log line. */
  get closeDetail(): string | null {
    return this.#detail;
  }

  /** The peer's address, for logs. */
  get remote(): string {
    const addr = this.#conn.remoteAddr;
    return "hostname" in addr
      ? `${addr.hostname}:${addr.port}`
      : String(addr.transport);
  }

  /** Reads until the connection ends. Never rejects. */
  async run(): Promise<void> {
    let buf = new Uint8Array(READ_MIN);
    try {
      if (this.#conn.handshake !== undefined) await this.#handshake();
      while (this.#state !== State.Closed) {
        // A large body still missing is read straight into its frame.
        const direct = this.#frames?.pending ?? null;
        const into = direct !== null && direct.length >= DIRECT_READ
          ? direct
          : buf;
        const n = await this.#conn.read(into);
        if (n === null) {
          this.#eof = true;
          if (this.#state === State.Open) this.#end(CloseReason.ClientClosed);
          else if (this.#flushed) this.#destroy(CloseReason.ClientClosed);
          break;
        }
        if (this.#state !== State.Open) {
          // Dropped unread, but a flood still waits its turn like any read.
          if (this.#turnDue(n)) await this.#hub.turn();
          continue;
        }
        this.#lastRead = performance.now();
        this.#hub.counters.bytesIn += n;
        this.#pings = 0;
        if (into === buf) {
          this.#read(buf.subarray(0, n));
          // The chunk is handled: nothing refers to the buffer any more.
          if (n === buf.length && n < READ_MAX) buf = new Uint8Array(n * 2);
          else if (n < buf.length / 16 && buf.length > READ_MIN) {
            buf = new Uint8Array(READ_MIN);
          }
        } else {
          this.#filled(n);
        }
        if (this.pressure !== null) await this.#stall();
        if (this.#turnDue(n)) await this.#hub.turn();
      }
    } catch (error) {
      if (!isConnectionError(error)) {
        // A bug of ours, not the peer's doing: say so, and keep serving others.
        this.#hub.log("error", "session failed", {
          id: this.id,
          error: String(error),
        });
      }
      this.#destroy(CloseReason.Reset);
    }
    // After EOF the bytes still queued flush first; #end closes after them.
    await this.#closedPromise;
    await this.queue.settled();
  }

  /**
   * Runs a TLS handshake before the first read, so that its failure closes
   * the connection under its own reason instead of as a read error. A peer
   * that hangs up before saying anything (a port check) closed, nothing more.
   */
  async #handshake(): Promise<void> {
    try {
      await this.#conn.handshake!();
    } catch (error) {
      if (this.#state !== State.Open) return;
      // InvalidData is TLS turning the peer down; other socket errors mean it left.
      if (
        error instanceof Deno.errors.InvalidData || !isConnectionError(error)
      ) {
        this.#detail = error instanceof Error ? error.message : String(error);
        this.#destroy(CloseReason.TlsHandshake);
      } else {
        this.#destroy(CloseReason.ClientClosed);
      }
    }
  }

  #closedResolve!: () => void;
  #closedPromise = new Promise<void>((resolve) =>
    this.#closedResolve = resolve
  );

  #read(chunk: Uint8Array): void {
    if (this.#dialect === Dialect.Unknown) this.#choose(chunk[0]!);
    if (this.#state !== State.Open) return;
    try {
      if (this.#frames !== null) {
        this.#frames.parse(chunk);
        this.#hub.fanout.flush();
      } else this.#text!.parse(chunk);
    } catch (error) {
      // The relays before the bad frame go out before its error.
      this.#hub.fanout.flush();
      if (!(error instanceof ProtocolError)) throw error;
      // Before authentication, whatever is not a proper AUTH is unauthorized.
      if (!this.#authed) return this.#fatal(ErrorCode.Unauthorized);
      const fatal = FATAL[error.code]!;
      this.#fatal(
        error.code,
        this.#frames !== null ? error.message : fatal.text,
      );
    }
  }

  /**
   * Counts `n` bytes read; true once FAIR_SHARE have been read in a row, when
   * the session should let every other socket be polled before reading on.
   */
  #turnDue(n: number): boolean {
    this.#unyielded += n;
    if (this.#unyielded < FAIR_SHARE) return false;
    this.#unyielded = 0;
    return true;
  }

  /**
   * Gives a receiver this session pushed past its queue's mark a moment to
   * drain before reading more: a draining receiver catches up instead of
   * being cut off, while one that is stuck costs its senders at most
   * `maxStall` per read until the limit or the write timeout removes it.
   */
  async #stall(): Promise<void> {
    const target = this.pressure!;
    this.pressure = null;
    const max = this.#hub.config.maxStall;
    if (max === 0) return;
    this.#hub.counters.stalls++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      target.queue.below(target.queue.mark),
      new Promise<void>((resolve) => timer = setTimeout(resolve, max)),
    ]);
    clearTimeout(timer);
  }

  #filled(n: number): void {
    try {
      this.#frames!.filled(n);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#fatal(error.code, error.message);
    }
  }

  #choose(first: number): void {
    if (isBinaryFirstByte(first)) {
      this.#dialect = Dialect.Binary;
      const pool = this.#hub.pool;
      this.#frames = FrameParser.ranges(REQUEST_LIMITS, this.#onFrame, {
        allocate: (size) => pool.take(size),
      });
    } else {
      this.#dialect = Dialect.Text;
      this.#text = new TextParser(this.#onCommand);
    }
    if (this.refused) return this.#fatal(ErrorCode.TooManyClients);
    if (this.#authed) return this.#hub.registry.add(this);
    // Until authenticated, nothing but AUTH is read: the first frame must be
    // one (its kind is the first byte), and a text line need only hold
    // `auth TOKEN`. So nobody makes the hub buffer a body before that.
    if (this.#frames !== null && first !== Kind.Auth) {
      return this.#fatal(ErrorCode.Unauthorized);
    }
    if (this.#text !== null) this.#text.maxLine = PRE_AUTH_LINE;
  }

  /**
   * Queues bytes for the client. Bytes that do not fit its queue's bound
   * (`OutboundQueue.fits`) make it a slow consumer: it gets ERROR 3 after
   * what is queued, and the bytes are dropped.
   */
  send(bytes: Uint8Array): boolean {
    if (this.#held !== null) {
      // Behind a receipt still to come: a copy, for the caller's buffer may
      // be reused before then.
      if (this.#state !== State.Open) return false;
      this.#held.push({ bytes: bytes.slice() });
      return true;
    }
    return this.#sendNow(bytes);
  }

  /** Queues a reply now, whatever is held; see {@linkcode send}. */
  #sendNow(bytes: Uint8Array): boolean {
    if (bytes.length > SMALL_REPLY) {
      return this.sendRange(bytes, 0, bytes.length);
    }
    // Small replies go into the arena, where back-to-back ones merge into
    // one range instead of each holding a buffer and a range of its own.
    const at = this.#hub.arena.claim(bytes.length);
    const chunk = this.#hub.arena.chunk;
    chunk.set(bytes, at);
    return this.sendRange(chunk, at, at + bytes.length);
  }

  /**
   * Queues a reply still to come (a receipt that other hubs have yet to
   * confirm): the replies after it wait behind it, in order.
   */
  later(reply: Promise<Uint8Array>): void {
    if (this.#state !== State.Open) return;
    const entry: { bytes: Uint8Array | null } = { bytes: null };
    (this.#held ??= []).push(entry);
    reply.then((bytes) => {
      entry.bytes = bytes;
      this.#release();
    });
  }

  /** Sends the held replies that have come, in order, up to one still to come. */
  #release(): void {
    const held = this.#held;
    if (held === null) return;
    let sent = 0;
    while (sent < held.length && held[sent]!.bytes !== null) sent++;
    const ready = held.splice(0, sent);
    if (held.length === 0) this.#held = null;
    for (const { bytes } of ready) {
      if (this.#state === State.Open) this.#sendNow(bytes!);
      else if (this.#state === State.Closing) this.queue.push(bytes!);
    }
    if (this.#held === null && this.#afterHeld !== null) {
      const then = this.#afterHeld;
      this.#afterHeld = null;
      then();
    }
  }

  /**
   * Queues `bytes[start..end)`, as {@linkcode send} does, without a view:
   * `frames` frames, for the counters.
   */
  sendRange(
    bytes: Uint8Array,
    start: number,
    end: number,
    frames = 1,
  ): boolean {
    if (this.#state !== State.Open) return false;
    if (!this.queue.fits(end - start)) {
      this.#hub.log("warn", "slow consumer", {
        id: this.id,
        queued: this.queue.queued,
        limit: this.queue.limit,
      });
      this.#fatal(ErrorCode.SlowConsumer);
      return false;
    }
    this.queue.pushRange(bytes, start, end);
    this.#hub.counters.framesOut += frames;
    return true;
  }

  #line(text: string): void {
    this.send(encoder.encode(text + "\n"));
  }

  /**
   * One binary request: its payload is `source[start..end)`. A frame of its
   * own came from the hub's pool: whatever queued it holds it now, and the
   * parser's hold is given back.
   */
  #onFrame = (
    kind: number,
    source: Uint8Array,
    start: number,
    end: number,
    owned: boolean,
  ): void => {
    if (!owned) return this.#handleFrame(kind, source, start, end, false);
    try {
      this.#handleFrame(kind, source, start, end, true);
    } finally {
      this.#hub.pool.release(source.buffer);
    }
  };

  #handleFrame(
    kind: number,
    source: Uint8Array,
    start: number,
    end: number,
    owned: boolean,
  ): void {
    if (this.#state !== State.Open) return;
    this.#hub.counters.framesIn++;
    // A run of relays ends before anything else is answered or queued.
    if (kind !== Kind.Relay) this.#hub.fanout.flush();
    if (!this.#authed && kind !== Kind.Auth) {
      return this.#fatal(ErrorCode.Unauthorized);
    }
    switch (kind) {
      case Kind.Echo: {
        const length = end - start;
        if (owned && length >= ARENA_LARGE) {
          // The parser's buffer holds this frame alone: reuse its header.
          writeHeader(source, 0, Kind.EchoReply, length);
          this.send(source);
        } else if (this.#held !== null) {
          const reply = new Uint8Array(HEADER_SIZE + length);
          writeHeader(reply, 0, Kind.EchoReply, length);
          reply.set(source.subarray(start, end), HEADER_SIZE);
          this.send(reply);
        } else {
          const at = this.#hub.arena.claim(HEADER_SIZE + length);
          const chunk = this.#hub.arena.chunk;
          writeHeader(chunk, at, Kind.EchoReply, length);
          chunk.set(source.subarray(start, end), at + HEADER_SIZE);
          this.sendRange(chunk, at, at + HEADER_SIZE + length);
        }
        return;
      }
      case Kind.Identity:
        this.send(encodeIdentityReply(this.id));
        return;
      case Kind.List:
        this.send(encodeListReply(this.#hub.registry.listFor(this.id)));
        return;
      case Kind.Relay:
        this.#hub.fanout.relayFrame(this, source, start, end, owned, false);
        return;
      case Kind.RelayReceipted:
        this.#hub.fanout.relayFrame(this, source, start, end, owned, true);
        return;
      case Kind.Ping:
        this.send(PONG);
        return;
      case Kind.Pong:
        return;
      case Kind.Auth:
        if (this.#auth(source.subarray(start, end))) this.send(AUTH_OK);
        return;
    }
  }

  #onCommand = (command: TextCommand): void => {
    if (this.#state !== State.Open) return;
    this.#hub.counters.framesIn++;
    if (!this.#authed && command.type !== "auth") {
      return this.#fatal(ErrorCode.Unauthorized);
    }
    switch (command.type) {
      case "identity":
        return this.#line(`identity ${this.id}`);
      case "list":
        return this.#line(formatList(this.#hub.registry.listFor(this.id)));
      case "help":
        return this.#line(TEXT_HELP);
      case "quit":
        return this.#end(CloseReason.ClientQuit);
      case "echo": {
        const body = command.body;
        const head = body.length > 0 ? ECHO_HEAD : ECHO_BARE;
        const out = new Uint8Array(head.length + body.length + 1);
        out.set(head, 0);
        out.set(body, head.length);
        out[out.length - 1] = 0x0a;
        this.send(out);
        return;
      }
      case "auth":
        if (this.#auth(command.token)) this.#line("auth ok");
        return;
      case "relay": {
        const { delivered, unknown, remote } = this.#hub.fanout.relayText(
          this,
          command.ids,
          command.body,
        );
        if (remote === undefined) {
          return this.#line(formatRelayed(delivered, unknown));
        }
        // Other hubs have yet to confirm: the line waits for them, in order.
        return this.later(remote.then((receipt) =>
          encoder.encode(
            formatRelayed(receipt.delivered, receipt.unknown) + "\n",
          )
        ));
      }
      case "error":
        return this.#line(`error ${command.message}`);
    }
  };

  /** Checks a token; a wrong one is fatal. Registers on first success. */
  #auth(token: Uint8Array): boolean {
    const expected = this.#hub.config.token;
    if (expected !== null && !constantTimeEqual(token, expected)) {
      this.#fatal(ErrorCode.Unauthorized);
      return false;
    }
    if (!this.#authed) {
      this.#authed = true;
      if (this.#text !== null) this.#text.maxLine = MAX_LINE;
      this.#hub.registry.add(this);
    }
    return true;
  }

  /** Sends the fatal error in the connection's dialect, then closes. */
  #fatal(code: number, message?: string): void {
    if (this.#state !== State.Open) return;
    const fatal = FATAL[code]!;
    this.#hub.counters.errors[code]!++;
    if (code === ErrorCode.SlowConsumer) this.#hub.counters.slowConsumers++;
    const last = this.#dialect === Dialect.Text
      ? encoder.encode(`error ${fatal.text}\n`)
      : encodeError(code, message ?? fatal.text);
    this.#end(fatal.reason, last);
  }

  /**
   * Stops serving: unregisters at once, flushes the backlog and `last`, then
   * half-closes and reads what still arrives for a short linger, so that a
   * reset does not destroy the last bytes before the peer reads them.
   */
  #end(reason: CloseReason, last?: Uint8Array): void {
    if (this.#state !== State.Open) return;
    this.#state = State.Closing;
    this.#reason = reason;
    this.#hub.registry.delete(this);
    if (this.#held !== null) {
      // Replies held behind a receipt go out first (at most the ack timeout).
      this.#afterHeld = () => this.#finish(reason, last);
      return;
    }
    this.#finish(reason, last);
  }

  /** Flushes the backlog and `last`, then half-closes; see {@linkcode #end}. */
  #finish(reason: CloseReason, last?: Uint8Array): void {
    if (this.#state === State.Closed) return;
    if (last !== undefined) this.queue.push(last);
    this.queue.drained().then(() => {
      this.#flushed = true;
      if (this.#state === State.Closed) return;
      if (this.#eof) return this.#destroy(reason);
      try {
        // It returns a promise, which TLS (close_notify) may reject.
        this.#conn.closeWrite().catch(() => this.#destroy(reason));
      } catch {
        return this.#destroy(reason);
      }
      this.#linger = setTimeout(() => this.#destroy(reason), LINGER_MS);
    });
  }

  /** Closes at once, dropping whatever is queued. */
  #destroy(reason: CloseReason): void {
    if (this.#state === State.Closed) return;
    this.#state = State.Closed;
    this.#reason ??= reason;
    clearTimeout(this.#linger);
    this.queue.close();
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer's reset.
    }
    this.#hub.registry.delete(this);
    this.#hub.closed(this);
    this.#closedResolve();
  }

  /** Shutdown: the error in the dialect, or a silent close before the first byte. */
  shutdown(): void {
    if (this.#dialect === Dialect.Unknown) this.#destroy(CloseReason.Shutdown);
    else this.#fatal(ErrorCode.ShuttingDown);
  }

  /** Closes at once; for the end of a shutdown's drain. */
  abort(reason: CloseReason): void {
    this.#destroy(reason);
  }

  /**
   * Timers, checked by the hub's ticker: handshake, write progress, liveness.
   * `late` is how long the hub itself was stalled since the last tick.
   */
  tick(now: number, late = 0): void {
    if (this.#state === State.Closed) return;
    const config = this.#hub.config;
    if (late > 0) {
      // Time the hub spent stalled is nobody's fault: move the clocks on.
      this.#acceptedAt += late;
      this.#progressAt += late;
      this.#lastRead += late;
      this.#pingAt += late;
    }
    if (!this.#authed || this.#dialect === Dialect.Unknown) {
      if (
        now - this.#acceptedAt >= config.handshakeTimeout &&
        this.#state === State.Open
      ) {
        this.#destroy(CloseReason.HandshakeTimeout);
        return;
      }
    }
    if (!this.queue.writing || this.queue.progress !== this.#progress) {
      this.#progress = this.queue.progress;
      this.#progressAt = now;
    } else if (now - this.#progressAt >= config.writeTimeout) {
      this.#hub.log("warn", "slow consumer", {
        id: this.id,
        stalled_ms: Math.round(now - this.#progressAt),
      });
      if (this.#state === State.Open) this.#hub.counters.slowConsumers++;
      this.#destroy(
        this.#state === State.Open ? CloseReason.SlowConsumer : this.#reason!,
      );
      return;
    }
    if (this.#dialect !== Dialect.Binary || this.#state !== State.Open) return;
    if (this.#pings === 0) {
      if (now - this.#lastRead >= config.pingInterval) this.#ping(now);
    } else if (now - this.#pingAt >= config.pingInterval) {
      if (this.#pings < 2) this.#ping(now);
      else this.#fatal(ErrorCode.Timeout);
    }
  }

  #ping(now: number): void {
    this.#pings++;
    this.#pingAt = now;
    this.send(PING);
  }
}

/**
 * What a read throws when the peer resets or the hub closed the socket; over
 * TLS also a corrupt record, or a hang-up without TLS's closing alert.
 */
function isConnectionError(error: unknown): boolean {
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

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i]!;
  return diff === 0;
}
