/**
 * One client connection (private to the hub): its read loop, its parser,
 * its outbound queue, its timers and its close reason (its requests are
 * handled in `_session_requests.ts`). A session sees the hub only
 * through a {@linkcode SessionHost} and its connection only through a
 * {@linkcode SessionConn}, so another transport can feed sessions too.
 *
 * @module
 */
import {
  encodeError,
  ErrorCode,
  Kind,
  type OutboundQueue,
  WsCloseCode,
  wsCloseCodeFor,
} from "../protocol/mod.ts";
import { CloseReason } from "./close_reason.ts";
import { Outbox, stall } from "./_outbox.ts";
import { HeldReplies } from "./_held_replies.ts";
import { Due, SessionClock } from "./_session_clock.ts";
import type { Peer } from "./_peer.ts";
import { Dialect } from "./registry.ts";
import {
  addressOf,
  constantTimeEqual,
  FairShare,
  FATAL,
  firstReadBuffer,
  handshake,
  isConnectionError,
  nextReadBuffer,
  type SessionHost,
  type SessionOptions,
} from "./_session_host.ts";
import type { Requester } from "./_session_requests.ts";
import { SessionInput } from "./_session_input.ts";
import type { SessionConn, SessionFraming } from "./session_conn.ts";

const State = { Open: 0, Closing: 1, Closed: 2 } as const;
type State = typeof State[keyof typeof State];

/** A missing payload at least this large is read into its frame directly. */
const DIRECT_READ = 64 * 1024;
/** How long a closing connection's input is read and dropped after its last bytes. */
const LINGER_MS = 1000;

