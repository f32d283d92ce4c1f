import {
  encodeEcho,
  encodeFrame,
  encodeRelay,
  FrameParser,
  Kind,
  OutboundQueue,
  ProtocolError,
  readU64,
  REPLY_LIMITS,
} from "../protocol/mod.ts";
import { Inbox, type Message } from "./_inbox.ts";
import { type ClientOptions, resolveClientOptions } from "./_options.ts";
import {
  copyPayload,
  decodeIdentity,
  decodeList,
  decodeReceipt,
  hex,
  type RelayReceipt,
} from "./_replies.ts";
import {
  ConnectionClosedError,
  HubError,
  HubProtocolError,
  PingTimeoutError,
} from "./errors.ts";
import {
  type ByteStream,
  streamTransport,
  type Transport,
} from "./transport.ts";

export type { ClientOptions, Message, RelayReceipt };

/**
 * The body of an echo or a relay: bytes, or text sent as UTF-8.
 *
 * @example
 * ```ts
 * import type { Body } from "./mod.ts";
 * const bodies: Body[] = ["text", new Uint8Array([0, 255])];
 * ```
 */
export type Body = Uint8Array | string;

interface Pending {
  /** The kind of the reply this request expects. */
  reply: number;
  settle(payload: Uint8Array, owned: boolean): void;
  reject(error: Error): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** How long {@linkcode Client.close} waits for the hub to flush and hang up. */
const CLOSE_LINGER = 2_000;
const IDENTITY = encodeFrame(Kind.Identity);
const LIST = encodeFrame(Kind.List);
const PING = encodeFrame(Kind.Ping);
const PONG = encodeFrame(Kind.Pong);

/**
 * A connection to a hub in the binary dialect. Calls may be pipelined: the
 * hub answers in request order and each reply settles the oldest waiting
 * call. Messages relayed to this client are read with {@linkcode messages}
 * or by iterating the client itself; they are buffered until taken.
 *
 * @example Relay to ourselves and read the message back
 * ```ts
 * import { connect } from "./mod.ts";
 * import { serve } from "../hub/mod.ts";
 * await using hub = await serve({ port: 0 });
 * await using client = await connect({ port: hub.addr.port });
 * const me = await client.identity();
 * await client.relay([me], "hello");
 * for await (const { sender, body } of client) {
 *   if (sender !== me) throw new Error("Wrong sender");
 *   if (new TextDecoder().decode(body) !== "hello") throw new Error("Wrong body");
 *   break;
 * }
 * ```
 */
export class Client implements AsyncDisposable, AsyncIterable<Message> {
  /** Resolves (never rejects) once the connection is gone and its resources are freed. */
  readonly closed: Promise<void>;

  #transport: Transport;
  #queue: OutboundQueue;
  #parser: FrameParser;
  #inbox = new Inbox();
  #pending: Pending[] = [];
  #pendingHead = 0;
  /** Why the connection ended, once it did or once a fatal frame arrived. */
  #reason: Error | null = null;
  #writeError: unknown = null;
  #writing: Promise<void> = Promise.resolve();
  #closing = false;
  #writeClosed = false;
  #ended = false;
  #connClosed = false;
  #closeDone: Promise<void> | null = null;
  #bytesWritten = 0;
  /** Chunks received so far: the liveness timer watches it move. */
  #received = 0;
  #livenessTimer: ReturnType<typeof setTimeout> | undefined;
  /** Woken when no call is waiting for a reply any more. */
  #quietWaiters: Array<() => void> = [];

