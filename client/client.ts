/**
 * The msghub client: the public API over one connection's engine.
 *
 * @module
 */
import { encodeEcho, encodeFrame, encodeRelay, Kind } from "../protocol/mod.ts";
import { Engine } from "./_engine.ts";
import type { Message } from "./_inbox.ts";
import { type ClientOptions, resolveClientOptions } from "./_options.ts";
import {
  copyPayload,
  decodeIdentity,
  decodeList,
  decodeReceipt,
  type RelayReceipt,
} from "./_replies.ts";
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

const encoder = new TextEncoder();
const IDENTITY = encodeFrame(Kind.Identity);
const LIST = encodeFrame(Kind.List);
const PING = encodeFrame(Kind.Ping);

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

  #engine: Engine;

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
    this.#engine = new Engine(transport, config);
    this.closed = this.#engine.closed;
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
    return this.#engine.bytesWritten;
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
    return this.#engine.request(IDENTITY, Kind.IdentityReply, decodeIdentity);
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
    return this.#engine.request(LIST, Kind.ListReply, decodeList);
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
    return this.#engine.request(frame, Kind.EchoReply, copyPayload);
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
    return this.#engine.send(frame);
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
    return this.#engine.request(frame, Kind.RelayReceipt, decodeReceipt);
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
    return this.#engine.request(PING, Kind.Pong, () => undefined);
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
    return this.#engine.inbox.iterator();
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
    return this.#engine.inbox.iterator();
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
    return this.#engine.close();
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
}

function isByteStream(
  connection: Transport | ByteStream,
): connection is ByteStream {
  return typeof (connection as Partial<ByteStream>).read === "function";
}

function toBytes(body: Body): Uint8Array {
  return typeof body === "string" ? encoder.encode(body) : body;
}