const encoder = new TextEncoder();
const PING = new Uint8Array([Kind.Ping, 0, 0, 0, 0]);

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
   * mark (see `OutboundQueue.pressed`), or a pressed window to another hub;
   * the read loop pauses for it before reading on.
   */
  pressure: Peer["pressure"] = null;
  /** Bytes for this client that are not yet written. */
  readonly queue: OutboundQueue;
  /** Frames and text commands received from it, for `/connz`. */
  msgsIn = 0;
  /** Bytes received from it, for `/connz`. */
  bytesIn = 0;
  /** When it was accepted, in milliseconds since the epoch. */
  readonly connectedAt: number = Date.now();
  #hub: SessionHost<Session>;
  #conn: SessionConn;
  /** The conn's framing when it carries messages (WebSocket); null on TCP. */
  #framing: SessionFraming | null;
  #requester: Requester;
  /** Where every byte for the client goes. */
  #out: Outbox;
  #state: State = State.Open;
  #reason: CloseReason | null = null;
  #detail: string | null = null;
  #authed: boolean;
  #eof = false;
  #flushed = false;
  #linger: ReturnType<typeof setTimeout> | undefined;
  #input: SessionInput;
  #clock: SessionClock;
  #fair = new FairShare();
  /** Settled once the connection is closed. */
  #closed = Promise.withResolvers<void>();
  /** Replies held behind a receipt that other hubs have yet to confirm. */
  #held = new HeldReplies((bytes, text) => {
    if (this.#state !== State.Closed) this.#out.send(bytes, text);
  });

  /**
   * Made by the hub for each accepted connection;
   * {@linkcode Session.run} starts it.
   *
   * @param host the hub, as sessions see it
   * @param conn the accepted connection, of whatever transport
   * @param options its id, and whether the hub was full
   */
  constructor(
    host: SessionHost<Session>,
    conn: SessionConn,
    options: SessionOptions,
  ) {
    this.#hub = host;
    this.#conn = conn;
    this.id = options.id;
    this.refused = options.refused;
    this.#authed = host.config.token === null;
    this.#out = new Outbox({
      host,
      conn,
      onError: () => this.#destroy(CloseReason.Reset),
      onFull: () => this.#fatal(ErrorCode.SlowConsumer),
      id: options.id,
    });
    this.queue = this.#out.queue;
    this.#clock = new SessionClock(performance.now());
    this.#framing = conn.framing ?? null;
    this.#requester = this.#requests();
    this.#input = new SessionInput({
      requester: this.#requester,
      pool: host.pool,
      fanout: host.fanout,
      framedDialect: () => this.#framing?.dialect,
      open: () => this.#state === State.Open,
      fatal: (code, message) => this.#fatal(code, message),
      chosen: (dialect, first) => this.#chosen(dialect, first),
    }, this.#authed);
    this.#framing?.attach({
      control: (frame) => {
        if (this.#state === State.Open) this.#out.control(frame);
      },
      ended: (code, reason, detail) => {
        if (this.#state !== State.Open) return;
        this.#detail = detail;
        this.#end(reason, undefined, code);
      },
    });
  }

  /** Whether the connection came over WebSocket: `"ws"`, else `"tcp"`. */
  get transport(): "tcp" | "ws" {
    return this.#framing === null ? "tcp" : "ws";
  }

  /** Frames and replies queued for it (deliveries included), for `/connz`. */
  get msgsOut(): number {
    return this.#out.frames;
  }

  /** Whether it has authenticated, or needs not. */
  get authenticated(): boolean {
    return this.#authed;
  }

  /** Milliseconds since it last sent anything. */
  get idleMs(): number {
    return performance.now() - this.#clock.heardAt;
  }

  /** The dialect, once the first byte has arrived. */
  get dialect(): Dialect {
    return this.#input.dialect;
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
    return addressOf(this.#conn.remoteAddr);
  }

  /** Reads until the connection ends. Never rejects. */
  async run(): Promise<void> {
    let buf = firstReadBuffer();
    try {
      if (this.#conn.handshake !== undefined) await this.#handshake();
      while (this.#state !== State.Closed) {
        // A large body still missing is read straight into its frame.
        const direct = this.#input.pending;
        const into = direct !== null && direct.length >= DIRECT_READ
          ? direct
          : buf;
        const n = await this.#conn.read(into);
        if (n === 0) {
          // A message transport read frames without data: activity still.
          this.#clock.heard(performance.now());
          if (this.#fair.due(this.#framing?.received ?? 0)) {
            await this.#hub.turn();
          }
          continue;
        }
        if (n === null) {
          this.#eof = true;
          if (this.#state === State.Open) this.#end(CloseReason.ClientClosed);
          else if (this.#flushed) this.#destroy(CloseReason.ClientClosed);
          break;
        }
        if (this.#state !== State.Open) {
          // Dropped unread, but a flood still waits its turn like any read.
          if (this.#fair.due(n)) await this.#hub.turn();
          continue;
        }
        this.#clock.heard(performance.now());
        const received = this.#framing?.received ?? n;
        this.#hub.counters.bytesIn += received;
        this.bytesIn += received;
        if (into === buf) {
          this.#input.read(buf.subarray(0, n));
          // The chunk is handled: nothing refers to the buffer any more.
          buf = nextReadBuffer(buf, n);
        } else {
          this.#input.filled(n);
        }
        if (this.pressure !== null) {
          const target = this.pressure;
          this.pressure = null;
          await stall(
            target.queue,
            this.#hub.config.maxStall,
            this.#hub.counters,
          );
        }
        if (this.#fair.due(n)) await this.#hub.turn();
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
    await this.#closed.promise;
    await this.queue.settled();
  }

  /**
   * Runs the transport's handshake (TLS, a WebSocket upgrade) before the
   * first read, so that its failure closes under a reason of its own.
   */
  async #handshake(): Promise<void> {
    const failed = await handshake(this.#conn, this.refused);
    if (failed === null || this.#state !== State.Open) return;
    this.#detail = failed.detail;
    if (failed.response === undefined) this.#destroy(failed.reason);
    else this.#end(failed.reason, failed.response);
  }

  /**
   * The dialect is known: refuses the client, registers it, or has it send
   * AUTH first (returns true then). Before authentication nothing but AUTH
   * is read: the first frame must be one, and its kind is the first byte.
   */
  #chosen(dialect: Dialect, first: number): boolean {
    if (dialect === Dialect.Text) this.#out.text = true;
    if (this.refused) return (this.#fatal(ErrorCode.TooManyClients), false);
    if (this.#authed) return (this.#hub.registry.add(this), false);
    if (dialect === Dialect.Binary && first !== Kind.Auth) {
      return (this.#fatal(ErrorCode.Unauthorized), false);
    }
    return true;
  }

  /**
   * Queues bytes for the client. Bytes that do not fit its queue's bound
   * (`OutboundQueue.fits`) make it a slow consumer: it gets ERROR 3 after
   * what is queued, and the bytes are dropped. Over WebSocket they go as a
   * text message to a text client unless `text` is false.
   */
  send(bytes: Uint8Array, text = true): boolean {
    if (this.#state !== State.Open) return false;
    // Behind a receipt still to come: held, in order.
    if (this.#held.holding) return (this.#held.hold(bytes, text), true);
    return this.#out.send(bytes, text);
  }

  /**
   * Queues a reply still to come (a receipt that other hubs have yet to
   * confirm): the replies after it wait behind it, in order.
   */
  later(reply: Promise<Uint8Array>): void {
    if (this.#state === State.Open) this.#held.later(reply);
  }

  /**
   * Queues `bytes[start..end)`, as {@linkcode send} does, without a view:
   * `frames` frames, for the counters; one WebSocket message.
   */
  sendRange(
    bytes: Uint8Array,
    start: number,
    end: number,
    frames = 1,
    text = true,
  ): boolean {
    if (this.#state !== State.Open) return false;
    return this.#out.sendRange(bytes, start, end, frames, text);
  }

  /** Queues a whole WebSocket message, header included: see `Peer`. */
  sendFramed(
    bytes: Uint8Array,
    start: number,
    end: number,
    frames: number,
  ): boolean {
    if (this.#state !== State.Open) return false;
    return this.#out.sendFramed(bytes, start, end, frames);
  }

  /** The session as its request handlers see it; made once, at construction. */
  #requests(): Requester {
    return {
      peer: this,
      host: this.#hub,
      open: true,
      authed: this.#authed,
      framed: this.#framing !== null,
      counts: this,
      send: (bytes, text) => this.send(bytes, text),
      sendRange: (bytes, start, end) =>
        this.#held.holding
          ? this.send(bytes.subarray(start, end))
          : this.sendRange(bytes, start, end),
      auth: (token) => this.#auth(token),
      fatal: (code) => this.#fatal(code),
      quit: () =>
        this.#end(CloseReason.ClientQuit, undefined, WsCloseCode.Normal),
    };
  }

  /** Checks a token; a wrong one is fatal. Registers on first success. */
  #auth(token: Uint8Array): boolean {
    const expected = this.#hub.config.token;
    if (expected !== null && !constantTimeEqual(token, expected)) {
      this.#fatal(ErrorCode.Unauthorized);
      return false;
    }
    if (!this.#authed) {
      this.#authed = true;
      this.#requester.authed = true;
      this.#input.authenticated();
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
    const last = this.#input.dialect === Dialect.Text
      ? encoder.encode(`error ${fatal.text}\n`)
      : encodeError(code, message ?? fatal.text);
    this.#end(fatal.reason, last, wsCloseCodeFor(code as ErrorCode));
  }

  /**
   * Stops serving: unregisters at once, flushes the backlog and `last`, then
   * half-closes and reads what still arrives for a short linger, so that a
   * reset does not destroy the last bytes before the peer reads them.
   */
  #end(reason: CloseReason, last?: Uint8Array, closeCode?: number): void {
    if (this.#state !== State.Open) return;
    this.#state = State.Closing;
    this.#requester.open = false;
    this.#reason = reason;
    this.#hub.registry.delete(this);
    // Replies held behind a receipt go out first (at most the ack timeout).
    this.#held.whenEmpty(() => this.#finish(reason, last, closeCode));
  }

  /** Flushes the backlog and `last`, then half-closes; see {@linkcode #end}. */
  #finish(reason: CloseReason, last?: Uint8Array, closeCode?: number): void {
    if (this.#state === State.Closed) return;
    this.#out.finish(last, closeCode);
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
    this.#requester.open = false;
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
    this.#closed.resolve();
  }

  /** Shutdown: the error in the dialect, or a silent close before the first byte. */
  shutdown(): void {
    if (this.#input.dialect !== Dialect.Unknown) {
      this.#fatal(ErrorCode.ShuttingDown);
    } else if (this.#framing?.open === true) {
      // Upgraded but silent: no dialect for an error, but a close frame.
      this.#end(CloseReason.Shutdown, undefined, WsCloseCode.GoingAway);
    } else this.#destroy(CloseReason.Shutdown);
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
    const open = this.#state === State.Open;
    const view = {
      waiting: !this.#authed || this.#input.dialect === Dialect.Unknown,
      pinged: open && this.#input.dialect === Dialect.Binary,
      open,
    };
    const config = this.#hub.config;
    switch (this.#clock.check(now, late, view, this.queue, config)) {
      case Due.Handshake:
        return this.#destroy(CloseReason.HandshakeTimeout);
      case Due.WriteStalled:
        this.#hub.log("warn", "slow consumer", {
          id: this.id,
          stalled_ms: Math.round(this.#clock.stalledFor(now)),
        });
        if (open) this.#hub.counters.slowConsumers++;
        return this.#destroy(open ? CloseReason.SlowConsumer : this.#reason!);
      case Due.Ping:
        this.#clock.pinged(now);
        this.send(PING);
        return;
      case Due.PingTimeout:
        return this.#fatal(ErrorCode.Timeout);
    }
  }
}

export type {
  SessionConfig,
  SessionHost,
  SessionOptions,
} from "./_session_host.ts";