  /**
   * Wraps a connected {@linkcode Transport}, or a socket such as a
   * `Deno.Conn` (a {@linkcode ByteStream}, told apart by its `read`);
   * `connect` is the usual way in. The first frame fixes the dialect, so
   * nothing else may have been written to it. With a token, AUTH is queued
   * at once.
   *
   * @throws {RangeError} for an empty token or one over 1024 bytes, and for
   * a negative or non-finite `pingInterval` or `pingTimeout`
   *
   * @example Wrap a socket of our own
   * ```ts
   * import { Client } from "./mod.ts";
   * import { serve } from "../hub/mod.ts";
   * await using hub = await serve({ port: 0 });
   * const conn = await Deno.connect({ port: hub.addr.port });
   * await using client = new Client(conn);
   * // Unlike connect(), the constructor does not wait for registration.
   * if (await client.identity() < 1n) throw new Error("Expected a user id");
   * ```
   */
  constructor(connection: Transport | ByteStream, options: ClientOptions = {}) {
    const config = resolveClientOptions(options);
    const transport = isByteStream(connection)
      ? streamTransport(connection)
      : connection;
    this.#transport = transport;
    this.#queue = new OutboundQueue({
      write: (bytes) => {
        const write = transport.write(bytes);
        this.#writing = write.then((n) => {
          this.#bytesWritten += n;
        }, () => {});
        return write;
      },
    }, (error) => {
      // The read side sees the same broken connection and ends the session;
      // aborting here could lose an ERROR frame still waiting to be read.
      this.#writeError = error;
    });
    this.#parser = new FrameParser(REPLY_LIMITS, this.#onFrame);
    // Not Promise.withResolvers: Node 20 and older browsers lack it.
    let resolve!: () => void;
    this.closed = new Promise<void>((done) => resolve = done);
    this.#run().then(resolve);
    if (config.auth !== null) {
      // A refused token fails every later call with the same HubError.
      this.#request(config.auth, Kind.AuthOk, () => undefined).catch(() => {});
    }
    if (config.pingInterval > 0 && config.pingTimeout > 0) {
      this.#watch(config.pingInterval, config.pingTimeout);
    }
  }

  /**
   * Bytes written to the connection so far, every frame counted: what a
   * progress display of a large relay watches.
   *
   * @example
   * ```ts
   * import { connect } from "./mod.ts";
   * import { serve } from "../hub/mod.ts";
   * await using hub = await serve({ port: 0 });
   * await using client = await connect({ port: hub.addr.port });
   * // 5: the IDENTITY request of connect()
   * if (client.bytesWritten !== 5) throw new Error(`${client.bytesWritten}`);
   * ```
   */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /**
   * Asks the hub for this client's user id.
   *
   * @example Two clients get different ids
   * ```ts
   * import { connect } from "./mod.ts";
   * import { serve } from "../hub/mod.ts";
   * await using hub = await serve({ port: 0 });
   * await using alice = await connect({ port: hub.addr.port });
   * await using bob = await connect({ port: hub.addr.port });
   * const id: bigint = await alice.identity();
   * if (id === await bob.identity()) throw new Error("Ids should differ");
   * ```
   */
  identity(): Promise<bigint> {
    return this.#request(IDENTITY, Kind.IdentityReply, decodeIdentity);
  }

  /**
   * Lists the other registered clients, ascending.
   *
   * @example Alice sees Bob, not herself
   * ```ts
   * import { connect } from "./mod.ts";
   * import { serve } from "../hub/mod.ts";
   * await using hub = await serve({ port: 0 });
   * await using alice = await connect({ port: hub.addr.port });
   * await using bob = await connect({ port: hub.addr.port });
   * const others: bigint[] = await alice.list();
   * if (others.join() !== `${await bob.identity()}`) throw new Error(`${others}`);
   * ```
   */
  list(): Promise<bigint[]> {
    return this.#request(LIST, Kind.ListReply, decodeList);
  }

  /**
   * Sends a body to the hub and resolves to the copy it sends back.
   *
   * @throws {RangeError} when the body is over 1 MiB; nothing is sent
   *
   * @example
   * ```ts
   * import { connect } from "./mod.ts";
   * import { serve } from "../hub/mod.ts";
   * await using hub = await serve({ port: 0 });
   * await using client = await connect({ port: hub.addr.port });
   * const bytes = await client.echo("hello");
   * if (new TextDecoder().decode(bytes) !== "hello") throw new Error("Wrong echo");
   * ```
   */
  echo(body: Body): Promise<Uint8Array> {
    let frame: Uint8Array;
    try {
      frame = encodeEcho(toBytes(body));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#request(frame, Kind.EchoReply, copyPayload);
  }

  /**
   * Relays a body to the clients `ids`, without a receipt: resolves once the
   * frame is queued for sending. {@linkcode close} still sends it.
   *
   * @throws {RangeError} for 0 or more than 255 ids, an id outside u64, or a
   * body over 1 MiB; nothing is sent
   *
   * @example Alice relays to Bob
   * ```ts
   * import { connect } from "./mod.ts";
   * import { serve } from "../hub/mod.ts";
   * await using hub = await serve({ port: 0 });
   * await using alice = await connect({ port: hub.addr.port });
   * await using bob = await connect({ port: hub.addr.port });
   * await alice.relay([await bob.identity()], "hello");
   * for await (const { body } of bob) {
   *   if (new TextDecoder().decode(body) !== "hello") throw new Error("Wrong body");
   *   break;
   * }
   * ```
   */
  relay(ids: readonly bigint[], body: Body): Promise<void> {
    let frame: Uint8Array;
    try {
      frame = encodeRelay(ids, toBytes(body));
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closing || this.#ended) {
      return Promise.reject(this.#closedError());
    }
    this.#queue.push(frame);
    return Promise.resolve();
  }

  /**
   * Relays a body to the clients `ids` and resolves to the hub's receipt:
   * how many receivers it was queued for, and which ids were unknown.
   *
   * @throws {RangeError} for 0 or more than 255 ids, an id outside u64, or a
   * body over 1 MiB; nothing is sent
   *
   * @example One receiver is registered, the other is not
   * ```ts
   * import { connect } from "./mod.ts";
   * import { serve } from "../hub/mod.ts";
   * await using hub = await serve({ port: 0 });
   * await using alice = await connect({ port: hub.addr.port });
   * await using bob = await connect({ port: hub.addr.port });
   * const ids = [await bob.identity(), 99n];
   * const { delivered, unknown } = await alice.relayWithReceipt(ids, "hi");
   * if (delivered !== 1 || unknown.join() !== "99") throw new Error("Wrong receipt");
   * ```
   */
  relayWithReceipt(ids: readonly bigint[], body: Body): Promise<RelayReceipt> {
    let frame: Uint8Array;
    try {
      frame = encodeRelay(ids, toBytes(body), true);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#request(frame, Kind.RelayReceipt, decodeReceipt);
  }

  /**
   * Sends PING and resolves when the hub's PONG arrives.
   *
   * @example Measure a round trip
   * ```ts
   * import { connect } from "./mod.ts";
   * import { serve } from "../hub/mod.ts";
   * await using hub = await serve({ port: 0 });
   * await using client = await connect({ port: hub.addr.port });
   * const start = performance.now();
   * await client.ping();
   * const elapsed = performance.now() - start;
   * if (!(elapsed >= 0)) throw new Error(`${elapsed}`);
   * ```
   */
  ping(): Promise<void> {
    return this.#request(PING, Kind.Pong, () => undefined);
  }

  /**
   * Iterates the messages relayed to this client. The iteration ends when
   * the connection closes; after a hub ERROR it throws the
   * {@linkcode HubError} once the messages received before it are taken.
   * Several iterators share one stream: each message goes to one of them.
   *
   * @example Read until the expected message
   * ```ts
   * import { connect } from "./mod.ts";
   * import { serve } from "../hub/mod.ts";
   * await using hub = await serve({ port: 0 });
   * await using client = await connect({ port: hub.addr.port });
   * const me = await client.identity();
   * await client.relay([me], "one");
   * await client.relay([me], "two");
   * const got: string[] = [];
   * for await (const { body } of client.messages()) {
   *   got.push(new TextDecoder().decode(body));
   *   if (got.length === 2) break;
   * }
   * if (got.join() !== "one,two") throw new Error(`${got}`);
   * ```
   */
  messages(): AsyncIterableIterator<Message> {
    return this.#inbox.iterator();
  }

  /**
   * Same as {@linkcode messages}.
   *
   * @example
   * ```ts
   * import { connect } from "./mod.ts";
   * import { serve } from "../hub/mod.ts";
   * await using hub = await serve({ port: 0 });
   * await using client = await connect({ port: hub.addr.port });
   * await client.relay([await client.identity()], "hi");
   * for await (const { body } of client) {
   *   if (new TextDecoder().decode(body) !== "hi") throw new Error("Wrong body");
   *   break;
   * }
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    return this.#inbox.iterator();
  }

  /**
   * Closes the connection gracefully: sends what is queued, tells the hub we
   * are done, and waits (2 s at most) for it to hang up. Replies that arrive
   * meanwhile still settle their calls; calls still waiting after that
   * reject with {@linkcode ConnectionClosedError}, and new calls reject at
   * once. Never rejects.
   *
   * @example What is queued still leaves; later calls fail
   * ```ts
   * import { ConnectionClosedError, connect } from "./mod.ts";
   * import { serve } from "../hub/mod.ts";
   * await using hub = await serve({ port: 0 });
   * await using bob = await connect({ port: hub.addr.port });
   * const alice = await connect({ port: hub.addr.port });
   * await alice.relay([await bob.identity()], "bye");
   * await alice.close();
   * const error = await alice.ping().then(() => null, (e: unknown) => e);
   * if (!(error instanceof ConnectionClosedError)) throw new Error("Expected an error");
   * for await (const { body } of bob) {
   *   if (new TextDecoder().decode(body) !== "bye") throw new Error("Wrong body");
   *   break;
   * }
   * ```
   */
  close(): Promise<void> {
    if (this.#closeDone === null) {
      this.#closing = true;
      this.#closeDone = this.#shutdown();
    }
    return this.#closeDone;
  }

  /**
   * Same as {@linkcode close}, for `await using`.
   *
   * @example The client closes at the end of the block
   * ```ts
   * import { connect } from "./mod.ts";
   * import { serve } from "../hub/mod.ts";
   * await using hub = await serve({ port: 0 });
   * let closed: Promise<void>;
   * {
   *   await using client = await connect({ port: hub.addr.port });
   *   closed = client.closed;
   *   await client.ping();
   * }
   * await closed;
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #shutdown(): Promise<void> {
    const timer = setTimeout(() => this.#abort(), CLOSE_LINGER);
    try {
      await this.#queue.drained();
      // A WebSocket cannot half-close: its close frame ends both directions
      // and replies after it are dropped, so wait for them first, on every
      // transport alike.
      await this.#quiet();
      if (!this.#ended) {
        this.#writeClosed = true;
        await this.#transport.closeWrite();
      }
      await this.closed;
    } catch {
      this.#abort();
      await this.closed;
    } finally {
      clearTimeout(timer);
    }
  }

  #request<T>(
    frame: Uint8Array,
    reply: number,
    decode: (payload: Uint8Array, owned: boolean) => T,
  ): Promise<T> {
    if (this.#closing || this.#ended) {
      return Promise.reject(this.#closedError());
    }
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({
        reply,
        settle(payload, owned) {
          let value: T;
          try {
            value = decode(payload, owned);
          } catch (error) {
            reject(error);
            throw error;
          }
          resolve(value);
        },
        reject,
      });
      this.#queue.push(frame);
    });
  }

  #closedError(): ConnectionClosedError {
    return new ConnectionClosedError(
      "Cannot send request: the connection is closed",
      this.#reason === null ? undefined : { cause: this.#reason },
    );
  }

  /** Resolves once no call waits for a reply, or the connection has ended. */
  #quiet(): Promise<void> {
    if (this.#ended || this.#pendingHead === this.#pending.length) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#quietWaiters.push(resolve));
  }

  #wakeQuiet(): void {
    const waiters = this.#quietWaiters;
    this.#quietWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * The liveness timer: once per `interval`, if nothing arrived since the
   * last look, send PING; if nothing at all arrives within `timeout` after
   * it, the hub is taken for gone. Anything received counts, as the hub
   * counts anything from its clients: a PONG may queue behind a large reply.
   */
  #watch(interval: number, timeout: number): void {
    let seen = this.#received;
    const look = (): void => {
      if (this.#received !== seen || this.#closing) {
        seen = this.#received;
        this.#livenessTimer = setTimeout(look, interval);
        return;
      }
      const asked = this.#received;
      this.#request(PING, Kind.Pong, () => undefined).catch(() => {});
      this.#livenessTimer = setTimeout(() => {
        if (this.#received === asked && !this.#closing) {
          this.#fail(new PingTimeoutError(timeout));
          return;
        }
        seen = this.#received;
        this.#livenessTimer = setTimeout(look, interval);
      }, timeout);
    };
    this.#livenessTimer = setTimeout(look, interval);
  }

  /** Ends the connection at once for `reason`: waiting calls reject with it. */
  #fail(reason: Error): void {
    this.#reason ??= reason;
    this.#queue.close();
    this.#abort();
  }

  /** The read loop; resolves once the connection is torn down. */
  async #run(): Promise<void> {
    try {
      for await (const chunk of this.#transport) {
        this.#received++;
        this.#parser.parse(chunk);
        if (this.#reason !== null) break;
      }
    } catch (error) {
      this.#reason ??= classify(error, this.#closing);
    }
    this.#ended = true;
    clearTimeout(this.#livenessTimer);
    const reason = this.#reason ?? new ConnectionClosedError(
      this.#closing
        ? "Connection closed by the client"
        : "Connection closed by the hub",
      this.#writeError === null ? undefined : { cause: this.#writeError },
    );
    this.#reason = reason;
    this.#queue.close();
    this.#abort();
    const pending = this.#pending.slice(this.#pendingHead);
    this.#pending = [];
    this.#pendingHead = 0;
    for (const entry of pending) entry.reject(reason);
    this.#wakeQuiet();
    this.#inbox.end(reason instanceof ConnectionClosedError ? null : reason);
    await this.#writing;
  }

  #abort(): void {
    if (this.#connClosed) return;
    this.#connClosed = true;
    try {
      this.#transport.close();
    } catch {
      // Already closed by the runtime: nothing left to free.
    }
  }

  #onFrame = (kind: number, payload: Uint8Array, owned: boolean): void => {
    if (this.#reason !== null) return;
    switch (kind) {
      case Kind.Deliver: {
        if (payload.length < 8) {
          throw new HubProtocolError(
            `Cannot parse DELIVER: length ${payload.length} is shorter than 8`,
          );
        }
        const body = owned ? payload.subarray(8) : payload.slice(8);
        this.#inbox.push({ sender: readU64(payload, 0), body });
        return;
      }
      case Kind.Ping:
        if (!this.#writeClosed) this.#queue.push(PONG);
        return;
      case Kind.Error:
        this.#reason = new HubError(
          payload[0] ?? 0,
          decoder.decode(payload.subarray(1)),
        );
        return;
      default:
        return this.#reply(kind, payload, owned);
    }
  };

  #reply(kind: number, payload: Uint8Array, owned: boolean): void {
    const entry = this.#pending[this.#pendingHead];
    if (entry === undefined) {
      throw new HubProtocolError(
        `Unexpected reply: kind 0x${hex(kind)} while no request is pending`,
      );
    }
    if (entry.reply !== kind) {
      throw new HubProtocolError(
        `Unexpected reply: kind 0x${hex(kind)} where 0x${
          hex(entry.reply)
        } was due`,
      );
    }
    this.#pendingHead++;
    if (this.#pendingHead === this.#pending.length) {
      this.#pending = [];
      this.#pendingHead = 0;
      if (this.#quietWaiters.length > 0) this.#wakeQuiet();
    } else if (
      this.#pendingHead > 1024 && this.#pendingHead * 2 > this.#pending.length
    ) {
      this.#pending = this.#pending.slice(this.#pendingHead);
      this.#pendingHead = 0;
    }
    entry.settle(payload, owned);
  }
}

function classify(error: unknown, closing: boolean): Error {
  if (error instanceof HubProtocolError) return error;
  if (error instanceof ProtocolError) {
    return new HubProtocolError(`Cannot parse hub frame: ${error.message}`, {
      cause: error,
    });
  }
  return new ConnectionClosedError(
    closing ? "Connection closed by the client" : "Connection lost",
    { cause: error },
  );
}

function isByteStream(
  connection: Transport | ByteStream,
): connection is ByteStream {
  return typeof (connection as Partial<ByteStream>).read === "function";
}

function toBytes(body: Body): Uint8Array {
  return typeof body === "string" ? encoder.encode(body) : body;
}
