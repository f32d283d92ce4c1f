/**
 * The client's protocol engine: one connection's outbound queue, frame
 * parser, read loop, pending calls, inbox and close. `Client` is the API
 * over it; the engine never knows which transport it has.
 *
 * @module
 */
import {
  encodeFrame,
  FrameParser,
  Kind,
  OutboundQueue,
  ProtocolError,
  readU64,
  REPLY_LIMITS,
} from "../protocol/mod.ts";
import { Inbox } from "./_inbox.ts";
import { Liveness } from "./_liveness.ts";
import type { ClientConfig } from "./_options.ts";
import { PendingReplies } from "./_pending.ts";
import {
  ConnectionClosedError,
  HubError,
  HubProtocolError,
  PingTimeoutError,
} from "./errors.ts";
import type { Transport } from "./transport.ts";

const decoder = new TextDecoder();
/** How long a close waits for the hub to flush and hang up. */
const CLOSE_LINGER = 2_000;
const PING = encodeFrame(Kind.Ping);
const PONG = encodeFrame(Kind.Pong);

/**
 * One connection to a hub, as the client drives it.
 *
 * @example An engine over a transport of our own
 * ```ts
 * import { Engine } from "./_engine.ts";
 * import { resolveClientOptions } from "./_options.ts";
 * import { streamTransport } from "./transport.ts";
 * import { serve } from "../hub/mod.ts";
 * import { encodeFrame, Kind, readU64 } from "../protocol/mod.ts";
 * await using hub = await serve({ port: 0 });
 * const conn = await Deno.connect({ port: hub.addr.port });
 * const engine = new Engine(streamTransport(conn), resolveClientOptions({}));
 * const id = await engine.request(
 *   encodeFrame(Kind.Identity),
 *   Kind.IdentityReply,
 *   (payload) => readU64(payload, 0),
 * );
 * if (id < 1n) throw new Error("Expected a user id");
 * await engine.close();
 * ```
 */
export class Engine {
  /** Resolves (never rejects) once the connection is gone and its resources are freed. */
  readonly closed: Promise<void>;
  /** Messages relayed to this client, until taken. */
  readonly inbox: Inbox = new Inbox();

  #transport: Transport;
  #queue: OutboundQueue;
  #parser: FrameParser;
  #pending = new PendingReplies();
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
  #liveness: Liveness | null = null;

  /** Starts the read loop and, if configured, AUTH and the liveness timer. */
  constructor(transport: Transport, config: ClientConfig) {
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
      const timeout = config.pingTimeout;
      this.#liveness = new Liveness(config.pingInterval, timeout, {
        ping: () =>
          this.#request(PING, Kind.Pong, () => undefined).catch(() => {}),
        closing: () => this.#closing,
        dead: () => this.#fail(new PingTimeoutError(timeout)),
      });
    }
  }

  /** Bytes written to the connection so far. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Queues `frame` with no reply due; rejects once the client is closing or closed. */
  send(frame: Uint8Array): Promise<void> {
    if (this.#closing || this.#ended) {
      return Promise.reject(this.#closedError());
    }
    this.#queue.push(frame);
    return Promise.resolve();
  }

  /** Queues `frame` and resolves with its reply (of kind `reply`), decoded. */
  request<T>(
    frame: Uint8Array,
    reply: number,
    decode: (payload: Uint8Array, owned: boolean) => T,
  ): Promise<T> {
    return this.#request(frame, reply, decode);
  }

  /** Flushes, waits for owed replies, ends the connection; once. */
  close(): Promise<void> {
    if (this.#closeDone === null) {
      this.#closing = true;
      this.#closeDone = this.#shutdown();
    }
    return this.#closeDone;
  }

  async #shutdown(): Promise<void> {
    const timer = setTimeout(() => this.#abort(), CLOSE_LINGER);
    try {
      await this.#queue.drained();
      // A WebSocket cannot half-close: its close frame ends both directions
      // and replies after it are dropped, so wait for them first, on every
      // transport alike.
      if (!this.#ended) await this.#pending.quiet();
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
        this.#liveness?.received();
        this.#parser.parse(chunk);
        if (this.#reason !== null) break;
      }
    } catch (error) {
      this.#reason ??= classify(error, this.#closing);
    }
    this.#ended = true;
    this.#liveness?.stop();
    const reason = this.#reason ?? new ConnectionClosedError(
      this.#closing
        ? "Connection closed by the client"
        : "Connection closed by the hub",
      this.#writeError === null ? undefined : { cause: this.#writeError },
    );
    this.#reason = reason;
    this.#queue.close();
    this.#abort();
    this.#pending.rejectAll(reason);
    this.inbox.end(reason instanceof ConnectionClosedError ? null : reason);
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
        this.inbox.push({ sender: readU64(payload, 0), body });
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
    this.#pending.take(kind).settle(payload, owned);
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
